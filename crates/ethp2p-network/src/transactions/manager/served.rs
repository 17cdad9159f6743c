//! The transactions we propagated, kept to answer `GetPooledTransactions`.
//!
//! Bounded by entries and by bytes; the oldest is forgotten first. Nothing
//! else is pooled.

use std::collections::VecDeque;

use alloy_primitives::B256;

use crate::transactions::{
    decode::DecodedTx,
    hashing::{seeded, HashMap},
};

#[derive(Debug)]
struct Served {
    tx: DecodedTx,
    local: bool,
}

/// A FIFO cache of transactions by hash, at most `max_entries` and
/// `max_bytes` (of raw transaction bytes).
#[derive(Debug)]
pub(crate) struct ServedCache {
    map: HashMap<B256, Served>,
    order: VecDeque<B256>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl ServedCache {
    pub(crate) fn new(max_entries: usize, max_bytes: usize, seed: u64) -> Self {
        Self {
            map: HashMap::with_hasher(seeded(seed)),
            order: VecDeque::new(),
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// Keeps `tx` (submitted here when `local`); returns whether it was new.
    /// A transaction larger than the byte bound is not kept.
    pub(crate) fn insert(&mut self, tx: DecodedTx, local: bool) -> bool {
        let hash = tx.hash();
        if self.map.contains_key(&hash) {
            return false;
        }
        let size = tx.size();
        if size > self.max_bytes {
            return true;
        }
        while self.map.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(s) = self.map.remove(&old) {
                self.bytes -= s.tx.size();
            }
        }
        self.bytes += size;
        self.order.push_back(hash);
        self.map.insert(hash, Served { tx, local });
        true
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<&DecodedTx> {
        self.map.get(hash).map(|s| &s.tx)
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.map.contains_key(hash)
    }

    /// Whether `hash` was submitted here.
    pub(crate) fn is_local(&self, hash: &B256) -> bool {
        self.map.get(hash).is_some_and(|s| s.local)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests;
