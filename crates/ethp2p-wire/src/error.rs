//! Typed errors of the base protocol.

use crate::disconnect::DisconnectReason;
use alloy_primitives::B512;
use ethp2p_rlpx::RlpxError;

/// An error on an established p2p session.
#[derive(Debug, thiserror::Error)]
pub enum P2PError {
    /// The transport failed (I/O, MAC mismatch, oversized frame).
    #[error(transparent)]
    Rlpx(#[from] RlpxError),
    /// The remote sent Disconnect.
    #[error("remote disconnected: {0}")]
    Disconnected(DisconnectReason),
    /// No Pong arrived in time.
    #[error("ping timeout")]
    PingTimeout,
    /// A message failed to decompress.
    #[error("snappy: {0}")]
    Snappy(String),
    /// A message (decompressed) is larger than the limit.
    #[error("message of {size} bytes exceeds the {max}-byte limit")]
    MessageTooBig {
        /// Declared or actual size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A frame with no message id.
    #[error("empty message")]
    EmptyMessage,
    /// The message id is not valid RLP.
    #[error("invalid message id: {0}")]
    InvalidMessageId(alloy_rlp::Error),
    /// An id in the reserved range 0x04..0x0f.
    #[error("unknown reserved message id 0x{0:02x}")]
    UnknownReservedId(u64),
    /// An id outside every shared protocol's range.
    #[error("message id 0x{0:02x} belongs to no shared protocol")]
    UnknownMessageId(u64),
    /// A second Hello.
    #[error("Hello received after the handshake")]
    HelloAfterHandshake,
    /// A Disconnect whose payload is not a reason.
    #[error("invalid Disconnect payload: {0}")]
    InvalidDisconnect(alloy_rlp::Error),
    /// Ping/Pong with a payload other than an empty list.
    #[error("invalid Ping/Pong payload")]
    InvalidPingPong,
    /// The caller tried to send on a protocol index that is not shared.
    #[error("protocol index {0} is not shared on this session")]
    NotShared(usize),
    /// The caller tried to send an id beyond the protocol's range.
    #[error("message id {id} is outside the protocol's {messages} ids")]
    IdOutOfRange {
        /// Relative id.
        id: u8,
        /// Number of ids of the protocol.
        messages: u8,
    },
}

impl P2PError {
    /// The Disconnect reason we send the remote for this error, if any:
    /// `ProtocolBreach` for bad input, `PingTimeout` for a silent peer.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        match self {
            P2PError::Rlpx(e) if e.is_protocol_error() => Some(DisconnectReason::ProtocolBreach),
            P2PError::Rlpx(_) | P2PError::Disconnected(_) => None,
            P2PError::NotShared(_) | P2PError::IdOutOfRange { .. } => None,
            P2PError::PingTimeout => Some(DisconnectReason::PingTimeout),
            _ => Some(DisconnectReason::ProtocolBreach),
        }
    }

    /// True when the remote broke the protocol (as opposed to leaving or the socket failing).
    pub fn is_protocol_breach(&self) -> bool {
        self.disconnect_reason() == Some(DisconnectReason::ProtocolBreach)
    }
}

/// The two identities of a spoofed Hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMismatch {
    /// The identity from the RLPx handshake.
    pub expected: B512,
    /// The id in the Hello.
    pub got: B512,
}

/// Why the Hello exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum P2PHandshakeError {
    /// The transport failed.
    #[error(transparent)]
    Rlpx(#[from] RlpxError),
    /// The connection closed before a Hello arrived.
    #[error("connection closed before Hello")]
    ConnectionClosed,
    /// No Hello within the timeout.
    #[error("Hello timed out")]
    Timeout,
    /// The remote sent Disconnect instead of Hello.
    #[error("remote disconnected during Hello: {0}")]
    Disconnected(DisconnectReason),
    /// The first message was neither Hello nor Disconnect.
    #[error("expected Hello, got message id 0x{0:02x}")]
    NonHelloMessage(u64),
    /// The Hello did not decode.
    #[error("invalid Hello: {0}")]
    InvalidHello(alloy_rlp::Error),
    /// The remote's base protocol version is below 5.
    #[error("incompatible p2p protocol version {0} (need at least 5)")]
    IncompatibleVersion(u64),
    /// The Hello's node id is not the key the remote proved in the RLPx handshake.
    #[error("Hello node id {} does not match the RLPx identity {}", .0.got, .0.expected)]
    UnexpectedIdentity(Box<IdentityMismatch>),
    /// No capability in common.
    #[error("no shared capability")]
    NoSharedCapabilities,
}

impl P2PHandshakeError {
    /// The reason we send (or sent) the remote for this failure.
    pub fn reason_sent(&self) -> Option<DisconnectReason> {
        match self {
            Self::NonHelloMessage(_) | Self::InvalidHello(_) => {
                Some(DisconnectReason::ProtocolBreach)
            }
            Self::IncompatibleVersion(_) => Some(DisconnectReason::IncompatibleP2PProtocolVersion),
            Self::UnexpectedIdentity(_) => Some(DisconnectReason::UnexpectedHandshakeIdentity),
            Self::NoSharedCapabilities => Some(DisconnectReason::UselessPeer),
            Self::Rlpx(e) if e.is_protocol_error() => Some(DisconnectReason::ProtocolBreach),
            _ => None,
        }
    }

    /// The reason the remote sent, if it disconnected us.
    pub fn reason_received(&self) -> Option<DisconnectReason> {
        match self {
            Self::Disconnected(r) => Some(*r),
            _ => None,
        }
    }
}
