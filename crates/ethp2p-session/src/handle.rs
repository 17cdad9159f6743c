//! Handles the manager keeps for its sessions, and what flows through them.

use crate::error::RequestError;
use ethp2p_eth::{
    message::EthMessage,
    snap::{SnapMessage, SnapVersion, SNAP},
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{NodeRecord, PeerId};
use ethp2p_wire::{Capability, DisconnectReason};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

/// Identifies one session (pending or active) for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Who opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The remote dialed us.
    Incoming,
    /// We dialed the remote.
    Outgoing,
}

impl Direction {
    /// `"inbound"` or `"outbound"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "inbound",
            Direction::Outgoing => "outbound",
        }
    }
}

/// Everything known about an established peer.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The session.
    pub session_id: SessionId,
    /// The remote's identity.
    pub remote_id: PeerId,
    /// Client id from its Hello.
    pub client_version: String,
    /// Its enode: the remote IP with the Hello listen port for inbound peers.
    pub enode: NodeRecord,
    /// Capabilities it announced.
    pub capabilities: Vec<Capability>,
    /// Capabilities both sides share, with negotiated versions.
    pub shared_capabilities: Vec<Capability>,
    /// Negotiated eth version.
    pub eth_version: EthVersion,
    /// Its Status.
    pub status: Status,
    /// Who dialed.
    pub direction: Direction,
    /// Socket addresses.
    pub remote_addr: SocketAddr,
    /// Our side of the socket.
    pub local_addr: Option<SocketAddr>,
    /// When the session was established.
    pub established: Instant,
    /// The same, as wall-clock time.
    pub established_at: SystemTime,
}

impl PeerInfo {
    /// The negotiated snap version, when snap is shared.
    pub fn snap_version(&self) -> Option<SnapVersion> {
        self.shared_capabilities
            .iter()
            .find(|c| c.name == SNAP)
            .and_then(|c| SnapVersion::try_from(c.version).ok())
    }
}

/// What the owner tells one session to do. Variants are boxed so that each
/// session's command queue (allocated in blocks of slots) stays small.
#[derive(Debug)]
pub(crate) enum SessionCommand {
    /// Send an eth message (broadcast or response) as is.
    Message(Box<EthMessage>),
    /// Send an eth request; its id is assigned by the session and the answer
    /// (or its failure) arrives on `response`.
    Request {
        /// The request (its request id is replaced).
        request: Box<EthMessage>,
        /// Where the answer goes.
        response: oneshot::Sender<Result<EthMessage, RequestError>>,
    },
    /// Send a snap request; like [`Request`](Self::Request), its id comes
    /// from the session's one id space.
    SnapRequest {
        /// The request (its request id is replaced).
        request: Box<SnapMessage>,
        /// Where the answer goes.
        response: oneshot::Sender<Result<SnapMessage, RequestError>>,
    },
    /// Send a message of an extra sub-protocol (boxed, like the others: every
    /// session's command channel holds a block of 32 commands from the start,
    /// so the command's size is idle memory).
    Protocol(Box<ProtocolCommand>),
}

/// A message of an extra sub-protocol to send.
#[derive(Debug)]
pub(crate) struct ProtocolCommand {
    /// Protocol name.
    pub name: String,
    /// Relative message id.
    pub id: u8,
    /// Uncompressed payload.
    pub payload: bytes::Bytes,
}

/// A message from a remote peer, delivered to the owner.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerMessage {
    /// An eth announcement or broadcast (transactions, hashes, block range).
    Eth(EthMessage),
    /// An eth request: answer through the responder (dropping it answers with
    /// an empty response of the right type).
    EthRequest {
        /// The request as received.
        request: EthMessage,
        /// Sends the answer back to the peer.
        responder: EthResponder,
    },
    /// A snap request (snap is shared): answer through the responder
    /// (dropping it answers with what a node without state serves, see
    /// [`chainless_response`](ethp2p_eth::snap::chainless_response)).
    SnapRequest {
        /// The request as received, decoded and bounded.
        request: SnapMessage,
        /// Sends the answer back to the peer.
        responder: SnapResponder,
    },
    /// A message of an extra sub-protocol.
    Protocol {
        /// Protocol name.
        name: String,
        /// Relative message id.
        id: u8,
        /// Decompressed payload.
        payload: bytes::Bytes,
    },
}

/// Answers one request of a remote peer.
#[derive(Debug)]
pub struct EthResponder {
    pub(crate) tx: oneshot::Sender<EthMessage>,
}

impl EthResponder {
    /// Sends `response`; its request id is set to the request's by the session.
    pub fn respond(self, response: EthMessage) {
        let _ = self.tx.send(response);
    }
}

/// Answers one snap request of a remote peer.
#[derive(Debug)]
pub struct SnapResponder {
    pub(crate) tx: oneshot::Sender<SnapMessage>,
}

impl SnapResponder {
    /// Sends `response`; its request id is set to the request's by the
    /// session. A response of the wrong type, or not valid in the negotiated
    /// version, is replaced by the chain-less answer.
    pub fn respond(self, response: SnapMessage) {
        let _ = self.tx.send(response);
    }
}

/// The manager's handle on one active session.
#[derive(Debug)]
pub struct ActiveSessionHandle {
    pub(crate) info: Arc<PeerInfo>,
    pub(crate) commands: mpsc::Sender<SessionCommand>,
    pub(crate) disconnect_tx: mpsc::UnboundedSender<DisconnectReason>,
    pub(crate) request_timeout_ms: Arc<AtomicU64>,
    pub(crate) queue: Arc<QueueGauge>,
}

/// Bytes a session holds queued for writing, now and at most, shared with
/// its handle.
#[derive(Debug, Default)]
pub(crate) struct QueueGauge {
    pub now: AtomicU64,
    pub peak: AtomicU64,
}

impl QueueGauge {
    pub(crate) fn set(&self, bytes: usize) {
        let b = bytes as u64;
        self.now.store(b, Ordering::Relaxed);
        self.peak.fetch_max(b, Ordering::Relaxed);
    }
}

impl ActiveSessionHandle {
    /// Asks the session to send Disconnect(reason) and close.
    pub fn disconnect(&self, reason: DisconnectReason) {
        let _ = self.disconnect_tx.send(reason);
    }

    /// The peer's information.
    pub fn peer_info(&self) -> &PeerInfo {
        &self.info
    }

    /// Shared ownership of the peer's information.
    pub fn peer_info_arc(&self) -> Arc<PeerInfo> {
        self.info.clone()
    }

    /// The session's current adaptive request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.load(Ordering::Relaxed))
    }

    /// The session's direction.
    pub fn direction(&self) -> Direction {
        self.info.direction
    }

    /// Bytes the session holds queued for writing to the peer.
    pub fn queued_bytes(&self) -> u64 {
        self.queue.now.load(Ordering::Relaxed)
    }

    /// The most bytes the session has held queued for writing at once.
    pub fn peak_queued_bytes(&self) -> u64 {
        self.queue.peak.load(Ordering::Relaxed)
    }

    /// A reader of [`peak_queued_bytes`](Self::peak_queued_bytes) that
    /// outlives the handle (the session's figures after it closed).
    pub fn clone_gauges(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let q = self.queue.clone();
        move || q.peak.load(Ordering::Relaxed)
    }
}

/// The manager's handle on one pending session.
#[derive(Debug)]
pub struct PendingSessionHandle {
    pub(crate) abort: Option<oneshot::Sender<()>>,
    pub(crate) direction: Direction,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) peer_id: Option<PeerId>,
}

impl PendingSessionHandle {
    /// Aborts the pending session (it reports `Aborted`).
    pub fn disconnect(&mut self) {
        if let Some(tx) = self.abort.take() {
            let _ = tx.send(());
        }
    }

    /// The session's direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The remote address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// The dialed peer (outbound only).
    pub fn peer_id(&self) -> Option<PeerId> {
        self.peer_id
    }
}

#[cfg(test)]
mod size_tests {
    /// Every session's command channel allocates a block of 32 commands when
    /// it is created: a command's size is paid by every idle session.
    #[test]
    fn a_command_is_small() {
        let size = std::mem::size_of::<super::SessionCommand>();
        assert!(size <= 24, "SessionCommand is {size} bytes");
    }
}
