//! The transaction fetcher: which announced hashes to request, from whom and
//! when. Sans-IO: fed events and `now`, asked for actions and its next
//! deadline.
//!
//! ```text
//! on_announcement(peer, entries, now) ──► waiting (500 ms, geth txArriveTimeout)
//!        handle_timeout(now) ───────────► queued   (everything within 100 ms of its
//!                                                   deadline moves too: txGatherSlack)
//!        schedule ──────────────────────► fetching: Request{peer, ≤ 256 hashes, ≤ 128 KiB
//!                                          announced}, one request in flight per peer,
//!                                          peers tried in a seeded random order
//! on_delivery(peer, txs, now) ──► Deliver{tx} for each; announcers whose type differs or
//!                                 whose size is off by more than 8 bytes → Drop{peer};
//!                                 unrequested txs → Penalise{BadTransactions};
//!                                 requested but missing → that peer no longer an announcer
//! request older than 5 s (txFetchTimeout) → Penalise{Timeout}; the peer stops being an
//!                                 announcer of those hashes, which go to the next announcer;
//!                                 the request stays open (geth: dangling) until answered
//! on_broadcast(peer, metas) ────► the hashes are done (announcers' metadata checked too)
//! on_peer_gone(peer) ───────────► its announcements and request are forgotten
//! ```
//!
//! A hash is requested at most [`FetcherConfig::max_attempts`] times, then
//! forgotten; one with no announcer left is forgotten too.
//!
//! **Bounds** (every structure a peer can grow):
//!
//! | what | bound |
//! |---|---|
//! | hashes announced by one peer and tracked | [`FetcherConfig::max_announced_per_peer`] (4,096, geth `maxTxAnnounces`); excess ignored |
//! | hashes tracked overall | [`FetcherConfig::max_tracked`] (262,144); announcements of new hashes beyond it are ignored |
//! | one request | 256 hashes (geth `maxTxRetrievals`), stops at ≥ 128 KiB announced (`maxTxRetrievalSize`) |
//! | requests in flight | one per peer |
//! | actions queued | drained by the caller after each event; each event adds at most one action per tx or per peer |
//! | peers | one record per peer that announced and is still connected ([`on_peer_gone`](TxFetcher::on_peer_gone) removes it) |
//!
//! The caller filters hashes it already has (its pool, the
//! [`FirstSeenTracker::is_done`](super::stream::FirstSeenTracker::is_done)) before
//! [`on_announcement`](TxFetcher::on_announcement): the fetcher forgets a hash
//! once it is delivered.
//!
//! **Memory.** A tracked hash costs one 64-byte slot, a 5-byte index entry and
//! 17 bytes per announcing peer, plus the spare capacity of the tables; see
//! [`TxFetcher::memory_bytes`].

use std::collections::VecDeque;

use alloy_primitives::B256;
use ethp2p_rlpx::PeerId;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
use tokio::time::{Duration, Instant};

use super::{
    announce::{AnnouncedMeta, AnnouncedTx, AnnouncementVerdict, MAX_ANNOUNCED_PER_PEER},
    decode::{DecodedTx, TxMeta},
    hashing::{seeded, HashMap, SeededState},
    memory::table_bytes,
    PenaltyKind,
};

/// Timing and limits of the fetcher; the defaults are geth's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetcherConfig {
    /// How long an announced hash waits before it is requested, in case the
    /// transaction arrives by broadcast (geth `txArriveTimeout`, 500 ms).
    pub arrive_timeout: Duration,
    /// Hashes whose wait ends within this much of the timer are requested
    /// with it (geth `txGatherSlack`, 100 ms).
    pub gather_slack: Duration,
    /// How long a request may stay unanswered (geth `txFetchTimeout`, 5 s).
    pub fetch_timeout: Duration,
    /// Most hashes in one request (geth `maxTxRetrievals`, 256).
    pub max_request_hashes: usize,
    /// A request stops growing once its announced sizes reach this
    /// (geth `maxTxRetrievalSize`, 128 KiB).
    pub max_request_bytes: u64,
    /// Most hashes tracked per peer (geth `maxTxAnnounces`, 4,096).
    pub max_announced_per_peer: usize,
    /// Most hashes tracked overall.
    pub max_tracked: usize,
    /// Most requests for one hash (the first and the retries).
    pub max_attempts: u8,
    /// Largest tolerated difference between an announced and a delivered
    /// size (geth: 8 bytes, for RLP-versus-consensus encoding slack).
    pub size_tolerance: u32,
    /// Seed of the peer-order RNG and of the map hasher.
    pub seed: u64,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        Self {
            arrive_timeout: Duration::from_millis(500),
            gather_slack: Duration::from_millis(100),
            fetch_timeout: Duration::from_secs(5),
            max_request_hashes: 256,
            max_request_bytes: 128 * 1024,
            max_announced_per_peer: MAX_ANNOUNCED_PER_PEER,
            max_tracked: 262_144,
            max_attempts: 3,
            size_tolerance: 8,
            seed: 0,
        }
    }
}

/// Why the fetcher wants a peer disconnected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// A delivered transaction has another type than the peer announced.
    #[error("announced type {announced} for {hash}, delivered type {delivered}")]
    TypeMismatch {
        /// The transaction.
        hash: B256,
        /// The type the peer announced.
        announced: u8,
        /// The type of the transaction delivered.
        delivered: u8,
    },
    /// A delivered transaction's size differs from the announced one by more
    /// than [`FetcherConfig::size_tolerance`].
    #[error("announced size {announced} for {hash}, delivered size {delivered}")]
    SizeMismatch {
        /// The transaction.
        hash: B256,
        /// The size the peer announced.
        announced: u32,
        /// The size of the transaction delivered.
        delivered: u32,
    },
}

/// What the fetcher asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchAction {
    /// Send `GetPooledTransactions` with these hashes to `peer`.
    Request {
        /// The peer to ask.
        peer: PeerId,
        /// The hashes, in the order the peer announced them.
        hashes: Vec<B256>,
    },
    /// Lower the peer's reputation.
    Penalise {
        /// The peer.
        peer: PeerId,
        /// What it did.
        kind: PenaltyKind,
    },
    /// Disconnect the peer (geth drops on announcement mismatches).
    Drop {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DropReason,
    },
    /// A transaction received in a `PooledTransactions` response, for the
    /// pool and the first-seen stream.
    Deliver {
        /// The peer that sent it.
        peer: PeerId,
        /// The transaction (boxed: a decoded transaction is large).
        tx: Box<DecodedTx>,
    },
}

/// Counters describing the fetcher's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetcherStats {
    /// Hashes tracked (waiting, queued or being fetched).
    pub tracked: usize,
    /// Hashes in their arrival wait.
    pub waiting: usize,
    /// Hashes ready to request.
    pub queued: usize,
    /// Hashes in a request in flight.
    pub fetching: usize,
    /// Peers with a record.
    pub peers: usize,
    /// Requests in flight (timed-out ones included).
    pub requests: usize,
    /// Announced hashes ignored because a bound was reached, since creation.
    pub overflowed: u64,
}

const NO_PEER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Waiting,
    Queued,
    Fetching,
}

/// One tracked hash. 64 bytes.
#[derive(Clone, Debug)]
struct Slot {
    hash: B256,
    since: Instant,
    generation: u32,
    fetcher: u32,
    announcers: u16,
    attempts: u8,
    state: State,
}

/// What one peer announced for one slot. 12 bytes.
#[derive(Clone, Copy, Debug)]
struct Ann {
    seq: u32,
    size: u32,
    ty: u8,
    has_meta: bool,
}

#[derive(Clone, Debug)]
struct Request {
    hashes: Vec<B256>,
    slots: Vec<(u32, u32)>,
    sent: Instant,
    timed_out: bool,
}

#[derive(Clone, Debug)]
struct Peer {
    id: PeerId,
    announced: HashMap<u32, Ann>,
    next_seq: u32,
    request: Option<Request>,
}

/// The sans-IO transaction fetcher. See the [module docs](self).
#[derive(Debug)]
pub struct TxFetcher {
    config: FetcherConfig,
    state: SeededState,
    rng: StdRng,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    index: hashbrown::HashTable<u32>,
    waiting: VecDeque<(u32, u32)>,
    peers: Vec<Option<Peer>>,
    free_peers: Vec<u32>,
    peer_index: HashMap<PeerId, u32>,
    /// Peers we asked to drop; their events are ignored until they are gone.
    dropped: HashMap<PeerId, ()>,
    actions: VecDeque<FetchAction>,
    /// Set when a hash became requestable or a peer idle.
    dirty: bool,
    overflowed: u64,
}

impl TxFetcher {
    /// A fetcher with `config`.
    pub fn new(config: FetcherConfig) -> Self {
        let seed = config.seed;
        Self {
            state: seeded(seed),
            rng: StdRng::seed_from_u64(seed),
            slots: Vec::new(),
            free_slots: Vec::new(),
            index: hashbrown::HashTable::new(),
            waiting: VecDeque::new(),
            peers: Vec::new(),
            free_peers: Vec::new(),
            peer_index: HashMap::with_hasher(seeded(seed.rotate_left(17))),
            dropped: HashMap::with_hasher(seeded(seed.rotate_left(29))),
            actions: VecDeque::new(),
            dirty: false,
            overflowed: 0,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FetcherConfig {
        &self.config
    }

    // ----- events -----

    /// A checked announcement from `peer`: penalises a
    /// [`BadAnnouncement`](super::announce::BadAnnouncement) and tracks the
    /// accepted entries.
    pub fn on_checked_announcement(
        &mut self,
        peer: PeerId,
        verdict: &AnnouncementVerdict,
        now: Instant,
    ) {
        if verdict.bad.is_some() && !self.dropped.contains_key(&peer) {
            self.actions.push_back(FetchAction::Penalise {
                peer,
                kind: PenaltyKind::BadAnnouncement,
            });
        }
        self.on_announcement(peer, &verdict.accepted, now);
    }

    /// `peer` announced these hashes (already checked by
    /// [`check_announcement`](super::announce::check_announcement) and
    /// filtered against what the caller has).
    pub fn on_announcement(&mut self, peer: PeerId, entries: &[AnnouncedTx], now: Instant) {
        if self.dropped.contains_key(&peer) || entries.is_empty() {
            return;
        }
        let p = self.peer_slot(peer);
        for entry in entries {
            let Some(peer_rec) = self.peer_mut(p) else {
                return;
            };
            if peer_rec.announced.len() >= self.config.max_announced_per_peer {
                self.overflowed += 1;
                continue;
            }
            let slot = match self.find(&entry.hash) {
                Some(slot) => {
                    if self
                        .peer_ref(p)
                        .is_some_and(|r| r.announced.contains_key(&slot))
                    {
                        continue;
                    }
                    slot
                }
                None => match self.allocate(entry.hash, now) {
                    Some(slot) => slot,
                    None => {
                        self.overflowed += 1;
                        continue;
                    }
                },
            };
            let (ty, size, has_meta) = match entry.meta {
                Some(AnnouncedMeta { ty, size }) => (ty, size, true),
                None => (0, 0, false),
            };
            if let Some(peer_rec) = self.peer_mut(p) {
                let seq = peer_rec.next_seq;
                peer_rec.next_seq = seq.wrapping_add(1);
                peer_rec.announced.insert(
                    slot,
                    Ann {
                        seq,
                        size,
                        ty,
                        has_meta,
                    },
                );
            }
            let s = &mut self.slots[slot as usize];
            s.announcers = s.announcers.saturating_add(1);
            if s.state == State::Queued {
                self.dirty = true;
            }
        }
        self.schedule(now);
    }

    /// `peer` answered our `GetPooledTransactions` with these transactions.
    pub fn on_delivery(&mut self, peer: PeerId, txs: Vec<DecodedTx>, now: Instant) {
        if self.dropped.contains_key(&peer) {
            return;
        }
        let p = self.peer_index.get(&peer).copied();
        let request = p.and_then(|p| self.peer_mut(p).and_then(|r| r.request.take()));
        let mut unrequested = false;
        let mut delivered = Vec::with_capacity(txs.len());
        for tx in txs {
            let meta = tx.meta();
            let requested = request
                .as_ref()
                .is_some_and(|r| r.hashes.contains(&meta.hash));
            unrequested |= !requested;
            delivered.push(meta.hash);
            self.complete(&meta);
            self.actions.push_back(FetchAction::Deliver {
                peer,
                tx: Box::new(tx),
            });
        }
        if unrequested {
            self.actions.push_back(FetchAction::Penalise {
                peer,
                kind: PenaltyKind::BadTransactions,
            });
        }
        if let (Some(p), Some(request)) = (p, request) {
            // Requested but not delivered: the peer does not have them (any
            // more); let another announcer serve them.
            for &(slot, generation) in &request.slots {
                let s = &self.slots[slot as usize];
                if s.generation != generation
                    || s.state != State::Fetching
                    || s.fetcher != p
                    || delivered.contains(&s.hash)
                {
                    continue;
                }
                self.unannounce(p, slot);
                self.requeue(slot);
            }
            self.dirty = true;
        }
        self.schedule(now);
    }

    /// `peer` sent these transactions in a `Transactions` broadcast (the
    /// caller has the bodies): they need no fetching, and their announcers'
    /// metadata is checked as for a delivery.
    pub fn on_broadcast(&mut self, peer: PeerId, txs: &[TxMeta], now: Instant) {
        if self.dropped.contains_key(&peer) {
            return;
        }
        for meta in txs {
            self.complete(meta);
        }
        self.schedule(now);
    }

    /// `peer`'s session ended: forget its announcements and request.
    pub fn on_peer_gone(&mut self, peer: &PeerId, now: Instant) {
        self.dropped.remove(peer);
        if let Some(p) = self.peer_index.get(peer).copied() {
            self.remove_peer(p);
        }
        self.schedule(now);
    }

    /// Runs the timers due at `now`: ends arrival waits, expires requests.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_waits(now);
        self.expire_requests(now);
        self.schedule(now);
    }

    // ----- output -----

    /// The next action, if any. Drain after every event.
    pub fn poll_action(&mut self) -> Option<FetchAction> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&(slot, generation)) = self.waiting.front() {
            if self.is_waiting(slot, generation) {
                break;
            }
            self.waiting.pop_front();
        }
        let wait = self
            .waiting
            .front()
            .map(|&(slot, _)| self.slots[slot as usize].since + self.config.arrive_timeout);
        let fetch = self
            .peers
            .iter()
            .flatten()
            .filter_map(|p| p.request.as_ref())
            .filter(|r| !r.timed_out)
            .map(|r| r.sent + self.config.fetch_timeout)
            .min();
        match (wait, fetch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- queries -----

    /// Whether `hash` is tracked (waiting, queued or being fetched).
    pub fn contains(&self, hash: &B256) -> bool {
        self.find(hash).is_some()
    }

    /// Number of hashes tracked.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free_slots.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters.
    pub fn stats(&self) -> FetcherStats {
        let mut stats = FetcherStats {
            tracked: self.len(),
            peers: self.peer_index.len(),
            overflowed: self.overflowed,
            ..FetcherStats::default()
        };
        for slot in &self.slots {
            match slot.state {
                State::Free => {}
                State::Waiting => stats.waiting += 1,
                State::Queued => stats.queued += 1,
                State::Fetching => stats.fetching += 1,
            }
        }
        stats.requests = self
            .peers
            .iter()
            .flatten()
            .filter(|p| p.request.is_some())
            .count();
        stats
    }

    /// Bytes held by the fetcher's tables (their capacity, not their length):
    /// slots, the hash index, the wait queue, per-peer announcement maps and
    /// requests, peer records.
    pub fn memory_bytes(&self) -> usize {
        let peers: usize = self
            .peers
            .iter()
            .flatten()
            .map(|p| {
                table_bytes::<(u32, Ann)>(p.announced.capacity())
                    + p.request.as_ref().map_or(0, |r| {
                        r.hashes.capacity() * size_of::<B256>()
                            + r.slots.capacity() * size_of::<(u32, u32)>()
                    })
            })
            .sum();
        self.slots.capacity() * size_of::<Slot>()
            + self.free_slots.capacity() * 4
            + table_bytes::<u32>(self.index.capacity())
            + self.waiting.capacity() * size_of::<(u32, u32)>()
            + self.peers.capacity() * size_of::<Option<Peer>>()
            + self.free_peers.capacity() * 4
            + table_bytes::<(PeerId, u32)>(self.peer_index.capacity())
            + table_bytes::<(PeerId, ())>(self.dropped.capacity())
            + peers
    }

    /// Checks the internal invariants (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let live = self.slots.iter().filter(|s| s.state != State::Free).count();
        assert_eq!(live, self.len(), "free list and states agree");
        assert_eq!(self.index.len(), live, "index holds every live slot");
        for (i, slot) in self.slots.iter().enumerate() {
            let i = i as u32;
            if slot.state == State::Free {
                continue;
            }
            assert_eq!(self.find(&slot.hash), Some(i), "index points at the slot");
            let holders: Vec<u32> = self
                .peers
                .iter()
                .enumerate()
                .filter(|(_, p)| p.as_ref().is_some_and(|p| p.announced.contains_key(&i)))
                .map(|(p, _)| p as u32)
                .collect();
            assert_eq!(holders.len(), slot.announcers as usize, "announcer count");
            assert!(!holders.is_empty(), "a tracked hash has an announcer");
            assert!(slot.attempts <= self.config.max_attempts);
            if slot.state == State::Fetching {
                assert!(holders.contains(&slot.fetcher), "the fetcher announced it");
                let request = self.peer_ref(slot.fetcher).and_then(|p| p.request.as_ref());
                assert!(
                    request.is_some_and(|r| r.slots.contains(&(i, slot.generation))),
                    "a fetching slot is in its peer's request"
                );
            } else {
                assert_eq!(slot.fetcher, NO_PEER);
            }
        }
        for (p, peer) in self.peers.iter().enumerate() {
            let Some(peer) = peer else { continue };
            assert_eq!(self.peer_index.get(&peer.id), Some(&(p as u32)));
            assert!(peer.announced.len() <= self.config.max_announced_per_peer);
            for slot in peer.announced.keys() {
                assert_ne!(
                    self.slots[*slot as usize].state,
                    State::Free,
                    "no stale announcement"
                );
            }
            if let Some(r) = &peer.request {
                assert!(r.hashes.len() <= self.config.max_request_hashes);
            }
        }
        assert_eq!(self.peer_index.len(), self.peers.iter().flatten().count());
        assert!(self.len() <= self.config.max_tracked);
    }

    // ----- internals -----

    fn hash_of(&self, hash: &B256) -> u64 {
        use std::hash::BuildHasher;
        self.state.hash_one(hash)
    }

    fn find(&self, hash: &B256) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hash_of(hash), |&i| slots[i as usize].hash == *hash)
            .copied()
    }

    fn is_waiting(&self, slot: u32, generation: u32) -> bool {
        let s = &self.slots[slot as usize];
        s.generation == generation && s.state == State::Waiting
    }

    fn allocate(&mut self, hash: B256, now: Instant) -> Option<u32> {
        if self.len() >= self.config.max_tracked {
            return None;
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.hash = hash;
                s.since = now;
                s.fetcher = NO_PEER;
                s.announcers = 0;
                s.attempts = 0;
                s.state = State::Waiting;
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(Slot {
                    hash,
                    since: now,
                    generation: 0,
                    fetcher: NO_PEER,
                    announcers: 0,
                    attempts: 0,
                    state: State::Waiting,
                });
                slot
            }
        };
        let h = self.hash_of(&hash);
        let (slots, state) = (&self.slots, &self.state);
        self.index.insert_unique(h, slot, |&i| {
            use std::hash::BuildHasher;
            state.hash_one(slots[i as usize].hash)
        });
        let generation = self.slots[slot as usize].generation;
        self.waiting.push_back((slot, generation));
        Some(slot)
    }

    /// Frees a slot no peer refers to any more.
    fn free(&mut self, slot: u32) {
        let hash = self.slots[slot as usize].hash;
        let h = self.hash_of(&hash);
        let slots = &self.slots;
        if let Ok(entry) = self
            .index
            .find_entry(h, |&i| slots[i as usize].hash == hash)
        {
            entry.remove();
        }
        let s = &mut self.slots[slot as usize];
        s.state = State::Free;
        s.generation = s.generation.wrapping_add(1);
        s.fetcher = NO_PEER;
        s.announcers = 0;
        self.free_slots.push(slot);
    }

    /// Removes every peer's announcement of `slot`, then frees it.
    fn forget(&mut self, slot: u32) {
        let mut left = self.slots[slot as usize].announcers;
        for peer in self.peers.iter_mut().flatten() {
            if left == 0 {
                break;
            }
            if peer.announced.remove(&slot).is_some() {
                left -= 1;
            }
        }
        self.free(slot);
    }

    /// `p` no longer announces `slot`.
    fn unannounce(&mut self, p: u32, slot: u32) {
        if let Some(peer) = self.peer_mut(p) {
            if peer.announced.remove(&slot).is_some() {
                let s = &mut self.slots[slot as usize];
                s.announcers = s.announcers.saturating_sub(1);
            }
        }
    }

    /// Puts a slot whose fetch failed back in the queue, or forgets it when
    /// nobody else announced it or it was tried enough.
    fn requeue(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        s.fetcher = NO_PEER;
        if s.announcers == 0 || s.attempts >= self.config.max_attempts {
            self.forget(slot);
        } else {
            s.state = State::Queued;
            self.dirty = true;
        }
    }

    /// A transaction arrived (delivery or broadcast): check what each
    /// announcer said about it, then stop tracking it.
    fn complete(&mut self, meta: &TxMeta) {
        let Some(slot) = self.find(&meta.hash) else {
            return;
        };
        let mut left = self.slots[slot as usize].announcers;
        let mut bad = Vec::new();
        let tolerance = self.config.size_tolerance;
        for (p, peer) in self.peers.iter_mut().enumerate() {
            if left == 0 {
                break;
            }
            let Some(peer) = peer else { continue };
            let Some(ann) = peer.announced.remove(&slot) else {
                continue;
            };
            left -= 1;
            if !ann.has_meta {
                continue;
            }
            let reason = if ann.ty != meta.ty {
                Some(DropReason::TypeMismatch {
                    hash: meta.hash,
                    announced: ann.ty,
                    delivered: meta.ty,
                })
            } else if ann.size.abs_diff(meta.size) > tolerance {
                Some(DropReason::SizeMismatch {
                    hash: meta.hash,
                    announced: ann.size,
                    delivered: meta.size,
                })
            } else {
                None
            };
            if let Some(reason) = reason {
                bad.push((p as u32, reason));
            }
        }
        self.free(slot);
        for (p, reason) in bad {
            self.drop_peer(p, reason);
        }
    }

    fn drop_peer(&mut self, p: u32, reason: DropReason) {
        let Some(peer) = self.peer_ref(p) else { return };
        let id = peer.id;
        tracing::debug!(peer = %id, %reason, "dropping peer for an announcement mismatch");
        self.actions
            .push_back(FetchAction::Drop { peer: id, reason });
        self.dropped.insert(id, ());
        self.remove_peer(p);
    }

    fn remove_peer(&mut self, p: u32) {
        let Some(peer) = self.peers.get_mut(p as usize).and_then(Option::take) else {
            return;
        };
        self.peer_index.remove(&peer.id);
        self.free_peers.push(p);
        for &slot in peer.announced.keys() {
            let s = &mut self.slots[slot as usize];
            s.announcers = s.announcers.saturating_sub(1);
            if s.announcers == 0 {
                self.free(slot);
            } else if s.state == State::Fetching && s.fetcher == p {
                // Back to the other announcers, unless tried enough.
                self.requeue(slot);
            }
        }
    }

    fn peer_slot(&mut self, id: PeerId) -> u32 {
        if let Some(&p) = self.peer_index.get(&id) {
            return p;
        }
        let peer = Peer {
            id,
            announced: HashMap::with_hasher(seeded(self.config.seed.rotate_left(7))),
            next_seq: 0,
            request: None,
        };
        let p = match self.free_peers.pop() {
            Some(p) => {
                self.peers[p as usize] = Some(peer);
                p
            }
            None => {
                self.peers.push(Some(peer));
                (self.peers.len() - 1) as u32
            }
        };
        self.peer_index.insert(id, p);
        p
    }

    fn peer_ref(&self, p: u32) -> Option<&Peer> {
        self.peers.get(p as usize).and_then(Option::as_ref)
    }

    fn peer_mut(&mut self, p: u32) -> Option<&mut Peer> {
        self.peers.get_mut(p as usize).and_then(Option::as_mut)
    }

    fn expire_waits(&mut self, now: Instant) {
        // geth: when the oldest wait is over, everything within the gather
        // slack of its own deadline goes too.
        let arrive = self.config.arrive_timeout;
        let early = arrive.saturating_sub(self.config.gather_slack);
        let mut due = false;
        while let Some(&(slot, generation)) = self.waiting.front() {
            if !self.is_waiting(slot, generation) {
                self.waiting.pop_front();
                continue;
            }
            let since = self.slots[slot as usize].since;
            let limit = if due { early } else { arrive };
            if since + limit > now {
                break;
            }
            due = true;
            self.waiting.pop_front();
            self.slots[slot as usize].state = State::Queued;
            self.dirty = true;
        }
    }

    fn expire_requests(&mut self, now: Instant) {
        let timeout = self.config.fetch_timeout;
        for p in 0..self.peers.len() as u32 {
            let Some(peer) = self.peer_mut(p) else {
                continue;
            };
            let Some(request) = peer.request.as_mut() else {
                continue;
            };
            if request.timed_out || request.sent + timeout > now {
                continue;
            }
            request.timed_out = true;
            let slots = request.slots.clone();
            let id = peer.id;
            for (slot, generation) in slots {
                let s = &self.slots[slot as usize];
                if s.generation != generation || s.state != State::Fetching || s.fetcher != p {
                    continue;
                }
                self.unannounce(p, slot);
                self.requeue(slot);
            }
            self.actions.push_back(FetchAction::Penalise {
                peer: id,
                kind: PenaltyKind::Timeout,
            });
        }
    }

    /// Gives every idle peer a request for the queued hashes it announced.
    fn schedule(&mut self, now: Instant) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let mut idle: Vec<u32> = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(p, peer)| {
                let peer = peer.as_ref()?;
                (peer.request.is_none() && !peer.announced.is_empty()).then_some(p as u32)
            })
            .collect();
        idle.shuffle(&mut self.rng);
        let mut candidates: Vec<(u32, u32)> = Vec::new();
        for p in idle {
            candidates.clear();
            let Some(peer) = self.peer_ref(p) else {
                continue;
            };
            for (&slot, ann) in &peer.announced {
                if self.slots[slot as usize].state == State::Queued {
                    candidates.push((ann.seq, slot));
                }
            }
            if candidates.is_empty() {
                continue;
            }
            candidates.sort_unstable();
            let mut hashes = Vec::new();
            let mut slots = Vec::new();
            let mut bytes = 0u64;
            for &(_, slot) in candidates.iter() {
                let ann_size = self
                    .peer_ref(p)
                    .and_then(|peer| peer.announced.get(&slot))
                    .map_or(0, |a| a.size);
                let s = &mut self.slots[slot as usize];
                s.state = State::Fetching;
                s.fetcher = p;
                s.attempts = s.attempts.saturating_add(1);
                hashes.push(s.hash);
                slots.push((slot, s.generation));
                bytes += u64::from(ann_size);
                if hashes.len() >= self.config.max_request_hashes
                    || bytes >= self.config.max_request_bytes
                {
                    break;
                }
            }
            let Some(peer) = self.peer_mut(p) else {
                continue;
            };
            peer.request = Some(Request {
                hashes: hashes.clone(),
                slots,
                sent: now,
                timed_out: false,
            });
            let id = peer.id;
            self.actions
                .push_back(FetchAction::Request { peer: id, hashes });
        }
    }
}

#[cfg(test)]
mod tests;
