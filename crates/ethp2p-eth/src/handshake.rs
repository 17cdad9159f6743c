//! The eth [`Protocol`] entries, message size limit and the errors of the
//! Status exchange (the exchange itself, which does I/O, is in
//! [`crate::exchange`]).

use crate::{message::EthMessageError, status::StatusError, version::EthVersion};
use ethp2p_wire::{DisconnectReason, P2PError, Protocol};
use std::time::Duration;

/// The eth protocol's name in Hello.
pub const ETH: &str = "eth";
/// Largest eth message accepted (geth and reth: 10 MiB).
pub const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
/// Default time allowed for the Status exchange.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// One [`Protocol`] per eth version, with that version's message count.
pub fn eth_protocols(versions: &[EthVersion]) -> Vec<Protocol> {
    versions
        .iter()
        .map(|v| Protocol::new(ETH, v.as_u8() as u32, v.message_count()))
        .collect()
}

/// Why the Status exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum EthHandshakeError {
    /// The p2p session failed (including the remote disconnecting us).
    #[error(transparent)]
    P2P(#[from] P2PError),
    /// eth is not among the shared capabilities.
    #[error("eth is not a shared capability")]
    NotShared,
    /// No Status within the timeout.
    #[error("Status exchange timed out")]
    Timeout,
    /// The connection closed before a Status arrived.
    #[error("connection closed before Status")]
    ConnectionClosed,
    /// The first message was not an eth Status.
    #[error("expected Status, got protocol {protocol} message 0x{id:02x}")]
    NonStatusMessage {
        /// Protocol index.
        protocol: usize,
        /// Relative id.
        id: u8,
    },
    /// The Status is larger than [`MAX_MESSAGE_SIZE`].
    #[error("Status of {0} bytes exceeds the message size limit")]
    TooBig(usize),
    /// The Status did not decode.
    #[error("invalid Status: {0}")]
    InvalidStatus(#[from] EthMessageError),
    /// The Status decoded but is not acceptable (network, genesis, fork id...).
    #[error("Status rejected: {0}")]
    Rejected(#[from] StatusError),
}

impl EthHandshakeError {
    /// The reason we send: `ProtocolBreach` for malformed input; for a valid
    /// but incompatible Status, `SubprotocolSpecific` (0x10), as geth does.
    pub fn reason_sent(&self) -> Option<DisconnectReason> {
        match self {
            Self::P2P(e) => e.disconnect_reason(),
            Self::NotShared => Some(DisconnectReason::UselessPeer),
            Self::Timeout | Self::ConnectionClosed => None,
            Self::NonStatusMessage { .. } | Self::TooBig(_) | Self::InvalidStatus(_) => {
                Some(DisconnectReason::ProtocolBreach)
            }
            Self::Rejected(StatusError::InvalidBlockRange(_)) => {
                Some(DisconnectReason::ProtocolBreach)
            }
            Self::Rejected(_) => Some(DisconnectReason::SubprotocolSpecific),
        }
    }

    /// The reason the remote sent, if it disconnected us.
    pub fn reason_received(&self) -> Option<DisconnectReason> {
        match self {
            Self::P2P(P2PError::Disconnected(r)) => Some(*r),
            _ => None,
        }
    }
}
