//! The eth Status exchange over a [`P2PStream`], and the eth [`Protocol`] entries.

use crate::{
    forkid::ForkFilter,
    message::EthMessageError,
    status::{validate_status, Status, StatusError},
    version::EthVersion,
};
use alloy_rlp::Encodable;
use ethp2p_wire::{DisconnectReason, P2PError, P2PStream, Protocol};
use futures::{future::poll_fn, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

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

/// Sends our Status (in the negotiated version's format), reads the remote's,
/// and validates it (network id, version, genesis, fork id, block range). On
/// a failure the remote is told why before the error returns. Returns the
/// negotiated version and the remote's Status.
pub async fn status_exchange<Io: AsyncRead + AsyncWrite + Unpin>(
    p2p: &mut P2PStream<Io>,
    local: &Status,
    fork_filter: &ForkFilter,
    timeout: Duration,
) -> Result<(EthVersion, Status), EthHandshakeError> {
    let result = tokio::time::timeout(timeout, exchange(p2p, local, fork_filter))
        .await
        .unwrap_or(Err(EthHandshakeError::Timeout));
    if let Err(e) = &result {
        if let Some(reason) = e.reason_sent() {
            if p2p.start_disconnect(reason).is_ok() {
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), poll_fn(|cx| p2p.poll_close(cx)))
                        .await;
            }
        }
    }
    result
}

async fn exchange<Io: AsyncRead + AsyncWrite + Unpin>(
    p2p: &mut P2PStream<Io>,
    local: &Status,
    fork_filter: &ForkFilter,
) -> Result<(EthVersion, Status), EthHandshakeError> {
    let index = p2p
        .shared_capabilities()
        .index_of(ETH)
        .ok_or(EthHandshakeError::NotShared)?;
    let cap_version = p2p
        .shared_capabilities()
        .get(index)
        .map(|c| c.cap.version)
        .unwrap_or_default();
    let version = EthVersion::try_from(cap_version).map_err(|_| EthHandshakeError::NotShared)?;
    let ours = local.with_version(version);
    let mut payload = Vec::with_capacity(ours.length());
    ours.encode(&mut payload);
    p2p.send(index, 0x00, &payload)?;
    poll_fn(|cx| p2p.poll_flush(cx)).await?;
    // Pings arriving meanwhile are answered by the flush after the read.
    let next = p2p.next().await;
    poll_fn(|cx| p2p.poll_flush(cx)).await?;
    let msg = match next {
        None => return Err(EthHandshakeError::ConnectionClosed),
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(m)) => m,
    };
    if msg.protocol != index || msg.id != 0x00 {
        return Err(EthHandshakeError::NonStatusMessage {
            protocol: msg.protocol,
            id: msg.id,
        });
    }
    if msg.payload.len() > MAX_MESSAGE_SIZE {
        return Err(EthHandshakeError::TooBig(msg.payload.len()));
    }
    let remote = Status::decode(version, &msg.payload)?;
    validate_status(&ours, &remote, version, fork_filter)?;
    Ok((version, remote))
}
