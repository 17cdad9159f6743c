//! `ethp2p node`: listens, dials bootnodes and static peers with back-off,
//! answers eth requests it cannot serve with empty responses, serves the
//! admin JSON-RPC and Prometheus metrics, logs a status line every 30 s, and
//! shuts down gracefully on SIGINT/SIGTERM.
//!
//! The network (listener, sessions, peers manager) runs in its own task,
//! driven through a `NetworkHandle`; the node loop serves the RPC handlers'
//! commands, answers the requests peers send, and turns network events into
//! geth-style [`PeerEvent`]s.

use crate::{
    config::{self, LogFormat, NodeConfig},
    datadir::DataDir,
    enr,
    rpc::{
        self, EthPeerInfo, NodeCommand, NodeInfo, NodePorts, PeerEvent, PeerInfo, PeerNetwork,
        RpcContext,
    },
};
use alloy_rlp::Encodable;
use ethp2p_eth::{
    chain::ChainSpec,
    forkid::{ForkActivation, Head},
    message::{BlockRangeUpdate, EthMessage},
};
use ethp2p_network::{
    head::HeadFollower,
    peers::{PeerKind, PeersConfig},
    IncomingMessage, NetworkConfig, NetworkEvent, NetworkHandle, NetworkManager,
};
use ethp2p_rlpx::{NodeRecord, PeerId, SecretKey};
use ethp2p_session::{PeerMessage, SessionsConfig};
use ethp2p_wire::DisconnectReason;
use serde_json::json;
use std::{
    collections::{BTreeMap, HashMap},
    io::IsTerminal,
    net::SocketAddr,
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
const EVENT_BUFFER: usize = 1024;
const COMMAND_BUFFER: usize = 64;

/// The log filter of `-q`, no flag and each `-v`: every level adds to the
/// one before it. `RUST_LOG`, when set, replaces it.
///
/// | flag    | ethp2p crates           | dependencies |
/// |---------|-------------------------|--------------|
/// | `-q`    | warn                    | warn         |
/// | (none)  | info (sessions: warn)   | info (jsonrpsee: warn) |
/// | `-v`    | info, sessions included | info         |
/// | `-vv`   | debug                   | info         |
/// | `-vvv`  | trace                   | debug        |
/// | `-vvvv` | trace                   | trace        |
///
/// (`ethp2p` as a target prefix covers every `ethp2p_*` crate.)
pub(crate) fn log_filter(verbose: u8, quiet: bool) -> &'static str {
    if quiet {
        return "warn";
    }
    match verbose {
        0 => "info,ethp2p_session=warn,jsonrpsee=warn",
        1 => "info",
        2 => "info,ethp2p=debug",
        3 => "debug,ethp2p=trace",
        _ => "trace",
    }
}

fn init_logging(cfg: &NodeConfig) {
    let level = log_filter(cfg.verbose, cfg.quiet);
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

    // Sockets first: a start-up that fails on a taken port leaves no key behind.
    // The data directory is locked for the node's life: a second node on
    // it fails here, naming it.
    let datadir = DataDir::open(&cfg.datadir).map_err(|e| format!("--datadir: {e}"))?;
    let key = match cfg.nodekey {
        Some(k) => k,
        None => datadir
            .load_or_create_nodekey()
            .map_err(|e| format!("--datadir: {e}"))?,
    };
    let node_datadir = datadir.path().display().to_string();
    let saved_statics = datadir
        .static_peers()
        .map_err(|e| format!("--datadir: {e}"))?;
    let client = client_version();
    let start_head = match cfg.head {
        Some(h) => Head {
            number: h.number,
            hash: h.hash,
            timestamp: h.timestamp.unwrap_or_else(unix_now),
            total_difficulty: chain.genesis_difficulty,
        },
        None => chain.genesis_head(),
    };
    let mut net_cfg = NetworkConfig::new(key, chain.clone());
    net_cfg.head = Some(start_head);
    net_cfg.client_id = client.clone();
    net_cfg.eth_versions = cfg.eth_versions.clone();
    if cfg.snap {
        // snap/2 and snap/1: the highest one a peer shares runs.
        net_cfg.snap_versions = ethp2p_eth::snap::SnapVersion::ALL.to_vec();
    }
    net_cfg.inbound_throttle = cfg.inbound_throttle;
    net_cfg.sessions = SessionsConfig {
        session_event_buffer: (cfg.max_peers() as usize * 2).clamp(64, 2600),
        p2p: ethp2p_wire::P2PConfig {
            ping_interval: cfg.ping_interval,
            ..SessionsConfig::default().p2p
        },
        ..SessionsConfig::default()
    };
    net_cfg.peers = PeersConfig {
        max_inbound: cfg.max_inbound as usize,
        max_outbound: cfg.max_outbound as usize,
        max_pending_inbound: cfg.max_pending_inbound as usize,
        max_concurrent_dials: cfg.max_pending_outbound as usize,
        lenient_backoff: cfg.redial_backoff,
        ip_filter: cfg.ip_filter.clone(),
        refill_interval: cfg
            .redial_backoff
            .clamp(Duration::from_millis(100), Duration::from_secs(5)),
        ..PeersConfig::default()
    };
    let mut manager = NetworkManager::with_listener(net_cfg, Some(listener));
    let net = manager.handle();
    let messages = manager.take_messages();
    let tx_manager = ethp2p_network::transactions::manager::TransactionsManager::new(
        manager.handle(),
        manager
            .take_transaction_messages()
            .ok_or("transaction messages already taken")?,
        cfg.tx.clone(),
    );
    let txs = tx_manager.handle();
    tokio::spawn(tx_manager.run());
    let local_id = net.local_id();
    let shown_ip = if local_addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        local_addr.ip()
    };
    let enode = NodeRecord::new(local_id, SocketAddr::new(shown_ip, local_addr.port()));
    let head_hash = manager.sessions().status().latest_block_hash.to_string();
    let net_task = tokio::spawn(manager.run());
    let bootnodes: Vec<NodeRecord> = if !cfg.bootnode_list.is_empty() {
        cfg.bootnode_list.clone()
    } else if cfg.bootnodes {
        chain
            .bootnodes
            .iter()
            .filter_map(|b| match b.parse::<NodeRecord>() {
                Ok(r) => Some(r),
                Err(e) => {
                    warn!(bootnode = %b, %e, "skipping malformed bootnode");
                    None
                }
            })
            .collect()
    } else {
        vec![]
    };
    let disc = crate::discovery::start(
        &cfg,
        &key,
        local_addr.port(),
        &chain,
        &bootnodes,
        net.clone(),
    )
    .await?;
    let mut info = node_info(&key, &enode, local_addr, &client, &chain, &head_hash);
    if let Some(d) = &disc {
        info.ports.discovery = d.udp_port;
        info.enr = d.enr.clone();
    }
    if cfg.snap {
        // geth's snap node info is an empty object.
        info.protocols.insert("snap".into(), json!({}));
    }
    let node_info = Arc::new(info);

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    info!(chain = %chain.name, %local_addr, datadir = %node_datadir, "ethp2p node started");
    debug!(
        max_inbound = cfg.max_inbound,
        max_outbound = cfg.max_outbound,
        eth_versions = ?cfg.eth_versions,
        discovery = cfg.discovery,
        bootnodes = bootnodes.len(),
        "configuration"
    );
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
                txs: txs.clone(),
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
        net: net.clone(),
        local_id,
        net_events: net.event_listener(),
        events,
        status: chain.status(&start_head),
        follower: cfg
            .follow_head
            .then(|| HeadFollower::new(start_head, ethp2p_network::head::DEFAULT_QUORUM)),
        new_head: None,
        block_ranges: HashMap::new(),
        peer_stats: HashMap::new(),
        opened: 0,
        closed: BTreeMap::new(),
        datadir,
        saved_statics: BTreeMap::new(),
    };
    metrics::gauge!("ethp2p_info", "version" => env!("CARGO_PKG_VERSION"), "chain" => chain.name.clone()).set(1.0);
    for b in &bootnodes {
        node.add(*b, PeerKind::Basic).await;
    }
    for p in &cfg.trusted_peers {
        node.add(*p, PeerKind::Trusted).await;
    }
    for p in &cfg.static_peers {
        node.add(*p, PeerKind::Static).await;
    }
    // Static peers added over RPC in earlier runs.
    for p in saved_statics {
        node.saved_statics.insert(p.id, p);
        node.add(p, PeerKind::Static).await;
    }

    let mut status_tick =
        tokio::time::interval_at(Instant::now() + STATUS_INTERVAL, STATUS_INTERVAL);
    let mut commands_open = true;
    let mut messages = messages;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = status_tick.tick() => node.log_status().await,
            cmd = cmd_rx.recv(), if commands_open => match cmd {
                Some(cmd) => node.on_command(cmd).await,
                None => commands_open = false,
            },
            ev = node.net_events.recv() => match ev {
                Ok(ev) => node.on_event(ev),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(missed = n, "network events lagged");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(m) = recv(&mut messages) => node.on_message(m.peer_id, m.message),
        }
        node.apply_head().await;
    }

    info!("shutting down: sending ClientQuitting to every peer");
    if let Some(h) = rpc_handle {
        let _ = h.stop();
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    let second = shutdown_signal();
    tokio::pin!(second);
    tokio::select! {
        _ = &mut second => error!("second signal: exiting now"),
        _ = net.shutdown() => {}
    }
    net_task.abort();
    info!("stopped");
    Ok(())
}

/// The next message, or never if there is no stream.
async fn recv(rx: &mut Option<mpsc::Receiver<IncomingMessage>>) -> Option<IncomingMessage> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
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
    head: &str,
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
    let eth = json!({
        "network": chain.network_id,
        "genesis": chain.genesis_hash.to_string(),
        "config": config,
        "head": head,
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
    net: NetworkHandle,
    local_id: PeerId,
    net_events: broadcast::Receiver<NetworkEvent>,
    events: broadcast::Sender<Arc<PeerEvent>>,
    /// Our Status (the message sizes of peerEvents' Status exchange).
    status: ethp2p_eth::status::Status,
    block_ranges: HashMap<PeerId, BlockRangeUpdate>,
    peer_stats: HashMap<PeerId, PeerStats>,
    opened: u64,
    closed: BTreeMap<String, u64>,
    /// Locked for the node's life; holds the static peers added over RPC.
    datadir: DataDir,
    saved_statics: BTreeMap<PeerId, NodeRecord>,
    /// `--follow-head`: the peers' heads and the one we follow.
    follower: Option<HeadFollower>,
    /// A followed head not yet handed to the network.
    new_head: Option<Head>,
}

/// Wall-clock seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Node {
    /// A peer announced its latest block: follow it if the rule says so.
    fn peer_head(&mut self, peer: PeerId, number: u64, hash: alloy_primitives::B256) {
        if let Some(f) = &mut self.follower {
            if let Some(head) = f.on_peer_head(peer, number, hash, unix_now()) {
                self.new_head = Some(head);
            }
        }
    }

    /// Hands a newly followed head to the network (the Status of new
    /// sessions) and, when due, sends eth/69 peers a BlockRangeUpdate.
    async fn apply_head(&mut self) {
        let Some(head) = self.new_head.take() else {
            return;
        };
        info!(number = head.number, hash = %head.hash, "following the peers' head");
        if self.net.update_head(head).await.is_err() {
            return;
        }
        self.status.set_head(head.number, head.hash);
        let Some(update) = self.follower.as_mut().and_then(|f| f.block_range_update(0)) else {
            return;
        };
        for p in self.net.peers().await.unwrap_or_default() {
            if p.info.eth_version.has_block_range() {
                let msg = EthMessage::BlockRangeUpdate(update);
                if let Ok(Err(e)) = self.net.send_message(p.info.remote_id, msg).await {
                    debug!(peer = %ethp2p_rlpx::node_id(&p.info.remote_id), %e, "BlockRangeUpdate not sent");
                }
            }
        }
    }

    /// Adds a peer of `kind` (bootnodes as basic candidates, static and
    /// trusted peers kept dialed).
    async fn add(&mut self, record: NodeRecord, kind: PeerKind) {
        if record.id == self.local_id {
            warn!(enode = %record, "not dialing ourselves");
            return;
        }
        match self.net.add_peer(record, kind).await {
            Ok(Ok(())) => {
                if kind != PeerKind::Basic {
                    metrics::gauge!("ethp2p_static_peers").increment(1.0);
                }
            }
            Ok(Err(e)) => warn!(enode = %record, %e, "peer not added"),
            Err(e) => warn!(enode = %record, %e, "peer not added"),
        }
    }

    async fn log_status(&mut self) {
        let peers = self.net.peers().await.unwrap_or_default();
        let inbound = peers
            .iter()
            .filter(|p| p.info.direction == ethp2p_session::Direction::Incoming)
            .count();
        info!(
            peers_in = inbound,
            peers_out = peers.len() - inbound,
            opened = self.opened,
            closed = ?self.closed,
            "status"
        );
        self.opened = 0;
        self.closed.clear();
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

    fn on_event(&mut self, ev: NetworkEvent) {
        match ev {
            NetworkEvent::SessionEstablished { peer_id, info } => {
                self.opened += 1;
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
                let ours = self.status.with_version(info.eth_version);
                self.emit_msg("msgsend", &peer_id, "eth", 0, ours.length());
                self.emit_msg("msgrecv", &peer_id, "eth", 0, info.status.length());
                if info.eth_version.has_block_range() {
                    let s = &info.status;
                    self.peer_head(peer_id, s.latest_block, s.latest_block_hash);
                }
            }
            NetworkEvent::SessionClosed {
                peer_id,
                reason,
                by_us,
                error,
                ..
            } => {
                self.block_ranges.remove(&peer_id);
                if let Some(f) = &mut self.follower {
                    f.on_peer_gone(&peer_id);
                }
                if let Some(stats) = self.peer_stats.remove(&peer_id) {
                    stats.log(&peer_id, "peer gone");
                }
                let why = match (&error, reason) {
                    (Some(e), _) => e.clone(),
                    (None, Some(r)) => geth_reason(r),
                    (None, None) => "closed".into(),
                };
                *self.closed.entry(why.clone()).or_default() += 1;
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), reason = %why, by_us, "peer dropped");
                self.emit(|| PeerEvent {
                    kind: "drop".into(),
                    peer: node_id_hex(&peer_id),
                    error: Some(why),
                    protocol: None,
                    msg_code: None,
                    msg_size: None,
                    local_address: None,
                    remote_address: None,
                });
            }
            other => debug!(?other, "network event"),
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
                    self.peer_head(peer_id, r.latest, r.latest_hash);
                }
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), msg = m.id().name(), "message");
            }
            PeerMessage::SnapRequest { request, responder } => {
                self.count_in(&peer_id, request.length(), true);
                self.emit_msg(
                    "msgrecv",
                    &peer_id,
                    "snap",
                    request.id().as_u8().into(),
                    request.length(),
                );
                // We hold no state: the answers the spec requires of a node
                // that lacks the root, the codes or the access lists.
                if let Some(response) = ethp2p_eth::snap::chainless_response(&request) {
                    debug!(peer = %ethp2p_rlpx::node_id(&peer_id), req = request.id().name(), "answering snap with the chain-less answer");
                    self.emit_msg(
                        "msgsend",
                        &peer_id,
                        "snap",
                        response.id().as_u8().into(),
                        response.length(),
                    );
                    responder.respond(response);
                }
            }
            PeerMessage::Protocol { name, id, payload } => {
                self.count_in(&peer_id, payload.len(), false);
                self.emit_msg("msgrecv", &peer_id, &name, id.into(), payload.len());
                debug!(peer = %ethp2p_rlpx::node_id(&peer_id), %name, id, "sub-protocol message");
            }
            other => debug!(peer = %ethp2p_rlpx::node_id(&peer_id), ?other, "message"),
        }
    }

    async fn on_command(&mut self, cmd: NodeCommand) {
        match cmd {
            NodeCommand::Peers(tx) => {
                let _ = tx.send(self.peers().await);
            }
            NodeCommand::PeerCount(tx) => {
                let _ = tx.send(self.net.num_connected_peers());
            }
            NodeCommand::AddPeer(record, tx) => {
                info!(enode = %record, "adding static peer");
                let r = self.admin_add(record, PeerKind::Static).await;
                if r.is_ok() {
                    self.saved_statics.insert(record.id, record);
                    self.save_statics();
                }
                let _ = tx.send(r);
            }
            NodeCommand::RemovePeer(record, tx) => {
                info!(enode = %record, "removing peer");
                let r = self.net.remove_peer(record.id, None).await;
                if self.saved_statics.remove(&record.id).is_some() {
                    self.save_statics();
                }
                let _ = tx.send(r.map(|()| true).map_err(|e| e.to_string()));
            }
            NodeCommand::AddTrustedPeer(record, tx) => {
                info!(enode = %record, "adding trusted peer");
                let _ = tx.send(self.admin_add(record, PeerKind::Trusted).await);
            }
            NodeCommand::RemoveTrustedPeer(record, tx) => {
                info!(enode = %record, "removing trusted peer");
                let r = self
                    .net
                    .remove_peer(record.id, Some(PeerKind::Trusted))
                    .await;
                let _ = tx.send(r.map(|()| true).map_err(|e| e.to_string()));
            }
        }
    }

    /// Keeps the RPC-added static peers across restarts.
    fn save_statics(&self) {
        let list: Vec<NodeRecord> = self.saved_statics.values().copied().collect();
        if let Err(e) = self.datadir.save_static_peers(&list) {
            warn!(%e, "static peers not saved");
        }
    }

    async fn admin_add(&mut self, record: NodeRecord, kind: PeerKind) -> Result<bool, String> {
        if record.id == self.local_id {
            return Err("cannot add the node itself as a peer".into());
        }
        match self.net.add_peer(record, kind).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn peers(&self) -> Vec<PeerInfo> {
        let mut out: Vec<PeerInfo> = self
            .net
            .peers()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let p = &s.info;
                let id = &p.remote_id;
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
                let kind = s.known.map(|k| k.kind).unwrap_or_default();
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
                        trusted: kind == PeerKind::Trusted,
                        is_static: kind == PeerKind::Static,
                    },
                    protocols: {
                        let mut protocols = BTreeMap::from([("eth".to_string(), eth)]);
                        if let Some(v) = p.snap_version() {
                            protocols.insert("snap".into(), json!({ "version": v.as_u8() }));
                        }
                        protocols
                    },
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

    /// The level a filter string gives `target` (longest matching target
    /// prefix wins, as in `EnvFilter`), as a rank: warn 2 … trace 5.
    fn rank(filter: &str, target: &str) -> u8 {
        let rank = |l: &str| match l {
            "error" => 1,
            "warn" => 2,
            "info" => 3,
            "debug" => 4,
            "trace" => 5,
            other => panic!("level {other}"),
        };
        let mut best = (0usize, 0u8);
        for d in filter.split(',') {
            match d.split_once('=') {
                Some((t, l)) if target.starts_with(t) && t.len() >= best.0 => {
                    best = (t.len(), rank(l))
                }
                None if best.0 == 0 => best = (0, rank(d)),
                _ => {}
            }
        }
        best.1
    }

    #[test]
    fn each_verbosity_level_adds_to_the_one_before() {
        // Every directive is a valid EnvFilter.
        for v in 0..5 {
            tracing_subscriber::EnvFilter::try_new(log_filter(v, false)).unwrap();
        }
        let targets = [
            "ethp2p::node",
            "ethp2p_network::manager",
            "ethp2p_session::active",
            "hyper::proto",
        ];
        let steps: Vec<Vec<u8>> = [
            (0, true),
            (0, false),
            (1, false),
            (2, false),
            (3, false),
            (4, false),
        ]
        .iter()
        .map(|&(v, q)| targets.iter().map(|t| rank(log_filter(v, q), t)).collect())
        .collect();
        for w in steps.windows(2) {
            // Nothing gets quieter, something gets louder.
            assert!(w[0].iter().zip(&w[1]).all(|(a, b)| a <= b), "{w:?}");
            assert_ne!(w[0], w[1]);
        }
        // -vv: debug for ours, dependencies still at info.
        assert_eq!(steps[3], [4, 4, 4, 3]);
    }

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
            node_id_hex(&ethp2p_rlpx::key::peer_id_from_secret_key(&key)),
            "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
        );
    }
}
