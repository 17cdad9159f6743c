//! [`NetworkManager`]: drives the listener, the session manager, the peers
//! manager and the request router, and fans events out to embedders.

use crate::{
    config::NetworkConfig,
    event::{IncomingMessage, NetworkEvent},
    failure::{active_failure, pending_failure},
    fetch::{
        BlockRange, FetchAction, FetchError, FetchRequest, FetchResponse, FetchRouter,
        HeaderSummary, PeerCapabilities, RequestFailure, RequestId,
    },
    handle::{Command, Fetched, NetworkHandle, PeerSummary, Shared},
    peers::{
        Direction as PeerDirection, PeerAction, PeerKind, PeersManager, ReputationChangeKind,
        SessionFailure,
    },
    transport_io::IncomingStream,
};
use ethp2p_eth::{
    message::{EthMessage, GetReceipts70, RequestPair},
    version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, node_id, PeerId};
use ethp2p_session::{
    Direction, InboundThrottle, PeerInfo, PeerMessage, RequestError, SessionEvent, SessionLimits,
    SessionManager, SessionManagerParams,
};
use ethp2p_wire::DisconnectReason;
use futures::{stream::FuturesUnordered, StreamExt};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use std::{
    collections::BTreeMap,
    io,
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};
use tokio::{
    net::TcpListener,
    sync::{broadcast, mpsc, oneshot},
    time::Instant,
};
use tracing::{debug, info, warn};

/// Commands buffered from handles.
const COMMAND_BUFFER: usize = 256;
/// How long shutdown waits for peers to take their goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
}

struct Active {
    info: Arc<PeerInfo>,
}

enum Internal {
    FetchDone {
        request_id: RequestId,
        peer_id: PeerId,
        result: Result<EthMessage, RequestError>,
    },
}

/// A routed request on the wire: resolves, in the manager's own task, to its
/// [`Internal::FetchDone`] when the session answers or gives up. Polling these
/// in place (rather than a spawned task per request that forwards the answer
/// through a channel) saves a task and a channel message per request.
struct SentFetch {
    request_id: RequestId,
    peer_id: PeerId,
    rx: oneshot::Receiver<Result<EthMessage, RequestError>>,
}

impl std::future::Future for SentFetch {
    type Output = Internal;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Internal> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| Internal::FetchDone {
                request_id: self.request_id,
                peer_id: self.peer_id,
                result: r.unwrap_or(Err(RequestError::ConnectionClosed)),
            })
    }
}

/// The network: owns the listener, the sessions, the peer table and the
/// request router. Build it with [`NetworkManager::new`], take its
/// [`handle`](Self::handle) (and, if wanted, its [message
/// stream](Self::take_messages)), then `tokio::spawn(manager.run())`.
pub struct NetworkManager {
    sessions: SessionManager,
    peers: PeersManager,
    router: FetchRouter,
    listener: Option<TcpListener>,
    throttle: InboundThrottle,
    commands: mpsc::Receiver<Command>,
    handle: NetworkHandle,
    /// Routed requests awaiting their session's answer; at most one per
    /// peer and request kind (the router's rule), so bounded by three times
    /// the established sessions.
    sent_fetches: FuturesUnordered<SentFetch>,
    messages_tx: Option<mpsc::Sender<IncomingMessage>>,
    messages_rx: Option<mpsc::Receiver<IncomingMessage>>,
    tx_messages_tx: Option<mpsc::Sender<IncomingMessage>>,
    tx_messages_rx: Option<mpsc::Receiver<IncomingMessage>>,
    active: BTreeMap<PeerId, Active>,
    fetches: BTreeMap<RequestId, oneshot::Sender<Result<Fetched, FetchError>>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for NetworkManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkManager")
            .field("sessions", &self.sessions)
            .field("peers", &self.peers.counts())
            .finish_non_exhaustive()
    }
}

impl NetworkManager {
    /// Binds the listener (if any) and builds the network; nothing runs
    /// until [`run`](Self::run).
    pub async fn new(config: NetworkConfig) -> Result<Self, NetworkError> {
        let listener = match config.listen_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| NetworkError::Listen { addr, source })?,
            ),
            None => None,
        };
        Ok(Self::with_listener(config, listener))
    }

    /// Builds the network around a listener the caller bound (its own
    /// socket options, backlog), or none; `config.listen_addr` is ignored.
    pub fn with_listener(config: NetworkConfig, listener: Option<TcpListener>) -> Self {
        let local_addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        Self::build(config, listener, local_addr)
    }

    fn build(
        config: NetworkConfig,
        listener: Option<TcpListener>,
        local_addr: Option<SocketAddr>,
    ) -> Self {
        let mut rng = match config.rng_seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        let head = config.head.unwrap_or_else(|| config.chain.genesis_head());
        let mut sessions_cfg = config.sessions.clone();
        sessions_cfg.limits = SessionLimits {
            max_pending_inbound: Some(config.peers.max_pending_inbound as u32),
            max_pending_outbound: Some(config.peers.max_concurrent_dials as u32),
            // Established sessions are the peers manager's to limit (with
            // its trusted-peer exceptions).
            max_established_inbound: None,
            max_established_outbound: None,
        };
        let local_id = peer_id_from_secret_key(&config.secret_key);
        let sessions = SessionManager::new(SessionManagerParams {
            secret_key: config.secret_key,
            config: sessions_cfg,
            status: config.chain.status(&head),
            client_id: config.client_id.clone(),
            listen_port: local_addr.map(|a| a.port()).unwrap_or(0),
            fork_filter: config.chain.fork_filter(head),
            eth_versions: config.eth_versions.clone(),
            extra_protocols: {
                let mut extra = ethp2p_eth::snap::snap_protocols(&config.snap_versions);
                extra.extend(config.extra_protocols.iter().cloned());
                extra
            },
            spawner: None,
            dialer: config.dialer.clone(),
            rng_seed: Some(rng.next_u64()),
        });
        let mut peers = PeersManager::new(config.peers.clone(), Instant::now(), rng.next_u64());
        peers.set_fork_filter(Some(config.chain.fork_filter(head)));
        let (tx, commands) = mpsc::channel(COMMAND_BUFFER);
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let handle = NetworkHandle {
            tx,
            shared: Arc::new(Shared {
                local_id,
                local_addr,
                num_peers: Default::default(),
                events,
            }),
        };
        let (messages_tx, messages_rx) = mpsc::channel(config.message_buffer.max(1));
        let (tx_messages_tx, tx_messages_rx) = mpsc::channel(config.message_buffer.max(1));
        Self {
            sessions,
            peers,
            router: FetchRouter::new(config.fetch),
            listener,
            throttle: InboundThrottle::new(config.inbound_throttle),
            commands,
            handle,
            sent_fetches: FuturesUnordered::new(),
            messages_tx: Some(messages_tx),
            messages_rx: Some(messages_rx),
            tx_messages_tx: Some(tx_messages_tx),
            tx_messages_rx: Some(tx_messages_rx),
            active: BTreeMap::new(),
            fetches: BTreeMap::new(),
            shutdown: None,
        }
    }

    /// A handle to drive the network with.
    pub fn handle(&self) -> NetworkHandle {
        self.handle.clone()
    }

    /// The one stream of peer messages (broadcasts, and requests with their
    /// responders). Take it before [`run`](Self::run); if nobody takes it,
    /// requests are answered empty and broadcasts dropped. When the consumer
    /// lags past the message buffer, new messages are dropped (requests
    /// among them answered empty) and counted in `ethp2p_messages_dropped_total`.
    pub fn take_messages(&mut self) -> Option<mpsc::Receiver<IncomingMessage>> {
        self.messages_rx.take()
    }

    /// The stream of transaction gossip: `NewPooledTransactionHashes`,
    /// `Transactions` and `GetPooledTransactions` requests, for a
    /// transactions manager. Taken, these no longer appear in
    /// [`take_messages`](Self::take_messages)' stream; untaken, they stay there.
    pub fn take_transaction_messages(&mut self) -> Option<mpsc::Receiver<IncomingMessage>> {
        self.tx_messages_rx.take()
    }

    /// The session manager (read-only: counts, Hello, Status).
    pub fn sessions(&self) -> &SessionManager {
        &self.sessions
    }

    fn emit(&self, ev: NetworkEvent) {
        let _ = self.handle.shared.events.send(ev);
    }

    /// Runs the network until [`NetworkHandle::shutdown`] or until every
    /// handle is dropped.
    pub async fn run(mut self) {
        if self.messages_rx.take().is_some() {
            // Nobody took the stream: answer requests empty, drop the rest.
            self.messages_tx = None;
        }
        if self.tx_messages_rx.take().is_some() {
            // Nobody took the gossip stream: gossip goes with the rest.
            self.tx_messages_tx = None;
        }
        // One timer, moved only when the peers manager's deadline moves (not
        // a fresh timer registered on every turn of the loop).
        let timer = tokio::time::sleep_until(self.peers.poll_timeout());
        tokio::pin!(timer);
        loop {
            self.apply_actions();
            let deadline = self.peers.poll_timeout();
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            tokio::select! {
                biased;
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                Some(internal) = self.sent_fetches.next(), if !self.sent_fetches.is_empty() => {
                    self.on_internal(internal)
                }
                ev = self.sessions.next() => {
                    if let Some(ev) = ev {
                        self.on_session_event(ev);
                    }
                }
                accepted = accept(self.listener.as_ref()) => match accepted {
                    Ok((stream, remote_addr)) => {
                        let _ = stream.set_nodelay(true);
                        let local_addr = stream.local_addr().ok();
                        self.on_incoming(IncomingStream {
                            stream: Box::new(stream),
                            remote_addr,
                            local_addr,
                        });
                    }
                    Err(e) => warn!(%e, "accept failed"),
                },
                _ = &mut timer => self.peers.handle_timeout(Instant::now()),
            }
            if self.shutdown.is_some() {
                break;
            }
        }
        self.stop().await;
    }

    async fn stop(mut self) {
        info!("network shutting down: ClientQuitting to every peer");
        self.sessions
            .disconnect_all(DisconnectReason::ClientQuitting);
        self.sessions.disconnect_all_pending();
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        loop {
            let c = self.sessions.counts();
            if c.active_inbound + c.active_outbound + c.pending_inbound + c.pending_outbound == 0 {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                ev = self.sessions.next() => match ev {
                    Some(ev) => self.on_session_event(ev),
                    None => break,
                },
            }
        }
        if let Some(done) = self.shutdown.take() {
            let _ = done.send(());
        }
    }

    fn apply_actions(&mut self) {
        let now = Instant::now();
        while let Some(action) = self.router.poll_action() {
            self.on_fetch_action(action, now);
        }
        while let Some(action) = self.peers.poll_action() {
            match action {
                PeerAction::Dial { peer_id, addr } => {
                    if let Err(e) = self.sessions.dial_outbound(addr, peer_id) {
                        debug!(peer = %node_id(&peer_id), %e, "dial refused by the pending limit");
                        let f = SessionFailure::Disconnected(DisconnectReason::TooManyPeers);
                        self.peers.on_dial_failed(peer_id, Some(f), now);
                    }
                }
                PeerAction::Disconnect { peer_id, reason } => {
                    self.sessions.disconnect(&peer_id, reason);
                }
                PeerAction::PeerAdded(id) => self.emit(NetworkEvent::PeerAdded(id)),
                PeerAction::PeerRemoved(id) => self.emit(NetworkEvent::PeerRemoved(id)),
                PeerAction::PeerBanned(id) => {
                    metrics::counter!("ethp2p_peers_banned_total").increment(1);
                    self.emit(NetworkEvent::PeerBanned(id))
                }
                // Bans are enforced by the peers manager at admission and
                // dialing; discovery learns of them through the events.
                _ => {}
            }
        }
    }

    fn on_incoming(&mut self, inc: IncomingStream) {
        let now = Instant::now();
        let ip = inc.remote_addr.ip();
        if !self.throttle.admit(ip, now) {
            metrics::counter!("ethp2p_inbound_throttled_total").increment(1);
            debug!(addr = %inc.remote_addr, "inbound connection throttled");
            return;
        }
        match self.peers.on_inbound_attempt(ip, now) {
            Ok(()) => {
                if let Err(e) =
                    self.sessions
                        .on_incoming(inc.stream, inc.remote_addr, inc.local_addr)
                {
                    debug!(addr = %inc.remote_addr, %e, "inbound connection over the pending limit");
                    self.peers.on_inbound_pending_closed(None, None, now);
                }
            }
            Err(why) => {
                debug!(addr = %inc.remote_addr, %why, "inbound connection refused");
                metrics::counter!("ethp2p_inbound_refused_total", "why" => why.to_string())
                    .increment(1);
                use crate::peers::InboundRejected::*;
                if matches!(why, NoInboundSlot | PendingLimit) {
                    self.sessions
                        .try_disconnect_incoming(inc.stream, DisconnectReason::TooManyPeers);
                }
            }
        }
    }

    fn on_session_event(&mut self, ev: SessionEvent) {
        let now = Instant::now();
        match ev {
            SessionEvent::SessionEstablished { peer_id, info } => {
                let dir = match info.direction {
                    Direction::Incoming => PeerDirection::Inbound,
                    Direction::Outgoing => PeerDirection::Outbound,
                };
                let addr = SocketAddr::new(info.enode.address, info.enode.tcp_port);
                self.peers.on_session_established(peer_id, addr, dir, now);
                let range = info.eth_version.has_block_range().then(|| BlockRange {
                    earliest: info.status.earliest_block,
                    latest: info.status.latest_block,
                });
                let rtt = self
                    .sessions
                    .session(&peer_id)
                    .map(|h| h.request_timeout() / 3)
                    .unwrap_or_default();
                self.router.add_peer(
                    peer_id,
                    PeerCapabilities {
                        eth_version: info.eth_version,
                        block_range: range,
                        rtt,
                    },
                );
                self.active.insert(peer_id, Active { info: info.clone() });
                self.publish_counts();
                self.emit(NetworkEvent::SessionEstablished { peer_id, info });
            }
            SessionEvent::AlreadyConnected {
                peer_id, direction, ..
            } => match direction {
                Direction::Outgoing => self.peers.on_dial_failed(
                    peer_id,
                    Some(SessionFailure::Disconnected(
                        DisconnectReason::AlreadyConnected,
                    )),
                    now,
                ),
                Direction::Incoming => {
                    self.peers
                        .on_inbound_pending_closed(Some(peer_id), None, now)
                }
            },
            SessionEvent::ValidMessage { peer_id, message } => self.on_message(peer_id, message),
            SessionEvent::BadMessage { peer_id } | SessionEvent::InvalidMessage { peer_id, .. } => {
                self.peers
                    .apply_reputation_change(peer_id, ReputationChangeKind::BadMessage, now)
            }
            SessionEvent::ProtocolBreach { peer_id } => {
                self.peers
                    .apply_reputation_change(peer_id, ReputationChangeKind::BadProtocol, now)
            }
            SessionEvent::IncomingPendingSessionClosed { error, .. } => self
                .peers
                .on_inbound_pending_closed(None, pending_failure(&error), now),
            SessionEvent::OutgoingPendingSessionClosed { peer_id, error, .. } => self
                .peers
                .on_dial_failed(peer_id, pending_failure(&error), now),
            SessionEvent::OutgoingConnectionError { peer_id, error, .. } => self
                .peers
                .on_dial_failed(peer_id, Some(SessionFailure::Io(error.kind())), now),
            SessionEvent::Disconnected {
                peer_id,
                reason,
                by_us,
                ..
            } => {
                // Our own Disconnect is an orderly close; theirs says why.
                let failure = (!by_us).then_some(SessionFailure::Disconnected(reason));
                self.session_closed(peer_id, failure, Some(reason), by_us, None);
            }
            SessionEvent::SessionClosedOnConnectionError { peer_id, error, .. } => {
                let failure = Some(active_failure(&error));
                self.session_closed(peer_id, failure, None, false, Some(error.to_string()));
            }
            other => debug!(?other, "session event"),
        }
    }

    fn session_closed(
        &mut self,
        peer_id: PeerId,
        failure: Option<SessionFailure>,
        reason: Option<DisconnectReason>,
        by_us: bool,
        error: Option<String>,
    ) {
        let now = Instant::now();
        self.peers.on_session_closed(peer_id, failure, now);
        self.router.remove_peer(peer_id);
        if let Some(a) = self.active.remove(&peer_id) {
            self.publish_counts();
            self.emit(NetworkEvent::SessionClosed {
                peer_id,
                info: a.info,
                reason,
                by_us,
                error,
            });
        }
    }

    fn publish_counts(&self) {
        let n = self.active.len();
        self.handle.shared.num_peers.store(n, Ordering::Relaxed);
        let inbound = self
            .active
            .values()
            .filter(|a| a.info.direction == Direction::Incoming)
            .count();
        metrics::gauge!("ethp2p_peers", "direction" => "inbound").set(inbound as f64);
        metrics::gauge!("ethp2p_peers", "direction" => "outbound").set((n - inbound) as f64);
    }

    fn on_message(&mut self, peer_id: PeerId, message: PeerMessage) {
        if let PeerMessage::Eth(EthMessage::BlockRangeUpdate(u)) = &message {
            self.router.set_block_range(
                peer_id,
                Some(BlockRange {
                    earliest: u.earliest,
                    latest: u.latest,
                }),
            );
        }
        let gossip = is_tx_gossip(&message) && self.tx_messages_tx.is_some();
        let slot = if gossip {
            &mut self.tx_messages_tx
        } else {
            &mut self.messages_tx
        };
        let Some(tx) = slot else {
            return; // requests answered empty as the responder drops
        };
        if let Err(e) = tx.try_send(IncomingMessage { peer_id, message }) {
            if matches!(e, mpsc::error::TrySendError::Closed(_)) {
                *slot = None;
            } else {
                metrics::counter!("ethp2p_messages_dropped_total").increment(1);
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::AddPeer(record, kind, tx) => {
                let addr = SocketAddr::new(record.address, record.tcp_port);
                let _ = tx.send(self.peers.add_peer(record.id, addr, kind, now));
            }
            Command::RemovePeer(id, Some(kind)) => self.peers.remove_peer_kind(id, kind, now),
            Command::RemovePeer(id, None) => {
                self.peers.remove_peer(id);
                self.sessions
                    .disconnect(&id, DisconnectReason::DisconnectRequested);
            }
            Command::Connect(record, tx) => {
                let addr = SocketAddr::new(record.address, record.tcp_port);
                let _ = tx.send(self.peers.connect(record.id, addr, now));
            }
            Command::Disconnect(id, reason) => {
                self.peers.disconnect(id, reason);
                self.sessions.disconnect(&id, reason);
            }
            Command::BanPeer(id, tx) => {
                let _ = tx.send(self.peers.ban_peer(id, now));
            }
            Command::UnbanPeer(id) => self.peers.unban_peer(id),
            Command::BanIp(ip) => self.peers.ban_ip(ip, now),
            Command::UnbanIp(ip) => self.peers.unban_ip(ip),
            Command::Reputation(id, kind) => self.peers.apply_reputation_change(id, kind, now),
            Command::GetReputation(id, tx) => {
                let _ = tx.send(self.peers.reputation(&id));
            }
            Command::Peers(tx) => {
                let list = self
                    .active
                    .iter()
                    .map(|(id, a)| PeerSummary {
                        info: a.info.clone(),
                        known: self.peers.peer(id),
                    })
                    .collect();
                let _ = tx.send(list);
            }
            Command::KnownPeers(kind, tx) => {
                let _ = tx.send(self.peers.peers_by_kind(kind).collect());
            }
            Command::SendMessage(id, msg, tx) => {
                let _ = tx.send(self.sessions.send_message(&id, *msg));
            }
            Command::SendRequest(id, msg, tx) => {
                let _ = tx.send(self.sessions.send_request(&id, *msg));
            }
            Command::SendSnapRequest(id, msg, tx) => {
                let _ = tx.send(self.sessions.send_snap_request(&id, *msg));
            }
            Command::SendProtocol(id, name, msg_id, payload, tx) => {
                let _ = tx.send(
                    self.sessions
                        .send_protocol_message(&id, &name, msg_id, payload),
                );
            }
            Command::UpdateHead(head, tx) => {
                let t = self.sessions.on_status_update(head);
                if let Some(f) = self.peers.fork_filter_mut() {
                    f.set_head(head);
                }
                let _ = tx.send(t);
            }
            Command::Fetch(req, prio, tx) => match self.router.submit(req, prio) {
                Ok(id) => {
                    self.fetches.insert(id, tx);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            },
            Command::ReportBadData(id, change) => self.router.report_bad_data(id, change),
            Command::Incoming(inc) => self.on_incoming(inc),
            Command::Candidate(c) => self.peers.on_candidate(c, now),
            Command::Shutdown(tx) => self.shutdown = Some(tx),
        }
    }

    fn on_fetch_action(&mut self, action: FetchAction, now: Instant) {
        match action {
            FetchAction::Send {
                request_id,
                peer_id,
                request,
            } => {
                let version = self
                    .active
                    .get(&peer_id)
                    .map(|a| a.info.eth_version)
                    .unwrap_or(EthVersion::Eth69);
                let msg = request_message(request, version);
                let rx = self.sessions.send_request(&peer_id, msg);
                self.sent_fetches.push(SentFetch {
                    request_id,
                    peer_id,
                    rx,
                });
            }
            FetchAction::Failed { request_id, error } => {
                if let Some(tx) = self.fetches.remove(&request_id) {
                    let _ = tx.send(Err(error));
                }
            }
            FetchAction::Reputation { peer_id, change } => {
                self.peers.apply_reputation_change(peer_id, change, now)
            }
        }
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::FetchDone {
                request_id,
                peer_id,
                result,
            } => match result {
                Ok(message) => {
                    let summary = summarize(&message);
                    let verdict = summary
                        .as_ref()
                        .map(|s| self.router.on_response(request_id, s));
                    match verdict {
                        Some(Ok(crate::fetch::ResponseVerdict::Valid)) => {
                            if let Some(tx) = self.fetches.remove(&request_id) {
                                let _ = tx.send(Ok(Fetched { peer_id, message }));
                            }
                        }
                        Some(_) => {} // the router retries or fails it
                        None => {
                            let _ = self
                                .router
                                .on_request_failed(request_id, RequestFailure::ConnectionClosed);
                        }
                    }
                }
                Err(RequestError::Timeout) => {
                    let _ = self
                        .router
                        .on_request_failed(request_id, RequestFailure::Timeout);
                }
                Err(_) => {
                    let _ = self
                        .router
                        .on_request_failed(request_id, RequestFailure::ConnectionClosed);
                }
            },
        }
    }
}

/// Whether a message belongs to transaction gossip.
fn is_tx_gossip(message: &PeerMessage) -> bool {
    match message {
        PeerMessage::Eth(m) => matches!(
            m,
            EthMessage::NewPooledTransactionHashes(_) | EthMessage::Transactions(_)
        ),
        PeerMessage::EthRequest { request, .. } => {
            matches!(request, EthMessage::GetPooledTransactions(_))
        }
        _ => false,
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// The eth request for a routed request, in the peer's version's form.
fn request_message(request: FetchRequest, version: EthVersion) -> EthMessage {
    match request {
        FetchRequest::Headers(h) => EthMessage::GetBlockHeaders(RequestPair {
            request_id: 0,
            message: h,
        }),
        FetchRequest::Bodies { hashes, .. } => EthMessage::GetBlockBodies(RequestPair {
            request_id: 0,
            message: hashes,
        }),
        FetchRequest::Receipts { hashes, .. } if version >= EthVersion::Eth70 => {
            EthMessage::GetReceipts70(RequestPair {
                request_id: 0,
                message: GetReceipts70 {
                    first_block_receipt_index: 0,
                    block_hashes: hashes,
                },
            })
        }
        FetchRequest::Receipts { hashes, .. } => EthMessage::GetReceipts(RequestPair {
            request_id: 0,
            message: hashes,
        }),
    }
}

/// What the router's structural checks need of an answer; `None` for an
/// answer of no routed kind, or headers that do not decode.
fn summarize(message: &EthMessage) -> Option<FetchResponse> {
    Some(match message {
        EthMessage::BlockHeaders(p) => FetchResponse::Headers(
            p.message
                .iter()
                .map(HeaderSummary::from_rlp)
                .collect::<Result<_, _>>()
                .ok()?,
        ),
        EthMessage::BlockBodies(p) => FetchResponse::Bodies {
            count: p.message.len(),
        },
        EthMessage::Receipts(p) => FetchResponse::Receipts {
            count: p.message.len(),
        },
        EthMessage::Receipts70(p) => FetchResponse::Receipts {
            count: p.message.receipts.len(),
        },
        _ => return None,
    })
}

impl PeerKind {
    /// The kind's name, as the admin RPC shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerKind::Basic => "basic",
            PeerKind::Static => "static",
            PeerKind::Trusted => "trusted",
        }
    }
}
