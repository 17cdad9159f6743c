//! [`TransactionsConfig`]: what the transactions manager does, with
//! documented defaults.

use std::time::Duration;

use crate::transactions::{
    announce::UnknownTypePolicy, decode::DecodeLimits, fetcher::FetcherConfig,
    known::MAX_KNOWN_TXS, propagate::PropagateConfig, stream::StreamConfig,
};

/// Which peers a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PeerFilter {
    /// Every connected peer.
    #[default]
    All,
    /// Only peers added as trusted ([`PeerKind::Trusted`](crate::peers::PeerKind::Trusted)).
    Trusted,
    /// No peer.
    None,
}

/// Settings of a [`TransactionsManager`](super::TransactionsManager).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionsConfig {
    /// Whether incoming transaction gossip is handled at all. Off: peers'
    /// announcements and broadcasts are ignored, nothing is relayed and
    /// `GetPooledTransactions` is answered empty; local submissions are still
    /// propagated. Default on.
    pub gossip: bool,
    /// Whose announcements and broadcasts are taken in (others are ignored
    /// without penalty). Default [`PeerFilter::All`].
    pub accept_from: PeerFilter,
    /// Who receives what we propagate (local submissions and relayed
    /// transactions). Default [`PeerFilter::All`].
    pub propagate_to: PeerFilter,
    /// Whether transactions received from peers are relayed (propagated
    /// again, as geth does for what enters its pool). Default on.
    pub relay: bool,
    /// Listener mode: announcements and broadcasts a peer sends during this
    /// long after its session is established are ignored, so that the pool
    /// dump a peer sends on connect is not reported as new transactions.
    /// Zero (the default) takes everything.
    pub initial_pool_grace: Duration,
    /// What to do with announced types we do not know. Default relaxed
    /// (ignored, not penalised).
    pub unknown_types: UnknownTypePolicy,
    /// Bounds of every transaction decoded (128 KiB, 1 MiB for blob
    /// transactions, as geth).
    pub decode_limits: DecodeLimits,
    /// Fetcher timing and caps (geth's).
    pub fetcher: FetcherConfig,
    /// First-seen stream window, TTL and cap.
    pub stream: StreamConfig,
    /// Propagation limits (geth's).
    pub propagate: PropagateConfig,
    /// Transactions remembered per peer as known to it (geth `maxKnownTxs`,
    /// 32,768).
    pub known_per_peer: usize,
    /// Most transactions kept to answer `GetPooledTransactions` for what we
    /// propagate. Default 4,096.
    pub served_entries: usize,
    /// Most bytes of transactions kept for the same purpose. Default 16 MiB.
    pub served_bytes: usize,
    /// First-seen records buffered per subscriber before a slow one misses
    /// some. Default 4,096.
    pub record_buffer: usize,
    /// Seeds the fetcher's peer order, the propagation key and the map
    /// hashers; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Default for TransactionsConfig {
    fn default() -> Self {
        Self {
            gossip: true,
            accept_from: PeerFilter::All,
            propagate_to: PeerFilter::All,
            relay: true,
            initial_pool_grace: Duration::ZERO,
            unknown_types: UnknownTypePolicy::Relaxed,
            decode_limits: DecodeLimits::default(),
            fetcher: FetcherConfig::default(),
            stream: StreamConfig::default(),
            propagate: PropagateConfig::default(),
            known_per_peer: MAX_KNOWN_TXS,
            served_entries: 4096,
            served_bytes: 16 * 1024 * 1024,
            record_buffer: 4096,
            seed: None,
        }
    }
}

impl TransactionsConfig {
    /// A passive mempool listener: takes everything in, relays nothing,
    /// ignores each new peer's first `grace` (its initial pool dump).
    pub fn listener(grace: Duration) -> Self {
        Self {
            relay: false,
            initial_pool_grace: grace,
            ..Self::default()
        }
    }
}
