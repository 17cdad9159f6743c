//! One iterative lookup: the candidate list sorted by distance to the target,
//! and which of them were asked, answered or failed.
//!
//! The engine asks at most α candidates at a time, always the closest not yet
//! asked among the k closest known; the lookup ends when none of the k
//! closest remains unasked and no request is in flight. Its result is the k
//! closest candidates that answered. Candidates are bounded to
//! [`MAX_CANDIDATES`] (the farthest are dropped).

use crate::table::{distance, node_key, BUCKET_SIZE};
use alloy_primitives::B256;
use ethp2p_rlpx::{NodeRecord, PeerId};

/// Most candidates a lookup remembers.
pub const MAX_CANDIDATES: usize = 3 * BUCKET_SIZE;

/// Identifies a lookup in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    NotAsked,
    Waiting,
    Answered,
    Failed,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) record: NodeRecord,
    pub(crate) distance: B256,
    pub(crate) state: State,
}

#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub(crate) target: PeerId,
    target_key: B256,
    pub(crate) candidates: Vec<Candidate>,
    pub(crate) in_flight: usize,
}

impl Lookup {
    pub(crate) fn new(target: PeerId) -> Self {
        Self {
            target,
            target_key: node_key(&target),
            candidates: Vec::new(),
            in_flight: 0,
        }
    }

    /// Adds a candidate unless known; keeps the list sorted and bounded.
    pub(crate) fn add(&mut self, record: NodeRecord) {
        if self.candidates.iter().any(|c| c.record.id == record.id) {
            return;
        }
        let d = distance(&node_key(&record.id), &self.target_key);
        let pos = self.candidates.partition_point(|c| c.distance < d);
        if pos >= MAX_CANDIDATES {
            return;
        }
        self.candidates.insert(
            pos,
            Candidate {
                record,
                distance: d,
                state: State::NotAsked,
            },
        );
        // Drop the farthest, but never one we are waiting on (its answer
        // would otherwise leave `in_flight` counting it forever).
        while self.candidates.len() > MAX_CANDIDATES {
            match self
                .candidates
                .iter()
                .rposition(|c| c.state != State::Waiting)
            {
                Some(i) => {
                    self.candidates.remove(i);
                }
                None => break,
            }
        }
    }

    /// The next candidate to ask, given a predicate for nodes that cannot be
    /// asked right now (busy with another lookup).
    pub(crate) fn next_to_ask(&self, busy: impl Fn(&PeerId) -> bool) -> Option<usize> {
        self.candidates
            .iter()
            .take(BUCKET_SIZE)
            .position(|c| c.state == State::NotAsked && !busy(&c.record.id))
    }

    /// Whether some of the k closest are still to be asked.
    pub(crate) fn has_unasked(&self) -> bool {
        self.candidates
            .iter()
            .take(BUCKET_SIZE)
            .any(|c| c.state == State::NotAsked)
    }

    pub(crate) fn set_state(&mut self, id: &PeerId, state: State) -> bool {
        match self.candidates.iter_mut().find(|c| c.record.id == *id) {
            Some(c) if c.state == State::Waiting => {
                c.state = state;
                true
            }
            _ => false,
        }
    }

    /// The k closest that answered.
    pub(crate) fn result(&self) -> Vec<NodeRecord> {
        self.candidates
            .iter()
            .filter(|c| c.state == State::Answered)
            .take(BUCKET_SIZE)
            .map(|c| c.record)
            .collect()
    }
}
