//! Reputation: a signed score per peer, lowered by misbehaviour and slowly
//! recovered while connected. Values follow reth's `network-types` peers
//! reputation (reference `network-layer.md` §1.1).

/// One reputation unit.
pub const REPUTATION_UNIT: i32 = -1024;
/// The reputation of a peer we know nothing bad about.
pub const DEFAULT_REPUTATION: i32 = 0;
/// A peer whose reputation drops below this is disconnected and banned
/// (50 units).
pub const BANNED_REPUTATION: i32 = 50 * REPUTATION_UNIT;
/// The largest penalty a trusted or static peer takes from one change (two units).
pub const MAX_TRUSTED_PEER_REPUTATION_CHANGE: i32 = 2 * REPUTATION_UNIT;

/// What a peer did that changes its reputation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReputationChangeKind {
    /// A message that failed to decode or broke the protocol's rules.
    BadMessage,
    /// An invalid block.
    BadBlock,
    /// Invalid transactions.
    BadTransactions,
    /// An invalid transaction announcement.
    BadAnnouncement,
    /// A transaction this peer already sent us.
    AlreadySeenTransaction,
    /// A request not answered in time.
    Timeout,
    /// The remote dropped the session.
    Dropped,
    /// A dial failed for a reason with no back-off class.
    FailedToConnect,
    /// A protocol breach: an instant ban for a basic peer.
    BadProtocol,
    /// Any other change, positive or negative, of this many points.
    Other(i32),
}

impl ReputationChangeKind {
    /// The points this change adds (negative for a penalty).
    pub const fn value(self) -> i32 {
        match self {
            Self::BadMessage | Self::BadBlock | Self::BadTransactions => 16 * REPUTATION_UNIT,
            Self::BadAnnouncement => REPUTATION_UNIT,
            Self::AlreadySeenTransaction => 0,
            Self::Timeout | Self::Dropped => 4 * REPUTATION_UNIT,
            Self::FailedToConnect => 25 * REPUTATION_UNIT,
            Self::BadProtocol => i32::MIN,
            Self::Other(v) => v,
        }
    }

    /// Whether trusted and static peers ignore this change entirely.
    pub const fn ignored_by_trusted(self) -> bool {
        matches!(
            self,
            Self::Dropped | Self::BadAnnouncement | Self::Timeout | Self::AlreadySeenTransaction
        )
    }

    /// The points this change adds to a peer of the given leniency: trusted and
    /// static peers ignore some kinds and take at most
    /// [`MAX_TRUSTED_PEER_REPUTATION_CHANGE`] from the others.
    pub const fn value_for(self, lenient: bool) -> i32 {
        let v = self.value();
        if !lenient {
            return v;
        }
        if self.ignored_by_trusted() {
            return 0;
        }
        if v < MAX_TRUSTED_PEER_REPUTATION_CHANGE {
            MAX_TRUSTED_PEER_REPUTATION_CHANGE
        } else {
            v
        }
    }
}

/// Whether a reputation is low enough to ban.
pub const fn is_banned_reputation(reputation: i32) -> bool {
    reputation < BANNED_REPUTATION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_reference() {
        use ReputationChangeKind::*;
        assert_eq!(BANNED_REPUTATION, -51_200);
        assert_eq!(BadMessage.value(), -16_384);
        assert_eq!(BadBlock.value(), -16_384);
        assert_eq!(BadTransactions.value(), -16_384);
        assert_eq!(Timeout.value(), -4_096);
        assert_eq!(Dropped.value(), -4_096);
        assert_eq!(FailedToConnect.value(), -25_600);
        assert_eq!(BadAnnouncement.value(), -1_024);
        assert_eq!(AlreadySeenTransaction.value(), 0);
        assert_eq!(BadProtocol.value(), i32::MIN);
        assert_eq!(Other(7).value(), 7);
    }

    #[test]
    fn lenient_peers_ignore_some_kinds_and_cap_the_rest() {
        use ReputationChangeKind::*;
        for k in [Dropped, BadAnnouncement, Timeout, AlreadySeenTransaction] {
            assert_eq!(k.value_for(true), 0, "{k:?}");
            assert!(k.value_for(false) <= 0);
        }
        for k in [
            BadMessage,
            BadBlock,
            BadTransactions,
            FailedToConnect,
            BadProtocol,
        ] {
            assert_eq!(k.value_for(true), -2_048, "{k:?}");
            assert!(k.value_for(false) < -2_048, "{k:?}");
        }
        assert_eq!(Other(-100).value_for(true), -100);
        assert_eq!(Other(500).value_for(true), 500);
    }

    #[test]
    fn ban_threshold_is_strict() {
        assert!(!is_banned_reputation(BANNED_REPUTATION));
        assert!(is_banned_reputation(BANNED_REPUTATION - 1));
    }
}
