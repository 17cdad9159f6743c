//! Transaction gossip.
//!
//! - [`decode`]: transactions in their broadcast, pooled and canonical forms,
//!   bounded, with hash, type and size.
//! - [`announce`]: `NewPooledTransactionHashes` checked against the negotiated
//!   version.
//! - [`fetcher`]: the sans-IO [`TxFetcher`](fetcher::TxFetcher) — when to
//!   request which announced hash from whom, and which peers misbehaved.
//! - [`known`]: per-peer caches of the transactions a peer is known to have.
//! - [`propagate`]: which peers get bodies (⌈√n⌉, stable per sender) and which hashes.
//! - [`stream`]: the mempool first-seen record and the tracker that produces it.
//! - [`manager`]: the [`TransactionsManager`](manager::TransactionsManager) task
//!   driving all of the above over a running network, and its handle.
//! - [`measure`]: the announcement throughput and memory measurement.

pub mod announce;
pub mod decode;
pub mod fetcher;
mod hashing;
pub mod known;
pub mod manager;
pub mod measure;
mod memory;
pub mod propagate;
pub mod stream;

/// A reputation change the transaction layer asks for; the values are reth's
/// (`network-types` reputation: unit −1,024, banned below −51,200).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PenaltyKind {
    /// A malformed, empty or duplicate-carrying announcement (−1,024).
    BadAnnouncement,
    /// Transactions that were not requested, or that fail to decode, or a
    /// blob transaction in a broadcast (−16,384).
    BadTransactions,
    /// A `GetPooledTransactions` left unanswered past the fetch timeout (−4,096).
    Timeout,
}

impl PenaltyKind {
    /// reth's reputation change for this kind.
    pub const fn reputation_change(self) -> i32 {
        match self {
            Self::BadAnnouncement => -1_024,
            Self::BadTransactions => -16_384,
            Self::Timeout => -4_096,
        }
    }
}
