//! The active session task: one per established peer.

use crate::{
    config::{next_request_timeout, SessionsConfig},
    error::{ActiveSessionError, RequestError},
    handle::{EthResponder, PeerMessage, SessionCommand, SessionId},
    metrics,
};
use ethp2p_eth::{
    handshake::{ETH, MAX_MESSAGE_SIZE},
    message::{EthMessage, EthMessageError, EthMessageId},
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use ethp2p_wire::{DisconnectReason, P2PError, P2PStream, ProtocolMessage};
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use std::{
    collections::HashMap,
    future::poll_fn,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    net::TcpStream,
    sync::{mpsc, oneshot},
    time::{Instant, Interval, MissedTickBehavior},
};
use tokio_util::sync::PollSender;
use tracing::{debug, trace};

/// How often in-flight requests and stalled writes are checked (only while there are any).
const CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// Time allowed to flush a final Disconnect.
const DISCONNECT_FLUSH: Duration = Duration::from_secs(2);

/// What a session reports about a remote's misbehaviour before it closes.
#[derive(Debug)]
pub(crate) enum Notice {
    Bad,
    Invalid(EthMessageError),
    Breach,
}

/// Messages from a session to the manager (bounded channel, back-pressure).
#[derive(Debug)]
pub(crate) enum ActiveMessage {
    Valid {
        peer_id: PeerId,
        message: PeerMessage,
    },
    Bad {
        peer_id: PeerId,
    },
}

/// The one final report of a session (unbounded channel: never lost).
#[derive(Debug)]
pub(crate) enum Terminal {
    Disconnected {
        peer_id: PeerId,
        session_id: SessionId,
        reason: DisconnectReason,
        by_us: bool,
    },
    ClosedOnError {
        peer_id: PeerId,
        session_id: SessionId,
        error: ActiveSessionError,
        notice: Option<Notice>,
    },
}

struct TerminalGuard {
    peer_id: PeerId,
    session_id: SessionId,
    tx: Option<mpsc::UnboundedSender<Terminal>>,
}

impl TerminalGuard {
    fn report(&mut self, t: Terminal) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(t);
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let (peer_id, session_id) = (self.peer_id, self.session_id);
        self.report(Terminal::ClosedOnError {
            peer_id,
            session_id,
            error: ActiveSessionError::ConnectionClosed,
            notice: None,
        });
    }
}

struct Inflight {
    expected: Option<EthMessageId>,
    tx: Option<oneshot::Sender<Result<EthMessage, RequestError>>>,
    sent: Instant,
    deadline: Instant,
}

type RemoteRequest = BoxFuture<'static, (u64, EthMessage, Option<EthMessage>)>;

enum End {
    Disconnect {
        reason: DisconnectReason,
        by_us: bool,
    },
    Error {
        error: ActiveSessionError,
        send: Option<DisconnectReason>,
        notice: Option<Notice>,
    },
}

#[allow(clippy::large_enum_variant)] // a transient value on the stack, never stored
enum Wake {
    Disconnect(DisconnectReason),
    Command(Option<SessionCommand>),
    Delivered(bool),
    Answer(u64, EthMessage, Option<EthMessage>),
    Incoming(Option<Result<ProtocolMessage, P2PError>>),
    Tick,
    WriteError(P2PError),
}

pub(crate) struct ActiveSession {
    pub peer_id: PeerId,
    pub session_id: SessionId,
    pub version: EthVersion,
    pub conn: P2PStream<TcpStream>,
    pub commands: mpsc::Receiver<SessionCommand>,
    pub disconnect_rx: mpsc::UnboundedReceiver<DisconnectReason>,
    pub to_manager: PollSender<ActiveMessage>,
    pub terminal_tx: mpsc::UnboundedSender<Terminal>,
    pub timeout_ms: Arc<AtomicU64>,
    pub config: Arc<SessionsConfig>,
}

struct State {
    s: ActiveSession,
    eth_index: usize,
    slot: Option<ActiveMessage>,
    /// Whether reading is paused by back-pressure (counted once per pause).
    reading_paused: bool,
    next_id: u64,
    inflight: HashMap<u64, Inflight>,
    remote_requests: FuturesUnordered<RemoteRequest>,
    tick: Interval,
    last_write_progress: Instant,
    last_written: u64,
    /// RLP encoding of the outgoing message, reused (released when large).
    encode_buf: Vec<u8>,
}

/// Capacity of the reused encode buffer kept between messages.
const ENCODE_BUF_KEEP: usize = 64 * 1024;

impl ActiveSession {
    pub(crate) async fn run(self) {
        let span =
            tracing::debug_span!("session", peer = %self.peer_id, session = self.session_id.0);
        let _enter = span.enter();
        let mut guard = TerminalGuard {
            peer_id: self.peer_id,
            session_id: self.session_id,
            tx: Some(self.terminal_tx.clone()),
        };
        let eth_index = self.conn.shared_capabilities().index_of(ETH).unwrap_or(0);
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut st = State {
            s: self,
            eth_index,
            slot: None,
            reading_paused: false,
            next_id: 0,
            inflight: HashMap::new(),
            remote_requests: FuturesUnordered::new(),
            tick,
            last_write_progress: Instant::now(),
            last_written: 0,
            encode_buf: Vec::new(),
        };
        let end = loop {
            let wake = poll_fn(|cx| st.poll_wake(cx)).await;
            if let Some(end) = st.on_wake(wake) {
                break end;
            }
        };
        let (peer_id, session_id) = (st.s.peer_id, st.s.session_id);
        let terminal = match end {
            End::Disconnect { reason, by_us } => {
                if by_us {
                    st.close_with(reason).await;
                }
                metrics::disconnect(reason.name(), if by_us { "local" } else { "remote" });
                Terminal::Disconnected {
                    peer_id,
                    session_id,
                    reason,
                    by_us,
                }
            }
            End::Error {
                error,
                send,
                notice,
            } => {
                if let Some(reason) = send {
                    st.close_with(reason).await;
                    metrics::disconnect(reason.name(), "local");
                }
                debug!(%error, "session closed on error");
                Terminal::ClosedOnError {
                    peer_id,
                    session_id,
                    error,
                    notice,
                }
            }
        };
        // Callers waiting on requests learn the session is gone.
        for (_, req) in st.inflight.drain() {
            if let Some(tx) = req.tx {
                let _ = tx.send(Err(RequestError::ConnectionClosed));
            }
        }
        guard.report(terminal);
    }
}

impl State {
    async fn close_with(&mut self, reason: DisconnectReason) {
        if self.s.conn.start_disconnect(reason).is_ok() {
            let _ =
                tokio::time::timeout(DISCONNECT_FLUSH, poll_fn(|cx| self.s.conn.poll_close(cx)))
                    .await;
        }
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        // Always drive queued writes.
        if let Poll::Ready(Err(e)) = self.s.conn.poll_flush(cx) {
            return Poll::Ready(Wake::WriteError(e));
        }
        match self.s.disconnect_rx.poll_recv(cx) {
            Poll::Ready(Some(reason)) => return Poll::Ready(Wake::Disconnect(reason)),
            // The manager dropped our handle: nobody owns this session any more
            // (noticed even while commands are not read because writes are stuck).
            Poll::Ready(None) => {
                return Poll::Ready(Wake::Disconnect(DisconnectReason::ClientQuitting))
            }
            Poll::Pending => {}
        }
        if self.slot.is_some() {
            match self.s.to_manager.poll_reserve(cx) {
                Poll::Ready(Ok(())) => {
                    let ok = self
                        .slot
                        .take()
                        .map(|m| self.s.to_manager.send_item(m).is_ok())
                        .unwrap_or(true);
                    return Poll::Ready(Wake::Delivered(ok));
                }
                Poll::Ready(Err(_)) => return Poll::Ready(Wake::Delivered(false)),
                Poll::Pending => {}
            }
        }
        if self.s.conn.pending_write_bytes() < self.s.config.max_queued_outgoing_bytes {
            if let Poll::Ready(cmd) = self.s.commands.poll_recv(cx) {
                return Poll::Ready(Wake::Command(cmd));
            }
        }
        if let Poll::Ready(Some((id, resp, fallback))) = self.remote_requests.poll_next_unpin(cx) {
            return Poll::Ready(Wake::Answer(id, resp, fallback));
        }
        if (!self.inflight.is_empty() || self.s.conn.pending_write_bytes() > 0)
            && self.tick.poll_tick(cx).is_ready()
        {
            return Poll::Ready(Wake::Tick);
        }
        // Back-pressure: with an undelivered message or too many unanswered
        // requests, stop reading the socket.
        if self.slot.is_none()
            && self.remote_requests.len() < self.s.config.max_pending_remote_requests
        {
            self.reading_paused = false;
            if let Poll::Ready(m) = self.s.conn.poll_next_message(cx) {
                return Poll::Ready(Wake::Incoming(m));
            }
        } else if !self.reading_paused {
            self.reading_paused = true;
            metrics::back_pressure();
        }
        // Reading may have queued our keepalive Ping or an owed Pong: write
        // them now, since an idle session has no other event to wake it.
        if self.s.conn.pending_write_bytes() > 0 {
            if let Poll::Ready(Err(e)) = self.s.conn.poll_flush(cx) {
                return Poll::Ready(Wake::WriteError(e));
            }
        }
        Poll::Pending
    }

    fn on_wake(&mut self, wake: Wake) -> Option<End> {
        match wake {
            Wake::Disconnect(reason) => Some(End::Disconnect {
                reason,
                by_us: true,
            }),
            Wake::Command(None) => Some(End::Disconnect {
                reason: DisconnectReason::ClientQuitting,
                by_us: true,
            }),
            Wake::Command(Some(cmd)) => self.on_command(cmd),
            Wake::Delivered(true) => None,
            // The manager is gone: nobody owns this session any more.
            Wake::Delivered(false) => Some(End::Disconnect {
                reason: DisconnectReason::ClientQuitting,
                by_us: true,
            }),
            Wake::Answer(id, resp, fallback) => {
                let msg = match (resp, fallback) {
                    (r, Some(f)) if r.id() != f.id() => {
                        debug!(
                            got = r.id().name(),
                            want = f.id().name(),
                            "owner answered with the wrong type"
                        );
                        f
                    }
                    (r, _) => r,
                };
                let mut msg = msg;
                msg.set_request_id(id);
                self.send_eth(&msg)
            }
            Wake::Incoming(None) => Some(End::Error {
                error: ActiveSessionError::ConnectionClosed,
                send: None,
                notice: None,
            }),
            Wake::Incoming(Some(Err(P2PError::Disconnected(reason)))) => Some(End::Disconnect {
                reason,
                by_us: false,
            }),
            Wake::Incoming(Some(Err(e))) => {
                let send = e.disconnect_reason();
                let notice = e.is_protocol_breach().then_some(Notice::Bad);
                Some(End::Error {
                    error: e.into(),
                    send,
                    notice,
                })
            }
            Wake::Incoming(Some(Ok(msg))) => {
                let end = self.on_message(msg);
                // Give back buffer memory a large message left behind.
                if self.s.conn.pending_write_bytes() == 0 {
                    self.s.conn.shrink_buffers();
                }
                end
            }
            Wake::Tick => self.on_tick(),
            Wake::WriteError(e) => Some(End::Error {
                error: e.into(),
                send: None,
                notice: None,
            }),
        }
    }

    fn send_eth(&mut self, msg: &EthMessage) -> Option<End> {
        let buf = &mut self.encode_buf;
        buf.clear();
        msg.encode(buf);
        metrics::message("out", msg.id().name(), buf.len());
        let sent = self.s.conn.send(self.eth_index, msg.id().as_u8(), buf);
        if buf.capacity() > ENCODE_BUF_KEEP {
            *buf = Vec::new();
        }
        match sent {
            Ok(()) => None,
            Err(e) => Some(End::Error {
                error: e.into(),
                send: None,
                notice: None,
            }),
        }
    }

    fn current_timeout(&self) -> Duration {
        Duration::from_millis(self.s.timeout_ms.load(Ordering::Relaxed))
    }

    fn on_command(&mut self, cmd: SessionCommand) -> Option<End> {
        match cmd {
            SessionCommand::Message(msg) => {
                if let Err(e) = msg.validate_for(self.s.version) {
                    debug!(%e, "dropping message not valid for this session");
                    metrics::dropped_outgoing();
                    return None;
                }
                self.send_eth(&msg)
            }
            SessionCommand::Request {
                mut request,
                response,
            } => {
                if !request.is_request() {
                    let _ = response.send(Err(RequestError::Unsupported(format!(
                        "{} is not a request",
                        request.id()
                    ))));
                    return None;
                }
                if let Err(e) = request.validate_for(self.s.version) {
                    let _ = response.send(Err(RequestError::Unsupported(e.to_string())));
                    return None;
                }
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                request.set_request_id(id);
                let now = Instant::now();
                let deadline = now + self.current_timeout();
                self.inflight.insert(
                    id,
                    Inflight {
                        expected: request.id().response(),
                        tx: Some(response),
                        sent: now,
                        deadline,
                    },
                );
                self.send_eth(&request)
            }
            SessionCommand::Protocol { name, id, payload } => {
                let Some(index) = self.s.conn.shared_capabilities().index_of(&name) else {
                    metrics::dropped_outgoing();
                    return None;
                };
                match self.s.conn.send(index, id, &payload) {
                    Ok(()) => None,
                    Err(P2PError::IdOutOfRange { .. }) => {
                        metrics::dropped_outgoing();
                        None
                    }
                    Err(e) => Some(End::Error {
                        error: e.into(),
                        send: None,
                        notice: None,
                    }),
                }
            }
        }
    }

    fn on_tick(&mut self) -> Option<End> {
        let now = Instant::now();
        let pending = self.s.conn.pending_write_bytes();
        let written = self.s.conn.bytes_written();
        // Any byte written is progress, however full the owner keeps the queue.
        if pending == 0 || written != self.last_written {
            self.last_write_progress = now;
        }
        self.last_written = written;
        if pending > 0
            && now.duration_since(self.last_write_progress) > self.s.config.write_stall_timeout
        {
            return Some(End::Error {
                error: ActiveSessionError::WriteStalled,
                send: None,
                notice: None,
            });
        }
        let breach = self.s.config.protocol_breach_request_timeout;
        let mut breached = false;
        for req in self.inflight.values_mut() {
            if now >= req.deadline {
                if let Some(tx) = req.tx.take() {
                    metrics::request_timeout();
                    let _ = tx.send(Err(RequestError::Timeout));
                }
            }
            if now.duration_since(req.sent) >= breach {
                breached = true;
            }
        }
        breached.then_some(End::Error {
            error: ActiveSessionError::RequestBreach,
            send: Some(DisconnectReason::ProtocolBreach),
            notice: Some(Notice::Breach),
        })
    }

    fn emit(&mut self, message: PeerMessage) {
        self.slot = Some(ActiveMessage::Valid {
            peer_id: self.s.peer_id,
            message,
        });
    }

    fn on_message(&mut self, msg: ProtocolMessage) -> Option<End> {
        if msg.protocol != self.eth_index {
            let name = self
                .s
                .conn
                .shared_capabilities()
                .get(msg.protocol)
                .map(|c| c.cap.name.clone())
                .unwrap_or_default();
            metrics::message("in", "subprotocol", msg.payload.len());
            self.emit(PeerMessage::Protocol {
                name,
                id: msg.id,
                payload: msg.payload.freeze(),
            });
            return None;
        }
        let size = msg.payload.len();
        if size > MAX_MESSAGE_SIZE {
            return Some(End::Error {
                error: P2PError::MessageTooBig {
                    size,
                    max: MAX_MESSAGE_SIZE,
                }
                .into(),
                send: Some(DisconnectReason::ProtocolBreach),
                notice: Some(Notice::Bad),
            });
        }
        let decoded = EthMessage::decode_bytes(self.s.version, msg.id, msg.payload.freeze());
        let m = match decoded {
            Ok(m) => m,
            Err(
                e @ (EthMessageError::NotAllowedInVersion { .. }
                | EthMessageError::UnknownMessageId(_)),
            ) => {
                return Some(End::Error {
                    error: e.clone().into(),
                    send: Some(DisconnectReason::ProtocolBreach),
                    notice: Some(Notice::Invalid(e)),
                })
            }
            Err(e) => {
                return Some(End::Error {
                    error: e.into(),
                    send: Some(DisconnectReason::ProtocolBreach),
                    notice: Some(Notice::Bad),
                })
            }
        };
        metrics::message("in", m.id().name(), size);
        trace!(msg = m.id().name(), size, "received");
        match m {
            EthMessage::Status(_) => Some(End::Error {
                error: ActiveSessionError::UnexpectedStatus,
                send: Some(DisconnectReason::ProtocolBreach),
                notice: Some(Notice::Bad),
            }),
            EthMessage::BlockRangeUpdate(ref u) if u.validate().is_err() => Some(End::Error {
                error: ActiveSessionError::InvalidBlockRange,
                send: Some(DisconnectReason::ProtocolBreach),
                notice: Some(Notice::Breach),
            }),
            m if m.is_response() => {
                let id = m.request_id().unwrap_or_default();
                match self.inflight.remove(&id) {
                    Some(req) if req.expected == Some(m.id()) => {
                        let now = Instant::now();
                        let cfg = &self.s.config;
                        let next = next_request_timeout(
                            self.current_timeout(),
                            now.duration_since(req.sent),
                            cfg.min_request_timeout,
                            cfg.initial_request_timeout,
                        );
                        self.s
                            .timeout_ms
                            .store(next.as_millis() as u64, Ordering::Relaxed);
                        // A late response (caller already timed out) is consumed without penalty.
                        if let Some(tx) = req.tx {
                            let _ = tx.send(Ok(m));
                        }
                        None
                    }
                    Some(req) => {
                        if let Some(tx) = req.tx {
                            let _ = tx.send(Err(RequestError::BadResponse));
                        }
                        self.slot = Some(ActiveMessage::Bad {
                            peer_id: self.s.peer_id,
                        });
                        None
                    }
                    None => {
                        self.slot = Some(ActiveMessage::Bad {
                            peer_id: self.s.peer_id,
                        });
                        None
                    }
                }
            }
            m if m.is_request() => {
                let (tx, rx) = oneshot::channel();
                let id = m.request_id().unwrap_or_default();
                let fallback = m.empty_response();
                let fut = async move {
                    let fb = fallback.clone();
                    match rx.await {
                        Ok(resp) => (id, resp, fb),
                        // Dropped responder: answer with the empty response, never silence.
                        Err(_) => match fallback {
                            Some(f) => (id, f, None),
                            None => (id, EthMessage::Transactions(Default::default()), None),
                        },
                    }
                }
                .boxed();
                self.remote_requests.push(fut);
                self.emit(PeerMessage::EthRequest {
                    request: m,
                    responder: EthResponder { tx },
                });
                None
            }
            m => {
                self.emit(PeerMessage::Eth(m));
                None
            }
        }
    }
}
