//! Errors of the session layer.

use ethp2p_eth::{handshake::EthHandshakeError, message::EthMessageError, snap::SnapMessageError};
use ethp2p_rlpx::RlpxError;
use ethp2p_wire::{DisconnectReason, P2PError, P2PHandshakeError};

/// A pending session could not start: the limit for its direction is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session limit of {0} reached")]
pub struct ExceedsSessionLimit(pub u32);

/// Why a pending session ended without becoming active.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PendingSessionError {
    /// The ECIES handshake failed.
    #[error("ECIES handshake: {0}")]
    Ecies(RlpxError),
    /// The Hello exchange failed.
    #[error("Hello: {0}")]
    P2P(#[from] P2PHandshakeError),
    /// The Status exchange failed.
    #[error("Status: {0}")]
    Eth(#[from] EthHandshakeError),
    /// The whole pending session took longer than its timeout.
    #[error("pending session timed out")]
    Timeout,
    /// The remote is this node.
    #[error("connected to self")]
    ConnectedToSelf,
    /// Established sessions of this direction are at their limit.
    #[error("too many peers")]
    TooManyPeers,
    /// The owner aborted the session.
    #[error("aborted")]
    Aborted,
}

impl PendingSessionError {
    /// The Disconnect reason we sent, if any.
    pub fn reason_sent(&self) -> Option<DisconnectReason> {
        match self {
            Self::P2P(e) => e.reason_sent(),
            Self::Eth(e) => e.reason_sent(),
            Self::ConnectedToSelf => Some(DisconnectReason::ConnectedToSelf),
            Self::TooManyPeers => Some(DisconnectReason::TooManyPeers),
            _ => None,
        }
    }

    /// The Disconnect reason the remote sent, if any.
    pub fn reason_received(&self) -> Option<DisconnectReason> {
        match self {
            Self::P2P(e) => e.reason_received(),
            Self::Eth(e) => e.reason_received(),
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Ecies(_) => "ecies",
            Self::P2P(P2PHandshakeError::Disconnected(_))
            | Self::Eth(EthHandshakeError::P2P(P2PError::Disconnected(_))) => "remote_disconnect",
            Self::P2P(P2PHandshakeError::NoSharedCapabilities) => "useless_peer",
            Self::P2P(P2PHandshakeError::UnexpectedIdentity(_)) => "unexpected_identity",
            Self::P2P(P2PHandshakeError::IncompatibleVersion(_)) => "p2p_version",
            Self::P2P(_) => "hello",
            Self::Eth(EthHandshakeError::Rejected(_)) => "status_rejected",
            Self::Eth(_) => "status",
            Self::Timeout => "timeout",
            Self::ConnectedToSelf => "self",
            Self::TooManyPeers => "too_many_peers",
            Self::Aborted => "aborted",
        }
    }
}

/// Why an active session closed other than by an orderly Disconnect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActiveSessionError {
    /// The p2p layer failed (I/O, bad frame, ping timeout, protocol breach).
    #[error(transparent)]
    P2P(#[from] P2PError),
    /// The remote sent an eth message that failed to decode or is not allowed.
    #[error("eth message: {0}")]
    Eth(#[from] EthMessageError),
    /// The remote sent a snap message that failed to decode or is not in
    /// the negotiated snap version.
    #[error("snap message: {0}")]
    Snap(#[from] SnapMessageError),
    /// The remote sent Status after the handshake.
    #[error("Status after the handshake")]
    UnexpectedStatus,
    /// An invalid BlockRangeUpdate.
    #[error("invalid BlockRangeUpdate")]
    InvalidBlockRange,
    /// A request was left unanswered past the protocol-breach timeout.
    #[error("request unanswered past the protocol-breach timeout")]
    RequestBreach,
    /// The peer read what we queued for it more slowly than the minimum
    /// throughput (`SessionsConfig::min_write_throughput`).
    #[error("write stalled: the peer reads too slowly")]
    WriteStalled,
    /// The connection closed without a Disconnect.
    #[error("connection closed without Disconnect")]
    ConnectionClosed,
}

/// Why a request we sent did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No response within the session's request timeout.
    #[error("request timed out")]
    Timeout,
    /// The session ended before the response arrived.
    #[error("session closed")]
    ConnectionClosed,
    /// The response had the wrong type.
    #[error("bad response")]
    BadResponse,
    /// The message is not a request, or not allowed in the negotiated version.
    #[error("unsupported request for this session: {0}")]
    Unsupported(String),
    /// The session's command queue is full, or too many requests are in flight.
    #[error("session busy")]
    ChannelFull,
    /// No session with that peer.
    #[error("not connected")]
    NotConnected,
}

/// Why a message could not be queued for a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No active session with that peer.
    #[error("no such peer")]
    NoSuchPeer,
    /// The session's command queue is full (the peer is slow to read); the
    /// message was dropped.
    #[error("the peer's queue is full")]
    QueueFull,
}
