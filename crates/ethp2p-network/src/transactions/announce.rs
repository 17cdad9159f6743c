//! Validation of `NewPooledTransactionHashes` announcements against the
//! negotiated eth version.
//!
//! ```text
//! check_announcement(message, version, policy, limits)
//!   ├─ shape not the version's (66/67 hashes; 68–71 types+sizes; 72 + mask) → reject, BadAnnouncement
//!   ├─ types / sizes / hashes of different lengths                          → reject, BadAnnouncement
//!   ├─ no hash at all                                                       → reject, BadAnnouncement
//!   ├─ eth/72: type-3 announced without a cell mask, or a non-empty mask
//!   │  with no type-3 announced                                             → reject, BadAnnouncement
//!   ├─ a hash announced twice                                               → keep the first, BadAnnouncement
//!   ├─ unknown type: Strict → drop it, BadAnnouncement; Relaxed → drop it silently
//!   ├─ announced size above what we would decode for its type               → drop it (never fetched)
//!   └─ more than MAX_ANNOUNCED_PER_PEER entries                              → excess cut (geth maxTxAnnounces)
//! ```
//!
//! A [`BadAnnouncement`] is the reth reputation kind of the same name
//! (−1,024); geth disconnects on mismatched lengths. The caller penalises; the
//! accepted entries go to the transaction fetcher.

use alloy_primitives::B256;
use ethp2p_eth::{
    message::{CellMask, NewPooledTransactionHashes},
    version::EthVersion,
};

use super::{
    decode::{is_known_tx_type, DecodeLimits, BLOB_TX_TYPE},
    hashing::HashSet,
};

/// Most hashes kept from one peer (geth `maxTxAnnounces`, devp2p soft limit).
pub const MAX_ANNOUNCED_PER_PEER: usize = 4096;

/// What to do with an announced type this crate does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnknownTypePolicy {
    /// Drop the entry and report a [`BadAnnouncement`] (reth's strict filter).
    Strict,
    /// Drop the entry silently (a new type may appear before this crate knows it).
    #[default]
    Relaxed,
}

/// Why an announcement earns a `BadAnnouncement` penalty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadAnnouncement {
    /// The message has another version's shape.
    #[error("announcement shape is not the one of {0}")]
    WrongShape(EthVersion),
    /// Types, sizes and hashes differ in length.
    #[error("announcement lengths differ: {types} types, {sizes} sizes, {hashes} hashes")]
    LengthMismatch {
        /// Number of types.
        types: usize,
        /// Number of sizes.
        sizes: usize,
        /// Number of hashes.
        hashes: usize,
    },
    /// No hash announced.
    #[error("empty announcement")]
    Empty,
    /// A hash appears more than once.
    #[error("hash {0} announced twice")]
    Duplicate(B256),
    /// A type this crate does not know (strict policy only).
    #[error("unknown transaction type {0:#04x} announced")]
    UnknownType(u8),
    /// eth/72: a type-3 transaction announced without a cell mask.
    #[error("blob transaction announced without a cell mask")]
    MissingCellMask,
    /// eth/72: a non-empty cell mask with no type-3 transaction announced.
    #[error("cell mask sent with no blob transaction announced")]
    UnexpectedCellMask,
}

/// One announced transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnnouncedTx {
    /// The transaction hash.
    pub hash: B256,
    /// Type and size, announced from eth/68 on; `None` for eth/66–67.
    pub meta: Option<AnnouncedMeta>,
}

/// The type and size an eth/68+ peer announced for one hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnnouncedMeta {
    /// EIP-2718 type.
    pub ty: u8,
    /// Encoded size in bytes.
    pub size: u32,
}

/// The outcome of [`check_announcement`]: what to fetch, and whether to
/// penalise the peer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[must_use]
pub struct AnnouncementVerdict {
    /// The entries to hand to the fetcher, in announcement order, without
    /// duplicates, unknown types or oversized entries.
    pub accepted: Vec<AnnouncedTx>,
    /// The eth/72 cell mask, when sent.
    pub cell_mask: Option<CellMask>,
    /// Set when the peer earns a `BadAnnouncement` penalty (the first rule
    /// broken). When the whole message is rejected, `accepted` is empty.
    pub bad: Option<BadAnnouncement>,
    /// Entries dropped for an unknown type.
    pub unknown_types: usize,
    /// Entries dropped for an announced size above the decode bound.
    pub oversized: usize,
    /// Entries cut beyond [`MAX_ANNOUNCED_PER_PEER`].
    pub truncated: usize,
}

impl AnnouncementVerdict {
    fn reject(bad: BadAnnouncement) -> Self {
        Self {
            bad: Some(bad),
            ..Self::default()
        }
    }

    fn flag(&mut self, bad: BadAnnouncement) {
        self.bad.get_or_insert(bad);
    }
}

/// Checks an announcement received on a connection of `version`.
pub fn check_announcement(
    message: &NewPooledTransactionHashes,
    version: EthVersion,
    policy: UnknownTypePolicy,
    limits: &DecodeLimits,
) -> AnnouncementVerdict {
    if !message.is_shape_of(version) {
        return AnnouncementVerdict::reject(BadAnnouncement::WrongShape(version));
    }
    let hashes = message.hashes();
    let (types, sizes) = match (message.types(), message.sizes()) {
        (Some(types), Some(sizes)) => {
            if types.len() != hashes.len() || sizes.len() != hashes.len() {
                return AnnouncementVerdict::reject(BadAnnouncement::LengthMismatch {
                    types: types.len(),
                    sizes: sizes.len(),
                    hashes: hashes.len(),
                });
            }
            (Some(types), Some(sizes))
        }
        _ => (None, None),
    };
    if hashes.is_empty() {
        return AnnouncementVerdict::reject(BadAnnouncement::Empty);
    }
    let cell_mask = match message {
        NewPooledTransactionHashes::Eth72(m) => {
            let blobs = m.types.contains(&BLOB_TX_TYPE);
            match m.cell_mask {
                None if blobs => {
                    return AnnouncementVerdict::reject(BadAnnouncement::MissingCellMask)
                }
                Some(mask) if !blobs && mask != CellMask::EMPTY => {
                    return AnnouncementVerdict::reject(BadAnnouncement::UnexpectedCellMask)
                }
                mask => mask,
            }
        }
        _ => None,
    };

    let mut verdict = AnnouncementVerdict {
        cell_mask,
        accepted: Vec::with_capacity(hashes.len().min(MAX_ANNOUNCED_PER_PEER)),
        ..AnnouncementVerdict::default()
    };
    let mut seen = HashSet::with_capacity_and_hasher(hashes.len(), Default::default());
    for (i, &hash) in hashes.iter().enumerate() {
        if !seen.insert(hash) {
            verdict.flag(BadAnnouncement::Duplicate(hash));
            continue;
        }
        let meta = match (types, sizes) {
            (Some(types), Some(sizes)) => {
                let (Some(&ty), Some(&size)) = (types.get(i), sizes.get(i)) else {
                    continue;
                };
                if !is_known_tx_type(ty) {
                    verdict.unknown_types += 1;
                    if policy == UnknownTypePolicy::Strict {
                        verdict.flag(BadAnnouncement::UnknownType(ty));
                    }
                    continue;
                }
                if size > limits.max_size_for(ty) as u64 {
                    verdict.oversized += 1;
                    continue;
                }
                Some(AnnouncedMeta {
                    ty,
                    // Bounded by the decode limit above, so it fits.
                    size: u32::try_from(size).unwrap_or(u32::MAX),
                })
            }
            _ => None,
        };
        if verdict.accepted.len() == MAX_ANNOUNCED_PER_PEER {
            verdict.truncated += 1;
            continue;
        }
        verdict.accepted.push(AnnouncedTx { hash, meta });
    }
    verdict
}

#[cfg(test)]
mod tests;
