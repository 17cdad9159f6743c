//! `ethp2p node`: listens, dials bootnodes and static peers with back-off,
//! answers eth requests it cannot serve with empty responses, serves the
//! admin JSON-RPC and Prometheus metrics, logs a status line every 30 s, and
//! shuts down gracefully on SIGINT/SIGTERM.
//!
//! One task (the node loop) owns the [`SessionManager`]; the RPC handlers
//! reach it through a command channel and hear about peers through a
//! broadcast channel of [`PeerEvent`]s.

use crate::{
    config::{self, LogFormat, NodeConfig},
    enr,
    rpc::{
        self, EthPeerInfo, NodeCommand, NodeInfo, NodePorts, PeerEvent, PeerInfo, PeerNetwork,
        RpcContext,
    },
};
use alloy_rlp::Encodable;
use ethp2p_eth::{
    chain::ChainSpec,
    forkid::ForkActivation,
    message::{BlockRangeUpdate, EthMessage},
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use ethp2p_session::{
    PeerMessage, SessionEvent, SessionId, SessionLimits, SessionManager, SessionManagerParams,
    SessionsConfig,
};
use ethp2p_wire::DisconnectReason;
use futures::StreamExt;
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::IsTerminal,
    net::SocketAddr,
    path::Path,
    process::ExitCode,
    sync::Arc,
    time::Duration,
};
use tokio::{
    net::TcpListener,
    sync::{broadcast, mpsc},
    time::Instant,
};
use tracing::{debug, error, info, warn};

const STATUS_INTERVAL: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
const EVENT_BUFFER: usize = 1024;
const COMMAND_BUFFER: usize = 64;

/// Why a peer is kept dialed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetKind {
    Bootnode,
    Trusted,
    Static,
}

/// A peer we keep dialing.
struct DialTarget {
    record: NodeRecord,
    kind: TargetKind,
    next_attempt: Instant,
    backoff: Duration,
    connected: bool,
    dialing: Option<SessionId>,
}

fn init_logging(cfg: &NodeConfig) {
    let level = if cfg.quiet {
        "warn"
    } else {
        match cfg.verbose {
            0 => "info,ethp2p_session=warn,jsonrpsee=warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match cfg.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Creates `path` with `contents`, readable by its owner only from the first
/// byte (mode 0600 at creation, not changed after), failing if it exists.
fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Loads the node key from `<datadir>/nodekey`, creating it on first start.
fn load_or_create_key(datadir: &Path) -> Result<SecretKey, String> {
    let path = datadir.join("nodekey");
    match std::fs::read_to_string(&path) {
        Ok(s) => {
            crate::cli::parse_key(&s).map_err(|e| format!("--datadir: {}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(datadir)
                .map_err(|e| format!("--datadir: cannot create {}: {e}", datadir.display()))?;
            let key = ethp2p_rlpx::generate_secret_key();
            write_secret_file(&path, hex::encode(key.secret_bytes()).as_bytes())
                .map_err(|e| format!("--datadir: cannot write {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("--datadir: cannot read {}: {e}", path.display())),
    }
}

/// Runs the node until a signal; returns the process exit code.
pub(crate) fn run(args: crate::cli::NodeArgs) -> ExitCode {
    let cfg = match config::load(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&cfg);
    let rt = match crate::runtime_or_exit(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(run_node(cfg));
    // Do not wait for tasks still blocked on sockets (RPC connections).
    rt.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The node's id as geth shows it: keccak256 of the public key, hex.
pub(crate) fn node_id_hex(id: &PeerId) -> String {
    ethp2p_rlpx::node_id(id).to_string()
}

/// The client name sent in Hello and returned by `web3_clientVersion`.
pub(crate) fn client_version() -> String {
    format!(
        "ethp2p/v{}/{}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

async fn run_node(cfg: NodeConfig) -> Result<(), String> {
    let chain = cfg.chain.clone();
    let key = match cfg.nodekey {
        Some(k) => k,
        None => load_or_create_key(&cfg.datadir)?,
    };
    let listener =
        listen(cfg.listen).map_err(|e| format!("--port: cannot listen on {}: {e}", cfg.listen))?;
    let local_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let bound_rpc = match cfg.rpc_addr {
        Some(addr) => Some(rpc::bind(addr, cfg.rpc_external).await?),
        None => None,
    };
    let metrics = match cfg.metrics_addr {
        Some(addr) => Some(crate::metrics::bind(addr).await?),
        None => None,
    };

    let head = chain.genesis_head();
    let sessions = SessionsConfig {
        limits: SessionLimits {
            max_pending_inbound: Some(cfg.max_pending_inbound),
            max_pending_outbound: Some(cfg.max_pending_outbound),
            max_established_inbound: Some(cfg.max_inbound),
            max_established_outbound: Some(cfg.max_outbound),
        },
        session_event_buffer: (cfg.max_peers() as usize * 2).clamp(64, 2600),
        ..Default::default()
    };
    let sessions = SessionsConfig {
        p2p: ethp2p_wire::P2PConfig {
            ping_interval: cfg.ping_interval,
            ..sessions.p2p.clone()
        },
        ..sessions
    };
    let client = client_version();
    let mut mgr = SessionManager::new(SessionManagerParams {
        secret_key: key,
        config: sessions,
        status: chain.status(&head),
        client_id: client.clone(),
        listen_port: local_addr.port(),
        fork_filter: chain.fork_filter(head),
        eth_versions: cfg.eth_versions.clone(),
        extra_protocols: vec![],
        spawner: None,
        dialer: None,
        rng_seed: None,
    });
    for t in &cfg.trusted_peers {
        mgr.add_trusted(t.id);
    }
    let local_id = peer_id_from_secret_key(&key);
    let shown_ip = if local_addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        local_addr.ip()
    };
    let enode = NodeRecord::new(local_id, SocketAddr::new(shown_ip, local_addr.port()));
    let node_info = Arc::new(node_info(&key, &enode, local_addr, &client, &chain, &mgr));

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    info!(chain = %chain.name, %local_addr, datadir = %cfg.datadir.display(), "ethp2p node started");
    println!("{enode}");

    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let (cmd_tx, mut cmd_rx) = mpsc::channel(COMMAND_BUFFER);
    let rpc_handle = match bound_rpc {
        Some(bound) => {
            let addr = bound.local_addr;
            let handle = bound.start(RpcContext {
                commands: cmd_tx.clone(),
                events: events.clone(),
                node_info: node_info.clone(),
                network_id: chain.network_id,
                client_version: client.clone(),
            })?;
            if cfg.rpc_external {
                warn!(%addr, "JSON-RPC is served on a non-loopback address: anyone who reaches it can add and drop peers");
            } else {
                info!(%addr, "JSON-RPC (HTTP and WebSocket) listening");
            }
            println!("rpc: http://{addr} ws://{addr}");
            Some(handle)
        }
        None => {
            println!("rpc: disabled");
            None
        }
    };
    drop(cmd_tx);
    let metrics_task = metrics.map(|m| {
        let addr = m.local_addr;
        info!(%addr, "Prometheus metrics at /metrics");
        println!("metrics: http://{addr}/metrics");
        tokio::spawn(m.serve())
    });

    let mut node = Node {
        mgr,
        local_id,
        targets: HashMap::new(),
        cancelled: HashSet::new(),
        first_backoff: cfg.redial_backoff,
        events,
        block_ranges: HashMap::new(),
        peer_stats: HashMap::new(),
        opened: 0,
        failed: BTreeMap::new(),
        offline_warned: false,
    };
    metrics::gauge!("ethp2p_info", "version" => env!("CARGO_PKG_VERSION"), "chain" => chain.name.clone()).set(1.0);
    node.publish_targets();
    node.publish_peers();
    if cfg.bootnodes {
        for b in &chain.bootnodes {
            match b.parse::<NodeRecord>() {
                Ok(r) => node.add_target(r, TargetKind::Bootnode),
                Err(e) => warn!(bootnode = %b, %e, "skipping malformed bootnode"),
            }
        }
    }
    for p in &cfg.trusted_peers {
        node.add_target(*p, TargetKind::Trusted);
    }
    for p in &cfg.static_peers {
        node.add_target(*p, TargetKind::Static);
    }

    let mut status_tick =
        tokio::time::interval_at(Instant::now() + STATUS_INTERVAL, STATUS_INTERVAL);
    let mut dial_tick = tokio::time::interval(cfg.redial_backoff.min(Duration::from_secs(1)));
    dial_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut commands_open = true;
    let mut throttle = ethp2p_session::InboundThrottle::new(cfg.inbound_throttle);
    let mut expire_tick = tokio::time::interval(Duration::from_secs(60));

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    if !throttle.admit(addr.ip(), tokio::time::Instant::now()) {
                        metrics::counter!("ethp2p_inbound_throttled_total").increment(1);
                        debug!(%addr, "inbound connection throttled: this address connected moments ago");
                        continue;
                    }
                    if let Err(e) = node.mgr.ensure_incoming() {
                        // Over the pending limit: say TooManyPeers after ECIES
                        // (a bounded number at once), or just drop the socket.
                        let told = node.mgr.try_disconnect_incoming(stream, DisconnectReason::TooManyPeers);
                        debug!(%addr, %e, told, "inbound connection refused");
                    } else if let Err(e) = {
                        let _ = stream.set_nodelay(true);
                        let local = stream.local_addr().ok();
                        node.mgr.on_incoming(stream, addr, local)
                    } {
                        debug!(%addr, %e, "inbound connection refused");
                    }
                }
                Err(e) => warn!(%e, "accept failed"),
            },
            _ = dial_tick.tick() => node.dial_due(),
            _ = status_tick.tick() => node.log_status(),
            _ = expire_tick.tick() => throttle.expire(tokio::time::Instant::now()),
            cmd = cmd_rx.recv(), if commands_open => match cmd {
                Some(cmd) => node.on_command(cmd),
                None => commands_open = false,
            },
            Some(ev) = node.mgr.next() => node.on_event(ev),
        }
    }

    info!("shutting down: sending ClientQuitting to every peer");
    if let Some(h) = rpc_handle {
        let _ = h.stop();
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    node.mgr.disconnect_all(DisconnectReason::ClientQuitting);
    node.mgr.disconnect_all_pending();
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    let second = shutdown_signal();
    tokio::pin!(second);
    loop {
        let c = node.mgr.counts();
        if c.active_inbound + c.active_outbound + c.pending_inbound + c.pending_outbound == 0 {
            break;
        }
        tokio::select! {
            _ = &mut second => { error!("second signal: exiting now"); break; }
            _ = tokio::time::sleep_until(deadline) => { warn!("shutdown grace period over"); break; }
            ev = node.mgr.next() => match ev {
                Some(ev) => node.on_event(ev),
                None => break,
            },
        }
    }
    info!("stopped");
    Ok(())
}

/// geth's chain-config key for a fork, e.g. `londonBlock` or `cancunTime`.
fn geth_fork_keys(name: &str, activation: ForkActivation) -> Vec<String> {
    let special: &[&str] = match name {
        "DAO" => &["daoForkBlock"],
        "Tangerine Whistle" => &["eip150Block"],
        "Spurious Dragon" => &["eip155Block", "eip158Block"],
        _ => &[],
    };
    if !special.is_empty() {
        return special.iter().map(|s| s.to_string()).collect();
    }
    let mut key = String::new();
    for (i, word) in name.split_whitespace().enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            key.push_str(&lower);
        } else {
            let mut c = lower.chars();
            if let Some(f) = c.next() {
                key.push(f.to_ascii_uppercase());
                key.extend(c);
            }
        }
    }
    key.push_str(match activation {
        ForkActivation::Block(_) => "Block",
        ForkActivation::Timestamp(_) => "Time",
    });
    vec![key]
}

fn node_info(
    key: &SecretKey,
    enode: &NodeRecord,
    listen: SocketAddr,
    client: &str,
    chain: &ChainSpec,
    mgr: &SessionManager,
) -> NodeInfo {
    let mut config = serde_json::Map::new();
    config.insert("chainId".into(), json!(chain.chain_id));
    for (fork, activation) in &chain.forks {
        for k in geth_fork_keys(fork.name(), *activation) {
            config.insert(k, json!(activation.value()));
        }
        if fork.name() == "DAO" {
            config.insert("daoForkSupport".into(), json!(true));
        }
    }
    let status = mgr.status();
    let eth = json!({
        "network": chain.network_id,
        "genesis": chain.genesis_hash.to_string(),
        "config": config,
        "head": status.latest_block_hash.to_string(),
    });
    NodeInfo {
        id: node_id_hex(&enode.id),
        name: client.to_string(),
        enode: enode.to_string(),
        enr: enr::encode(
            key,
            &enr::EnrFields {
                seq: 1,
                ip: Some(enode.address),
                tcp: Some(enode.tcp_port),
                udp: None,
            },
        ),
        ip: enode.address.to_string(),
        ports: NodePorts {
            discovery: 0,
            listener: enode.tcp_port,
        },
        listen_addr: listen.to_string(),
        protocols: BTreeMap::from([("eth".to_string(), eth)]),
    }
}

/// go-ethereum's wording for each Disconnect reason (`p2p/peer_error.go`).
fn geth_reason(r: DisconnectReason) -> String {
    match r {
        DisconnectReason::DisconnectRequested => "disconnect requested".into(),
        DisconnectReason::TcpSubsystemError => "network error".into(),
        DisconnectReason::ProtocolBreach => "breach of protocol".into(),
        DisconnectReason::UselessPeer => "useless peer".into(),
        DisconnectReason::TooManyPeers => "too many peers".into(),
        DisconnectReason::AlreadyConnected => "already connected".into(),
        DisconnectReason::IncompatibleP2PProtocolVersion => {
            "incompatible p2p protocol version".into()
        }
        DisconnectReason::NullNodeIdentity => "invalid node identity".into(),
        DisconnectReason::ClientQuitting => "client quitting".into(),
        DisconnectReason::UnexpectedHandshakeIdentity => "unexpected identity".into(),
        DisconnectReason::ConnectedToSelf => "connected to self".into(),
        DisconnectReason::PingTimeout => "read timeout".into(),
        DisconnectReason::SubprotocolSpecific => "subprotocol error".into(),
        DisconnectReason::Unknown(c) => format!("unknown disconnect reason {c}"),
    }
}

/// What one peer did while connected, for the debug-level summaries.
struct PeerStats {
    since: Instant,
    messages_in: u64,
    bytes_in: u64,
    requests_answered: u64,
}

impl PeerStats {
    fn log(&self, peer: &PeerId, what: &str) {
        debug!(
            peer = %ethp2p_rlpx::node_id(peer),
            connected_for = ?self.since.elapsed(),
            messages_in = self.messages_in,
            bytes_in = self.bytes_in,
            requests_answered = self.requests_answered,
            "{what}"
        );
    }
}

/// The node loop's state.
struct Node {
    mgr: SessionManager,
    local_id: PeerId,
    targets: HashMap<PeerId, DialTarget>,
    /// Dials whose target was removed while they were under way.
    cancelled: HashSet<SessionId>,
    first_backoff: Duration,
    events: broadcast::Sender<Arc<PeerEvent>>,
    block_ranges: HashMap<PeerId, BlockRangeUpdate>,
    peer_stats: HashMap<PeerId, PeerStats>,
    opened: u64,
    failed: BTreeMap<&'static str, u64>,
    offline_warned: bool,
}

impl Node {
    fn add_target(&mut self, record: NodeRecord, kind: TargetKind) {
        if record.id == self.local_id {
            warn!(enode = %record, "not dialing ourselves");
            return;
        }
        let connected = self.mgr.session(&record.id).is_some();
        let now = Instant::now();
        let first = self.first_backoff;
        let t = self.targets.entry(record.id).or_insert(DialTarget {
            record,
            kind,
            next_attempt: now,
            backoff: first,
            connected,
            dialing: None,
        });
        // A static peer stays static; a newer address replaces the old one.
        if kind == TargetKind::Static || t.kind == TargetKind::Bootnode {
            t.kind = kind;
        }
        t.record = record;
        if !t.connected && t.dialing.is_none() {
            t.next_attempt = now;
            t.backoff = first;
        }
        self.publish_targets();
    }

    fn publish_targets(&self) {
        metrics::gauge!("ethp2p_static_peers").set(self.targets.len() as f64);
    }

    fn publish_peers(&self) {
        let c = self.mgr.counts();
        metrics::gauge!("ethp2p_peers", "direction" => "inbound").set(f64::from(c.active_inbound));
        metrics::gauge!("ethp2p_peers", "direction" => "outbound")
            .set(f64::from(c.active_outbound));
    }

    fn dial_due(&mut self) {
        let now = Instant::now();
        for t in self.targets.values_mut() {
            if t.connected || t.dialing.is_some() || t.next_attempt > now {
                continue;
            }
            if self.mgr.session(&t.record.id).is_some() {
                t.connected = true;
                continue;
            }
            match self.mgr.dial_outbound(t.record.tcp_addr(), t.record.id) {
                Ok(id) => {
                    metrics::counter!("ethp2p_dials_total").increment(1);
                    t.dialing = Some(id);
                }
                Err(e) => {
                    debug!(peer = %ethp2p_rlpx::node_id(&t.record.id), enode = %t.record, %e, "dial postponed")
                }
            }
        }
    }

    /// A dial or session with `peer` ended: schedule the next attempt.
    fn retry_later(&mut self, peer: &PeerId) {
        if let Some(t) = self.targets.get_mut(peer) {
            t.dialing = None;
            t.connected = self.mgr.session(peer).is_some();
            if !t.connected {
                t.next_attempt = Instant::now() + t.backoff;
                t.backoff = (t.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    fn log_status(&mut self) {
        let c = self.mgr.counts();
        info!(
            peers_in = c.active_inbound,
            peers_out = c.active_outbound,
            pending_in = c.pending_inbound,
            pending_out = c.pending_outbound,
            dialed = self.targets.len(),
            opened = self.opened,
            failed = ?self.failed,
            "status"
        );
        self.opened = 0;
        self.failed.clear();
        for (peer, stats) in &self.peer_stats {
            stats.log(peer, "peer summary");
        }
    }

    fn emit(&self, make: impl FnOnce() -> PeerEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(Arc::new(make()));
        }
    }

    fn emit_msg(&self, kind: &str, peer: &PeerId, protocol: &str, code: u64, size: usize) {
        self.emit(|| PeerEvent {
            kind: kind.into(),
            peer: node_id_hex(peer),
            error: None,
            protocol: Some(protocol.into()),
            msg_code: Some(code),
            msg_size: Some(u32::try_from(size).unwrap_or(u32::MAX)),
            local_address: None,
            remote_address: None,
        });
    }

    fn emit_drop(&self, peer: &PeerId, error: String) {
        self.emit(|| PeerEvent {
            kind: "drop".into(),
            peer: node_id_hex(peer),
            error: Some(error),
            protocol: None,
            msg_code: None,
            msg_size: None,
            local_address: None,
            remote_address: None,
        });
    }

    fn on_event(&mut self, ev: SessionEvent) {
        if matches!(
            ev,
            SessionEvent::SessionEstablished { .. }
                | SessionEvent::Disconnected { .. }
                | SessionEvent::SessionClosedOnConnectionError { .. }
        ) {
            // Counts change before the event is handed out.
            self.publish_peers();
        }
        match ev {
            SessionEvent::SessionEstablished { peer_id, info } => {
                self.opened += 1;
                if let Some(t) = self.targets.get_mut(&peer_id) {
                    t.connected = true;
                    t.backoff = self.first_backoff;
                    if t.dialing == Some(info.session_id) {
                        t.dialing = None;
                    }
                }
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), addr = %info.remote_addr, client = %info.client_version, eth = %info.eth_version, dir = info.direction.as_str(), "peer added");
                self.peer_stats.insert(
                    peer_id,
                    PeerStats {
                        since: Instant::now(),
                        messages_in: 0,
                        bytes_in: 0,
                        requests_answered: 0,
                    },
                );
                self.emit(|| PeerEvent {
                    kind: "add".into(),
                    peer: node_id_hex(&peer_id),
                    error: None,
                    protocol: None,
                    msg_code: None,
                    msg_size: None,
                    local_address: info.local_addr.map(|a| a.to_string()),
                    remote_address: Some(info.remote_addr.to_string()),
                });
                // The Status exchange ran before the session was handed over;
                // report it as geth does for the messages of a running protocol.
                let ours = self.mgr.status().with_version(info.eth_version);
                self.emit_msg("msgsend", &peer_id, "eth", 0, ours.length());
                self.emit_msg("msgrecv", &peer_id, "eth", 0, info.status.length());
                if self.cancelled.remove(&info.session_id) {
                    debug!(peer = %ethp2p_rlpx::node_id(&peer_id), "peer was removed while being dialed");
                    self.mgr
                        .disconnect(&peer_id, DisconnectReason::DisconnectRequested);
                }
            }
            SessionEvent::AlreadyConnected {
                peer_id, direction, ..
            } => {
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), dir = direction.as_str(), "already connected");
                if direction == ethp2p_session::Direction::Outgoing {
                    if let Some(t) = self.targets.get_mut(&peer_id) {
                        t.dialing = None;
                        t.connected = true;
                    }
                }
            }
            SessionEvent::ValidMessage { peer_id, message } => self.on_message(peer_id, message),
            SessionEvent::OutgoingConnectionError {
                session_id,
                peer_id,
                error,
                remote_addr,
                ..
            } => {
                self.cancelled.remove(&session_id);
                *self.failed.entry("connect").or_default() += 1;
                self.retry_later(&peer_id);
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), %remote_addr, %error, "dial failed");
                if !self.offline_warned && self.targets.values().all(|t| !t.connected) {
                    self.offline_warned = true;
                    warn!("no peer reachable yet (offline?); retrying with exponential back-off");
                }
            }
            SessionEvent::OutgoingPendingSessionClosed {
                session_id,
                peer_id,
                error,
                ..
            } => {
                self.cancelled.remove(&session_id);
                *self.failed.entry(error.label()).or_default() += 1;
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), %error, "handshake failed");
                self.retry_later(&peer_id);
            }
            SessionEvent::IncomingPendingSessionClosed {
                error, remote_addr, ..
            } => {
                debug!(%remote_addr, %error, "inbound handshake failed");
                *self.failed.entry(error.label()).or_default() += 1;
            }
            SessionEvent::Disconnected {
                peer_id,
                reason,
                by_us,
                ..
            } => {
                self.forget(&peer_id);
                self.retry_later(&peer_id);
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), %reason, by_us, "peer dropped");
                self.emit_drop(&peer_id, geth_reason(reason));
            }
            SessionEvent::SessionClosedOnConnectionError { peer_id, error, .. } => {
                self.forget(&peer_id);
                self.retry_later(&peer_id);
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), %error, "peer dropped");
                self.emit_drop(&peer_id, error.to_string());
            }
            SessionEvent::InvalidMessage { .. }
            | SessionEvent::BadMessage { .. }
            | SessionEvent::ProtocolBreach { .. } => debug!(?ev, "session event"),
            _ => debug!(?ev, "session event"),
        }
    }

    /// A session ended: drop what we kept about it.
    fn forget(&mut self, peer: &PeerId) {
        self.block_ranges.remove(peer);
        if let Some(stats) = self.peer_stats.remove(peer) {
            stats.log(peer, "peer summary (dropped)");
        }
    }

    fn count_in(&mut self, peer: &PeerId, bytes: usize, answered: bool) {
        if let Some(s) = self.peer_stats.get_mut(peer) {
            s.messages_in += 1;
            s.bytes_in += bytes as u64;
            s.requests_answered += u64::from(answered);
        }
    }

    fn on_message(&mut self, peer_id: PeerId, message: PeerMessage) {
        match message {
            PeerMessage::EthRequest { request, responder } => {
                self.count_in(&peer_id, request.length(), true);
                self.emit_msg(
                    "msgrecv",
                    &peer_id,
                    "eth",
                    request.id().as_u8().into(),
                    request.length(),
                );
                // We hold no chain data: answer with the empty response of the
                // right type and request id.
                match request.empty_response() {
                    Some(response) => {
                        debug!(peer = %ethp2p_rlpx::node_id(&peer_id), req = request.id().name(), "answering with an empty response");
                        self.emit_msg(
                            "msgsend",
                            &peer_id,
                            "eth",
                            response.id().as_u8().into(),
                            response.length(),
                        );
                        responder.respond(response);
                    }
                    None => drop(responder),
                }
            }
            PeerMessage::Eth(m) => {
                self.count_in(&peer_id, m.length(), false);
                self.emit_msg(
                    "msgrecv",
                    &peer_id,
                    "eth",
                    m.id().as_u8().into(),
                    m.length(),
                );
                if let EthMessage::BlockRangeUpdate(r) = &m {
                    self.block_ranges.insert(peer_id, *r);
                }
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), msg = m.id().name(), "message");
            }
            PeerMessage::Protocol { name, id, payload } => {
                self.count_in(&peer_id, payload.len(), false);
                self.emit_msg("msgrecv", &peer_id, &name, id.into(), payload.len());
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), %name, id, "sub-protocol message");
            }
            other => debug!(peer = %ethp2p_rlpx::node_id(&peer_id), ?other, "message"),
        }
    }

    fn on_command(&mut self, cmd: NodeCommand) {
        match cmd {
            NodeCommand::Peers(tx) => {
                let _ = tx.send(self.peers());
            }
            NodeCommand::PeerCount(tx) => {
                let c = self.mgr.counts();
                let _ = tx.send((c.active_inbound + c.active_outbound) as usize);
            }
            NodeCommand::AddPeer(record, tx) => {
                info!(enode = %record, "adding static peer");
                self.add_target(record, TargetKind::Static);
                self.dial_due();
                let _ = tx.send(true);
            }
            NodeCommand::RemovePeer(record, tx) => {
                info!(enode = %record, "removing peer");
                if let Some(t) = self.targets.remove(&record.id) {
                    if let Some(sid) = t.dialing {
                        if !self.mgr.abort_pending(sid) {
                            self.cancelled.insert(sid);
                        }
                    }
                }
                self.publish_targets();
                self.mgr
                    .disconnect(&record.id, DisconnectReason::DisconnectRequested);
                let _ = tx.send(true);
            }
            NodeCommand::AddTrustedPeer(record, tx) => {
                info!(enode = %record, "adding trusted peer");
                self.mgr.add_trusted(record.id);
                let _ = tx.send(true);
            }
            NodeCommand::RemoveTrustedPeer(record, tx) => {
                info!(enode = %record, "removing trusted peer");
                self.mgr.remove_trusted(&record.id);
                let _ = tx.send(true);
            }
        }
    }

    fn peers(&self) -> Vec<PeerInfo> {
        let mut out: Vec<PeerInfo> = self
            .mgr
            .active_sessions()
            .map(|(id, h)| {
                let p = h.peer_info();
                let range = p.eth_version.has_block_range().then(|| {
                    self.block_ranges
                        .get(id)
                        .copied()
                        .unwrap_or_else(|| p.status.block_range())
                });
                let eth = EthPeerInfo {
                    version: p.eth_version.as_u8(),
                    earliest_block: range.map(|r| r.earliest),
                    latest_block: range.map(|r| r.latest),
                    latest_block_hash: range.map(|r| r.latest_hash.to_string()),
                };
                let eth = serde_json::to_value(eth).unwrap_or_default();
                PeerInfo {
                    enode: p.enode.to_string(),
                    id: node_id_hex(id),
                    name: p.client_version.clone(),
                    caps: p
                        .capabilities
                        .iter()
                        .map(|c| format!("{}/{}", c.name, c.version))
                        .collect(),
                    network: PeerNetwork {
                        local_address: p.local_addr.map(|a| a.to_string()).unwrap_or_default(),
                        remote_address: p.remote_addr.to_string(),
                        inbound: p.direction == ethp2p_session::Direction::Incoming,
                        trusted: self.mgr.is_trusted(id),
                        is_static: self
                            .targets
                            .get(id)
                            .is_some_and(|t| t.kind == TargetKind::Static),
                    },
                    protocols: BTreeMap::from([("eth".to_string(), eth)]),
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed now, not at
/// the first poll, so a signal sent right after the enode line is printed
/// already shuts the node down gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    warn!("cannot install signal handlers; stop with SIGKILL");
                    std::future::pending::<()>().await
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Accept backlog: tokio's default (128) overflows under a connection burst.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds the RLPx listener with a backlog large enough for bursts.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geth_chain_config_keys() {
        let keys = |n, a| geth_fork_keys(n, a);
        assert_eq!(keys("London", ForkActivation::Block(1)), ["londonBlock"]);
        assert_eq!(
            keys("Muir Glacier", ForkActivation::Block(1)),
            ["muirGlacierBlock"]
        );
        assert_eq!(
            keys("Merge Netsplit", ForkActivation::Block(1)),
            ["mergeNetsplitBlock"]
        );
        assert_eq!(keys("Cancun", ForkActivation::Timestamp(1)), ["cancunTime"]);
        assert_eq!(keys("BPO1", ForkActivation::Timestamp(1)), ["bpo1Time"]);
        assert_eq!(
            keys("Spurious Dragon", ForkActivation::Block(1)),
            ["eip155Block", "eip158Block"]
        );
        assert_eq!(
            keys("Tangerine Whistle", ForkActivation::Block(1)),
            ["eip150Block"]
        );
        assert_eq!(keys("DAO", ForkActivation::Block(1)), ["daoForkBlock"]);
    }

    #[test]
    fn node_id_is_keccak_of_the_public_key() {
        // geth's enode.ID of the EIP-778 example key.
        let key = crate::enr::tests::example_key();
        assert_eq!(
            node_id_hex(&peer_id_from_secret_key(&key)),
            "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
        );
    }
}
