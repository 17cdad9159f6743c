//! Following the chain head the peers announce, for a node that holds no
//! chain of its own (sans-IO: fed peer heads and the wall-clock time, asked
//! for the head to announce and the `BlockRangeUpdate` to send).
//!
//! # The rule
//!
//! Each connected peer's latest head is its eth/69 Status (`latestBlock`,
//! `latestBlockHash`), then each `BlockRangeUpdate` it sends. Peers on
//! eth/66–68 announce no block number and are not counted.
//!
//! The followed head is the highest block number that at least `quorum`
//! peers have reached — the `quorum`-th highest of their numbers — or, with
//! fewer peers than `quorum` (but at least one), the lowest of their
//! numbers: one peer alone is followed. Its hash is the one announced by the
//! peer at that number. The head only moves forward: a peer leaving, or
//! peers announcing lower numbers, never takes it back. With a quorum of 2
//! (the default) a single lying peer cannot move the head of a node that
//! has two or more peers.
//!
//! A new head is stamped with the wall-clock time it was adopted (peers'
//! heads are the live tip), so the fork id follows the timestamp forks.
//!
//! `BlockRangeUpdate` goes to eth/69 peers when the head advanced at least
//! [`BROADCAST_STEP`] blocks since the last one sent (the first one is sent
//! at once), as reth does.
//!
//! Memory: one entry per connected peer, removed when it disconnects.

use alloy_primitives::B256;
use ethp2p_eth::{forkid::Head, message::BlockRangeUpdate};
use ethp2p_rlpx::PeerId;
use std::collections::HashMap;

/// Blocks the head must advance between two `BlockRangeUpdate` broadcasts.
pub const BROADCAST_STEP: u64 = 32;

/// Peers that must have reached a head before it is followed (fewer when
/// fewer peers are connected).
pub const DEFAULT_QUORUM: usize = 2;

/// Follows the head the peers announce; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct HeadFollower {
    quorum: usize,
    head: Head,
    peers: HashMap<PeerId, (u64, B256)>,
    last_broadcast: Option<u64>,
}

impl HeadFollower {
    /// Starts at `head` (the configured or genesis head); `quorum` is at
    /// least 1.
    pub fn new(head: Head, quorum: usize) -> Self {
        Self {
            quorum: quorum.max(1),
            head,
            peers: HashMap::new(),
            last_broadcast: None,
        }
    }

    /// The head to announce.
    pub fn head(&self) -> Head {
        self.head
    }

    /// A peer announced its latest block (eth/69 Status or
    /// `BlockRangeUpdate`); `now_unix` is the wall-clock time in seconds.
    /// Returns the new head when the followed head advanced.
    pub fn on_peer_head(
        &mut self,
        peer: PeerId,
        number: u64,
        hash: B256,
        now_unix: u64,
    ) -> Option<Head> {
        self.peers.insert(peer, (number, hash));
        let mut heads: Vec<(u64, B256)> = self.peers.values().copied().collect();
        heads.sort_by_key(|h| std::cmp::Reverse(h.0));
        let at = self.quorum.min(heads.len()) - 1;
        let (number, hash) = heads[at];
        if number <= self.head.number {
            return None;
        }
        self.head = Head {
            number,
            hash,
            timestamp: now_unix.max(self.head.timestamp),
            total_difficulty: self.head.total_difficulty,
        };
        Some(self.head)
    }

    /// A peer disconnected: its head no longer counts.
    pub fn on_peer_gone(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// The `BlockRangeUpdate` to send to eth/69 peers, when one is due
    /// (`earliest` is the first block we serve: 0 for a node that answers
    /// every range, if emptily).
    pub fn block_range_update(&mut self, earliest: u64) -> Option<BlockRangeUpdate> {
        let due = match self.last_broadcast {
            None => true,
            Some(last) => self.head.number >= last.saturating_add(BROADCAST_STEP),
        };
        if !due {
            return None;
        }
        self.last_broadcast = Some(self.head.number);
        Some(BlockRangeUpdate {
            earliest: earliest.min(self.head.number),
            latest: self.head.number,
            latest_hash: self.head.hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    fn peer(n: u8) -> PeerId {
        PeerId::repeat_byte(n)
    }
    fn hash(n: u8) -> B256 {
        B256::repeat_byte(n)
    }
    fn genesis() -> Head {
        Head {
            number: 0,
            timestamp: 100,
            hash: hash(0xee),
            total_difficulty: U256::from(17u64),
        }
    }

    #[test]
    fn one_peer_alone_is_followed() {
        let mut f = HeadFollower::new(genesis(), DEFAULT_QUORUM);
        let h = f.on_peer_head(peer(1), 500, hash(5), 1_000).unwrap();
        assert_eq!((h.number, h.hash, h.timestamp), (500, hash(5), 1_000));
        assert_eq!(h.total_difficulty, U256::from(17u64));
        assert_eq!(f.head(), h);
    }

    #[test]
    fn with_two_peers_one_liar_does_not_move_the_head() {
        let mut f = HeadFollower::new(genesis(), 2);
        assert!(f.on_peer_head(peer(1), 100, hash(1), 10).is_some());
        // A second peer far ahead: only one peer is there, the head stays.
        assert_eq!(f.on_peer_head(peer(2), 1_000_000, hash(2), 11), None);
        assert_eq!(f.head().number, 100);
        // The first peer advances: the second-highest (now 120) is followed.
        let h = f.on_peer_head(peer(1), 120, hash(3), 12).unwrap();
        assert_eq!((h.number, h.hash), (120, hash(3)));
        // A third peer reaches the liar's height: two peers are there.
        let h = f.on_peer_head(peer(3), 1_000_000, hash(2), 13).unwrap();
        assert_eq!(h.number, 1_000_000);
    }

    #[test]
    fn the_head_never_goes_back() {
        let mut f = HeadFollower::new(genesis(), 2);
        f.on_peer_head(peer(1), 300, hash(1), 10);
        f.on_peer_head(peer(2), 300, hash(1), 10);
        assert_eq!(f.head().number, 300);
        f.on_peer_gone(&peer(1));
        assert_eq!(f.on_peer_head(peer(2), 200, hash(2), 11), None);
        assert_eq!(f.head().number, 300);
        // A configured head above the peers' is kept.
        let mut f = HeadFollower::new(
            Head {
                number: 1_000,
                ..genesis()
            },
            2,
        );
        assert_eq!(f.on_peer_head(peer(1), 999, hash(1), 10), None);
    }

    #[test]
    fn gone_peers_stop_counting() {
        let mut f = HeadFollower::new(genesis(), 2);
        f.on_peer_head(peer(1), 10, hash(1), 1);
        f.on_peer_head(peer(2), 50, hash(2), 1);
        assert_eq!(f.head().number, 10);
        f.on_peer_gone(&peer(1));
        // peer 2 is alone now: followed at its next announcement.
        let h = f.on_peer_head(peer(2), 60, hash(6), 2).unwrap();
        assert_eq!(h.number, 60);
    }

    #[test]
    fn block_range_updates_go_out_every_32_blocks() {
        let mut f = HeadFollower::new(genesis(), 1);
        f.on_peer_head(peer(1), 100, hash(1), 1);
        let u = f.block_range_update(0).unwrap();
        assert_eq!((u.earliest, u.latest, u.latest_hash), (0, 100, hash(1)));
        f.on_peer_head(peer(1), 131, hash(2), 2);
        assert_eq!(f.block_range_update(0), None);
        f.on_peer_head(peer(1), 132, hash(3), 3);
        assert_eq!(f.block_range_update(0).unwrap().latest, 132);
        assert_eq!(f.block_range_update(0), None);
    }
}
