//! `ethp2p node`: listens, dials bootnodes and static peers with back-off,
//! answers eth requests it cannot serve with empty responses, logs a status
//! line every 30 s, and shuts down gracefully on SIGINT/SIGTERM.

use crate::cli::NodeArgs;
use ethp2p_eth::{chain::ChainSpec, version::EthVersion};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use ethp2p_session::{
    PeerMessage, SessionEvent, SessionLimits, SessionManager, SessionManagerParams, SessionsConfig,
};
use ethp2p_wire::DisconnectReason;
use futures::StreamExt;
use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};
use tokio::{net::TcpListener, time::Instant};
use tracing::{debug, error, info, warn};

const STATUS_INTERVAL: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A peer we keep dialing (bootnode or static peer).
struct DialTarget {
    record: NodeRecord,
    next_attempt: Instant,
    backoff: Duration,
    connected: bool,
    dialing: bool,
}

fn init_logging(args: &NodeArgs) {
    let level = if args.quiet {
        "warn"
    } else {
        match args.verbose {
            0 => "info,ethp2p_session=warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn default_datadir(chain: &str) -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("ethp2p").join(chain)
}

/// Loads the node key from `<datadir>/nodekey`, creating it on first start.
fn load_or_create_key(datadir: &Path) -> Result<SecretKey, String> {
    let path = datadir.join("nodekey");
    match std::fs::read_to_string(&path) {
        Ok(s) => {
            let bytes =
                hex::decode(s.trim()).map_err(|e| format!("{}: not hex: {e}", path.display()))?;
            let arr: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("{}: must hold 32 bytes of hex", path.display()))?;
            SecretKey::from_byte_array(arr).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(datadir)
                .map_err(|e| format!("cannot create {}: {e}", datadir.display()))?;
            let key = ethp2p_rlpx::generate_secret_key();
            std::fs::write(&path, hex::encode(key.secret_bytes()))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            }
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Runs the node until a signal; returns the process exit code.
pub fn run(args: NodeArgs) -> ExitCode {
    init_logging(&args);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run_node(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_node(args: NodeArgs) -> Result<(), String> {
    let chain = ChainSpec::by_name(&args.chain)
        .ok_or_else(|| format!("--chain: unknown chain {}", args.chain))?;
    let datadir = args
        .datadir
        .clone()
        .unwrap_or_else(|| default_datadir(&chain.name));
    let key = match args.nodekey {
        Some(k) => k,
        None => load_or_create_key(&datadir)?,
    };
    let listen = SocketAddr::new(args.addr, args.port);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--port: cannot listen on {listen}: {e}"))?;
    let local_addr = listener.local_addr().map_err(|e| e.to_string())?;

    // geth's split: a third of the slots for outbound dials, the rest inbound.
    let max_outbound = (args.max_peers / 3).max(1);
    let max_inbound = args.max_peers.saturating_sub(max_outbound);
    let head = chain.genesis_head();
    let config = SessionsConfig {
        limits: SessionLimits {
            max_pending_inbound: Some(args.max_pending_inbound),
            max_pending_outbound: Some(args.max_pending_outbound),
            max_established_inbound: Some(max_inbound),
            max_established_outbound: Some(max_outbound),
        },
        session_event_buffer: (args.max_peers as usize * 2).clamp(64, 2600),
        ..Default::default()
    };
    let mut mgr = SessionManager::new(SessionManagerParams {
        secret_key: key,
        config,
        status: chain.status(&head),
        client_id: format!(
            "ethp2p/v{}/{}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS
        ),
        listen_port: local_addr.port(),
        fork_filter: chain.fork_filter(head),
        eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
        extra_protocols: vec![],
        spawner: None,
    });
    let local_id = peer_id_from_secret_key(&key);
    let shown_ip = if local_addr.ip().is_unspecified() {
        "127.0.0.1".parse().map_err(|_| "ip")?
    } else {
        local_addr.ip()
    };
    let enode = NodeRecord::new(local_id, SocketAddr::new(shown_ip, local_addr.port()));
    info!(chain = %chain.name, %local_addr, datadir = %datadir.display(), "ethp2p node started");
    println!("{enode}");

    let mut targets: HashMap<PeerId, DialTarget> = HashMap::new();
    let now = Instant::now();
    let mut add_target = |record: NodeRecord| {
        if record.id != local_id {
            targets.entry(record.id).or_insert(DialTarget {
                record,
                next_attempt: now,
                backoff: FIRST_BACKOFF,
                connected: false,
                dialing: false,
            });
        }
    };
    if !args.no_bootnodes {
        for b in &chain.bootnodes {
            match b.parse::<NodeRecord>() {
                Ok(r) => add_target(r),
                Err(e) => warn!(bootnode = %b, %e, "skipping malformed bootnode"),
            }
        }
    }
    for p in &args.peers {
        add_target(*p);
    }

    let mut status_tick =
        tokio::time::interval_at(Instant::now() + STATUS_INTERVAL, STATUS_INTERVAL);
    let mut dial_tick = tokio::time::interval(Duration::from_secs(1));
    let mut opened = 0u64;
    let mut failed: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut offline_warned = false;
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    if let Err(e) = mgr.on_incoming(stream, addr) {
                        debug!(%addr, %e, "inbound connection refused");
                    }
                }
                Err(e) => warn!(%e, "accept failed"),
            },
            _ = dial_tick.tick() => {
                let now = Instant::now();
                for t in targets.values_mut() {
                    if !t.connected && !t.dialing && t.next_attempt <= now && mgr.dial_outbound(t.record.tcp_addr(), t.record.id).is_ok() {
                        t.dialing = true;
                    }
                }
            }
            _ = status_tick.tick() => {
                let c = mgr.counts();
                info!(
                    peers_in = c.active_inbound, peers_out = c.active_outbound,
                    pending_in = c.pending_inbound, pending_out = c.pending_outbound,
                    opened, failed = ?failed, "status"
                );
                opened = 0;
                failed.clear();
            }
            Some(ev) = mgr.next() => {
                let mut retry = |peer: &PeerId, ok: bool| {
                    if let Some(t) = targets.get_mut(peer) {
                        t.dialing = false;
                        t.connected = ok;
                        if ok {
                            t.backoff = FIRST_BACKOFF;
                        } else {
                            t.next_attempt = Instant::now() + t.backoff;
                            t.backoff = (t.backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                };
                match ev {
                    SessionEvent::SessionEstablished { peer_id, info } => {
                        opened += 1;
                        retry(&peer_id, true);
                        info!(peer = %peer_id, addr = %info.remote_addr, client = %info.client_version, eth = %info.eth_version, dir = info.direction.as_str(), "peer added");
                    }
                    SessionEvent::ValidMessage { peer_id, message } => match message {
                        // We hold no chain data: dropping the responder answers with an
                        // empty response of the right type and request id.
                        PeerMessage::EthRequest { request, responder } => {
                            debug!(peer = %peer_id, req = request.id().name(), "answering with an empty response");
                            drop(responder);
                        }
                        PeerMessage::Eth(m) => debug!(peer = %peer_id, msg = m.id().name(), "message"),
                        PeerMessage::Protocol { name, id, .. } => debug!(peer = %peer_id, %name, id, "sub-protocol message"),
                    },
                    SessionEvent::OutgoingConnectionError { peer_id, error, remote_addr } => {
                        *failed.entry("connect").or_default() += 1;
                        retry(&peer_id, false);
                        debug!(peer = %peer_id, %remote_addr, %error, "dial failed");
                        if !offline_warned && targets.values().all(|t| !t.connected) {
                            offline_warned = true;
                            warn!("no peer reachable yet (offline?); retrying with exponential back-off");
                        }
                    }
                    SessionEvent::OutgoingPendingSessionClosed { peer_id, error, .. } => {
                        *failed.entry(error.label()).or_default() += 1;
                        retry(&peer_id, false);
                    }
                    SessionEvent::IncomingPendingSessionClosed { error, .. } => {
                        *failed.entry(error.label()).or_default() += 1;
                    }
                    SessionEvent::Disconnected { peer_id, reason, by_us, .. } => {
                        retry(&peer_id, false);
                        info!(peer = %peer_id, %reason, by_us, "peer dropped");
                    }
                    SessionEvent::SessionClosedOnConnectionError { peer_id, error, .. } => {
                        retry(&peer_id, false);
                        info!(peer = %peer_id, %error, "peer dropped");
                    }
                    SessionEvent::AlreadyConnected { .. }
                    | SessionEvent::InvalidMessage { .. }
                    | SessionEvent::BadMessage { .. }
                    | SessionEvent::ProtocolBreach { .. } => debug!(?ev, "session event"),
                }
            }
        }
    }

    info!("shutting down: sending ClientQuitting to every peer");
    mgr.disconnect_all(DisconnectReason::ClientQuitting);
    mgr.disconnect_all_pending();
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    let second = shutdown_signal();
    tokio::pin!(second);
    while mgr.counts().active_inbound
        + mgr.counts().active_outbound
        + mgr.counts().pending_inbound
        + mgr.counts().pending_outbound
        > 0
    {
        tokio::select! {
            _ = &mut second => { error!("second signal: exiting now"); break; }
            _ = tokio::time::sleep_until(deadline) => { warn!("shutdown grace period over"); break; }
            ev = mgr.next() => if ev.is_none() { break },
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
