//! Session counts per state and direction, checked against the limits.

use crate::{config::SessionLimits, error::ExceedsSessionLimit, handle::Direction};

/// A snapshot of the counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Inbound sessions authenticating.
    pub pending_inbound: u32,
    /// Outbound sessions authenticating.
    pub pending_outbound: u32,
    /// Established inbound sessions.
    pub active_inbound: u32,
    /// Established outbound sessions.
    pub active_outbound: u32,
}

/// Counts sessions and enforces [`SessionLimits`]. Every `inc_*` has exactly
/// one matching `dec_*` in the manager, whatever way the session ends.
#[derive(Debug, Clone)]
pub struct SessionCounter {
    limits: SessionLimits,
    counts: SessionCounts,
}

fn check(current: u32, limit: Option<u32>) -> Result<(), ExceedsSessionLimit> {
    match limit {
        Some(l) if current >= l => Err(ExceedsSessionLimit(l)),
        _ => Ok(()),
    }
}

impl SessionCounter {
    /// A counter with all counts at zero.
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            counts: SessionCounts::default(),
        }
    }

    /// The current counts.
    pub fn counts(&self) -> SessionCounts {
        self.counts
    }

    /// The limits in force.
    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    /// Ok if one more pending session in `dir` is allowed.
    pub fn ensure_pending(&self, dir: Direction) -> Result<(), ExceedsSessionLimit> {
        match dir {
            Direction::Incoming => {
                check(self.counts.pending_inbound, self.limits.max_pending_inbound)
            }
            Direction::Outgoing => check(
                self.counts.pending_outbound,
                self.limits.max_pending_outbound,
            ),
        }
    }

    /// Ok if one more established session in `dir` is allowed.
    pub fn ensure_established(&self, dir: Direction) -> Result<(), ExceedsSessionLimit> {
        match dir {
            Direction::Incoming => check(
                self.counts.active_inbound,
                self.limits.max_established_inbound,
            ),
            Direction::Outgoing => check(
                self.counts.active_outbound,
                self.limits.max_established_outbound,
            ),
        }
    }

    fn pending_mut(&mut self, dir: Direction) -> &mut u32 {
        match dir {
            Direction::Incoming => &mut self.counts.pending_inbound,
            Direction::Outgoing => &mut self.counts.pending_outbound,
        }
    }

    fn active_mut(&mut self, dir: Direction) -> &mut u32 {
        match dir {
            Direction::Incoming => &mut self.counts.active_inbound,
            Direction::Outgoing => &mut self.counts.active_outbound,
        }
    }

    pub(crate) fn inc_pending(&mut self, dir: Direction) {
        *self.pending_mut(dir) += 1;
    }

    pub(crate) fn dec_pending(&mut self, dir: Direction) {
        let c = self.pending_mut(dir);
        debug_assert!(*c > 0, "pending counter underflow");
        *c = c.saturating_sub(1);
    }

    pub(crate) fn inc_active(&mut self, dir: Direction) {
        *self.active_mut(dir) += 1;
    }

    pub(crate) fn dec_active(&mut self, dir: Direction) {
        let c = self.active_mut(dir);
        debug_assert!(*c > 0, "active counter underflow");
        *c = c.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_release() {
        let mut c = SessionCounter::new(SessionLimits {
            max_pending_inbound: Some(2),
            ..Default::default()
        });
        assert!(c.ensure_pending(Direction::Incoming).is_ok());
        c.inc_pending(Direction::Incoming);
        c.inc_pending(Direction::Incoming);
        assert_eq!(
            c.ensure_pending(Direction::Incoming),
            Err(ExceedsSessionLimit(2))
        );
        assert!(c.ensure_pending(Direction::Outgoing).is_ok());
        c.dec_pending(Direction::Incoming);
        assert!(c.ensure_pending(Direction::Incoming).is_ok());
    }
}
