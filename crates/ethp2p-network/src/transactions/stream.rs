//! The mempool first-seen stream: one record per transaction, the first time
//! any peer announced or sent it.
//!
//! What mempool listeners want (ethpandaops xatu, flashbots mempool-dumpster,
//! geth PR #31974): the raw bytes, the first-seen time in milliseconds **at
//! announcement**, the first announcer (peer id and client id) and whether it
//! came as a broadcast or an announcement, deduplicated across peers.
//!
//! [`FirstSeenTracker`] is sans-IO: fed announcements and bodies with `now`,
//! it opens a record when a hash is first seen, counts the distinct peers that
//! announce or send it during [`StreamConfig::window`], fills in type, size
//! and raw bytes when the body arrives, and releases the record when the
//! window ends ([`poll_record`](FirstSeenTracker::poll_record)). The hash is
//! then remembered for [`StreamConfig::ttl`] (xatu: 1 h) so that later
//! announcements make no new record.
//!
//! Bounds: at most [`StreamConfig::max_entries`] hashes (open and
//! remembered); when full, the oldest remembered hash is forgotten first, else
//! the oldest open record is released early. An open record counts at most
//! [`MAX_COUNTED_ANNOUNCERS`] distinct peers.
//!
//! JSON shape of a record:
//! `{"hash","type","size","raw"?,"firstSeen","peer","client","via","announcers"}`
//! — `type` and `size` are `null` when only an eth/66–67 announcement was
//! seen; `raw` is absent without a body.

use std::{collections::VecDeque, hash::BuildHasher, sync::Arc};

use alloy_primitives::{Bytes, B256};
use ethp2p_rlpx::PeerId;
use serde::{Deserialize, Serialize};
use tokio::time::{Duration, Instant};

use super::{
    announce::AnnouncedTx,
    decode::DecodedTx,
    hashing::{seeded, HashMap, SeededState},
    memory::table_bytes,
};

/// Most distinct announcers an open record counts.
pub const MAX_COUNTED_ANNOUNCERS: usize = 255;

/// How a transaction was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Its body arrived in a `Transactions` broadcast.
    Broadcast,
    /// Its hash arrived in a `NewPooledTransactionHashes` announcement.
    Announcement,
}

/// One first-seen record (see the module docs for the JSON shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstSeenRecord {
    /// Transaction hash.
    pub hash: B256,
    /// EIP-2718 type, when announced (eth/68+) or received.
    #[serde(rename = "type")]
    pub ty: Option<u8>,
    /// Encoded size, when announced (eth/68+) or received.
    pub size: Option<u32>,
    /// The EIP-2718 bytes, when the body arrived within the window and raw
    /// bytes are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Bytes>,
    /// When it was first seen, in milliseconds since the Unix epoch.
    pub first_seen: u64,
    /// The first peer that announced or sent it.
    pub peer: PeerId,
    /// That peer's client id (from its Hello).
    pub client: String,
    /// Whether that first sighting was a broadcast or an announcement.
    pub via: Via,
    /// Distinct peers that announced or sent it within the window (at most
    /// [`MAX_COUNTED_ANNOUNCERS`]).
    pub announcers: u32,
}

/// Timing and bounds of the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// How long a record stays open counting announcers and waiting for the
    /// body (2 s: the fetcher's 500 ms wait plus a round trip, with margin).
    pub window: Duration,
    /// How long a released hash is remembered (xatu: 1 h).
    pub ttl: Duration,
    /// Most hashes held, open and remembered.
    pub max_entries: usize,
    /// Whether records carry the raw bytes.
    pub keep_raw: bool,
    /// Seed of the map hasher.
    pub seed: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(2),
            ttl: Duration::from_secs(3600),
            max_entries: 262_144,
            keep_raw: true,
            seed: 0,
        }
    }
}

#[derive(Debug)]
struct Open {
    record: FirstSeenRecord,
    seen_at: Instant,
    peers: Vec<u64>,
    has_body: bool,
}

#[derive(Debug)]
enum Entry {
    Open(Box<Open>),
    Released,
}

/// Deduplicates sightings across peers and produces [`FirstSeenRecord`]s.
#[derive(Debug)]
pub struct FirstSeenTracker {
    config: StreamConfig,
    epoch: Instant,
    epoch_unix_ms: u64,
    state: SeededState,
    entries: HashMap<B256, Entry>,
    open_order: VecDeque<(B256, Instant)>,
    released_order: VecDeque<(B256, Instant)>,
    ready: VecDeque<FirstSeenRecord>,
}

impl FirstSeenTracker {
    /// A tracker whose clock reads `epoch_unix_ms` (milliseconds since the
    /// Unix epoch) at `epoch`; record times are derived from the `now` passed
    /// to each event.
    pub fn new(config: StreamConfig, epoch: Instant, epoch_unix_ms: u64) -> Self {
        Self {
            state: seeded(config.seed ^ 0x5eed),
            entries: HashMap::with_hasher(seeded(config.seed)),
            open_order: VecDeque::new(),
            released_order: VecDeque::new(),
            ready: VecDeque::new(),
            config,
            epoch,
            epoch_unix_ms,
        }
    }

    fn unix_ms(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch).as_millis();
        self.epoch_unix_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }

    /// `peer` (client id `client`) announced these hashes at `now`.
    pub fn on_announcement(
        &mut self,
        peer: &PeerId,
        client: &Arc<str>,
        entries: &[AnnouncedTx],
        now: Instant,
    ) {
        for entry in entries {
            let open = self.sighting(entry.hash, peer, client, Via::Announcement, now);
            if let Some(open) = open {
                if let Some(meta) = entry.meta {
                    open.record.ty.get_or_insert(meta.ty);
                    open.record.size.get_or_insert(meta.size);
                }
            }
        }
    }

    /// `peer` sent the body of `tx` at `now`: in a broadcast
    /// ([`Via::Broadcast`]) or in answer to our request
    /// ([`Via::Announcement`]).
    pub fn on_transaction(
        &mut self,
        peer: &PeerId,
        client: &Arc<str>,
        tx: &DecodedTx,
        via: Via,
        now: Instant,
    ) {
        let keep_raw = self.config.keep_raw;
        if let Some(open) = self.sighting(tx.hash(), peer, client, via, now) {
            let meta = tx.meta();
            open.record.ty = Some(meta.ty);
            open.record.size = Some(meta.size);
            if keep_raw {
                open.record.raw = Some(Bytes::from(tx.raw().clone()));
            }
            open.has_body = true;
        }
    }

    /// Records a sighting; returns the open record to update, if the hash is
    /// still open.
    fn sighting(
        &mut self,
        hash: B256,
        peer: &PeerId,
        client: &Arc<str>,
        via: Via,
        now: Instant,
    ) -> Option<&mut Open> {
        let fingerprint = self.state.hash_one(peer);
        if !self.entries.contains_key(&hash) {
            self.make_room();
            let record = FirstSeenRecord {
                hash,
                ty: None,
                size: None,
                raw: None,
                first_seen: self.unix_ms(now),
                peer: *peer,
                client: client.to_string(),
                via,
                announcers: 0,
            };
            self.entries.insert(
                hash,
                Entry::Open(Box::new(Open {
                    record,
                    seen_at: now,
                    peers: Vec::new(),
                    has_body: false,
                })),
            );
            self.open_order.push_back((hash, now));
        }
        let Some(Entry::Open(open)) = self.entries.get_mut(&hash) else {
            return None;
        };
        if open.peers.len() < MAX_COUNTED_ANNOUNCERS && !open.peers.contains(&fingerprint) {
            open.peers.push(fingerprint);
            open.record.announcers = open.peers.len() as u32;
        }
        Some(open)
    }

    fn make_room(&mut self) {
        while self.entries.len() >= self.config.max_entries.max(1) {
            if let Some((hash, _)) = self.released_order.pop_front() {
                self.entries.remove(&hash);
            } else if let Some((hash, _)) = self.open_order.pop_front() {
                self.release(hash);
            } else {
                break;
            }
        }
    }

    fn release(&mut self, hash: B256) {
        match self.entries.remove(&hash) {
            Some(Entry::Open(open)) => {
                self.entries.insert(hash, Entry::Released);
                self.released_order.push_back((hash, open.seen_at));
                self.ready.push_back(open.record);
            }
            Some(other) => {
                self.entries.insert(hash, other);
            }
            None => {}
        }
    }

    /// Releases records whose window ended and forgets hashes past their TTL.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(hash, seen)) = self.open_order.front() {
            if seen + self.config.window > now {
                break;
            }
            self.open_order.pop_front();
            self.release(hash);
        }
        while let Some(&(hash, seen)) = self.released_order.front() {
            if seen + self.config.ttl > now {
                break;
            }
            self.released_order.pop_front();
            if matches!(self.entries.get(&hash), Some(Entry::Released)) {
                self.entries.remove(&hash);
            }
        }
    }

    /// The next released record.
    pub fn poll_record(&mut self) -> Option<FirstSeenRecord> {
        self.ready.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let open = self
            .open_order
            .front()
            .map(|&(_, seen)| seen + self.config.window);
        let released = self
            .released_order
            .front()
            .map(|&(_, seen)| seen + self.config.ttl);
        match (open, released) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether `hash` was seen (open or remembered).
    pub fn contains(&self, hash: &B256) -> bool {
        self.entries.contains_key(hash)
    }

    /// Whether there is no need to fetch `hash` any more: its body arrived,
    /// or its record was already released. Filter announcements with this
    /// before handing them to the fetcher.
    pub fn is_done(&self, hash: &B256) -> bool {
        match self.entries.get(hash) {
            Some(Entry::Open(open)) => open.has_body,
            Some(Entry::Released) => true,
            None => false,
        }
    }

    /// Hashes held (open and remembered).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held by the maps and queues (capacity; open records' contents
    /// not included).
    pub fn memory_bytes(&self) -> usize {
        table_bytes::<(B256, Entry)>(self.entries.capacity())
            + (self.open_order.capacity() + self.released_order.capacity())
                * size_of::<(B256, Instant)>()
    }
}

#[cfg(test)]
mod tests;
