//! [`SessionManager`]: spawns and tracks every session and reports what happens.

use crate::{
    active::{ActiveMessage, ActiveSession, Notice, Terminal},
    config::SessionsConfig,
    counter::{SessionCounter, SessionCounts},
    error::{ActiveSessionError, ExceedsSessionLimit, PendingSessionError, RequestError},
    handle::{
        ActiveSessionHandle, Direction, PeerInfo, PeerMessage, PendingSessionHandle,
        SessionCommand, SessionId,
    },
    metrics,
    pending::{self, Established, PendingContext, PendingEvent, Target},
};
use ethp2p_eth::{
    forkid::{ForkFilter, ForkTransition, Head},
    handshake::eth_protocols,
    message::{EthMessage, EthMessageError},
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, Protocol, P2P_VERSION};
use futures::{future::BoxFuture, Stream};
use std::{
    collections::{HashMap, VecDeque},
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{atomic::AtomicU64, Arc},
    task::{Context, Poll},
    time::{Instant, SystemTime},
};
use tokio::{
    net::TcpStream,
    sync::{mpsc, oneshot},
};
use tokio_util::sync::PollSender;
use tracing::{debug, info};

/// Most graceful refusals of inbound connections running at once (reth: 15).
pub const MAX_CONCURRENT_GOODBYES: usize = 15;
/// Time allowed for one graceful refusal.
const GOODBYE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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
}

/// Everything that happens to sessions, in one stream.
#[derive(Debug)]
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
        /// Its address.
        remote_addr: SocketAddr,
        /// Why.
        error: PendingSessionError,
    },
    /// An outbound connection failed after TCP connected, before becoming a session.
    OutgoingPendingSessionClosed {
        /// Its address.
        remote_addr: SocketAddr,
        /// The dialed peer.
        peer_id: PeerId,
        /// Why.
        error: PendingSessionError,
    },
    /// TCP connect failed.
    OutgoingConnectionError {
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

/// Owns every session. Poll it (or use it as a `Stream`) to drive it.
pub struct SessionManager {
    next_id: u64,
    local_id: PeerId,
    counter: SessionCounter,
    config: Arc<SessionsConfig>,
    ctx: Arc<PendingContext>,
    status: Status,
    fork_filter: ForkFilter,
    pending: HashMap<SessionId, PendingSessionHandle>,
    active: HashMap<PeerId, ActiveSessionHandle>,
    pending_tx: mpsc::UnboundedSender<PendingEvent>,
    pending_rx: mpsc::UnboundedReceiver<PendingEvent>,
    message_tx: mpsc::Sender<ActiveMessage>,
    message_rx: mpsc::Receiver<ActiveMessage>,
    terminal_tx: mpsc::UnboundedSender<Terminal>,
    terminal_rx: mpsc::UnboundedReceiver<Terminal>,
    queued: VecDeque<SessionEvent>,
    spawner: Spawner,
    trusted: std::collections::HashSet<PeerId>,
    goodbyes: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("counts", &self.counter.counts())
            .finish_non_exhaustive()
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
        let (terminal_tx, terminal_rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(PendingContext {
            secret_key: p.secret_key,
            local_id,
            hello,
            protocols,
            status: p.status,
            fork_filter: p.fork_filter.clone(),
            config: config.clone(),
        });
        Self {
            next_id: 0,
            local_id,
            counter: SessionCounter::new(config.limits),
            config,
            ctx,
            status: p.status,
            fork_filter: p.fork_filter,
            pending: HashMap::new(),
            active: HashMap::new(),
            pending_tx,
            pending_rx,
            message_tx,
            message_rx,
            terminal_tx,
            terminal_rx,
            queued: VecDeque::new(),
            trusted: Default::default(),
            goodbyes: Default::default(),
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

    /// Current session counts.
    pub fn counts(&self) -> SessionCounts {
        self.counter.counts()
    }

    /// Pending sessions, as the manager tracks them.
    pub fn num_pending(&self) -> usize {
        self.pending.len()
    }

    /// Active sessions.
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
        let dir = match target {
            Target::Incoming(_) => Direction::Incoming,
            Target::Outgoing(_) => Direction::Outgoing,
        };
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
        let fut = pending::run(
            self.ctx.clone(),
            id,
            remote_addr,
            target,
            abort_rx,
            self.pending_tx.clone(),
        );
        (self.spawner)(Box::pin(fut));
        self.publish_gauges();
        id
    }

    /// Ok if one more inbound connection may start authenticating.
    pub fn ensure_incoming(&self) -> Result<(), ExceedsSessionLimit> {
        self.counter.ensure_pending(Direction::Incoming)
    }

    /// Accepts an inbound TCP connection, unless the pending-inbound limit is reached.
    pub fn on_incoming(
        &mut self,
        stream: TcpStream,
        remote_addr: SocketAddr,
    ) -> Result<SessionId, ExceedsSessionLimit> {
        self.counter.ensure_pending(Direction::Incoming)?;
        Ok(self.start_pending(remote_addr, Target::Incoming(stream), None))
    }

    /// Tells an inbound connection we will not serve why (e.g. TooManyPeers):
    /// runs the ECIES handshake as recipient, then sends an uncompressed
    /// Disconnect and closes, all within a few seconds. At most
    /// [`MAX_CONCURRENT_GOODBYES`] run at once; beyond that the socket is just
    /// dropped. Returns whether a goodbye was started.
    pub fn try_disconnect_incoming(&self, stream: TcpStream, reason: DisconnectReason) -> bool {
        use std::sync::atomic::Ordering;
        if self.goodbyes.fetch_add(1, Ordering::AcqRel) >= MAX_CONCURRENT_GOODBYES {
            self.goodbyes.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        let counter = self.goodbyes.clone();
        let key = self.ctx.secret_key;
        (self.spawner)(Box::pin(async move {
            let goodbye = async {
                let _ = stream.set_nodelay(true);
                let mut s = ethp2p_rlpx::accept(stream, &key, GOODBYE_TIMEOUT)
                    .await
                    .ok()?;
                // Message id 0x01 (Disconnect), then [reason]; no snappy before Hello.
                s.queue_frame(&[&[0x01], &reason.encode_payload()]).ok()?;
                futures::future::poll_fn(|cx| s.poll_write_queued(cx))
                    .await
                    .ok()
            };
            let _ = tokio::time::timeout(GOODBYE_TIMEOUT, goodbye).await;
            counter.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }));
        metrics::goodbye(reason.name());
        true
    }

    /// Goodbyes in progress.
    pub fn goodbyes_in_progress(&self) -> usize {
        self.goodbyes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Dials `peer_id` at `remote_addr`, unless the pending-outbound limit is
    /// reached. Dialing ourselves is refused up front.
    pub fn dial_outbound(
        &mut self,
        remote_addr: SocketAddr,
        peer_id: PeerId,
    ) -> Result<SessionId, ExceedsSessionLimit> {
        if !self.trusted.contains(&peer_id) {
            self.counter.ensure_pending(Direction::Outgoing)?;
        }
        if peer_id == self.local_id {
            let id = self.next_session_id();
            self.queued
                .push_back(SessionEvent::OutgoingPendingSessionClosed {
                    remote_addr,
                    peer_id,
                    error: PendingSessionError::ConnectedToSelf,
                });
            return Ok(id);
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

    /// Sends an eth message (broadcast or response) to `peer`. Returns false
    /// (and counts a drop) if the peer is unknown or its queue is full.
    pub fn send_message(&self, peer: &PeerId, message: EthMessage) -> bool {
        self.command(peer, SessionCommand::Message(Box::new(message)))
            .is_ok()
    }

    /// Sends a message of an extra sub-protocol to `peer`.
    pub fn send_protocol_message(
        &self,
        peer: &PeerId,
        name: &str,
        id: u8,
        payload: bytes::Bytes,
    ) -> bool {
        self.command(
            peer,
            SessionCommand::Protocol {
                name: name.to_owned(),
                id,
                payload,
            },
        )
        .is_ok()
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

    fn command(&self, peer: &PeerId, cmd: SessionCommand) -> Result<(), ()> {
        let h = self.active.get(peer).ok_or(())?;
        h.commands.try_send(cmd).map_err(|_| {
            metrics::dropped_outgoing();
            debug!(%peer, "session command queue full, message dropped");
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
        });
        transition
    }

    fn on_pending(&mut self, ev: PendingEvent) {
        match ev {
            PendingEvent::Established(est) => {
                let (session_id, direction, remote_addr) =
                    (est.session_id, est.direction, est.remote_addr);
                let Some(_) = self.pending.remove(&session_id) else {
                    return;
                };
                self.counter.dec_pending(direction);
                let peer_id = est.conn.remote_id();
                let refuse =
                    |reason: DisconnectReason, spawner: &Spawner, mut est: Box<Established>| {
                        spawner(Box::pin(async move {
                            let _ = tokio::time::timeout(
                                std::time::Duration::from_secs(2),
                                est.conn.disconnect(reason),
                            )
                            .await;
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
                    self.queued.push_back(match direction {
                        Direction::Incoming => {
                            SessionEvent::IncomingPendingSessionClosed { remote_addr, error }
                        }
                        Direction::Outgoing => SessionEvent::OutgoingPendingSessionClosed {
                            remote_addr,
                            peer_id,
                            error,
                        },
                    });
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
                self.queued.push_back(match (h.direction, h.peer_id) {
                    (Direction::Outgoing, Some(peer_id)) => {
                        SessionEvent::OutgoingPendingSessionClosed {
                            remote_addr: h.remote_addr,
                            peer_id,
                            error,
                        }
                    }
                    _ => SessionEvent::IncomingPendingSessionClosed {
                        remote_addr: h.remote_addr,
                        error,
                    },
                });
            }
            PendingEvent::ConnectError { session_id, error } => {
                let Some(h) = self.pending.remove(&session_id) else {
                    return;
                };
                self.counter.dec_pending(h.direction);
                metrics::handshake_failure("connect", h.direction.as_str());
                self.queued
                    .push_back(SessionEvent::OutgoingConnectionError {
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
        let session = ActiveSession {
            peer_id,
            session_id,
            version,
            conn,
            commands: cmd_rx,
            disconnect_rx: disc_rx,
            to_manager: PollSender::new(self.message_tx.clone()),
            terminal_tx: self.terminal_tx.clone(),
            timeout_ms: timeout_ms.clone(),
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
            },
        );
        info!(peer = %peer_id, %remote_addr, dir = direction.as_str(), client = %info.client_version, eth = %version, "session established");
        self.queued
            .push_back(SessionEvent::SessionEstablished { peer_id, info });
    }

    fn on_terminal(&mut self, t: Terminal) {
        let (peer_id, session_id) = match &t {
            Terminal::Disconnected {
                peer_id,
                session_id,
                ..
            }
            | Terminal::ClosedOnError {
                peer_id,
                session_id,
                ..
            } => (*peer_id, *session_id),
        };
        let Some(h) = self.active.get(&peer_id) else {
            return;
        };
        if h.info.session_id != session_id {
            return;
        }
        let Some(h) = self.active.remove(&peer_id) else {
            return;
        };
        self.counter.dec_active(h.info.direction);
        let remote_addr = h.info.remote_addr;
        match t {
            Terminal::Disconnected { reason, by_us, .. } => {
                info!(peer = %peer_id, %reason, by_us, "session disconnected");
                self.queued.push_back(SessionEvent::Disconnected {
                    peer_id,
                    remote_addr,
                    reason,
                    by_us,
                });
            }
            Terminal::ClosedOnError { error, notice, .. } => {
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
                info!(peer = %peer_id, %error, "session closed");
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

    /// Drives the manager: returns the next event.
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<SessionEvent> {
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Poll::Ready(ev);
            }
            if let Poll::Ready(Some(m)) = self.message_rx.poll_recv(cx) {
                return Poll::Ready(match m {
                    ActiveMessage::Valid { peer_id, message } => {
                        SessionEvent::ValidMessage { peer_id, message }
                    }
                    ActiveMessage::Bad { peer_id } => SessionEvent::BadMessage { peer_id },
                });
            }
            if let Poll::Ready(Some(t)) = self.terminal_rx.poll_recv(cx) {
                self.on_terminal(t);
                continue;
            }
            if let Poll::Ready(Some(ev)) = self.pending_rx.poll_recv(cx) {
                self.on_pending(ev);
                continue;
            }
            return Poll::Pending;
        }
    }
}

impl Stream for SessionManager {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll(cx).map(Some)
    }
}
