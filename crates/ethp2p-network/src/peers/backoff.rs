//! Back-off after a failed dial or a dropped session, and the classifier that
//! turns how a session ended into a back-off class (reference
//! `network-layer.md` §1.2, after reth's `BackoffKind` and
//! `SessionError::should_backoff` / `is_fatal_protocol_error`).

use ethp2p_wire::DisconnectReason;
use std::{io, time::Duration};
use tokio::time::Instant;

/// How bad a failure was, which sets how long a peer is left alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackoffKind {
    /// A transient condition: too many peers, a reset connection, a ping timeout.
    Low,
    /// A misbehaviour that may be a bug: bad RLP, unknown message id, an I/O error.
    Medium,
    /// The peer refused us or is of no use: connection refused, useless peer,
    /// protocol breach.
    High,
}

impl BackoffKind {
    /// Whether this kind counts towards the severe counter (medium and high do).
    pub const fn is_severe(self) -> bool {
        matches!(self, Self::Medium | Self::High)
    }
}

/// The back-off durations per class and their cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffDurations {
    /// Base for [`BackoffKind::Low`], also the wait after a graceful close (30 s).
    pub low: Duration,
    /// Base for [`BackoffKind::Medium`] (3 min).
    pub medium: Duration,
    /// Base for [`BackoffKind::High`] (15 min).
    pub high: Duration,
    /// No back-off lasts longer (1 h).
    pub max: Duration,
}

impl Default for BackoffDurations {
    fn default() -> Self {
        Self {
            low: Duration::from_secs(30),
            medium: Duration::from_secs(3 * 60),
            high: Duration::from_secs(15 * 60),
            max: Duration::from_secs(60 * 60),
        }
    }
}

impl BackoffDurations {
    /// The base duration of a class.
    pub const fn base(&self, kind: BackoffKind) -> Duration {
        match kind {
            BackoffKind::Low => self.low,
            BackoffKind::Medium => self.medium,
            BackoffKind::High => self.high,
        }
    }

    /// `base + base × severe_count`, capped at [`max`](Self::max).
    pub fn duration(&self, kind: BackoffKind, severe_count: u8) -> Duration {
        let base = self.base(kind);
        base.saturating_add(base.saturating_mul(u32::from(severe_count)))
            .min(self.max)
    }

    /// When a back-off of this class that starts at `now` ends.
    pub fn until(&self, kind: BackoffKind, severe_count: u8, now: Instant) -> Instant {
        now + self.duration(kind, severe_count)
    }
}

/// How a dial or a session failed, as the peers manager needs to know it.
///
/// The network manager maps the session layer's errors onto this small enum,
/// so the peers manager does not depend on the session crate. A session that
/// ended by an orderly local Disconnect is not a failure: report it as a
/// graceful close instead (`None` in
/// [`PeersManager::on_session_closed`](super::PeersManager::on_session_closed)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionFailure {
    /// The remote sent Disconnect with this reason (or we detected it as that
    /// reason during the handshake, e.g. no shared capability is `UselessPeer`).
    Disconnected(DisconnectReason),
    /// An I/O error: TCP connect or a later read or write.
    Io(io::ErrorKind),
    /// The ECIES handshake failed without proof of misbehaviour (truncated
    /// packet, early close).
    Ecies,
    /// An ECIES message failed its check: MAC/tag, auth, ack or frame header.
    EciesAuth,
    /// The Hello or Status exchange got no answer in time.
    HandshakeNoResponse,
    /// The whole pending session (TCP + ECIES + Hello + Status) timed out.
    PendingTimeout,
    /// Hello shared no capability.
    NoSharedCapabilities,
    /// Hello arrived after the handshake.
    HelloAfterHandshake,
    /// A message id no shared protocol defines.
    UnknownMessageId,
    /// A message failed to decode (RLP or snappy).
    Rlp,
    /// A message over the size limit.
    MessageTooBig,
    /// A Ping or Pong with a payload.
    BadPingPayload,
    /// Pings faster than allowed.
    TooManyPings,
    /// The p2p keepalive got no Pong.
    PingTimeout,
    /// A snap protocol error.
    Snap,
    /// The remote's Status carries an incompatible fork id.
    EthInvalidFork,
    /// Any other eth Status failure (network, genesis, version, malformed Status).
    EthHandshake,
    /// Anything else; it has no back-off class, so it costs reputation instead.
    Other,
}

/// The back-off class of a Disconnect reason.
pub const fn disconnect_backoff(reason: DisconnectReason) -> BackoffKind {
    use DisconnectReason::*;
    match reason {
        TooManyPeers | AlreadyConnected | PingTimeout | DisconnectRequested | TcpSubsystemError => {
            BackoffKind::Low
        }
        ProtocolBreach
        | UselessPeer
        | IncompatibleP2PProtocolVersion
        | NullNodeIdentity
        | ClientQuitting
        | UnexpectedHandshakeIdentity
        | ConnectedToSelf
        | SubprotocolSpecific => BackoffKind::High,
        // A code the spec does not define is malformed input.
        Unknown(_) => BackoffKind::Medium,
    }
}

/// The back-off class of an I/O error kind.
pub fn io_backoff(kind: io::ErrorKind) -> BackoffKind {
    match kind {
        io::ErrorKind::ConnectionRefused => BackoffKind::High,
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => BackoffKind::Low,
        _ => BackoffKind::Medium,
    }
}

impl SessionFailure {
    /// The back-off class, or `None` when the failure has none (then the
    /// caller's reputation change applies instead).
    pub fn backoff_kind(&self) -> Option<BackoffKind> {
        use BackoffKind::*;
        Some(match self {
            Self::Disconnected(reason) => disconnect_backoff(*reason),
            Self::Io(kind) => io_backoff(*kind),
            Self::Ecies | Self::EciesAuth | Self::HandshakeNoResponse | Self::PingTimeout => Low,
            Self::Rlp
            | Self::UnknownMessageId
            | Self::MessageTooBig
            | Self::BadPingPayload
            | Self::TooManyPings
            | Self::Snap
            | Self::EthInvalidFork
            | Self::PendingTimeout => Medium,
            Self::NoSharedCapabilities | Self::HelloAfterHandshake | Self::EthHandshake => High,
            Self::Other => return None,
        })
    }

    /// Whether this failure is a fatal protocol error: the peer is removed and
    /// banned (a trusted peer is kept, and banned briefly).
    pub fn is_fatal(&self) -> bool {
        use DisconnectReason::*;
        match self {
            Self::Disconnected(r) => {
                matches!(
                    r,
                    UselessPeer | IncompatibleP2PProtocolVersion | ProtocolBreach
                )
            }
            Self::NoSharedCapabilities
            | Self::HelloAfterHandshake
            | Self::UnknownMessageId
            | Self::EthHandshake
            | Self::EciesAuth => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_grow_with_the_severe_counter_and_cap_at_one_hour() {
        let d = BackoffDurations::default();
        assert_eq!(d.duration(BackoffKind::Low, 0), Duration::from_secs(30));
        assert_eq!(d.duration(BackoffKind::Medium, 0), Duration::from_secs(180));
        assert_eq!(d.duration(BackoffKind::Medium, 2), Duration::from_secs(540));
        assert_eq!(d.duration(BackoffKind::High, 0), Duration::from_secs(900));
        assert_eq!(d.duration(BackoffKind::High, 2), Duration::from_secs(2700));
        // 900 × 4 = 3600: the cap holds from here on.
        assert_eq!(d.duration(BackoffKind::High, 3), Duration::from_secs(3600));
        assert_eq!(
            d.duration(BackoffKind::High, 200),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn disconnect_reasons_follow_the_reference_lists() {
        use DisconnectReason::*;
        for r in [
            TooManyPeers,
            AlreadyConnected,
            PingTimeout,
            DisconnectRequested,
            TcpSubsystemError,
        ] {
            assert_eq!(disconnect_backoff(r), BackoffKind::Low, "{r}");
        }
        for r in [
            ProtocolBreach,
            UselessPeer,
            IncompatibleP2PProtocolVersion,
            NullNodeIdentity,
            ClientQuitting,
            UnexpectedHandshakeIdentity,
            ConnectedToSelf,
            SubprotocolSpecific,
        ] {
            assert_eq!(disconnect_backoff(r), BackoffKind::High, "{r}");
        }
        // Every defined reason is in one of the two lists above.
        assert_eq!(DisconnectReason::ALL.len(), 13);
        assert_eq!(disconnect_backoff(Unknown(0x42)), BackoffKind::Medium);
    }

    #[test]
    fn errors_follow_the_reference_lists() {
        use io::ErrorKind as K;
        use SessionFailure as F;
        assert_eq!(
            F::Io(K::ConnectionRefused).backoff_kind(),
            Some(BackoffKind::High)
        );
        assert_eq!(
            F::Io(K::ConnectionReset).backoff_kind(),
            Some(BackoffKind::Low)
        );
        assert_eq!(F::Io(K::BrokenPipe).backoff_kind(), Some(BackoffKind::Low));
        assert_eq!(F::Io(K::TimedOut).backoff_kind(), Some(BackoffKind::Medium));
        for f in [
            F::Ecies,
            F::EciesAuth,
            F::HandshakeNoResponse,
            F::PingTimeout,
        ] {
            assert_eq!(f.backoff_kind(), Some(BackoffKind::Low), "{f:?}");
        }
        for f in [
            F::Rlp,
            F::UnknownMessageId,
            F::MessageTooBig,
            F::BadPingPayload,
            F::TooManyPings,
            F::Snap,
            F::EthInvalidFork,
            F::PendingTimeout,
        ] {
            assert_eq!(f.backoff_kind(), Some(BackoffKind::Medium), "{f:?}");
        }
        assert_eq!(F::Other.backoff_kind(), None);
    }

    #[test]
    fn fatal_errors_follow_the_reference_list() {
        use DisconnectReason::*;
        use SessionFailure as F;
        for f in [
            F::NoSharedCapabilities,
            F::HelloAfterHandshake,
            F::UnknownMessageId,
            F::Disconnected(UselessPeer),
            F::Disconnected(IncompatibleP2PProtocolVersion),
            F::Disconnected(ProtocolBreach),
            F::EthHandshake,
            F::EciesAuth,
        ] {
            assert!(f.is_fatal(), "{f:?}");
        }
        for f in [
            F::Disconnected(TooManyPeers),
            F::Disconnected(ClientQuitting),
            F::EthInvalidFork,
            F::HandshakeNoResponse,
            F::Ecies,
            F::Io(io::ErrorKind::ConnectionRefused),
            F::Rlp,
            F::Other,
        ] {
            assert!(!f.is_fatal(), "{f:?}");
        }
    }
}
