//! The Kademlia routing table.
//!
//! Nodes are placed by the log-distance between `keccak256` of their id and of
//! ours. As in geth there are [`N_BUCKETS`] buckets: distances up to 239 share
//! bucket 0 (a random id lands there with probability 2^-16), and 240..=256
//! get one bucket each. A bucket holds [`BUCKET_SIZE`] entries, least recently
//! seen first, and up to [`MAX_REPLACEMENTS`] replacements that move in when an
//! entry fails revalidation.
//!
//! IP limits (geth's): at most [`BUCKET_IP_LIMIT`] nodes of one /24 (IPv4) or
//! /64 (IPv6) per bucket and [`TABLE_IP_LIMIT`] per table, replacements
//! included; LAN and loopback addresses are exempt; unspecified, multicast and
//! broadcast addresses are refused.
//!
//! Memory: an [`Entry`] is 296 bytes inline (`size_of`, measured on x86-64;
//! the test `entry_size_is_documented` keeps it under 400), plus the heap of
//! its ENR once fetched: the `enr` crate keeps a record's keys and values in a
//! `BTreeMap<Vec<u8>, Bytes>`, about 1 KiB for a typical six-key record
//! (estimate: one B-tree leaf of ~630 bytes plus one small allocation per key
//! and value). Replacements never hold an ENR. A full table has
//! 17 × 16 entries and 17 × 10 replacements: about 17 × (16 × 1.3 + 10 × 0.3)
//! ≈ 400 KiB, whatever peers send.

use crate::enr::Enr;
use alloy_primitives::{keccak256, B256};
use ethp2p_eth::forkid::ForkId;
use ethp2p_rlpx::{NodeRecord, PeerId};
use rand::Rng;
use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};
use tokio::time::Instant;

/// Entries per bucket (Kademlia's k).
pub const BUCKET_SIZE: usize = 16;
/// Replacements kept per bucket.
pub const MAX_REPLACEMENTS: usize = 10;
/// Number of buckets.
pub const N_BUCKETS: usize = 17;
/// Log-distances at or below this share bucket 0.
pub const BUCKET_MIN_DISTANCE: usize = 256 - N_BUCKETS;
/// Most nodes of one subnet per bucket.
pub const BUCKET_IP_LIMIT: usize = 2;
/// Most nodes of one subnet in the whole table.
pub const TABLE_IP_LIMIT: usize = 10;
/// Failed revalidations after which an entry is removed even without a
/// replacement (with a replacement waiting, one failure is enough).
pub const MAX_FAILED_CHECKS: u32 = 3;

/// The key nodes are placed by: `keccak256(id)`.
pub fn node_key(id: &PeerId) -> B256 {
    keccak256(id.as_slice())
}

/// `a XOR b`: the Kademlia distance between two keys.
pub fn distance(a: &B256, b: &B256) -> B256 {
    *a ^ *b
}

/// Bit length of `a XOR b` (0 when equal, 256 at most).
pub fn log_distance(a: &B256, b: &B256) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return (32 - i) * 8 - d.leading_zeros() as usize;
        }
    }
    0
}

/// Whether `ip` is loopback, private (RFC 1918 / unique local), link-local or
/// shared (CGNAT): addresses exempt from IP limits and not relayed to public
/// nodes.
pub fn is_lan(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_lan(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Whether `ip` can never be a node's address.
pub fn is_invalid_node_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    }
}

/// The subnet an address is counted in for IP limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subnet {
    V4([u8; 3]),
    V6([u8; 8]),
}

fn subnet(ip: IpAddr) -> Option<Subnet> {
    if is_lan(ip) {
        return None;
    }
    Some(match ip {
        IpAddr::V4(v4) => v4_subnet(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_subnet(v4),
            None => v6_subnet(v6),
        },
    })
}

fn v4_subnet(v4: Ipv4Addr) -> Subnet {
    let o = v4.octets();
    Subnet::V4([o[0], o[1], o[2]])
}

fn v6_subnet(v6: Ipv6Addr) -> Subnet {
    let mut p = [0u8; 8];
    p.copy_from_slice(&v6.octets()[..8]);
    Subnet::V6(p)
}

/// One node in the table.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Identity and endpoint.
    pub record: NodeRecord,
    /// `keccak256(id)`.
    pub key: B256,
    /// The node's record, once fetched (EIP-868).
    pub enr: Option<Enr>,
    /// The highest ENR sequence number the node announced in a Ping or Pong.
    pub announced_seq: Option<u64>,
    /// The fork id of its `eth` entry, once fetched.
    pub fork_id: Option<ForkId>,
    /// When it entered the table.
    pub added_at: Instant,
    /// When it last answered us (Pong or Neighbours).
    pub last_seen: Instant,
    /// Successful revalidations in a row.
    pub liveness: u32,
    /// Failed revalidations in a row.
    pub failed_checks: u32,
    /// FindNode requests in a row that got no answer.
    pub find_node_failures: u32,
    /// Whether it was reported to the embedder (`NodeFound`).
    pub announced: bool,
}

impl Entry {
    fn new(record: NodeRecord, now: Instant) -> Self {
        Self {
            key: node_key(&record.id),
            record,
            enr: None,
            announced_seq: None,
            fork_id: None,
            added_at: now,
            last_seen: now,
            liveness: 0,
            failed_checks: 0,
            find_node_failures: 0,
            announced: false,
        }
    }
}

/// What [`Table::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum AddOutcome {
    /// A new entry.
    Added,
    /// Already present: its endpoint and last-seen time were refreshed.
    Present,
    /// Its bucket is full: kept as a replacement.
    Replacement,
    /// Refused by the per-bucket or per-table IP limit.
    IpLimit,
    /// Our own id.
    IsSelf,
    /// Unspecified, multicast or broadcast address, or UDP port 0.
    InvalidEndpoint,
}

/// An entry removed after failed revalidations.
#[derive(Debug, Clone)]
pub struct Eviction {
    /// The removed entry.
    pub removed: Entry,
    /// The replacement that moved into its place, if any.
    pub promoted: Option<NodeRecord>,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    /// Least recently seen first.
    entries: Vec<Entry>,
    /// Most recently added last.
    replacements: Vec<Entry>,
}

/// The routing table.
#[derive(Debug, Clone)]
pub struct Table {
    local_id: PeerId,
    local_key: B256,
    buckets: Vec<Bucket>,
    subnets: HashMap<Subnet, usize>,
    len: usize,
}

impl Table {
    /// An empty table for the node `local_id`.
    pub fn new(local_id: PeerId) -> Self {
        Self {
            local_id,
            local_key: node_key(&local_id),
            buckets: vec![Bucket::default(); N_BUCKETS],
            subnets: HashMap::new(),
            len: 0,
        }
    }

    /// Number of entries (replacements not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bucket_index(&self, key: &B256) -> usize {
        let d = log_distance(&self.local_key, key);
        if d <= BUCKET_MIN_DISTANCE {
            0
        } else {
            d - BUCKET_MIN_DISTANCE - 1
        }
    }

    /// The entry for `id`.
    pub fn get(&self, id: &PeerId) -> Option<&Entry> {
        let b = self.bucket_index(&node_key(id));
        self.buckets[b].entries.iter().find(|e| e.record.id == *id)
    }

    /// The entry for `id`, mutably.
    pub fn get_mut(&mut self, id: &PeerId) -> Option<&mut Entry> {
        let b = self.bucket_index(&node_key(id));
        self.buckets[b]
            .entries
            .iter_mut()
            .find(|e| e.record.id == *id)
    }

    /// The replacement for `id`, mutably.
    pub fn replacement_mut(&mut self, id: &PeerId) -> Option<&mut Entry> {
        let b = self.bucket_index(&node_key(id));
        self.buckets[b]
            .replacements
            .iter_mut()
            .find(|e| e.record.id == *id)
    }

    /// Whether the bucket `id` would go into has a free entry slot.
    pub fn has_room_for(&self, id: &PeerId) -> bool {
        *id != self.local_id
            && self.buckets[self.bucket_index(&node_key(id))].entries.len() < BUCKET_SIZE
    }

    /// Whether `id` is an entry.
    pub fn contains(&self, id: &PeerId) -> bool {
        self.get(id).is_some()
    }

    /// Every entry, bucket by bucket.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.entries.iter())
    }

    /// The records of every entry.
    pub fn records(&self) -> Vec<NodeRecord> {
        self.iter().map(|e| e.record).collect()
    }

    /// Number of replacements across all buckets.
    pub fn replacements_len(&self) -> usize {
        self.buckets.iter().map(|b| b.replacements.len()).sum()
    }

    fn ip_allowed(&self, bucket: usize, ip: IpAddr) -> bool {
        let Some(net) = subnet(ip) else {
            return true;
        };
        if self.subnets.get(&net).copied().unwrap_or(0) >= TABLE_IP_LIMIT {
            return false;
        }
        let b = &self.buckets[bucket];
        let in_bucket = b
            .entries
            .iter()
            .chain(b.replacements.iter())
            .filter(|e| subnet(e.record.address) == Some(net))
            .count();
        in_bucket < BUCKET_IP_LIMIT
    }

    fn count_ip(&mut self, ip: IpAddr) {
        if let Some(net) = subnet(ip) {
            *self.subnets.entry(net).or_insert(0) += 1;
        }
    }

    fn uncount_ip(&mut self, ip: IpAddr) {
        if let Some(net) = subnet(ip) {
            if let Some(n) = self.subnets.get_mut(&net) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.subnets.remove(&net);
                }
            }
        }
    }

    /// Adds a node that answered us (a verified endpoint).
    pub fn add(&mut self, record: NodeRecord, now: Instant) -> AddOutcome {
        if record.id == self.local_id {
            return AddOutcome::IsSelf;
        }
        if is_invalid_node_ip(record.address) || record.udp_port == 0 {
            return AddOutcome::InvalidEndpoint;
        }
        let key = node_key(&record.id);
        let b = self.bucket_index(&key);
        if let Some(pos) = self.buckets[b]
            .entries
            .iter()
            .position(|e| e.record.id == record.id)
        {
            let old_ip = self.buckets[b].entries[pos].record.address;
            if old_ip != record.address {
                // An endpoint change is re-checked against the limits.
                self.uncount_ip(old_ip);
                if !self.ip_allowed(b, record.address) {
                    self.count_ip(old_ip);
                    return AddOutcome::IpLimit;
                }
                self.count_ip(record.address);
            }
            let mut e = self.buckets[b].entries.remove(pos);
            e.record = record;
            e.last_seen = now;
            self.buckets[b].entries.push(e);
            return AddOutcome::Present;
        }
        // A replacement that reappears is dropped from the list and re-added.
        if let Some(pos) = self.buckets[b]
            .replacements
            .iter()
            .position(|e| e.record.id == record.id)
        {
            let old = self.buckets[b].replacements.remove(pos);
            self.uncount_ip(old.record.address);
        }
        if !self.ip_allowed(b, record.address) {
            return AddOutcome::IpLimit;
        }
        self.count_ip(record.address);
        let bucket = &mut self.buckets[b];
        if bucket.entries.len() < BUCKET_SIZE {
            bucket.entries.push(Entry::new(record, now));
            self.len += 1;
            return AddOutcome::Added;
        }
        bucket.replacements.push(Entry::new(record, now));
        if bucket.replacements.len() > MAX_REPLACEMENTS {
            let dropped = bucket.replacements.remove(0);
            self.uncount_ip(dropped.record.address);
        }
        AddOutcome::Replacement
    }

    /// Removes `id` (entry or replacement); a replacement moves into a freed
    /// entry slot. Returns the removed entry.
    pub fn remove(&mut self, id: &PeerId) -> Option<Eviction> {
        let b = self.bucket_index(&node_key(id));
        let bucket = &mut self.buckets[b];
        if let Some(pos) = bucket.replacements.iter().position(|e| e.record.id == *id) {
            let removed = bucket.replacements.remove(pos);
            self.uncount_ip(removed.record.address);
            return Some(Eviction {
                removed,
                promoted: None,
            });
        }
        let pos = bucket.entries.iter().position(|e| e.record.id == *id)?;
        let removed = bucket.entries.remove(pos);
        let promoted = bucket.replacements.pop().map(|r| {
            let rec = r.record;
            bucket.entries.push(r);
            rec
        });
        if promoted.is_none() {
            self.len -= 1;
        }
        self.uncount_ip(removed.record.address);
        Some(Eviction { removed, promoted })
    }

    /// Records a successful check: the node answered.
    pub fn mark_seen(&mut self, id: &PeerId, now: Instant) {
        let b = self.bucket_index(&node_key(id));
        let bucket = &mut self.buckets[b];
        if let Some(pos) = bucket.entries.iter().position(|e| e.record.id == *id) {
            let mut e = bucket.entries.remove(pos);
            e.last_seen = now;
            e.liveness = e.liveness.saturating_add(1);
            e.failed_checks = 0;
            e.find_node_failures = 0;
            bucket.entries.push(e);
        }
    }

    /// Records a failed revalidation. The entry is removed (and a replacement
    /// promoted) when a replacement is waiting or after
    /// [`MAX_FAILED_CHECKS`] failures in a row.
    pub fn on_check_failed(&mut self, id: &PeerId) -> Option<Eviction> {
        let b = self.bucket_index(&node_key(id));
        let bucket = &mut self.buckets[b];
        let e = bucket.entries.iter_mut().find(|e| e.record.id == *id)?;
        e.failed_checks = e.failed_checks.saturating_add(1);
        e.liveness = 0;
        if e.failed_checks >= MAX_FAILED_CHECKS || !bucket.replacements.is_empty() {
            return self.remove(id);
        }
        None
    }

    /// The node to revalidate next: the least recently seen entry of a
    /// random non-empty bucket.
    pub fn revalidation_target(&self, rng: &mut impl Rng) -> Option<NodeRecord> {
        let non_empty: Vec<usize> = (0..N_BUCKETS)
            .filter(|&i| !self.buckets[i].entries.is_empty())
            .collect();
        if non_empty.is_empty() {
            return None;
        }
        let b = non_empty[rng.random_range(0..non_empty.len())];
        self.buckets[b].entries.first().map(|e| e.record)
    }

    /// The `n` entries closest to `target`, closest first.
    pub fn closest(&self, target: &PeerId, n: usize) -> Vec<NodeRecord> {
        let t = node_key(target);
        let mut all: Vec<(B256, NodeRecord)> = self
            .iter()
            .map(|e| (distance(&e.key, &t), e.record))
            .collect();
        all.sort_unstable_by_key(|a| a.0);
        all.truncate(n);
        all.into_iter().map(|(_, r)| r).collect()
    }
}

#[cfg(test)]
mod tests;
