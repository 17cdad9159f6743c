//! Which transactions each peer is known to have (it announced, sent or was
//! sent them), so that we never announce or send a transaction back.
//!
//! Bounded like geth's `knownTxs` (`maxKnownTxs` = 32,768 per peer): a
//! [`KnownTxs`] keeps the newest [`MAX_KNOWN_TXS`] entries and forgets the
//! oldest first. It stores an 8-byte keyed fingerprint of each hash instead of
//! the hash (about 26 bytes per entry with the set's spare capacity); a false
//! "known" needs a 64-bit collision under an unknown seed and only skips one
//! send.

use std::{collections::VecDeque, hash::BuildHasher};

use alloy_primitives::B256;
use ethp2p_rlpx::PeerId;

use super::hashing::{seeded, HashMap, SeededState};
use crate::transactions::memory::table_bytes;

/// Most transactions remembered per peer (geth `maxKnownTxs`).
pub const MAX_KNOWN_TXS: usize = 32_768;

/// The transactions one peer is known to have, newest [`capacity`](Self::capacity) kept.
#[derive(Clone, Debug)]
pub struct KnownTxs {
    order: VecDeque<u64>,
    set: std::collections::HashSet<u64, SeededState>,
    state: SeededState,
    capacity: usize,
}

impl KnownTxs {
    /// An empty cache keeping at most `capacity` entries, fingerprints keyed by `seed`.
    pub fn new(capacity: usize, seed: u64) -> Self {
        Self {
            order: VecDeque::new(),
            set: std::collections::HashSet::with_hasher(seeded(seed ^ 0x6b6e_6f77_6e00)),
            state: seeded(seed),
            capacity: capacity.max(1),
        }
    }

    fn fingerprint(&self, hash: &B256) -> u64 {
        self.state.hash_one(hash)
    }

    /// Records `hash`; returns whether it was new. Forgets the oldest entry
    /// when full.
    pub fn insert(&mut self, hash: &B256) -> bool {
        let fp = self.fingerprint(hash);
        if !self.set.insert(fp) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(fp);
        true
    }

    /// Whether the peer is known to have `hash`.
    pub fn contains(&self, hash: &B256) -> bool {
        self.set.contains(&self.fingerprint(hash))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The bound on entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes held by the allocations (capacity, not length).
    pub fn memory_bytes(&self) -> usize {
        self.order.capacity() * 8 + table_bytes::<u64>(self.set.capacity())
    }
}

/// [`KnownTxs`] for every connected peer. One entry per peer, created on
/// first use and removed by [`remove_peer`](Self::remove_peer) when its session
/// ends, so it is bounded by the number of sessions.
#[derive(Clone, Debug)]
pub struct SeenByPeers {
    peers: HashMap<PeerId, KnownTxs>,
    per_peer: usize,
    seed: u64,
}

impl SeenByPeers {
    /// An empty map; each peer keeps at most `per_peer` entries.
    pub fn new(per_peer: usize, seed: u64) -> Self {
        Self {
            peers: HashMap::with_hasher(seeded(seed)),
            per_peer,
            seed,
        }
    }

    /// Records that `peer` has `hash`; returns whether it was new for that peer.
    pub fn mark(&mut self, peer: &PeerId, hash: &B256) -> bool {
        let (per_peer, seed) = (self.per_peer, self.seed);
        self.peers
            .entry(*peer)
            .or_insert_with(|| KnownTxs::new(per_peer, seed))
            .insert(hash)
    }

    /// Whether `peer` is known to have `hash`.
    pub fn contains(&self, peer: &PeerId, hash: &B256) -> bool {
        self.peers.get(peer).is_some_and(|k| k.contains(hash))
    }

    /// The cache of one peer.
    pub fn get(&self, peer: &PeerId) -> Option<&KnownTxs> {
        self.peers.get(peer)
    }

    /// Forgets a peer whose session ended.
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// Number of peers tracked.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Bytes held by all caches (capacity).
    pub fn memory_bytes(&self) -> usize {
        table_bytes::<(PeerId, KnownTxs)>(self.peers.capacity())
            + self
                .peers
                .values()
                .map(KnownTxs::memory_bytes)
                .sum::<usize>()
    }
}

impl Default for SeenByPeers {
    fn default() -> Self {
        Self::new(MAX_KNOWN_TXS, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u64) -> B256 {
        B256::left_padding_from(&i.to_be_bytes())
    }

    #[test]
    fn keeps_the_newest_entries_up_to_its_bound() {
        let mut known = KnownTxs::new(3, 7);
        for i in 0..3 {
            assert!(known.insert(&h(i)));
        }
        assert!(!known.insert(&h(1)), "already known");
        assert!(known.insert(&h(3)));
        assert_eq!(known.len(), 3);
        assert!(!known.contains(&h(0)), "oldest forgotten");
        assert!(known.contains(&h(1)) && known.contains(&h(2)) && known.contains(&h(3)));
    }

    #[test]
    fn geth_bound_holds_under_a_flood() {
        let mut known = KnownTxs::new(MAX_KNOWN_TXS, 1);
        for i in 0..(MAX_KNOWN_TXS as u64 + 1000) {
            known.insert(&h(i));
        }
        assert_eq!(known.len(), MAX_KNOWN_TXS);
        assert!(!known.contains(&h(999)));
        assert!(known.contains(&h(1000)));
        // About 26 bytes per entry: the ring and the set of fingerprints.
        let per_entry = known.memory_bytes() / MAX_KNOWN_TXS;
        assert!(per_entry <= 32, "{per_entry} bytes per entry");
    }

    #[test]
    fn peers_are_separate_and_removable() {
        let mut seen = SeenByPeers::new(10, 3);
        let (a, b) = (PeerId::repeat_byte(1), PeerId::repeat_byte(2));
        assert!(seen.mark(&a, &h(1)));
        assert!(!seen.mark(&a, &h(1)));
        assert!(seen.contains(&a, &h(1)));
        assert!(!seen.contains(&b, &h(1)));
        seen.remove_peer(&a);
        assert!(!seen.contains(&a, &h(1)));
        assert_eq!(seen.peer_count(), 0);
    }
}
