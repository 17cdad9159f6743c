//! The eth Status exchange over a [`P2PStream`]: the one part of this crate
//! that does I/O (the messages, Status rules and fork ids are plain data).

use crate::{
    forkid::ForkFilter,
    handshake::{EthHandshakeError, ETH, MAX_MESSAGE_SIZE},
    status::{validate_status, Status},
    version::EthVersion,
};
use alloy_rlp::Encodable;
use ethp2p_wire::P2PStream;
use futures::{future::poll_fn, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

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
            let goodbye = p2p.config().goodbye_timeout;
            if p2p.start_disconnect(reason).is_ok() {
                let _ = tokio::time::timeout(goodbye, poll_fn(|cx| p2p.poll_close(cx))).await;
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
