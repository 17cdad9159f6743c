//! [`SessionManager`]: spawns and tracks every session and reports what happens.

use crate::{
    active::{ActiveSession, Closed, MessageKind, Notice, SessionMessage},
    config::SessionsConfig,
    counter::{SessionCounter, SessionCounts},
    error::{
        ActiveSessionError, ExceedsSessionLimit, PendingSessionError, RequestError, SendError,
    },
    handle::{
        ActiveSessionHandle, Direction, PeerInfo, PeerMessage, PendingSessionHandle,
        ProtocolCommand, QueueGauge, SessionCommand, SessionId,
    },
    metrics,
    pending::{self, Established, PendingContext, PendingEvent, PendingStart, Target},
    transport::{Dialer, TcpDialer},
};
use ethp2p_eth::{
    forkid::{ForkFilter, ForkTransition, Head},
    handshake::eth_protocols,
    message::{EthMessage, EthMessageError},
    snap::SnapMessage,
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, Protocol, P2P_VERSION};
use futures::{future::BoxFuture, Stream};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::SystemTime,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::{mpsc, oneshot},
    time::Instant,
};
use tokio_util::sync::PollSender;
use tracing::{debug, info, Instrument};

/// Most graceful refusals of inbound connections running at once (reth: 15).
pub const MAX_CONCURRENT_GOODBYES: usize = 15;
/// Items the manager takes from its sources in one `poll` before yielding.
const POLL_BUDGET: usize = 64;

/// Runs a task; defaults to `tokio::spawn`.
pub type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

/// Everything a [`SessionManager`] is built from.
pub struct SessionManagerParams {
    /// This node's secret key.
    pub secret_key: SecretKey,
    /// Buffers, timeouts and limits.
    pub config: SessionsConfig,
    /// The Status offered to peers (its version is set per session).
    pub status: Status,
    /// Client id sent in Hello.
    pub client_id: String,
    /// Listening port announced in Hello (0 for none).
    pub listen_port: u16,
    /// Validates the remotes' fork ids.
    pub fork_filter: ForkFilter,
    /// eth versions to advertise.
    pub eth_versions: Vec<EthVersion>,
    /// Extra RLPx sub-protocols to run beside eth.
    pub extra_protocols: Vec<Protocol>,
    /// Task spawner; `None` uses `tokio::spawn`.
    pub spawner: Option<Spawner>,
    /// Opens outbound connections; `None` dials TCP.
    pub dialer: Option<Arc<dyn Dialer>>,
    /// Seeds every random choice of the sessions (ECIES ephemeral keys,
    /// nonces, IVs and padding), so that a run on a paused clock over an
    /// in-memory transport replays exactly. `None` seeds from the OS.
    pub rng_seed: Option<u64>,
}

/// Everything that happens to sessions, in one stream. A session's events
/// come in the order it produced them, and nothing follows its
/// `Disconnected` / `SessionClosedOnConnectionError`.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A session completed ECIES, Hello and Status and is now active.
    SessionEstablished {
        /// The remote.
        peer_id: PeerId,
        /// All about it.
        info: Arc<PeerInfo>,
    },
    /// A second session to a connected peer was refused with AlreadyConnected.
    AlreadyConnected {
        /// The remote.
        peer_id: PeerId,
        /// The refused connection's address.
        remote_addr: SocketAddr,
        /// Its direction.
        direction: Direction,
    },
    /// A valid message from a peer.
    ValidMessage {
        /// The sender.
        peer_id: PeerId,
        /// The message.
        message: PeerMessage,
    },
    /// A message not allowed in the negotiated version (the peer is disconnected).
    InvalidMessage {
        /// The sender.
        peer_id: PeerId,
        /// What was wrong.
        error: EthMessageError,
    },
    /// A malformed or unexpected message (e.g. a response nobody asked for).
    BadMessage {
        /// The sender.
        peer_id: PeerId,
    },
    /// The peer broke the protocol and was disconnected with ProtocolBreach.
    ProtocolBreach {
        /// The peer.
        peer_id: PeerId,
    },
    /// An inbound connection failed before becoming a session.
    IncomingPendingSessionClosed {
        /// The id `on_incoming` returned.
        session_id: SessionId,
        /// Its address.
        remote_addr: SocketAddr,
        /// Why.
        error: PendingSessionError,
    },
    /// An outbound connection failed after TCP connected, before becoming a session.
    OutgoingPendingSessionClosed {
        /// The id `dial_outbound` returned.
        session_id: SessionId,
        /// Its address.
        remote_addr: SocketAddr,
        /// The dialed peer.
        peer_id: PeerId,
        /// Why.
        error: PendingSessionError,
    },
    /// The connection could not be opened.
    OutgoingConnectionError {
        /// The id `dial_outbound` returned.
        session_id: SessionId,
        /// The address dialed.
        remote_addr: SocketAddr,
        /// The dialed peer.
        peer_id: PeerId,
        /// The socket error.
        error: io::Error,
    },
    /// A session ended with a Disconnect (sent or received).
    Disconnected {
        /// The peer.
        peer_id: PeerId,
        /// Its address.
        remote_addr: SocketAddr,
        /// The reason on the wire.
        reason: DisconnectReason,
        /// Whether we sent it.
        by_us: bool,
    },
    /// A session ended on an error (I/O, bad input, ping timeout, stalled peer).
    SessionClosedOnConnectionError {
        /// The peer.
        peer_id: PeerId,
        /// Its address.
        remote_addr: SocketAddr,
        /// Why.
        error: ActiveSessionError,
    },
}

/// Which source `poll` serves first; rotates so none starves another.
#[derive(Debug, Clone, Copy)]
enum Source {
    Pending,
    Sessions,
}

/// Owns every session. Poll it (or use it as a `Stream`) to drive it.
pub struct SessionManager {
    next_id: u64,
    local_id: PeerId,
    counter: SessionCounter,
    config: Arc<SessionsConfig>,
    ctx: Arc<PendingContext>,
    status: Status,
    fork_filter: ForkFilter,
    pending: BTreeMap<SessionId, PendingSessionHandle>,
    active: BTreeMap<PeerId, ActiveSessionHandle>,
    pending_tx: mpsc::UnboundedSender<PendingEvent>,
    pending_rx: mpsc::UnboundedReceiver<PendingEvent>,
    /// Every active session's messages, final reports included, in order.
    message_tx: mpsc::Sender<SessionMessage>,
    message_rx: mpsc::Receiver<SessionMessage>,
    /// Final reports of session tasks dropped before they could send theirs.
    fallback_tx: mpsc::UnboundedSender<SessionMessage>,
    fallback_rx: mpsc::UnboundedReceiver<SessionMessage>,
    queued: VecDeque<SessionEvent>,
    first: Source,
    spawner: Spawner,
    rng: StdRng,
    trusted: HashSet<PeerId>,
    goodbyes: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("counts", &self.counter.counts())
            .finish_non_exhaustive()
    }
}

/// Releases one goodbye slot when dropped, however its task ends.
struct GoodbyeSlot(Arc<AtomicUsize>);

impl Drop for GoodbyeSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SessionManager {
    /// A manager with no sessions.
    pub fn new(p: SessionManagerParams) -> Self {
        let local_id = peer_id_from_secret_key(&p.secret_key);
        let mut protocols = eth_protocols(&p.eth_versions);
        protocols.extend(p.extra_protocols);
        let hello = HelloMessage {
            protocol_version: P2P_VERSION,
            client_id: p.client_id,
            capabilities: protocols.iter().map(|pr| pr.cap.clone()).collect(),
            port: p.listen_port,
            id: local_id,
        };
        let config = Arc::new(p.config);
        let (pending_tx, pending_rx) = mpsc::unbounded_channel();
        let (message_tx, message_rx) = mpsc::channel(config.session_event_buffer.max(1));
        let (fallback_tx, fallback_rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(PendingContext {
            secret_key: p.secret_key,
            local_id,
            hello,
            protocols,
            status: p.status,
            fork_filter: p.fork_filter.clone(),
            config: config.clone(),
            dialer: p.dialer.unwrap_or_else(|| Arc::new(TcpDialer)),
        });
        let rng = match p.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            next_id: 0,
            local_id,
            counter: SessionCounter::new(config.limits),
            config,
            ctx,
            status: p.status,
            fork_filter: p.fork_filter,
            pending: BTreeMap::new(),
            active: BTreeMap::new(),
            pending_tx,
            pending_rx,
            message_tx,
            message_rx,
            fallback_tx,
            fallback_rx,
            queued: VecDeque::new(),
            first: Source::Pending,
            trusted: Default::default(),
            goodbyes: Default::default(),
            rng,
            spawner: p.spawner.unwrap_or_else(|| {
                Arc::new(|f| {
                    tokio::spawn(f);
                })
            }),
        }
    }

    /// Marks `peer` as trusted: admitted even when the established limits are full.
    pub fn add_trusted(&mut self, peer: PeerId) {
        self.trusted.insert(peer);
    }

    /// Removes `peer` from the trusted set.
    pub fn remove_trusted(&mut self, peer: &PeerId) -> bool {
        self.trusted.remove(peer)
    }

    /// Whether `peer` is trusted.
    pub fn is_trusted(&self, peer: &PeerId) -> bool {
        self.trusted.contains(peer)
    }

    /// This node's id.
    pub fn local_id(&self) -> PeerId {
        self.local_id
    }

    /// The Hello we send.
    pub fn hello(&self) -> &HelloMessage {
        &self.ctx.hello
    }

    /// The Status offered to new sessions.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The settings sessions run with.
    pub fn config(&self) -> &SessionsConfig {
        &self.config
    }

    /// Current session counts.
    pub fn counts(&self) -> SessionCounts {
        self.counter.counts()
    }

    /// Pending sessions, as the manager tracks them.
    pub fn num_pending(&self) -> usize {
        self.pending.len()
    }

    /// Active sessions, ordered by peer id.
    pub fn active_sessions(&self) -> impl Iterator<Item = (&PeerId, &ActiveSessionHandle)> {
        self.active.iter()
    }

    /// The active session with `peer`.
    pub fn session(&self, peer: &PeerId) -> Option<&ActiveSessionHandle> {
        self.active.get(peer)
    }

    fn next_session_id(&mut self) -> SessionId {
        self.next_id += 1;
        SessionId(self.next_id)
    }

    fn publish_gauges(&self) {
        let c = self.counter.counts();
        metrics::sessions("pending", "inbound", c.pending_inbound);
        metrics::sessions("pending", "outbound", c.pending_outbound);
        metrics::sessions("active", "inbound", c.active_inbound);
        metrics::sessions("active", "outbound", c.active_outbound);
    }

    fn start_pending(
        &mut self,
        remote_addr: SocketAddr,
        target: Target,
        peer_id: Option<PeerId>,
    ) -> SessionId {
        let dir = target.direction();
        let id = self.next_session_id();
        let (abort_tx, abort_rx) = oneshot::channel();
        self.counter.inc_pending(dir);
        self.pending.insert(
            id,
            PendingSessionHandle {
                abort: Some(abort_tx),
                direction: dir,
                remote_addr,
                peer_id,
            },
        );
        let fut = pending::run(PendingStart {
            ctx: self.ctx.clone(),
            session_id: id,
            remote_addr,
            target,
            rng_seed: self.rng.next_u64(),
            abort: abort_rx,
            tx: self.pending_tx.clone(),
        });
        (self.spawner)(Box::pin(fut));
        self.publish_gauges();
        id
    }

    /// Ok if one more inbound connection may start authenticating.
    pub fn ensure_incoming(&self) -> Result<(), ExceedsSessionLimit> {
        self.counter.ensure_pending(Direction::Incoming)
    }

    /// Accepts an inbound connection over any transport, unless the
    /// pending-inbound limit is reached. `local_addr` is our side of it, if
    /// the transport has addresses (shown in [`PeerInfo`]).
    pub fn on_incoming<S>(
        &mut self,
        stream: S,
        remote_addr: SocketAddr,
        local_addr: Option<SocketAddr>,
    ) -> Result<SessionId, ExceedsSessionLimit>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.counter.ensure_pending(Direction::Incoming)?;
        let target = Target::Incoming {
            stream: Box::new(stream),
            local_addr,
        };
        Ok(self.start_pending(remote_addr, target, None))
    }

    /// Tells an inbound connection we will not serve why (e.g. TooManyPeers):
    /// runs the ECIES handshake as recipient, then sends an uncompressed
    /// Disconnect and closes, all within the p2p `goodbye_timeout` after the
    /// handshake (itself bounded by the same time). At most
    /// [`MAX_CONCURRENT_GOODBYES`] run at once; beyond that the stream is just
    /// dropped. Returns whether a goodbye was started.
    pub fn try_disconnect_incoming<S>(&self, stream: S, reason: DisconnectReason) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if self.goodbyes.fetch_add(1, Ordering::AcqRel) >= MAX_CONCURRENT_GOODBYES {
            self.goodbyes.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        // Released however the task ends, dropped unpolled included.
        let slot = GoodbyeSlot(self.goodbyes.clone());
        let key = self.ctx.secret_key;
        let within = self.config.p2p.goodbye_timeout;
        let span = tracing::debug_span!("goodbye", reason = reason.name());
        (self.spawner)(Box::pin(
            async move {
                let _slot = slot;
                let goodbye = async {
                    let mut s = ethp2p_rlpx::accept(stream, &key, within).await.ok()?;
                    // Message id 0x01 (Disconnect), then [reason]; no snappy before Hello.
                    s.queue_frame(&[&[0x01], &reason.encode_payload()]).ok()?;
                    futures::future::poll_fn(|cx| s.poll_write_queued(cx))
                        .await
                        .ok()
                };
                let _ = tokio::time::timeout(within * 2, goodbye).await;
            }
            .instrument(span),
        ));
        metrics::goodbye(reason.name());
        true
    }

    /// Goodbyes in progress.
    pub fn goodbyes_in_progress(&self) -> usize {
        self.goodbyes.load(Ordering::Acquire)
    }

    /// Dials `peer_id` at `remote_addr` through the dialer, unless the
    /// pending-outbound limit is reached (trusted peers are exempt). The
    /// returned id names this attempt in every event about it. Dialing
    /// ourselves is refused up front (reported as
    /// `OutgoingPendingSessionClosed` with `ConnectedToSelf`).
    pub fn dial_outbound(
        &mut self,
        remote_addr: SocketAddr,
        peer_id: PeerId,
    ) -> Result<SessionId, ExceedsSessionLimit> {
        if !self.trusted.contains(&peer_id) {
            self.counter.ensure_pending(Direction::Outgoing)?;
        }
        if peer_id == self.local_id {
            let session_id = self.next_session_id();
            self.queued
                .push_back(SessionEvent::OutgoingPendingSessionClosed {
                    session_id,
                    remote_addr,
                    peer_id,
                    error: PendingSessionError::ConnectedToSelf,
                });
            return Ok(session_id);
        }
        Ok(self.start_pending(remote_addr, Target::Outgoing(peer_id), Some(peer_id)))
    }

    /// Disconnects `peer` with `reason`; false if not connected.
    pub fn disconnect(&self, peer: &PeerId, reason: DisconnectReason) -> bool {
        self.active
            .get(peer)
            .map(|h| h.disconnect(reason))
            .is_some()
    }

    /// Disconnects every active session.
    pub fn disconnect_all(&self, reason: DisconnectReason) {
        for h in self.active.values() {
            h.disconnect(reason);
        }
    }

    /// Aborts every pending session.
    pub fn disconnect_all_pending(&mut self) {
        for h in self.pending.values_mut() {
            h.disconnect();
        }
    }

    /// Aborts one pending session.
    pub fn abort_pending(&mut self, id: SessionId) -> bool {
        self.pending.get_mut(&id).map(|h| h.disconnect()).is_some()
    }

    /// Queues an eth message (broadcast or response) for `peer`.
    pub fn send_message(&self, peer: &PeerId, message: EthMessage) -> Result<(), SendError> {
        self.command(peer, SessionCommand::Message(Box::new(message)))
    }

    /// Queues a message of an extra sub-protocol for `peer`.
    pub fn send_protocol_message(
        &self,
        peer: &PeerId,
        name: &str,
        id: u8,
        payload: bytes::Bytes,
    ) -> Result<(), SendError> {
        self.command(
            peer,
            SessionCommand::Protocol(Box::new(ProtocolCommand {
                name: name.to_owned(),
                id,
                payload,
            })),
        )
    }

    /// Sends an eth request to `peer`; the receiver yields the response or why there is none.
    pub fn send_request(
        &self,
        peer: &PeerId,
        request: EthMessage,
    ) -> oneshot::Receiver<Result<EthMessage, RequestError>> {
        let (tx, rx) = oneshot::channel();
        let Some(h) = self.active.get(peer) else {
            let _ = tx.send(Err(RequestError::NotConnected));
            return rx;
        };
        if let Err(e) = h.commands.try_send(SessionCommand::Request {
            request: Box::new(request),
            response: tx,
        }) {
            metrics::dropped_outgoing();
            if let SessionCommand::Request { response, .. } = e.into_inner() {
                let _ = response.send(Err(RequestError::ChannelFull));
            }
        }
        rx
    }

    /// Sends a snap request to `peer` (its request id comes from the
    /// session's one id space, shared with eth); the receiver yields the
    /// response or why there is none (`Unsupported` when snap is not shared
    /// with the peer, or the request is not in the negotiated version).
    pub fn send_snap_request(
        &self,
        peer: &PeerId,
        request: SnapMessage,
    ) -> oneshot::Receiver<Result<SnapMessage, RequestError>> {
        let (tx, rx) = oneshot::channel();
        let Some(h) = self.active.get(peer) else {
            let _ = tx.send(Err(RequestError::NotConnected));
            return rx;
        };
        if let Err(e) = h.commands.try_send(SessionCommand::SnapRequest {
            request: Box::new(request),
            response: tx,
        }) {
            metrics::dropped_outgoing();
            if let SessionCommand::SnapRequest { response, .. } = e.into_inner() {
                let _ = response.send(Err(RequestError::ChannelFull));
            }
        }
        rx
    }

    fn command(&self, peer: &PeerId, cmd: SessionCommand) -> Result<(), SendError> {
        let h = self.active.get(peer).ok_or(SendError::NoSuchPeer)?;
        h.commands.try_send(cmd).map_err(|e| {
            metrics::dropped_outgoing();
            match e {
                mpsc::error::TrySendError::Full(_) => {
                    debug!(peer = %ethp2p_rlpx::node_id(peer), "session command queue full, message dropped");
                    SendError::QueueFull
                }
                mpsc::error::TrySendError::Closed(_) => SendError::NoSuchPeer,
            }
        })
    }

    /// The local head moved: update the Status and fork filter used by new
    /// sessions, and report a fork transition if the fork id changed.
    pub fn on_status_update(&mut self, head: Head) -> Option<ForkTransition> {
        let transition = self.fork_filter.set_head(head);
        self.status.set_head(head.number, head.hash);
        self.status.total_difficulty = head.total_difficulty;
        self.status.fork_id = self.fork_filter.current();
        let ctx = &self.ctx;
        self.ctx = Arc::new(PendingContext {
            secret_key: ctx.secret_key,
            local_id: ctx.local_id,
            hello: ctx.hello.clone(),
            protocols: ctx.protocols.clone(),
            status: self.status,
            fork_filter: self.fork_filter.clone(),
            config: ctx.config.clone(),
            dialer: ctx.dialer.clone(),
        });
        transition
    }

    fn pending_closed(
        &mut self,
        session_id: SessionId,
        direction: Direction,
        remote_addr: SocketAddr,
        peer_id: Option<PeerId>,
        error: PendingSessionError,
    ) {
        self.queued.push_back(match (direction, peer_id) {
            (Direction::Outgoing, Some(peer_id)) => SessionEvent::OutgoingPendingSessionClosed {
                session_id,
                remote_addr,
                peer_id,
                error,
            },
            _ => SessionEvent::IncomingPendingSessionClosed {
                session_id,
                remote_addr,
                error,
            },
        });
    }

    fn on_pending(&mut self, ev: PendingEvent) {
        match ev {
            PendingEvent::Established(est) => {
                let (session_id, direction, remote_addr) =
                    (est.session_id, est.direction, est.remote_addr);
                let Some(h) = self.pending.remove(&session_id) else {
                    return;
                };
                self.counter.dec_pending(direction);
                let peer_id = est.conn.remote_id();
                let within = self.config.p2p.goodbye_timeout;
                let refuse =
                    |reason: DisconnectReason, spawner: &Spawner, mut est: Box<Established>| {
                        spawner(Box::pin(async move {
                            let _ = tokio::time::timeout(within, est.conn.disconnect(reason)).await;
                        }));
                    };
                if self.active.contains_key(&peer_id) {
                    refuse(DisconnectReason::AlreadyConnected, &self.spawner, est);
                    self.queued.push_back(SessionEvent::AlreadyConnected {
                        peer_id,
                        remote_addr,
                        direction,
                    });
                } else if !self.trusted.contains(&peer_id)
                    && self.counter.ensure_established(direction).is_err()
                {
                    refuse(DisconnectReason::TooManyPeers, &self.spawner, est);
                    metrics::handshake_failure("too_many_peers", direction.as_str());
                    let error = PendingSessionError::TooManyPeers;
                    let peer = h.peer_id.or(Some(peer_id));
                    self.pending_closed(session_id, direction, remote_addr, peer, error);
                } else {
                    self.establish(*est);
                }
            }
            PendingEvent::Closed { session_id, error } => {
                let Some(h) = self.pending.remove(&session_id) else {
                    return;
                };
                self.counter.dec_pending(h.direction);
                metrics::handshake_failure(error.label(), h.direction.as_str());
                debug!(session = session_id.0, addr = %h.remote_addr, %error, "pending session closed");
                self.pending_closed(session_id, h.direction, h.remote_addr, h.peer_id, error);
            }
            PendingEvent::ConnectError { session_id, error } => {
                let Some(h) = self.pending.remove(&session_id) else {
                    return;
                };
                self.counter.dec_pending(h.direction);
                metrics::handshake_failure("connect", h.direction.as_str());
                self.queued
                    .push_back(SessionEvent::OutgoingConnectionError {
                        session_id,
                        remote_addr: h.remote_addr,
                        peer_id: h.peer_id.unwrap_or_default(),
                        error,
                    });
            }
        }
        self.publish_gauges();
    }

    fn establish(&mut self, est: Established) {
        let Established {
            session_id,
            direction,
            remote_addr,
            local_addr,
            conn,
            hello,
            version,
            status,
        } = est;
        let peer_id = conn.remote_id();
        let listen_port = if direction == Direction::Incoming && hello.port != 0 {
            hello.port
        } else {
            remote_addr.port()
        };
        let info = Arc::new(PeerInfo {
            session_id,
            remote_id: peer_id,
            client_version: hello.client_id.clone(),
            enode: NodeRecord::new(peer_id, SocketAddr::new(remote_addr.ip(), listen_port)),
            capabilities: hello.capabilities.clone(),
            shared_capabilities: conn
                .shared_capabilities()
                .iter()
                .map(|c| c.cap.clone())
                .collect(),
            eth_version: version,
            status,
            direction,
            remote_addr,
            local_addr,
            established: Instant::now(),
            established_at: SystemTime::now(),
        });
        let (cmd_tx, cmd_rx) = mpsc::channel(self.config.session_command_buffer.max(1));
        let (disc_tx, disc_rx) = mpsc::unbounded_channel();
        let timeout_ms = Arc::new(AtomicU64::new(
            self.config.initial_request_timeout.as_millis() as u64,
        ));
        let queue = Arc::new(QueueGauge::default());
        let session = ActiveSession {
            peer_id,
            session_id,
            version,
            conn,
            commands: cmd_rx,
            disconnect_rx: disc_rx,
            to_manager: PollSender::new(self.message_tx.clone()),
            fallback_tx: self.fallback_tx.clone(),
            timeout_ms: timeout_ms.clone(),
            queue: queue.clone(),
            config: self.config.clone(),
        };
        (self.spawner)(Box::pin(session.run()));
        self.counter.inc_active(direction);
        self.active.insert(
            peer_id,
            ActiveSessionHandle {
                info: info.clone(),
                commands: cmd_tx,
                disconnect_tx: disc_tx,
                request_timeout_ms: timeout_ms,
                queue,
            },
        );
        info!(peer = %ethp2p_rlpx::node_id(&peer_id), session = session_id.0, %remote_addr, dir = direction.as_str(), client = %info.client_version, eth = %version, "session established");
        self.queued
            .push_back(SessionEvent::SessionEstablished { peer_id, info });
    }

    /// Turns one session message into events. Messages of a session that is
    /// no longer the active one for its peer (already closed, or replaced)
    /// are dropped: nothing follows a session's final report.
    fn on_session_message(&mut self, m: SessionMessage) {
        let SessionMessage {
            session_id,
            peer_id,
            kind,
        } = m;
        let current = self
            .active
            .get(&peer_id)
            .is_some_and(|h| h.info.session_id == session_id);
        if !current {
            return;
        }
        let closed = match kind {
            MessageKind::Valid(message) => {
                self.queued
                    .push_back(SessionEvent::ValidMessage { peer_id, message });
                return;
            }
            MessageKind::Bad => {
                self.queued.push_back(SessionEvent::BadMessage { peer_id });
                return;
            }
            MessageKind::Closed(closed) => closed,
        };
        let Some(h) = self.active.remove(&peer_id) else {
            return;
        };
        self.counter.dec_active(h.info.direction);
        let remote_addr = h.info.remote_addr;
        match closed {
            Closed::Disconnected { reason, by_us } => {
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), session = session_id.0, %reason, by_us, "session disconnected");
                self.queued.push_back(SessionEvent::Disconnected {
                    peer_id,
                    remote_addr,
                    reason,
                    by_us,
                });
            }
            Closed::OnError { error, notice } => {
                match notice {
                    Some(Notice::Bad) => {
                        self.queued.push_back(SessionEvent::BadMessage { peer_id })
                    }
                    Some(Notice::Invalid(error)) => self
                        .queued
                        .push_back(SessionEvent::InvalidMessage { peer_id, error }),
                    Some(Notice::Breach) => self
                        .queued
                        .push_back(SessionEvent::ProtocolBreach { peer_id }),
                    None => {}
                }
                info!(peer = %ethp2p_rlpx::node_id(&peer_id), session = session_id.0, %error, "session closed");
                self.queued
                    .push_back(SessionEvent::SessionClosedOnConnectionError {
                        peer_id,
                        remote_addr,
                        error,
                    });
            }
        }
        self.publish_gauges();
    }

    /// Takes one item from `source`, if one is ready.
    fn poll_source(&mut self, source: Source, cx: &mut Context<'_>) -> bool {
        match source {
            Source::Pending => match self.pending_rx.poll_recv(cx) {
                Poll::Ready(Some(ev)) => {
                    self.on_pending(ev);
                    true
                }
                _ => false,
            },
            Source::Sessions => {
                // Reports of dropped tasks first: they were due earlier.
                let m = match self.fallback_rx.poll_recv(cx) {
                    Poll::Ready(Some(m)) => m,
                    _ => match self.message_rx.poll_recv(cx) {
                        Poll::Ready(Some(m)) => m,
                        _ => return false,
                    },
                };
                self.on_session_message(m);
                true
            }
        }
    }

    /// Drives the manager: returns the next event. Pending sessions and
    /// active sessions are served in turn, at most a budget of items per
    /// call, so neither source starves the other.
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<SessionEvent> {
        for _ in 0..POLL_BUDGET {
            if let Some(ev) = self.queued.pop_front() {
                return Poll::Ready(ev);
            }
            let (a, b) = match self.first {
                Source::Pending => (Source::Pending, Source::Sessions),
                Source::Sessions => (Source::Sessions, Source::Pending),
            };
            self.first = b;
            if !self.poll_source(a, cx) && !self.poll_source(b, cx) {
                return Poll::Pending;
            }
        }
        if let Some(ev) = self.queued.pop_front() {
            return Poll::Ready(ev);
        }
        // Budget spent on items that produced no event: yield, come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Stream for SessionManager {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll(cx).map(Some)
    }
}
