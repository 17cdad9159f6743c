//! Request routing for the fetch client: which connected peer answers which
//! header, body or receipt request (reference `network-layer.md` §3, after
//! reth's `StateFetcher`).
//!
//! [`FetchRouter`] is sans-IO. The network manager registers each session's
//! peer with its [`PeerCapabilities`], [`submits`](FetchRouter::submit)
//! requests, sends what [`FetchRouter::poll_action`] says to send, and feeds
//! back answers and failures. Rules:
//!
//! - a peer is *capable* of a request when its eth/69 block range covers the
//!   request's blocks (peers without a range, eth/68 and older, are taken to
//!   serve everything); with no capable peer connected a request fails at
//!   once with [`FetchError::NoCapablePeer`];
//! - each peer has at most one request in flight per [`RequestKind`];
//! - among idle capable peers the one with the fewest likely-bad answers in
//!   its last [`BAD_HISTORY`] outcomes wins, then the lowest RTT, then the
//!   lowest id;
//! - requests without an idle capable peer wait in a queue, high priority
//!   first, FIFO within a priority; requests tracked (queued and in flight)
//!   are bounded by [`FetchConfig::max_requests`];
//! - answers are checked structurally ([`checks`]); a likely-bad answer marks
//!   the peer, costs reputation when it broke a rule, and the request is
//!   retried on another peer up to [`FetchConfig::max_attempts`] times.

pub mod checks;
#[cfg(test)]
mod tests;

pub use checks::{
    check_count, check_headers, HeaderDecodeError, HeaderSummary, ResponseError, ResponseVerdict,
};

use crate::peers::ReputationChangeKind;
use alloy_primitives::B256;
use ethp2p_eth::{
    message::{BlockHashOrNumber, GetBlockHeaders},
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};
use tracing::trace;

/// How many recent outcomes per peer count towards its "recent bad answers".
pub const BAD_HISTORY: u32 = 16;
/// Headers a server returns at most (geth and reth serve 1024); the block span
/// a header request needs is computed over at most this many headers.
pub const MAX_HEADERS_SERVED: u64 = 1024;

/// A request's identifier, unique for the router's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The kinds of request routed. A peer has at most one of each in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// `GetBlockHeaders`.
    Headers,
    /// `GetBlockBodies`.
    Bodies,
    /// `GetReceipts`.
    Receipts,
}

impl RequestKind {
    const ALL: [RequestKind; 3] = [Self::Headers, Self::Bodies, Self::Receipts];

    const fn index(self) -> usize {
        match self {
            Self::Headers => 0,
            Self::Bodies => 1,
            Self::Receipts => 2,
        }
    }
}

/// Queue priority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Served in order.
    #[default]
    Normal,
    /// Jumps ahead of every normal request.
    High,
}

/// An inclusive range of block numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRange {
    /// First block.
    pub earliest: u64,
    /// Last block.
    pub latest: u64,
}

impl BlockRange {
    /// Whether `other` lies entirely inside this range.
    pub const fn covers(&self, other: &BlockRange) -> bool {
        self.earliest <= other.earliest && other.latest <= self.latest
    }
}

/// What a connected peer can serve and how fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCapabilities {
    /// Negotiated eth version.
    pub eth_version: EthVersion,
    /// Blocks it serves (eth/69 Status and BlockRangeUpdate); `None` for
    /// older versions, taken as "everything".
    pub block_range: Option<BlockRange>,
    /// Round-trip time estimate.
    pub rtt: Duration,
}

/// A request to route.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchRequest {
    /// Headers.
    Headers(GetBlockHeaders),
    /// Bodies of these blocks; `range`, when known, is the blocks' numbers and
    /// restricts the request to peers serving them.
    Bodies {
        /// Block hashes.
        hashes: Vec<B256>,
        /// Their numbers, if known.
        range: Option<BlockRange>,
    },
    /// Receipts of these blocks; `range` as for bodies.
    Receipts {
        /// Block hashes.
        hashes: Vec<B256>,
        /// Their numbers, if known.
        range: Option<BlockRange>,
    },
}

impl FetchRequest {
    /// The kind of request.
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Headers(_) => RequestKind::Headers,
            Self::Bodies { .. } => RequestKind::Bodies,
            Self::Receipts { .. } => RequestKind::Receipts,
        }
    }

    /// The blocks a peer must serve to answer in full, when known: a header
    /// request by number spans `limit` headers `skip + 1` apart (at most
    /// [`MAX_HEADERS_SERVED`]); bodies and receipts use their range hint.
    pub fn required_range(&self) -> Option<BlockRange> {
        match self {
            Self::Headers(req) => {
                let BlockHashOrNumber::Number(start) = req.start else {
                    return None;
                };
                if req.limit == 0 {
                    return None;
                }
                let span = (req.limit.min(MAX_HEADERS_SERVED) - 1)
                    .saturating_mul(req.skip.saturating_add(1));
                Some(if req.reverse {
                    BlockRange {
                        earliest: start.saturating_sub(span),
                        latest: start,
                    }
                } else {
                    BlockRange {
                        earliest: start,
                        latest: start.saturating_add(span),
                    }
                })
            }
            Self::Bodies { range, .. } | Self::Receipts { range, .. } => *range,
        }
    }
}

/// An answer, reduced to what the structural checks need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchResponse {
    /// `BlockHeaders`, each header summarised ([`HeaderSummary::from_rlp`]).
    Headers(Vec<HeaderSummary>),
    /// `BlockBodies` with this many bodies.
    Bodies {
        /// Number of bodies.
        count: usize,
    },
    /// `Receipts` with this many per-block receipt lists.
    Receipts {
        /// Number of receipt lists.
        count: usize,
    },
}

/// How a request sent to a peer failed without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFailure {
    /// No answer in time: the only failure that costs reputation.
    Timeout,
    /// The session closed or could not take the request.
    ConnectionClosed,
}

/// Why a request could not be routed or completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No connected peer can serve this request at all.
    #[error("no connected peer can serve this request")]
    NoCapablePeer,
    /// As many requests as [`FetchConfig::max_requests`] are already tracked.
    #[error("too many requests outstanding")]
    TooManyRequests,
    /// Every attempt failed or was answered badly.
    #[error("request failed on every attempt")]
    AttemptsExhausted,
    /// The request id is unknown (finished, cancelled or never issued).
    #[error("unknown request")]
    UnknownRequest,
}

/// What the router asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum FetchAction {
    /// Send this request to this peer; answer with
    /// [`FetchRouter::on_response`] or [`FetchRouter::on_request_failed`].
    Send {
        /// The request.
        request_id: RequestId,
        /// The peer.
        peer_id: PeerId,
        /// What to send.
        request: FetchRequest,
    },
    /// The request failed for good; tell its caller.
    Failed {
        /// The request.
        request_id: RequestId,
        /// Why.
        error: FetchError,
    },
    /// Apply this reputation change (to the peers manager).
    Reputation {
        /// Who.
        peer_id: PeerId,
        /// What.
        change: ReputationChangeKind,
    },
}

/// Router limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchConfig {
    /// Requests tracked at most, queued and in flight together; a submission
    /// beyond it is refused with [`FetchError::TooManyRequests`].
    pub max_requests: usize,
    /// Peers sent one request at most before it fails with
    /// [`FetchError::AttemptsExhausted`].
    pub max_attempts: u8,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_requests: 4096,
            max_attempts: 3,
        }
    }
}

#[derive(Debug)]
struct PeerSlot {
    caps: PeerCapabilities,
    in_flight: [Option<RequestId>; 3],
    /// Last [`BAD_HISTORY`] outcomes, newest in bit 0; a set bit is likely bad.
    history: u16,
}

impl PeerSlot {
    fn recent_bad(&self) -> u32 {
        self.history.count_ones()
    }

    fn record(&mut self, bad: bool) {
        self.history = (self.history << 1) | u16::from(bad);
    }

    fn can_serve(&self, required: Option<BlockRange>) -> bool {
        match (required, self.caps.block_range) {
            (Some(req), Some(range)) => range.covers(&req),
            _ => true,
        }
    }
}

#[derive(Debug)]
struct Entry {
    request: FetchRequest,
    priority: Priority,
    peer: Option<PeerId>,
    attempts: u8,
    cancelled: bool,
    /// Peers already tried, so a retry goes elsewhere when it can.
    tried: Vec<PeerId>,
}

/// The sans-IO request router. See the [module documentation](self).
#[derive(Debug, Default)]
pub struct FetchRouter {
    config: FetchConfig,
    peers: BTreeMap<PeerId, PeerSlot>,
    requests: BTreeMap<RequestId, Entry>,
    high: VecDeque<RequestId>,
    normal: VecDeque<RequestId>,
    actions: VecDeque<FetchAction>,
    next_id: u64,
    /// Per [`RequestKind`], how many registered peers have nothing of that
    /// kind in flight. When it is zero, a submission queues without
    /// scanning the peers (the common case under load).
    idle: [usize; 3],
}

impl FetchRouter {
    /// An empty router.
    pub fn new(config: FetchConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The next action.
    pub fn poll_action(&mut self) -> Option<FetchAction> {
        self.actions.pop_front()
    }

    /// Requests waiting for a peer.
    pub fn queued(&self) -> usize {
        self.high.len() + self.normal.len()
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.requests.values().filter(|e| e.peer.is_some()).count()
    }

    /// A peer's count of likely-bad outcomes among its recent ones.
    pub fn recent_bad(&self, peer_id: &PeerId) -> Option<u32> {
        self.peers.get(peer_id).map(PeerSlot::recent_bad)
    }

    // ---- peers ------------------------------------------------------------

    /// A session is established: the peer can take requests. For a peer
    /// already registered only the capabilities are replaced.
    pub fn add_peer(&mut self, peer_id: PeerId, caps: PeerCapabilities) {
        match self.peers.get_mut(&peer_id) {
            Some(slot) => slot.caps = caps,
            None => {
                self.peers.insert(
                    peer_id,
                    PeerSlot {
                        caps,
                        in_flight: [None; 3],
                        history: 0,
                    },
                );
                for n in &mut self.idle {
                    *n += 1;
                }
            }
        }
        for kind in RequestKind::ALL {
            self.dispatch_to(peer_id, kind);
        }
    }

    /// The peer announced a new block range (eth/69 `BlockRangeUpdate`).
    pub fn set_block_range(&mut self, peer_id: PeerId, range: Option<BlockRange>) {
        if let Some(p) = self.peers.get_mut(&peer_id) {
            p.caps.block_range = range;
            for kind in RequestKind::ALL {
                self.dispatch_to(peer_id, kind);
            }
        }
    }

    /// The session's RTT estimate moved.
    pub fn set_rtt(&mut self, peer_id: PeerId, rtt: Duration) {
        if let Some(p) = self.peers.get_mut(&peer_id) {
            p.caps.rtt = rtt;
        }
    }

    /// The session closed: its requests in flight go back to the front of the
    /// queue (or fail when no capable peer remains), and queued requests no
    /// remaining peer can serve fail.
    pub fn remove_peer(&mut self, peer_id: PeerId) {
        let Some(slot) = self.peers.remove(&peer_id) else {
            return;
        };
        for (n, busy) in self.idle.iter_mut().zip(&slot.in_flight) {
            if busy.is_none() {
                *n -= 1;
            }
        }
        for id in slot.in_flight.into_iter().flatten().rev() {
            let Some(entry) = self.requests.get_mut(&id) else {
                continue;
            };
            entry.peer = None;
            if entry.cancelled {
                self.requests.remove(&id);
                continue;
            }
            self.retry(id, true);
        }
        // Queued requests that only this peer could serve fail fast.
        let orphaned: Vec<RequestId> = self
            .high
            .iter()
            .chain(self.normal.iter())
            .copied()
            .filter(|id| {
                self.requests
                    .get(id)
                    .is_some_and(|e| !self.any_capable(&e.request))
            })
            .collect();
        for id in orphaned {
            self.unqueue(id);
            self.fail(id, FetchError::NoCapablePeer);
        }
    }

    // ---- requests ---------------------------------------------------------

    /// Routes a request: sent at once to the best idle capable peer, queued
    /// when every capable peer is busy, refused when none is connected.
    pub fn submit(
        &mut self,
        request: FetchRequest,
        priority: Priority,
    ) -> Result<RequestId, FetchError> {
        if !self.any_capable(&request) {
            return Err(FetchError::NoCapablePeer);
        }
        if self.requests.len() >= self.config.max_requests {
            return Err(FetchError::TooManyRequests);
        }
        let best = self.best_idle_peer(&request, &[]);
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests.insert(
            id,
            Entry {
                request,
                priority,
                peer: None,
                attempts: 0,
                cancelled: false,
                tried: Vec::new(),
            },
        );
        match best {
            Some(peer_id) => self.send(id, peer_id),
            None => self.enqueue(id, priority, false),
        }
        Ok(id)
    }

    /// Forgets a request. A queued one is dropped; one in flight keeps its
    /// peer busy until its answer or failure, which is then ignored.
    pub fn cancel(&mut self, request_id: RequestId) {
        let Some(entry) = self.requests.get_mut(&request_id) else {
            return;
        };
        if entry.peer.is_some() {
            entry.cancelled = true;
        } else {
            self.unqueue(request_id);
            self.requests.remove(&request_id);
        }
    }

    /// An answer arrived. The peer becomes idle for this kind; the answer is
    /// checked. [`ResponseVerdict::Valid`] completes the request (deliver the
    /// answer); a likely-bad verdict marks the peer, asks for a reputation
    /// change when a rule was broken, and retries the request (or fails it
    /// with [`FetchAction::Failed`]) — drop that answer.
    pub fn on_response(
        &mut self,
        request_id: RequestId,
        response: &FetchResponse,
    ) -> Result<ResponseVerdict, FetchError> {
        let entry = self
            .requests
            .get(&request_id)
            .ok_or(FetchError::UnknownRequest)?;
        let peer_id = entry.peer.ok_or(FetchError::UnknownRequest)?;
        let verdict = match (&entry.request, response) {
            (FetchRequest::Headers(req), FetchResponse::Headers(headers)) => {
                check_headers(req, headers)
            }
            (FetchRequest::Bodies { hashes, .. }, FetchResponse::Bodies { count })
            | (FetchRequest::Receipts { hashes, .. }, FetchResponse::Receipts { count }) => {
                check_count(hashes.len(), *count)
            }
            _ => ResponseVerdict::Invalid(ResponseError::WrongKind),
        };
        let kind = entry.request.kind();
        let cancelled = entry.cancelled;
        if let Some(slot) = self.peers.get_mut(&peer_id) {
            if slot.in_flight[kind.index()].take().is_some() {
                self.idle[kind.index()] += 1;
            }
            slot.record(verdict.is_likely_bad());
        }
        trace!(?request_id, %peer_id, ?verdict, "answer checked");
        if let ResponseVerdict::Invalid(_) = verdict {
            self.actions.push_back(FetchAction::Reputation {
                peer_id,
                change: ReputationChangeKind::BadMessage,
            });
        }
        if cancelled || verdict == ResponseVerdict::Valid {
            self.requests.remove(&request_id);
        } else if let Some(entry) = self.requests.get_mut(&request_id) {
            entry.peer = None;
            self.retry(request_id, false);
        }
        self.dispatch_to(peer_id, kind);
        Ok(verdict)
    }

    /// A request sent to a peer got no answer. A timeout marks the peer and
    /// costs reputation; either way the request is retried or fails.
    pub fn on_request_failed(
        &mut self,
        request_id: RequestId,
        failure: RequestFailure,
    ) -> Result<(), FetchError> {
        let entry = self
            .requests
            .get_mut(&request_id)
            .ok_or(FetchError::UnknownRequest)?;
        let peer_id = entry.peer.take().ok_or(FetchError::UnknownRequest)?;
        let kind = entry.request.kind();
        let cancelled = entry.cancelled;
        if let Some(slot) = self.peers.get_mut(&peer_id) {
            if slot.in_flight[kind.index()].take().is_some() {
                self.idle[kind.index()] += 1;
            }
            if failure == RequestFailure::Timeout {
                slot.record(true);
            }
        }
        if failure == RequestFailure::Timeout {
            self.actions.push_back(FetchAction::Reputation {
                peer_id,
                change: ReputationChangeKind::Timeout,
            });
        }
        if cancelled {
            self.requests.remove(&request_id);
        } else {
            self.retry(request_id, false);
        }
        self.dispatch_to(peer_id, kind);
        Ok(())
    }

    /// The caller found bad data in an answer this peer gave (something only
    /// a chain can check): the peer is marked and `change` is applied.
    pub fn report_bad_data(&mut self, peer_id: PeerId, change: ReputationChangeKind) {
        if let Some(slot) = self.peers.get_mut(&peer_id) {
            slot.record(true);
        }
        self.actions
            .push_back(FetchAction::Reputation { peer_id, change });
    }

    // ---- routing ----------------------------------------------------------

    fn any_capable(&self, request: &FetchRequest) -> bool {
        let required = request.required_range();
        self.peers.values().any(|p| p.can_serve(required))
    }

    /// Fewest recent bad answers, then lowest RTT, then lowest id; peers in
    /// `avoid` only when no other is idle.
    fn best_idle_peer(&self, request: &FetchRequest, avoid: &[PeerId]) -> Option<PeerId> {
        let kind = request.kind().index();
        debug_assert_eq!(
            self.idle[kind],
            self.peers
                .values()
                .filter(|p| p.in_flight[kind].is_none())
                .count(),
            "idle count out of step with the peers"
        );
        if self.idle[kind] == 0 {
            return None;
        }
        let required = request.required_range();
        self.peers
            .iter()
            .filter(|(_, p)| p.in_flight[kind].is_none() && p.can_serve(required))
            .min_by_key(|(id, p)| (avoid.contains(id), p.recent_bad(), p.caps.rtt))
            .map(|(id, _)| *id)
    }

    fn send(&mut self, request_id: RequestId, peer_id: PeerId) {
        let (Some(entry), Some(slot)) = (
            self.requests.get_mut(&request_id),
            self.peers.get_mut(&peer_id),
        ) else {
            return;
        };
        let kind = entry.request.kind();
        if slot.in_flight[kind.index()].replace(request_id).is_none() {
            self.idle[kind.index()] -= 1;
        }
        entry.peer = Some(peer_id);
        entry.attempts = entry.attempts.saturating_add(1);
        entry.tried.push(peer_id);
        self.actions.push_back(FetchAction::Send {
            request_id,
            peer_id,
            request: entry.request.clone(),
        });
    }

    /// Sends `request_id` again if attempts remain: to an idle capable peer
    /// (preferring untried ones), else back into the queue (at the front when
    /// `front`); fails it when no capable peer is connected.
    fn retry(&mut self, request_id: RequestId, front: bool) {
        let Some(entry) = self.requests.get(&request_id) else {
            return;
        };
        if entry.attempts >= self.config.max_attempts {
            self.fail(request_id, FetchError::AttemptsExhausted);
            return;
        }
        if !self.any_capable(&entry.request) {
            self.fail(request_id, FetchError::NoCapablePeer);
            return;
        }
        let priority = entry.priority;
        match self.best_idle_peer(&entry.request, &entry.tried) {
            Some(peer_id) => self.send(request_id, peer_id),
            // A retry holds its place among the tracked requests already.
            None => self.enqueue(request_id, priority, front),
        }
    }

    fn enqueue(&mut self, request_id: RequestId, priority: Priority, front: bool) {
        let queue = match priority {
            Priority::High => &mut self.high,
            Priority::Normal => &mut self.normal,
        };
        if front {
            queue.push_front(request_id);
        } else {
            queue.push_back(request_id);
        }
    }

    fn unqueue(&mut self, request_id: RequestId) {
        self.high.retain(|id| *id != request_id);
        self.normal.retain(|id| *id != request_id);
    }

    fn fail(&mut self, request_id: RequestId, error: FetchError) {
        self.requests.remove(&request_id);
        self.actions
            .push_back(FetchAction::Failed { request_id, error });
    }

    /// `peer_id` is idle for `kind`: give it the first queued request of that
    /// kind it can serve, high priority first. Every other idle capable peer
    /// would have taken a queued request already, so this peer is the best
    /// one for it.
    fn dispatch_to(&mut self, peer_id: PeerId, kind: RequestKind) {
        let Some(slot) = self.peers.get(&peer_id) else {
            return;
        };
        if slot.in_flight[kind.index()].is_some() {
            return;
        }
        let pick = |queue: &VecDeque<RequestId>| {
            queue.iter().position(|id| {
                self.requests.get(id).is_some_and(|e| {
                    e.request.kind() == kind && slot.can_serve(e.request.required_range())
                })
            })
        };
        let (queue, pos) = match pick(&self.high) {
            Some(pos) => (&mut self.high, pos),
            None => match pick(&self.normal) {
                Some(pos) => (&mut self.normal, pos),
                None => return,
            },
        };
        if let Some(id) = queue.remove(pos) {
            self.send(id, peer_id);
        }
    }
}
