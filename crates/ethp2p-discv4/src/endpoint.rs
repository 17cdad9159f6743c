//! Our endpoint as others see it, predicted from the `to` field of the Pongs
//! we receive (each Pong echoes the UDP source address our Ping came from).
//!
//! [`EndpointPredictor`] is sans-IO: fed statements with `now`, it keeps the
//! latest statement of each of the last [`PredictorConfig::max_reporters`]
//! distinct reporters, forgets statements older than
//! [`PredictorConfig::ttl`], and predicts the address a strict majority of
//! the kept statements name, once at least [`PredictorConfig::min_votes`]
//! reporters agree. One reporter counts once however often it answers, so
//! a single peer cannot move the prediction. Only Pongs are used: they
//! answer our own Pings (their hash is checked), while a Ping's `to` can be
//! sent by anyone.

use ethp2p_rlpx::PeerId;
use std::{collections::VecDeque, net::SocketAddr, time::Duration};
use tokio::time::Instant;

/// Tunables of the predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictorConfig {
    /// Distinct reporters remembered (the oldest is forgotten first).
    pub max_reporters: usize,
    /// Agreeing reporters needed for a prediction.
    pub min_votes: usize,
    /// Age after which a statement no longer counts.
    pub ttl: Duration,
}

impl Default for PredictorConfig {
    fn default() -> Self {
        // geth predicts from ≥ 10 statements within 5 minutes; a smaller
        // quorum of a 16-reporter window suits a node that only logs it.
        Self {
            max_reporters: 16,
            min_votes: 5,
            ttl: Duration::from_secs(300),
        }
    }
}

/// The majority of the last distinct reporters. See the module docs.
#[derive(Debug, Clone)]
pub struct EndpointPredictor {
    config: PredictorConfig,
    /// Oldest first; one entry per reporter.
    statements: VecDeque<(PeerId, SocketAddr, Instant)>,
    current: Option<SocketAddr>,
}

impl EndpointPredictor {
    /// An empty predictor (bounded by `config.max_reporters` entries).
    pub fn new(config: PredictorConfig) -> Self {
        Self {
            statements: VecDeque::with_capacity(config.max_reporters.min(64)),
            config,
            current: None,
        }
    }

    /// The current prediction.
    pub fn prediction(&self) -> Option<SocketAddr> {
        self.current
    }

    /// Statements currently counted.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether no statement is counted.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// `reporter` saw us at `seen_as`. Returns the new prediction when it
    /// changed (`Some(None)`: the previous prediction lost its majority).
    pub fn report(
        &mut self,
        now: Instant,
        reporter: PeerId,
        seen_as: SocketAddr,
    ) -> Option<Option<SocketAddr>> {
        if seen_as.ip().is_unspecified() || seen_as.port() == 0 || self.config.max_reporters == 0 {
            return None;
        }
        self.statements.retain(|(id, _, at)| {
            *id != reporter && now.saturating_duration_since(*at) < self.config.ttl
        });
        while self.statements.len() >= self.config.max_reporters {
            self.statements.pop_front();
        }
        self.statements.push_back((reporter, seen_as, now));
        let predicted = self.majority();
        (predicted != self.current).then(|| {
            self.current = predicted;
            predicted
        })
    }

    fn majority(&self) -> Option<SocketAddr> {
        // At most `max_reporters` entries: the quadratic count is small.
        let total = self.statements.len();
        self.statements.iter().find_map(|(_, addr, _)| {
            let votes = self.statements.iter().filter(|(_, a, _)| a == addr).count();
            (votes >= self.config.min_votes && votes * 2 > total).then_some(*addr)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> PeerId {
        PeerId::from([n; 64])
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn predictor(min_votes: usize, max_reporters: usize) -> EndpointPredictor {
        EndpointPredictor::new(PredictorConfig {
            max_reporters,
            min_votes,
            ttl: Duration::from_secs(300),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_majority_of_distinct_reporters_makes_the_prediction() {
        let mut p = predictor(3, 8);
        let now = Instant::now();
        let a = addr("203.0.113.7:30303");
        assert_eq!(p.report(now, id(1), a), None);
        assert_eq!(p.report(now, id(2), a), None);
        // The same reporter again does not count twice.
        assert_eq!(p.report(now, id(2), a), None);
        assert_eq!(p.len(), 2);
        assert_eq!(p.report(now, id(3), a), Some(Some(a)));
        assert_eq!(p.prediction(), Some(a));
        // Unchanged prediction: nothing reported.
        assert_eq!(p.report(now, id(4), a), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_split_vote_predicts_nothing_and_a_new_majority_takes_over() {
        let mut p = predictor(2, 4);
        let now = Instant::now();
        let (a, b) = (addr("203.0.113.7:30303"), addr("198.51.100.1:30303"));
        p.report(now, id(1), a);
        assert_eq!(p.report(now, id(2), a), Some(Some(a)));
        p.report(now, id(3), b);
        // 2 of 4 is no strict majority: the prediction is withdrawn.
        assert_eq!(p.report(now, id(4), b), Some(None));
        // The window holds 4 reporters: a fifth pushes out the oldest (a).
        assert_eq!(p.report(now, id(5), b), Some(Some(b)));
        assert_eq!(p.len(), 4);
        // A reporter changing its statement replaces the old one.
        p.report(now, id(3), a);
        p.report(now, id(4), a);
        assert_eq!(p.prediction(), Some(a), "a: 2,3,4 (of 2,3,4,5)");
    }

    #[tokio::test(start_paused = true)]
    async fn old_statements_expire_and_one_reporter_cannot_move_it() {
        let mut p = predictor(2, 16);
        let t0 = Instant::now();
        let (a, b) = (addr("203.0.113.7:30303"), addr("198.51.100.1:30303"));
        p.report(t0, id(1), a);
        p.report(t0, id(2), a);
        assert_eq!(p.prediction(), Some(a));
        for _ in 0..10 {
            p.report(t0, id(9), b);
        }
        assert_eq!(p.prediction(), Some(a));
        // Five minutes later the old statements are gone.
        let later = t0 + Duration::from_secs(301);
        assert_eq!(p.report(later, id(3), b), Some(None));
        assert_eq!(p.len(), 1);
        assert_eq!(p.report(later, id(4), b), Some(Some(b)));
        // Unspecified addresses and port 0 are ignored.
        assert_eq!(p.report(later, id(5), addr("0.0.0.0:1")), None);
        assert_eq!(p.report(later, id(5), addr("1.2.3.4:0")), None);
        assert_eq!(p.len(), 2);
    }
}
