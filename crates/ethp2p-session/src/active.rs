//! The active session task: one per established peer, a thin driver around
//! the connection and the sans-IO rules ([`RequestTracker`],
//! [`WriteProgress`], the p2p keepalive).
//!
//! Everything the session tells the manager, its final report included, goes
//! through one bounded channel in order: the final report waits for room
//! like any message, so it always follows the session's last message.
//!
//! Back-pressure is one rule: the session reads from the socket only while
//! (no message waits for the manager) and (fewer than
//! `max_pending_remote_requests` remote requests await answers) and (the bytes
//! queued for writing are below `max_queued_outgoing_bytes`). Commands and
//! answers to the remote's requests are taken only below the same mark, so a
//! peer that pipelines requests and never reads meets TCP flow control.

use crate::{
    config::SessionsConfig,
    error::{ActiveSessionError, RequestError},
    handle::{
        EthResponder, PeerMessage, ProtocolCommand, QueueGauge, SessionCommand, SessionId,
        SnapResponder,
    },
    layout::{ConnectionLayout, SnapSlot},
    metrics,
    requests::{RequestTimeouts, RequestTracker, ResponseKind, ResponseOutcome},
    transport::BoxedTransport,
    write_stall::WriteProgress,
};
use ethp2p_eth::{
    handshake::{ETH, MAX_MESSAGE_SIZE},
    message::{EthMessage, EthMessageError},
    snap::{chainless_response, SnapMessage},
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use ethp2p_wire::{DisconnectReason, P2PError, P2PStream, ProtocolMessage};
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use std::{
    future::{poll_fn, Future},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, Sleep},
};
use tokio_util::sync::PollSender;
use tracing::{debug, trace, Instrument};

/// What a session reports about a remote's misbehaviour before it closes.
#[derive(Debug)]
pub(crate) enum Notice {
    Bad,
    Invalid(EthMessageError),
    Breach,
}

/// How a session ended: its last message.
#[derive(Debug)]
pub(crate) enum Closed {
    Disconnected {
        reason: DisconnectReason,
        by_us: bool,
    },
    OnError {
        error: ActiveSessionError,
        notice: Option<Notice>,
    },
}

/// What a session tells the manager.
#[derive(Debug)]
pub(crate) enum MessageKind {
    Valid(PeerMessage),
    Bad,
    Closed(Closed),
}

/// One message from a session to the manager (bounded channel, in order).
#[derive(Debug)]
pub(crate) struct SessionMessage {
    pub session_id: SessionId,
    pub peer_id: PeerId,
    pub kind: MessageKind,
}

/// Reports `Closed` on the fallback channel if the task is dropped before
/// its final report left (runtime shutdown): the manager's counters always
/// get their decrement.
struct CloseGuard {
    peer_id: PeerId,
    session_id: SessionId,
    tx: Option<mpsc::UnboundedSender<SessionMessage>>,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(SessionMessage {
                session_id: self.session_id,
                peer_id: self.peer_id,
                kind: MessageKind::Closed(Closed::OnError {
                    error: ActiveSessionError::ConnectionClosed,
                    notice: None,
                }),
            });
        }
    }
}

/// Who waits for the answer to one of our requests.
#[derive(Debug)]
enum Waiter {
    Eth(oneshot::Sender<Result<EthMessage, RequestError>>),
    Snap(oneshot::Sender<Result<SnapMessage, RequestError>>),
}

impl Waiter {
    fn fail(self, e: RequestError) {
        match self {
            Waiter::Eth(tx) => {
                let _ = tx.send(Err(e));
            }
            Waiter::Snap(tx) => {
                let _ = tx.send(Err(e));
            }
        }
    }
}

/// The owner's answer to a remote request (or the fallback it dropped to).
enum Answer {
    /// The answer, and the empty answer to send instead of a wrong one.
    Eth(u64, EthMessage, Option<EthMessage>),
    /// The answer, and the chain-less answer to send instead of a wrong one.
    Snap(u64, SnapMessage, SnapMessage),
}

type RemoteRequest = BoxFuture<'static, Answer>;

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

impl End {
    fn error(error: impl Into<ActiveSessionError>) -> Self {
        End::Error {
            error: error.into(),
            send: None,
            notice: None,
        }
    }

    fn breach(error: impl Into<ActiveSessionError>, notice: Notice) -> Self {
        End::Error {
            error: error.into(),
            send: Some(DisconnectReason::ProtocolBreach),
            notice: Some(notice),
        }
    }
}

#[allow(clippy::large_enum_variant)] // a transient value on the stack, never stored
enum Wake {
    Disconnect(DisconnectReason),
    Command(Option<SessionCommand>),
    Delivered(bool),
    Answer(Answer),
    Incoming(Option<Result<ProtocolMessage, P2PError>>),
    Timer,
    WriteError(P2PError),
}

/// Everything an active session task starts from.
pub(crate) struct ActiveSession {
    pub peer_id: PeerId,
    pub session_id: SessionId,
    pub version: EthVersion,
    pub conn: P2PStream<BoxedTransport>,
    pub commands: mpsc::Receiver<SessionCommand>,
    pub disconnect_rx: mpsc::UnboundedReceiver<DisconnectReason>,
    pub to_manager: PollSender<SessionMessage>,
    pub fallback_tx: mpsc::UnboundedSender<SessionMessage>,
    pub timeout_ms: Arc<AtomicU64>,
    pub queue: Arc<QueueGauge>,
    pub config: Arc<SessionsConfig>,
}

struct State {
    s: ActiveSession,
    eth_index: usize,
    /// Where snap sits, when it is shared (`None`: eth's path is all there is).
    snap: Option<SnapSlot>,
    slot: Option<SessionMessage>,
    /// Whether reading is paused by back-pressure (counted once per pause).
    reading_paused: bool,
    /// Whose turn it is: the remote's frames or the owner's commands.
    read_first: bool,
    requests: RequestTracker<Waiter>,
    remote_requests: FuturesUnordered<RemoteRequest>,
    progress: WriteProgress,
    /// One timer, armed at the earliest deadline of the rules above.
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    /// RLP encoding of the outgoing message, reused (released when large).
    encode_buf: Vec<u8>,
}

/// Queued bytes above which a wake writes before handling more; below it the
/// writes of one poll leave together when the task goes to sleep.
const WRITE_BATCH: usize = 64 * 1024;

/// Capacity of the reused encode buffer kept between messages.
const ENCODE_BUF_KEEP: usize = 64 * 1024;

impl ActiveSession {
    /// The session's task: runs it to its end, inside its span. Not an
    /// `async fn`: the task's future is the driver's alone, with no second
    /// copy of the session in an outer state machine (idle memory).
    pub(crate) fn run(self) -> impl Future<Output = ()> + Send + 'static {
        let span = tracing::debug_span!(
            "session",
            peer = %ethp2p_rlpx::node_id(&self.peer_id),
            session = self.session_id.0
        );
        State::new(self).drive().instrument(span)
    }
}

impl State {
    fn new(s: ActiveSession) -> Self {
        // The Status exchange already required eth; the fallback is never used.
        let layout = ConnectionLayout::from_shared(s.conn.shared_capabilities());
        let eth_index = layout
            .map(|l| l.eth_index())
            .unwrap_or_else(|_| s.conn.shared_capabilities().index_of(ETH).unwrap_or(0));
        let snap = layout.ok().and_then(|l| l.snap());
        let cfg = &s.config;
        let requests = RequestTracker::new(RequestTimeouts {
            initial: cfg.initial_request_timeout,
            min: cfg.min_request_timeout,
            breach: cfg.protocol_breach_request_timeout,
        });
        let progress = WriteProgress::new(cfg.write_stall_timeout, cfg.min_write_throughput);
        Self {
            s,
            eth_index,
            snap,
            slot: None,
            reading_paused: false,
            read_first: true,
            requests,
            remote_requests: FuturesUnordered::new(),
            progress,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            timer_at: None,
            encode_buf: Vec::new(),
        }
    }

    async fn drive(mut self) {
        let mut guard = CloseGuard {
            peer_id: self.s.peer_id,
            session_id: self.s.session_id,
            tx: Some(self.s.fallback_tx.clone()),
        };
        let end = loop {
            let wake = poll_fn(|cx| self.poll_wake(cx)).await;
            if let Some(end) = self.on_wake(wake) {
                break end;
            }
            // `poll_wake` re-arms the timer after its flush: once per wake.
        };
        let (closed, goodbye) = match end {
            End::Disconnect { reason, by_us } => {
                metrics::disconnect(reason.name(), if by_us { "local" } else { "remote" });
                (
                    Closed::Disconnected { reason, by_us },
                    by_us.then_some(reason),
                )
            }
            End::Error {
                error,
                send,
                notice,
            } => {
                if let Some(reason) = send {
                    metrics::disconnect(reason.name(), "local");
                }
                debug!(%error, "session closed on error");
                (Closed::OnError { error, notice }, send)
            }
        };
        if let Some(reason) = goodbye {
            self.close_with(reason).await;
        }
        // Callers waiting on requests learn the session is gone.
        for w in self.requests.drain() {
            w.fail(RequestError::ConnectionClosed);
        }
        // Nothing more is read or written: give the buffers back before
        // waiting for room.
        self.remote_requests = FuturesUnordered::new();
        self.s.conn.release_buffers();
        // In order: a message still parked, then the final report, each
        // through the one slot (no second copy lives in this future).
        if self.deliver_slot().await {
            self.emit(MessageKind::Closed(closed));
            self.deliver_slot().await;
        }
        guard.tx = None;
    }
}

impl State {
    /// Sends Disconnect(reason) and closes, within the goodbye timeout (on
    /// the session's one timer).
    async fn close_with(&mut self, reason: DisconnectReason) {
        if self.s.conn.start_disconnect(reason).is_err() {
            return;
        }
        let within = self.s.config.p2p.goodbye_timeout;
        self.timer.as_mut().reset(Instant::now() + within);
        poll_fn(|cx| {
            if self.timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            self.s.conn.poll_close(cx).map(|_| ())
        })
        .await
    }

    /// Waits for room and hands the parked message to the manager; false if
    /// the manager is gone.
    async fn deliver_slot(&mut self) -> bool {
        if self.slot.is_none() {
            return true;
        }
        if poll_fn(|cx| self.s.to_manager.poll_reserve(cx))
            .await
            .is_err()
        {
            return false;
        }
        self.slot
            .take()
            .is_none_or(|m| self.s.to_manager.send_item(m).is_ok())
    }

    /// Re-arms the one timer at the earliest deadline of the rules.
    fn rearm(&mut self) {
        let conn = &self.s.conn;
        let queued = conn.pending_write_bytes();
        self.s.queue.set(queued);
        if (queued > 0) != self.progress.poll_timeout().is_some() {
            self.progress
                .update(Instant::now(), queued, conn.bytes_written());
        }
        let next = match (self.requests.poll_timeout(), self.progress.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if next != self.timer_at {
            self.timer_at = next;
            if let Some(at) = next {
                self.timer.as_mut().reset(at);
            }
        }
    }

    fn below_high_water(&self) -> bool {
        self.s.conn.pending_write_bytes() < self.s.config.max_queued_outgoing_bytes
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        // Writes are batched: what the wakes of one poll queue leaves in one
        // write when the task is about to sleep (below), or here once a batch
        // has grown large.
        if self.s.conn.pending_write_bytes() >= WRITE_BATCH {
            if let Poll::Ready(Err(e)) = self.s.conn.poll_flush(cx) {
                return Poll::Ready(Wake::WriteError(e));
            }
        }
        self.rearm();
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
        if self.timer_at.is_some() && self.timer.as_mut().poll(cx).is_ready() {
            self.timer_at = None;
            return Poll::Ready(Wake::Timer);
        }
        // The owner's commands and the remote's frames take turns, so that
        // neither a flood of broadcasts nor a busy owner starves the other
        // (a Ping waiting to be read is a frame too).
        let below = self.below_high_water();
        if self.read_first {
            if let Some(w) = self.poll_read(below, cx) {
                self.read_first = false;
                return Poll::Ready(w);
            }
            if let Some(w) = self.poll_owner(below, cx) {
                return Poll::Ready(w);
            }
        } else {
            if let Some(w) = self.poll_owner(below, cx) {
                self.read_first = true;
                return Poll::Ready(w);
            }
            if let Some(w) = self.poll_read(below, cx) {
                return Poll::Ready(w);
            }
        }
        // About to sleep: write the batch the earlier wakes queued (and a
        // keepalive Ping or an owed Pong reading queued), then let the
        // write-stall rule see what is left.
        let written = self.s.conn.bytes_written();
        if let Poll::Ready(Err(e)) = self.s.conn.poll_flush(cx) {
            return Poll::Ready(Wake::WriteError(e));
        }
        if self.s.conn.bytes_written() != written || self.s.conn.pending_write_bytes() > 0 {
            self.rearm();
            if self.timer_at.is_some() && self.timer.as_mut().poll(cx).is_ready() {
                self.timer_at = None;
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    }

    /// Commands and answers to remote requests, taken only below the high-water mark.
    fn poll_owner(&mut self, below: bool, cx: &mut Context<'_>) -> Option<Wake> {
        if !below {
            return None;
        }
        if let Poll::Ready(cmd) = self.s.commands.poll_recv(cx) {
            return Some(Wake::Command(cmd));
        }
        if let Poll::Ready(Some(answer)) = self.remote_requests.poll_next_unpin(cx) {
            return Some(Wake::Answer(answer));
        }
        None
    }

    /// Back-pressure: with an undelivered message, too many unanswered
    /// requests or too much queued for writing, stop reading the socket.
    fn poll_read(&mut self, below: bool, cx: &mut Context<'_>) -> Option<Wake> {
        if below
            && self.slot.is_none()
            && self.remote_requests.len() < self.s.config.max_pending_remote_requests
        {
            self.reading_paused = false;
            if let Poll::Ready(m) = self.s.conn.poll_next_message(cx) {
                return Some(Wake::Incoming(m));
            }
        } else if !self.reading_paused {
            self.reading_paused = true;
            metrics::back_pressure();
        }
        None
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
            Wake::Answer(Answer::Eth(id, resp, fallback)) => self.on_answer(id, resp, fallback),
            Wake::Answer(Answer::Snap(id, resp, fallback)) => {
                self.on_snap_answer(id, resp, fallback)
            }
            Wake::Incoming(None) => Some(End::error(ActiveSessionError::ConnectionClosed)),
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
            Wake::Timer => self.on_timer(),
            Wake::WriteError(e) => Some(End::error(e)),
        }
    }

    /// The owner answered a remote request (or dropped its responder). The
    /// answer is checked like any outgoing message: one of the wrong type or
    /// not valid in the negotiated version is replaced by the empty answer.
    fn on_answer(
        &mut self,
        id: u64,
        resp: EthMessage,
        fallback: Option<EthMessage>,
    ) -> Option<End> {
        let mut msg = match fallback {
            Some(f) if resp.id() != f.id() || resp.validate_for(self.s.version).is_err() => {
                debug!(
                    got = resp.id().name(),
                    want = f.id().name(),
                    "owner's answer is not valid for this request and version, sending the empty answer"
                );
                metrics::dropped_outgoing();
                f
            }
            _ => resp,
        };
        msg.set_request_id(id);
        self.send_eth(&msg)
    }

    /// The owner answered a remote snap request (or dropped its responder):
    /// an answer of the wrong type or not valid in the negotiated version is
    /// replaced by the chain-less answer.
    fn on_snap_answer(&mut self, id: u64, resp: SnapMessage, fallback: SnapMessage) -> Option<End> {
        let version = self.snap?.version;
        let mut msg = if resp.id() != fallback.id() || resp.validate_for(version).is_err() {
            debug!(
                got = resp.id().name(),
                want = fallback.id().name(),
                "owner's snap answer is not valid for this request and version, sending the chain-less answer"
            );
            metrics::dropped_outgoing();
            fallback
        } else {
            resp
        };
        msg.set_request_id(id);
        self.send_snap(&msg)
    }

    fn send_snap(&mut self, msg: &SnapMessage) -> Option<End> {
        let index = self.snap?.index;
        let buf = &mut self.encode_buf;
        buf.clear();
        msg.encode(buf);
        metrics::message("out", msg.id().name(), buf.len());
        let sent = self.s.conn.send(index, msg.id().as_u8(), buf);
        if buf.capacity() > ENCODE_BUF_KEEP {
            *buf = Vec::new();
        }
        sent.err().map(End::error)
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
        sent.err().map(End::error)
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
                if self.requests.len() >= self.s.config.max_inflight_requests {
                    let _ = response.send(Err(RequestError::ChannelFull));
                    return None;
                }
                let expected = request.id().response().map(ResponseKind::Eth);
                let id = self
                    .requests
                    .start(Instant::now(), expected, Waiter::Eth(response));
                request.set_request_id(id);
                self.send_eth(&request)
            }
            SessionCommand::SnapRequest {
                mut request,
                response,
            } => {
                let Some(version) = self.snap.map(|s| s.version) else {
                    let _ = response.send(Err(RequestError::Unsupported(
                        "snap is not shared with this peer".into(),
                    )));
                    return None;
                };
                if !request.is_request() {
                    let _ = response.send(Err(RequestError::Unsupported(format!(
                        "{} is not a request",
                        request.id()
                    ))));
                    return None;
                }
                if let Err(e) = request.validate_for(version) {
                    let _ = response.send(Err(RequestError::Unsupported(e.to_string())));
                    return None;
                }
                if self.requests.len() >= self.s.config.max_inflight_requests {
                    let _ = response.send(Err(RequestError::ChannelFull));
                    return None;
                }
                let expected = request.id().response().map(ResponseKind::Snap);
                let id = self
                    .requests
                    .start(Instant::now(), expected, Waiter::Snap(response));
                request.set_request_id(id);
                self.send_snap(&request)
            }
            SessionCommand::Protocol(cmd) => {
                let ProtocolCommand { name, id, payload } = *cmd;
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
                    Err(e) => Some(End::error(e)),
                }
            }
        }
    }

    fn on_timer(&mut self) -> Option<End> {
        let now = Instant::now();
        let expired = self.requests.handle_timeout(now);
        for w in expired.timed_out {
            metrics::request_timeout();
            w.fail(RequestError::Timeout);
        }
        if expired.breach {
            return Some(End::breach(
                ActiveSessionError::RequestBreach,
                Notice::Breach,
            ));
        }
        let written = self.s.conn.bytes_written();
        if let Err(stall) = self.progress.handle_timeout(now, written) {
            debug!(
                took = stall.written,
                queued = self.s.conn.pending_write_bytes(),
                "peer reads too slowly"
            );
            return Some(End::error(ActiveSessionError::WriteStalled));
        }
        None
    }

    fn emit(&mut self, kind: MessageKind) {
        self.slot = Some(SessionMessage {
            session_id: self.s.session_id,
            peer_id: self.s.peer_id,
            kind,
        });
    }

    fn on_message(&mut self, msg: ProtocolMessage) -> Option<End> {
        if msg.protocol != self.eth_index {
            if let Some(slot) = self.snap.filter(|s| s.index == msg.protocol) {
                return self.on_snap(slot, msg);
            }
            let name = self
                .s
                .conn
                .shared_capabilities()
                .get(msg.protocol)
                .map(|c| c.cap.name.clone())
                .unwrap_or_default();
            metrics::message("in", "subprotocol", msg.payload.len());
            self.emit(MessageKind::Valid(PeerMessage::Protocol {
                name,
                id: msg.id,
                payload: msg.payload.freeze(),
            }));
            return None;
        }
        let size = msg.payload.len();
        if size > MAX_MESSAGE_SIZE {
            let error = P2PError::MessageTooBig {
                size,
                max: MAX_MESSAGE_SIZE,
            };
            return Some(End::breach(error, Notice::Bad));
        }
        let m = match EthMessage::decode_bytes(self.s.version, msg.id, msg.payload.freeze()) {
            Ok(m) => m,
            Err(
                e @ (EthMessageError::NotAllowedInVersion { .. }
                | EthMessageError::UnknownMessageId(_)),
            ) => return Some(End::breach(e.clone(), Notice::Invalid(e))),
            // A block range that contradicts itself is a breach of the
            // protocol's rules, not garbage (geth and reth drop the peer).
            Err(e @ EthMessageError::InvalidBlockRange(_)) => {
                return Some(End::breach(e, Notice::Breach))
            }
            Err(e) => return Some(End::breach(e, Notice::Bad)),
        };
        metrics::message("in", m.id().name(), size);
        trace!(msg = m.id().name(), size, "received");
        match m {
            EthMessage::Status(_) => Some(End::breach(
                ActiveSessionError::UnexpectedStatus,
                Notice::Bad,
            )),
            EthMessage::BlockRangeUpdate(ref u) if u.validate().is_err() => Some(End::breach(
                ActiveSessionError::InvalidBlockRange,
                Notice::Breach,
            )),
            m if m.is_response() => {
                let id = m.request_id().unwrap_or_default();
                let outcome =
                    self.requests
                        .on_response(Instant::now(), id, ResponseKind::Eth(m.id()));
                match outcome {
                    ResponseOutcome::Matched(waiter) => {
                        self.publish_timeout();
                        // A late response (caller already timed out) is consumed without penalty.
                        match waiter {
                            Some(Waiter::Eth(tx)) => {
                                let _ = tx.send(Ok(m));
                            }
                            Some(w) => w.fail(RequestError::BadResponse),
                            None => {}
                        }
                    }
                    ResponseOutcome::WrongType(waiter) => self.wrong_type(waiter),
                    ResponseOutcome::Unsolicited => self.emit(MessageKind::Bad),
                }
                None
            }
            m if m.is_request() => {
                let (tx, rx) = oneshot::channel();
                let id = m.request_id().unwrap_or_default();
                let fallback = m.empty_response();
                let fut = async move {
                    let fb = fallback.clone();
                    match rx.await {
                        Ok(resp) => Answer::Eth(id, resp, fb),
                        // Dropped responder: answer with the empty response, never silence.
                        Err(_) => match fallback {
                            Some(f) => Answer::Eth(id, f, None),
                            None => {
                                Answer::Eth(id, EthMessage::Transactions(Default::default()), None)
                            }
                        },
                    }
                }
                .boxed();
                self.remote_requests.push(fut);
                self.emit(MessageKind::Valid(PeerMessage::EthRequest {
                    request: m,
                    responder: EthResponder { tx },
                }));
                None
            }
            m => {
                self.emit(MessageKind::Valid(PeerMessage::Eth(m)));
                None
            }
        }
    }
}

impl State {
    /// Publishes the adaptive timeout to the handle after a matched answer.
    fn publish_timeout(&self) {
        let t = self.requests.current_timeout();
        self.s
            .timeout_ms
            .store(t.as_millis() as u64, Ordering::Relaxed);
    }

    /// A response of the wrong type for the request its id names: the caller
    /// learns it was bad, the peer is reported.
    fn wrong_type(&mut self, waiter: Option<Waiter>) {
        if let Some(w) = waiter {
            w.fail(RequestError::BadResponse);
        }
        self.emit(MessageKind::Bad);
    }

    /// A message on snap's slot: decoded with the bounded snap decoder of the
    /// negotiated version; responses go through the request tracker like
    /// eth's, requests to the owner with the chain-less answer as fallback.
    fn on_snap(&mut self, slot: SnapSlot, msg: ProtocolMessage) -> Option<End> {
        let size = msg.payload.len();
        let m = match SnapMessage::decode_bytes(slot.version, msg.id, msg.payload.freeze()) {
            Ok(m) => m,
            // An id inside snap's range but not in this version, or a
            // malformed or oversized message: a breach, like eth's.
            Err(e) => {
                debug!(%e, id = msg.id, "bad snap message");
                return Some(End::breach(e, Notice::Bad));
            }
        };
        metrics::message("in", m.id().name(), size);
        trace!(msg = m.id().name(), size, "received");
        let id = m.request_id();
        if m.is_response() {
            let outcome = self
                .requests
                .on_response(Instant::now(), id, ResponseKind::Snap(m.id()));
            match outcome {
                ResponseOutcome::Matched(waiter) => {
                    self.publish_timeout();
                    match waiter {
                        Some(Waiter::Snap(tx)) => {
                            let _ = tx.send(Ok(m));
                        }
                        Some(w) => w.fail(RequestError::BadResponse),
                        None => {}
                    }
                }
                ResponseOutcome::WrongType(waiter) => self.wrong_type(waiter),
                ResponseOutcome::Unsolicited => self.emit(MessageKind::Bad),
            }
            return None;
        }
        // Every snap message is a request or a response.
        let fallback = chainless_response(&m)?;
        let (tx, rx) = oneshot::channel();
        let fut = async move {
            match rx.await {
                Ok(resp) => Answer::Snap(id, resp, fallback),
                // Dropped responder: the chain-less answer, never silence.
                Err(_) => Answer::Snap(id, fallback.clone(), fallback),
            }
        }
        .boxed();
        self.remote_requests.push(fut);
        self.emit(MessageKind::Valid(PeerMessage::SnapRequest {
            request: m,
            responder: SnapResponder { tx },
        }));
        None
    }
}
