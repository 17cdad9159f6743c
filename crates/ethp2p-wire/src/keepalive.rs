//! The p2p keepalive rule as a sans-IO state machine.
//!
//! Keepalive is driven by silence, not by the clock alone: any frame from the
//! peer proves it alive, so a Ping goes out only after `interval` with nothing
//! received, and a Pong must follow within `timeout`. [`Keepalive`] holds only
//! instants; the caller feeds it `now` and arms one timer at
//! [`Keepalive::poll_timeout`], so the rule is tested on synthetic time.

use std::time::Duration;
use tokio::time::Instant;

/// What the keepalive asks for when its deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum KeepaliveAction {
    /// Nothing to do yet (the peer spoke since the timer was armed).
    None,
    /// Send a Ping now.
    SendPing,
    /// No Pong within the timeout: disconnect with PingTimeout.
    TimedOut,
}

/// Silence-driven Ping/Pong bookkeeping for one session.
#[derive(Debug, Clone)]
pub struct Keepalive {
    interval: Duration,
    timeout: Duration,
    last_rx: Instant,
    ping_sent: Option<Instant>,
}

impl Keepalive {
    /// A keepalive that last heard from the peer at `now`.
    pub fn new(now: Instant, interval: Duration, timeout: Duration) -> Self {
        Self {
            interval,
            timeout,
            last_rx: now,
            ping_sent: None,
        }
    }

    /// Any frame arrived from the peer.
    pub fn on_frame(&mut self, now: Instant) {
        self.last_rx = now;
    }

    /// A Pong arrived (it also counts as a frame).
    pub fn on_pong(&mut self, now: Instant) {
        self.last_rx = now;
        self.ping_sent = None;
    }

    /// Whether a Ping is out and its Pong not yet back.
    pub fn awaiting_pong(&self) -> bool {
        self.ping_sent.is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Instant {
        match self.ping_sent {
            Some(sent) => sent + self.timeout,
            None => self.last_rx + self.interval,
        }
    }

    /// Applies the rule at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> KeepaliveAction {
        match self.ping_sent {
            Some(sent) if now >= sent + self.timeout => KeepaliveAction::TimedOut,
            Some(_) => KeepaliveAction::None,
            None if now >= self.last_rx + self.interval => {
                self.ping_sent = Some(now);
                KeepaliveAction::SendPing
            }
            None => KeepaliveAction::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_secs(60);
    const T: Duration = Duration::from_secs(20);

    #[test]
    fn pings_only_after_a_silent_interval() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, I, T);
        assert_eq!(k.poll_timeout(), t0 + I);
        // The peer spoke at 30 s: the deadline moves, nothing is sent at 60 s.
        k.on_frame(t0 + Duration::from_secs(30));
        assert_eq!(k.handle_timeout(t0 + I), KeepaliveAction::None);
        assert_eq!(k.poll_timeout(), t0 + Duration::from_secs(90));
        assert_eq!(
            k.handle_timeout(t0 + Duration::from_secs(90)),
            KeepaliveAction::SendPing
        );
        assert!(k.awaiting_pong());
        assert_eq!(k.poll_timeout(), t0 + Duration::from_secs(110));
    }

    #[test]
    fn missing_pong_times_out_and_a_pong_rearms() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, I, T);
        assert_eq!(k.handle_timeout(t0 + I), KeepaliveAction::SendPing);
        // Other frames do not stand in for the Pong.
        k.on_frame(t0 + I + Duration::from_secs(5));
        assert_eq!(
            k.handle_timeout(t0 + I + Duration::from_secs(19)),
            KeepaliveAction::None
        );
        assert_eq!(k.handle_timeout(t0 + I + T), KeepaliveAction::TimedOut);

        let mut k = Keepalive::new(t0, I, T);
        assert_eq!(k.handle_timeout(t0 + I), KeepaliveAction::SendPing);
        k.on_pong(t0 + I + Duration::from_secs(1));
        assert!(!k.awaiting_pong());
        assert_eq!(k.poll_timeout(), t0 + 2 * I + Duration::from_secs(1));
        assert_eq!(k.handle_timeout(t0 + I + T), KeepaliveAction::None);
    }
}
