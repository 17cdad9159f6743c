//! The slow-reader rule, sans-IO: a peer that leaves our writes queued must
//! take them at a minimum throughput, measured over a window.
//!
//! "Any byte written" is not progress enough: a peer that reads a few bytes
//! every couple of seconds would hold its queue (and our memory) forever.
//! While bytes are queued, [`WriteProgress`] opens a window; when it closes,
//! fewer than `min_bytes` written in it is a stall. An empty queue closes the
//! window.

use std::time::Duration;
use tokio::time::Instant;

/// The peer took our writes too slowly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stalled {
    /// Bytes it took during the window.
    pub written: u64,
}

/// Write throughput of one session while it has bytes queued.
#[derive(Debug, Clone)]
pub(crate) struct WriteProgress {
    window: Duration,
    min_bytes: u64,
    /// Start of the current window and the byte count then.
    open: Option<(Instant, u64)>,
}

impl WriteProgress {
    /// Requires `min_rate` bytes per second over each `window` with bytes queued.
    pub(crate) fn new(window: Duration, min_rate: u64) -> Self {
        let min_bytes = (min_rate as f64 * window.as_secs_f64()) as u64;
        Self {
            window,
            min_bytes,
            open: None,
        }
    }

    /// Records the queue after writing: `queued` bytes still waiting,
    /// `written` bytes written since the session began.
    pub(crate) fn update(&mut self, now: Instant, queued: usize, written: u64) {
        match (queued, self.open) {
            (0, _) => self.open = None,
            (_, None) => self.open = Some((now, written)),
            _ => {}
        }
    }

    /// The end of the open window, if any.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.open.map(|(start, _)| start + self.window)
    }

    /// Judges the window that ended by `now`; a window that passed opens the next.
    pub(crate) fn handle_timeout(&mut self, now: Instant, written: u64) -> Result<(), Stalled> {
        let Some((start, at_start)) = self.open else {
            return Ok(());
        };
        if now < start + self.window {
            return Ok(());
        }
        let took = written.saturating_sub(at_start);
        if took < self.min_bytes {
            return Err(Stalled { written: took });
        }
        self.open = Some((now, written));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(30);

    #[test]
    fn a_trickle_reader_is_a_stall_a_steady_one_is_not() {
        let t0 = Instant::now();
        // 2 KiB/s over 30 s: 61,440 bytes per window.
        let mut p = WriteProgress::new(W, 2048);
        p.update(t0, 1 << 20, 0);
        assert_eq!(p.poll_timeout(), Some(t0 + W));
        // It read 1 KiB every 2 s: 15 KiB in the window.
        assert_eq!(
            p.handle_timeout(t0 + W, 15 * 1024),
            Err(Stalled { written: 15 * 1024 })
        );
        let mut p = WriteProgress::new(W, 2048);
        p.update(t0, 1 << 20, 0);
        assert_eq!(p.handle_timeout(t0 + W, 100_000), Ok(()));
        assert_eq!(p.poll_timeout(), Some(t0 + 2 * W), "the next window opened");
        assert!(
            p.handle_timeout(t0 + 2 * W, 100_000).is_err(),
            "then it stopped"
        );
    }

    #[test]
    fn an_empty_queue_closes_the_window() {
        let t0 = Instant::now();
        let mut p = WriteProgress::new(W, 2048);
        p.update(t0, 10, 0);
        p.update(t0 + Duration::from_secs(1), 0, 10);
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.handle_timeout(t0 + W, 10), Ok(()));
        // Queued again later: a fresh window from then.
        p.update(t0 + W, 5, 10);
        assert_eq!(p.poll_timeout(), Some(t0 + 2 * W));
        // Early calls do not judge.
        assert_eq!(
            p.handle_timeout(t0 + W + Duration::from_secs(1), 10),
            Ok(())
        );
    }
}
