//! How the session layer's errors map onto the peers manager's failure
//! classes ([`SessionFailure`]), which decide back-off, bans and reputation.

use crate::peers::SessionFailure;
use ethp2p_eth::handshake::EthHandshakeError;
use ethp2p_eth::status::StatusError;
use ethp2p_rlpx::{HandshakeError, RlpxError};
use ethp2p_session::{ActiveSessionError, PendingSessionError};
use ethp2p_wire::{P2PError, P2PHandshakeError};

/// The class of a p2p-layer error.
pub fn p2p_failure(e: &P2PError) -> SessionFailure {
    match e {
        P2PError::Disconnected(r) => SessionFailure::Disconnected(*r),
        P2PError::PingTimeout => SessionFailure::PingTimeout,
        P2PError::HelloAfterHandshake => SessionFailure::HelloAfterHandshake,
        P2PError::UnknownMessageId(_) | P2PError::UnknownReservedId(_) => {
            SessionFailure::UnknownMessageId
        }
        P2PError::MessageTooBig { .. } => SessionFailure::MessageTooBig,
        P2PError::InvalidPingPong => SessionFailure::BadPingPayload,
        P2PError::Rlpx(r) => rlpx_failure(r),
        _ => SessionFailure::Rlp,
    }
}

fn rlpx_failure(e: &RlpxError) -> SessionFailure {
    match e {
        RlpxError::Io(io) => SessionFailure::Io(io.kind()),
        RlpxError::Timeout => SessionFailure::HandshakeNoResponse,
        RlpxError::Handshake(HandshakeError::UnexpectedEof) => SessionFailure::Ecies,
        RlpxError::Handshake(_) | RlpxError::Frame(_) => SessionFailure::EciesAuth,
    }
}

/// The class of a pending session's failure; `None` when it says nothing
/// about the peer (we aborted it, or our own limits refused it).
pub fn pending_failure(e: &PendingSessionError) -> Option<SessionFailure> {
    Some(match e {
        PendingSessionError::Ecies(r) => rlpx_failure(r),
        PendingSessionError::P2P(h) => match h {
            P2PHandshakeError::Disconnected(r) => SessionFailure::Disconnected(*r),
            P2PHandshakeError::NoSharedCapabilities => SessionFailure::NoSharedCapabilities,
            P2PHandshakeError::Timeout => SessionFailure::HandshakeNoResponse,
            P2PHandshakeError::IncompatibleVersion(_) => SessionFailure::Disconnected(
                ethp2p_wire::DisconnectReason::IncompatibleP2PProtocolVersion,
            ),
            P2PHandshakeError::UnexpectedIdentity(_) => SessionFailure::Disconnected(
                ethp2p_wire::DisconnectReason::UnexpectedHandshakeIdentity,
            ),
            P2PHandshakeError::ConnectionClosed => {
                SessionFailure::Io(std::io::ErrorKind::UnexpectedEof)
            }
            _ => SessionFailure::EthHandshake,
        },
        PendingSessionError::Eth(h) => match h {
            EthHandshakeError::P2P(p) => p2p_failure(p),
            EthHandshakeError::Timeout => SessionFailure::HandshakeNoResponse,
            EthHandshakeError::Rejected(StatusError::ForkIdRejected(_)) => {
                SessionFailure::EthInvalidFork
            }
            EthHandshakeError::ConnectionClosed => {
                SessionFailure::Io(std::io::ErrorKind::UnexpectedEof)
            }
            _ => SessionFailure::EthHandshake,
        },
        PendingSessionError::Timeout => SessionFailure::PendingTimeout,
        PendingSessionError::ConnectedToSelf => {
            SessionFailure::Disconnected(ethp2p_wire::DisconnectReason::ConnectedToSelf)
        }
        _ => return None,
    })
}

/// The class of an active session's end on an error.
pub fn active_failure(e: &ActiveSessionError) -> SessionFailure {
    match e {
        ActiveSessionError::P2P(p) => p2p_failure(p),
        ActiveSessionError::Eth(_) | ActiveSessionError::Snap(_) => SessionFailure::Rlp,
        ActiveSessionError::UnexpectedStatus
        | ActiveSessionError::InvalidBlockRange
        | ActiveSessionError::RequestBreach => {
            SessionFailure::Disconnected(ethp2p_wire::DisconnectReason::ProtocolBreach)
        }
        ActiveSessionError::WriteStalled => SessionFailure::Io(std::io::ErrorKind::TimedOut),
        ActiveSessionError::ConnectionClosed => {
            SessionFailure::Io(std::io::ErrorKind::UnexpectedEof)
        }
        _ => SessionFailure::Other,
    }
}
