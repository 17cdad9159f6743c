//! The request tracker of one session, sans-IO: request ids, exact deadlines,
//! the adaptive timeout and the protocol-breach rule.
//!
//! The tracker holds instants and whatever the caller attaches to a request
//! (the session attaches the caller's response channel); the session arms one
//! timer at [`RequestTracker::poll_timeout`] and calls
//! [`RequestTracker::handle_timeout`] when it fires, so every rule is tested on
//! synthetic time.

use crate::config::next_request_timeout;
use ethp2p_eth::{message::EthMessageId, snap::SnapMessageId};
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};
use tokio::time::Instant;

/// The timing rules of a [`RequestTracker`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestTimeouts {
    /// The timeout a session starts with; upper bound of the adaptive timeout.
    pub initial: Duration,
    /// Lower bound of the adaptive timeout.
    pub min: Duration,
    /// A request unanswered this long is a protocol breach.
    pub breach: Duration,
}

/// The response a request awaits: eth's and snap's requests share one
/// tracker, so one id space and one set of timing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseKind {
    /// An eth response.
    Eth(EthMessageId),
    /// A snap response.
    Snap(SnapMessageId),
}

impl From<EthMessageId> for ResponseKind {
    fn from(id: EthMessageId) -> Self {
        Self::Eth(id)
    }
}

impl From<SnapMessageId> for ResponseKind {
    fn from(id: SnapMessageId) -> Self {
        Self::Snap(id)
    }
}

#[derive(Debug)]
struct Inflight<T> {
    expected: Option<ResponseKind>,
    /// Taken when the caller is told the request timed out.
    waiter: Option<T>,
    sent: Instant,
    deadline: Instant,
}

/// What a response did to the request it names.
#[derive(Debug)]
pub(crate) enum ResponseOutcome<T> {
    /// The awaited response. `None` when the caller already timed out (a late
    /// answer is consumed without penalty).
    Matched(Option<T>),
    /// A response of the wrong type for the request with that id.
    WrongType(Option<T>),
    /// No request with that id is in flight.
    Unsolicited,
}

/// What passed at a deadline.
#[derive(Debug)]
pub(crate) struct Expired<T> {
    /// Callers to tell their request timed out (the requests stay tracked:
    /// a late answer is still accepted).
    pub timed_out: Vec<T>,
    /// A request has been unanswered past the breach timeout.
    pub breach: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Deadline,
    Breach,
}

/// Requests one session sent and awaits answers to.
#[derive(Debug)]
pub(crate) struct RequestTracker<T> {
    rules: RequestTimeouts,
    current: Duration,
    next_id: u64,
    inflight: BTreeMap<u64, Inflight<T>>,
    /// Every pending timer, ordered: the first is the next deadline.
    timers: BTreeSet<(Instant, u64, Timer)>,
}

impl<T> RequestTracker<T> {
    pub(crate) fn new(rules: RequestTimeouts) -> Self {
        Self {
            rules,
            current: rules.initial,
            next_id: 0,
            inflight: BTreeMap::new(),
            timers: BTreeSet::new(),
        }
    }

    /// The adaptive request timeout now in force.
    pub(crate) fn current_timeout(&self) -> Duration {
        self.current
    }

    pub(crate) fn len(&self) -> usize {
        self.inflight.len()
    }

    /// Tracks a new request sent at `now`; returns the id to put on it.
    pub(crate) fn start(&mut self, now: Instant, expected: Option<ResponseKind>, waiter: T) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let deadline = now + self.current;
        self.timers.insert((deadline, id, Timer::Deadline));
        self.timers
            .insert((now + self.rules.breach, id, Timer::Breach));
        self.inflight.insert(
            id,
            Inflight {
                expected,
                waiter: Some(waiter),
                sent: now,
                deadline,
            },
        );
        id
    }

    fn forget(&mut self, id: u64, req: &Inflight<T>) {
        self.timers.remove(&(req.deadline, id, Timer::Deadline));
        self.timers
            .remove(&(req.sent + self.rules.breach, id, Timer::Breach));
    }

    /// A response with request id `id` and message id `got` arrived at `now`.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        id: u64,
        got: ResponseKind,
    ) -> ResponseOutcome<T> {
        let Some(req) = self.inflight.remove(&id) else {
            return ResponseOutcome::Unsolicited;
        };
        self.forget(id, &req);
        if req.expected != Some(got) {
            return ResponseOutcome::WrongType(req.waiter);
        }
        self.current = next_request_timeout(
            self.current,
            now.saturating_duration_since(req.sent),
            self.rules.min,
            self.rules.initial,
        );
        ResponseOutcome::Matched(req.waiter)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|t| t.0)
    }

    /// Applies the deadlines that passed by `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Expired<T> {
        let mut out = Expired {
            timed_out: Vec::new(),
            breach: false,
        };
        while let Some(&(at, id, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Deadline => {
                    if let Some(w) = self.inflight.get_mut(&id).and_then(|r| r.waiter.take()) {
                        out.timed_out.push(w);
                    }
                }
                Timer::Breach => out.breach = true,
            }
        }
        out
    }

    /// Ends tracking; returns the callers still waiting.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> {
        self.timers.clear();
        std::mem::take(&mut self.inflight)
            .into_values()
            .filter_map(|r| r.waiter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: RequestTimeouts = RequestTimeouts {
        initial: Duration::from_secs(20),
        min: Duration::from_secs(2),
        breach: Duration::from_secs(120),
    };
    const HEADERS: ResponseKind = ResponseKind::Eth(EthMessageId::BlockHeaders);

    #[test]
    fn ids_increase_and_the_deadline_is_exact() {
        let t0 = Instant::now();
        let mut r = RequestTracker::new(RULES);
        assert_eq!(r.poll_timeout(), None);
        let a = r.start(t0, Some(HEADERS), 'a');
        let b = r.start(t0 + Duration::from_secs(1), Some(HEADERS), 'b');
        assert_eq!((a, b), (0, 1));
        assert_eq!(r.poll_timeout(), Some(t0 + RULES.initial));
        // One nanosecond early: nothing.
        let e = r.handle_timeout(t0 + RULES.initial - Duration::from_nanos(1));
        assert!(e.timed_out.is_empty() && !e.breach);
        let e = r.handle_timeout(t0 + RULES.initial);
        assert_eq!(e.timed_out, vec!['a']);
        assert_eq!(
            r.poll_timeout(),
            Some(t0 + Duration::from_secs(1) + RULES.initial)
        );
        assert_eq!(r.len(), 2, "a timed-out request stays tracked");
    }

    #[test]
    fn a_late_answer_is_consumed_and_an_unanswered_one_is_a_breach() {
        let t0 = Instant::now();
        let mut r = RequestTracker::new(RULES);
        let a = r.start(t0, Some(HEADERS), 'a');
        let _b = r.start(t0, Some(HEADERS), 'b');
        let _ = r.handle_timeout(t0 + RULES.initial);
        match r.on_response(t0 + Duration::from_secs(30), a, HEADERS) {
            ResponseOutcome::Matched(None) => {}
            other => panic!("late answer: {other:?}"),
        }
        let e = r.handle_timeout(t0 + RULES.breach - Duration::from_millis(1));
        assert!(!e.breach);
        let e = r.handle_timeout(t0 + RULES.breach);
        assert!(e.breach, "b was never answered");
    }

    #[test]
    fn wrong_type_and_unsolicited_answers() {
        let t0 = Instant::now();
        let mut r = RequestTracker::new(RULES);
        let a = r.start(t0, Some(HEADERS), 'a');
        assert!(matches!(
            r.on_response(t0, a + 7, HEADERS),
            ResponseOutcome::Unsolicited
        ));
        assert!(matches!(
            r.on_response(t0, a, EthMessageId::BlockBodies.into()),
            ResponseOutcome::WrongType(Some('a'))
        ));
        assert_eq!(r.len(), 0);
        assert_eq!(r.poll_timeout(), None, "its timers are gone too");
    }

    #[test]
    fn the_timeout_adapts_to_the_round_trip() {
        let t0 = Instant::now();
        let mut r = RequestTracker::new(RULES);
        let mut now = t0;
        for _ in 0..100 {
            let id = r.start(now, Some(HEADERS), ());
            now += Duration::from_millis(100);
            assert!(matches!(
                r.on_response(now, id, HEADERS),
                ResponseOutcome::Matched(Some(()))
            ));
        }
        assert_eq!(r.current_timeout(), RULES.min, "fast peer: the floor");
        let id = r.start(now, Some(HEADERS), ());
        assert_eq!(r.poll_timeout(), Some(now + RULES.min));
        let _ = r.on_response(now + Duration::from_secs(15), id, HEADERS);
        assert!(r.current_timeout() > RULES.min, "a slow answer raises it");
    }

    #[test]
    fn snap_and_eth_share_one_id_space_and_match_by_kind() {
        let t0 = Instant::now();
        let mut r = RequestTracker::new(RULES);
        let acc = ResponseKind::Snap(SnapMessageId::AccountRange);
        let e = r.start(t0, Some(HEADERS), 'e');
        let s = r.start(t0, Some(acc), 's');
        assert_eq!((e, s), (0, 1), "one counter for both protocols");
        // An eth response naming the snap request's id is the wrong type.
        assert!(matches!(
            r.on_response(t0, s, HEADERS),
            ResponseOutcome::WrongType(Some('s'))
        ));
        // A snap response of the same numeric id as an eth request is too.
        let bytecodes = ResponseKind::Snap(SnapMessageId::ByteCodes);
        assert!(matches!(
            r.on_response(t0, e, bytecodes),
            ResponseOutcome::WrongType(Some('e'))
        ));
        let s2 = r.start(t0, Some(acc), 's');
        assert_eq!(s2, 2);
        assert!(matches!(
            r.on_response(t0, s2, acc),
            ResponseOutcome::Matched(Some('s'))
        ));
        assert!(matches!(
            r.on_response(t0, s2, acc),
            ResponseOutcome::Unsolicited
        ));
    }
}
