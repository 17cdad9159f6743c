//! Configuration of the peers manager, with defaults from geth and reth
//! (reference `network-layer.md` §1.2–1.3).

use super::{backoff::BackoffDurations, netrestrict::IpFilter};
use std::time::Duration;

/// geth's default `MaxPeers`.
pub const DEFAULT_MAX_PEERS: usize = 50;
/// geth's `DialRatio`: one peer in this many is dialed by us.
pub const DIAL_RATIO: usize = 3;
/// reth's `max_concurrent_outbound_dials`.
pub const DEFAULT_MAX_CONCURRENT_DIALS: usize = 30;
/// How often outbound slots are refilled, bans and back-offs expire and
/// reputation recovers.
pub const DEFAULT_REFILL_INTERVAL: Duration = Duration::from_secs(5);
/// How long a basic peer or an IP stays banned.
pub const DEFAULT_BAN_DURATION: Duration = Duration::from_secs(12 * 60 * 60);
/// How long a trusted or static peer stays banned.
pub const DEFAULT_LENIENT_BAN_DURATION: Duration = Duration::from_secs(15);
/// A basic peer whose severe back-off counter exceeds this is forgotten.
pub const DEFAULT_MAX_BACKOFF_COUNT: u8 = 5;
/// Candidates (known peers) kept at most by default.
pub const DEFAULT_MAX_TRACKED_PEERS: usize = 4096;
/// Banned peer ids, and separately banned IPs, kept at most by default.
pub const DEFAULT_MAX_BANS: usize = 65_536;

/// Peer rotation when a pool is full (geth `eth/dropper.go`, reth's peer rotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationConfig {
    /// Shortest wait between two rotations (3 min).
    pub min_interval: Duration,
    /// Longest wait between two rotations (7 min); each wait is drawn uniformly
    /// from `min_interval..=max_interval`.
    pub max_interval: Duration,
    /// Only peers connected at least this long are evicted (10 min).
    pub min_uptime: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(3 * 60),
            max_interval: Duration::from_secs(7 * 60),
            min_uptime: Duration::from_secs(10 * 60),
        }
    }
}

/// Everything the [`PeersManager`](super::PeersManager) can be tuned with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeersConfig {
    /// Established outbound sessions at most (trusted peers are dialed beyond it).
    pub max_outbound: usize,
    /// Established inbound sessions at most (trusted peers are admitted beyond it).
    pub max_inbound: usize,
    /// Dials under way at most.
    pub max_concurrent_dials: usize,
    /// Inbound connections still authenticating at most.
    pub max_pending_inbound: usize,
    /// How often slots are refilled and expiries checked.
    pub refill_interval: Duration,
    /// Ban of a basic peer or an IP.
    pub ban_duration: Duration,
    /// Ban of a trusted or static peer.
    pub lenient_ban_duration: Duration,
    /// Back-off durations.
    pub backoff: BackoffDurations,
    /// Static and trusted peers back off at most this long times one plus
    /// their severe-failure count (capped by `backoff.max`): an operator's
    /// peer that restarts is redialed soon. Default 5 s.
    pub lenient_backoff: Duration,
    /// A basic peer whose severe back-off counter exceeds this is removed.
    pub max_backoff_count: u8,
    /// Peer rotation; `None` disables it.
    pub rotation: Option<RotationConfig>,
    /// Known peers kept at most. Discovered candidates beyond it replace the
    /// worst idle basic peer or are dropped; admin-added and connected peers
    /// are always admitted (they are bounded by the caller and by the slots),
    /// and idle basic peers are evicted again once sessions close.
    pub max_tracked_peers: usize,
    /// Banned peer ids kept at most, and the same for banned IPs; the ban that
    /// would end first is dropped when full.
    pub max_bans: usize,
    /// Netrestrict: applied to inbound connections, added peers and dials.
    pub ip_filter: IpFilter,
    /// Trusted-only mode: only trusted peers are dialed and kept; inbound
    /// connections are admitted only while a trusted peer is disconnected
    /// (it may be that peer), and any other peer is disconnected once its id
    /// is known.
    pub trusted_only: bool,
}

impl PeersConfig {
    /// geth's split of `max_peers`: a third (rounded down) dialed by us, the
    /// rest inbound.
    pub fn with_max_peers(mut self, max_peers: usize) -> Self {
        self.max_outbound = max_peers / DIAL_RATIO;
        self.max_inbound = max_peers - self.max_outbound;
        self
    }
}

impl Default for PeersConfig {
    fn default() -> Self {
        let outbound = DEFAULT_MAX_PEERS / DIAL_RATIO;
        Self {
            max_outbound: outbound,
            max_inbound: DEFAULT_MAX_PEERS - outbound,
            max_concurrent_dials: DEFAULT_MAX_CONCURRENT_DIALS,
            max_pending_inbound: DEFAULT_MAX_CONCURRENT_DIALS,
            refill_interval: DEFAULT_REFILL_INTERVAL,
            ban_duration: DEFAULT_BAN_DURATION,
            lenient_ban_duration: DEFAULT_LENIENT_BAN_DURATION,
            backoff: BackoffDurations::default(),
            lenient_backoff: Duration::from_secs(5),
            max_backoff_count: DEFAULT_MAX_BACKOFF_COUNT,
            rotation: Some(RotationConfig::default()),
            max_tracked_peers: DEFAULT_MAX_TRACKED_PEERS,
            max_bans: DEFAULT_MAX_BANS,
            ip_filter: IpFilter::allow_all(),
            trusted_only: false,
        }
    }
}
