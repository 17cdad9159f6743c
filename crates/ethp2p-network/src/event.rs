//! What the network tells its embedders.

use ethp2p_rlpx::PeerId;
use ethp2p_session::{PeerInfo, PeerMessage};
use ethp2p_wire::DisconnectReason;
use std::sync::Arc;

/// A change in the network, broadcast to every subscriber
/// ([`NetworkHandle::event_listener`](crate::NetworkHandle::event_listener)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NetworkEvent {
    /// A session completed ECIES, Hello and Status.
    SessionEstablished {
        /// The peer.
        peer_id: PeerId,
        /// All about the session.
        info: Arc<PeerInfo>,
    },
    /// A session ended.
    SessionClosed {
        /// The peer.
        peer_id: PeerId,
        /// The session that ended.
        info: Arc<PeerInfo>,
        /// The Disconnect reason on the wire, if one was sent or received.
        reason: Option<DisconnectReason>,
        /// Whether we ended it.
        by_us: bool,
        /// The error that ended it, if not an orderly Disconnect.
        error: Option<String>,
    },
    /// A peer entered the peer table.
    PeerAdded(PeerId),
    /// A peer left the peer table.
    PeerRemoved(PeerId),
    /// A peer was banned.
    PeerBanned(PeerId),
}

/// A message from a peer, for the one message consumer
/// ([`NetworkManager::take_messages`](crate::NetworkManager::take_messages)).
#[derive(Debug)]
pub struct IncomingMessage {
    /// The sender.
    pub peer_id: PeerId,
    /// The message (requests carry a responder; dropping it answers empty).
    pub message: PeerMessage,
}
