//! Which peers get a transaction's body and which only its hash (geth
//! `BroadcastTransactions`).
//!
//! - Of `n` peers, ⌈√n⌉ receive the full body of each small, non-blob
//!   transaction in a `Transactions` message; the rest receive an
//!   announcement.
//! - The full-body peers are the ⌈√n⌉ with the lowest keyed hash of
//!   (our id, peer id, sender): a sender's transactions keep going to the same
//!   peers (so nonces arrive in order), yet the choice cannot be predicted
//!   without the key. The key is seedable; the hash is Keccak-256 of
//!   `key ‖ our id ‖ peer id ‖ sender`.
//! - Blob transactions and transactions larger than
//!   [`PropagateConfig::max_broadcast_size`] (4 KiB, geth
//!   `txMaxBroadcastSize`) are only announced.
//! - Nothing goes to a peer known to have the transaction
//!   ([`SeenByPeers`]); what is planned is marked as known.
//! - Messages are cut at [`PropagateConfig::max_batch_bytes`] (100 KiB, geth
//!   `maxTxPacketSize`): bodies by their encoded size, announcements at 32
//!   bytes per hash, and at most 4,096 hashes.

use alloy_primitives::{keccak256, Address, B256};
use ethp2p_rlpx::PeerId;

use super::{
    announce::MAX_ANNOUNCED_PER_PEER,
    decode::{DecodedTx, TxMeta, BLOB_TX_TYPE},
    known::SeenByPeers,
};

/// Limits of propagation; the defaults are geth's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropagateConfig {
    /// Largest transaction sent as a body (geth `txMaxBroadcastSize`, 4 KiB).
    pub max_broadcast_size: u32,
    /// Largest message (geth `maxTxPacketSize`, 100 KiB).
    pub max_batch_bytes: usize,
}

impl Default for PropagateConfig {
    fn default() -> Self {
        Self {
            max_broadcast_size: 4096,
            max_batch_bytes: 100 * 1024,
        }
    }
}

/// A transaction to propagate: its metadata and sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutgoingTx {
    /// Hash, type and encoded size.
    pub meta: TxMeta,
    /// The sender (recovered from the signature).
    pub sender: Address,
}

impl OutgoingTx {
    /// Recovers the sender of `tx` (tens of microseconds).
    pub fn from_tx(tx: &DecodedTx) -> Result<Self, alloy_consensus::crypto::RecoveryError> {
        Ok(Self {
            meta: tx.meta(),
            sender: tx.recover_sender()?,
        })
    }
}

/// What to send to one peer: indices into the planned transactions, already
/// cut into messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerPropagation {
    /// The peer.
    pub peer: PeerId,
    /// `Transactions` messages: bodies to send.
    pub full: Vec<Vec<usize>>,
    /// `NewPooledTransactionHashes` messages: transactions to announce.
    pub announce: Vec<Vec<usize>>,
}

/// Plans propagation. Holds our id and the key of the peer choice.
#[derive(Clone, Debug)]
pub struct Propagator {
    our_id: PeerId,
    key: B256,
    config: PropagateConfig,
}

impl Propagator {
    /// A propagator for node `our_id`, choosing peers with `key` (draw it
    /// from a seeded RNG).
    pub fn new(our_id: PeerId, key: B256, config: PropagateConfig) -> Self {
        Self {
            our_id,
            key,
            config,
        }
    }

    /// ⌈√n⌉: how many peers get full bodies among `n`.
    pub fn direct_count(n: usize) -> usize {
        let mut k = n.isqrt();
        if k * k < n {
            k += 1;
        }
        k
    }

    /// The keyed score of `peer` for `sender`; the lowest scores get bodies.
    pub fn score(&self, peer: &PeerId, sender: &Address) -> B256 {
        let mut buf = [0u8; 32 + 64 + 64 + 20];
        buf[..32].copy_from_slice(self.key.as_slice());
        buf[32..96].copy_from_slice(self.our_id.as_slice());
        buf[96..160].copy_from_slice(peer.as_slice());
        buf[160..].copy_from_slice(sender.as_slice());
        keccak256(buf)
    }

    /// The peers (indices into `peers`) that get bodies from `sender`.
    pub fn direct_peers(&self, peers: &[PeerId], sender: &Address) -> Vec<usize> {
        let mut scored: Vec<(B256, usize)> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| (self.score(p, sender), i))
            .collect();
        scored.sort_unstable();
        scored.truncate(Self::direct_count(peers.len()));
        scored.into_iter().map(|(_, i)| i).collect()
    }

    /// Whether `meta` may be sent as a body at all.
    pub fn broadcastable(&self, meta: &TxMeta) -> bool {
        meta.ty != BLOB_TX_TYPE && meta.size <= self.config.max_broadcast_size
    }

    /// Plans sending `txs` to `peers`, skipping peers known to have a
    /// transaction and marking what is planned as known. Peers with nothing
    /// to receive are left out.
    pub fn plan(
        &self,
        txs: &[OutgoingTx],
        peers: &[PeerId],
        seen: &mut SeenByPeers,
    ) -> Vec<PeerPropagation> {
        let mut full: Vec<Vec<usize>> = vec![Vec::new(); peers.len()];
        let mut announce: Vec<Vec<usize>> = vec![Vec::new(); peers.len()];
        let mut last_sender: Option<(Address, Vec<bool>)> = None;
        for (t, tx) in txs.iter().enumerate() {
            let direct: Option<&Vec<bool>> = if self.broadcastable(&tx.meta) {
                if last_sender.as_ref().is_none_or(|(s, _)| *s != tx.sender) {
                    let mut mask = vec![false; peers.len()];
                    for i in self.direct_peers(peers, &tx.sender) {
                        mask[i] = true;
                    }
                    last_sender = Some((tx.sender, mask));
                }
                last_sender.as_ref().map(|(_, mask)| mask)
            } else {
                None
            };
            for (i, peer) in peers.iter().enumerate() {
                if !seen.mark(peer, &tx.meta.hash) {
                    continue;
                }
                if direct.is_some_and(|mask| mask[i]) {
                    full[i].push(t);
                } else {
                    announce[i].push(t);
                }
            }
        }
        let max = self.config.max_batch_bytes;
        let hashes_per_message = (max / 32).min(MAX_ANNOUNCED_PER_PEER);
        peers
            .iter()
            .zip(full.into_iter().zip(announce))
            .filter(|(_, (f, a))| !f.is_empty() || !a.is_empty())
            .map(|(peer, (f, a))| PeerPropagation {
                peer: *peer,
                full: cut_by_bytes(&f, |t| txs[t].meta.size as usize + 3, max),
                announce: a
                    .chunks(hashes_per_message)
                    .map(<[usize]>::to_vec)
                    .collect(),
            })
            .collect()
    }
}

/// Cuts `items` into runs whose summed sizes stay within `max` (an item
/// larger than `max` travels alone).
fn cut_by_bytes(items: &[usize], size: impl Fn(usize) -> usize, max: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for &item in items {
        let s = size(item);
        if !batch.is_empty() && bytes + s > max {
            out.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(item);
        bytes += s;
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

#[cfg(test)]
mod tests;
