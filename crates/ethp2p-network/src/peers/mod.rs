//! The peers manager: which peers we know, how much we trust them, whom to
//! dial, whom to admit, whom to ban and whom to rotate out.
//!
//! [`PeersManager`] is sans-IO. The network manager feeds it events (a
//! candidate from discovery, an inbound connection attempt, a session
//! established or closed, a reputation change, an admin command) with the
//! current time, drains [`PeerAction`]s with [`PeersManager::poll_action`]
//! and calls [`PeersManager::handle_timeout`] at
//! [`PeersManager::poll_timeout`]. It reads no clock and opens no socket;
//! its only randomness (rotation) comes from a seeded RNG.
//!
//! The rules and numbers are those of reference `network-layer.md` §1
//! (reth's peers manager, geth's dialer and dropper).

mod backoff;
mod config;
mod netrestrict;
mod reputation;
#[cfg(test)]
mod tests;

pub use backoff::{disconnect_backoff, io_backoff, BackoffDurations, BackoffKind, SessionFailure};
pub use config::{
    PeersConfig, RotationConfig, DEFAULT_BAN_DURATION, DEFAULT_LENIENT_BAN_DURATION,
    DEFAULT_MAX_BACKOFF_COUNT, DEFAULT_MAX_BANS, DEFAULT_MAX_CONCURRENT_DIALS, DEFAULT_MAX_PEERS,
    DEFAULT_MAX_TRACKED_PEERS, DEFAULT_REFILL_INTERVAL, DIAL_RATIO,
};
pub use netrestrict::{IpFilter, IpFilterParseError, IpNetwork, MAX_NETWORKS};
pub use reputation::{
    is_banned_reputation, ReputationChangeKind, BANNED_REPUTATION, DEFAULT_REPUTATION,
    MAX_TRUSTED_PEER_REPUTATION_CHANGE, REPUTATION_UNIT,
};

use ethp2p_eth::forkid::{ForkFilter, ForkId};
use ethp2p_rlpx::{NodeRecord, PeerId};
use ethp2p_wire::DisconnectReason;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    collections::{BTreeMap, VecDeque},
    net::{IpAddr, SocketAddr},
    time::Duration,
};
use tokio::time::Instant;
use tracing::{debug, trace};

/// How much we trust a peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKind {
    /// Found by discovery or connected to us: no privilege.
    #[default]
    Basic,
    /// Added by the operator (`admin_addPeer`): dialed first, lenient
    /// reputation, short bans, never rotated out, kept after many failures.
    Static,
    /// Added as trusted: everything a static peer has, plus admitted and
    /// dialed when the slots are full, never removed on fatal errors, and an
    /// admin ban is refused.
    Trusted,
}

impl PeerKind {
    /// Whether reputation and bans are lenient (static and trusted peers).
    pub const fn is_lenient(self) -> bool {
        matches!(self, Self::Static | Self::Trusted)
    }
}

/// Which side opened a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The remote dialed us.
    Inbound,
    /// We dialed the remote.
    Outbound,
}

/// Where a peer stands with us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerState {
    /// Not connected; a dial candidate.
    Idle,
    /// We asked for a dial that has not ended yet.
    PendingOutbound,
    /// Connected, in this direction.
    Connected(Direction),
    /// Connected in this direction, and we asked for a disconnect.
    Disconnecting(Direction),
}

impl PeerState {
    fn direction(self) -> Option<Direction> {
        match self {
            Self::Connected(d) | Self::Disconnecting(d) => Some(d),
            _ => None,
        }
    }

    /// Whether a session is established (or closing).
    pub const fn is_connected(self) -> bool {
        matches!(self, Self::Connected(_) | Self::Disconnecting(_))
    }
}

/// What discovery (discv4, discv5, DNS lists) reports to the peers manager.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CandidateEvent {
    /// A node was found, with the fork id of its record (EIP-868 `eth` entry)
    /// when it had one.
    NodeFound {
        /// Identity and address.
        record: NodeRecord,
        /// The fork id the record announces.
        fork_id: Option<ForkId>,
    },
}

/// Anything that yields discovery candidates: discv4, discv5, DNS lists, a
/// static list. The network manager implements it over each discovery
/// service (the trait lives here so discovery need not know this crate) and
/// hands it to [`PeersManager::drain_candidates`].
pub trait CandidateSource {
    /// The next candidate, or `None` when there is none right now.
    fn poll_candidate(&mut self) -> Option<CandidateEvent>;
}

impl CandidateSource for VecDeque<CandidateEvent> {
    fn poll_candidate(&mut self) -> Option<CandidateEvent> {
        self.pop_front()
    }
}

/// What the peers manager asks its driver to do, or tells its subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum PeerAction {
    /// Dial this peer (the dial counts against the concurrent-dial limit until
    /// [`PeersManager::on_session_established`] or
    /// [`PeersManager::on_dial_failed`]).
    Dial {
        /// Who.
        peer_id: PeerId,
        /// Where.
        addr: SocketAddr,
    },
    /// Disconnect this connected peer with this reason.
    Disconnect {
        /// Who.
        peer_id: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// Ban this peer id in discovery and the listener until `until`.
    BanPeer {
        /// Who.
        peer_id: PeerId,
        /// End of the ban.
        until: Instant,
    },
    /// Lift the ban of this peer id.
    UnbanPeer {
        /// Who.
        peer_id: PeerId,
    },
    /// Ban this IP in discovery and the listener until `until`.
    BanIp {
        /// Which address.
        ip: IpAddr,
        /// End of the ban.
        until: Instant,
    },
    /// Lift the ban of this IP.
    UnbanIp {
        /// Which address.
        ip: IpAddr,
    },
    /// Event: a peer entered the table.
    PeerAdded(PeerId),
    /// Event: a peer left the table.
    PeerRemoved(PeerId),
    /// Event: a peer was banned.
    PeerBanned(PeerId),
}

/// Why an inbound connection was refused before any byte was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboundRejected {
    /// The address is outside the netrestrict list.
    #[error("address not allowed by netrestrict")]
    IpFiltered,
    /// The address is banned.
    #[error("address banned")]
    IpBanned,
    /// Every inbound slot is taken and no trusted peer is missing.
    #[error("no inbound slot")]
    NoInboundSlot,
    /// Too many inbound connections are still authenticating.
    #[error("too many pending inbound connections")]
    PendingLimit,
}

/// Why an admin command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerCommandError {
    /// The address is outside the netrestrict list.
    #[error("address not allowed by netrestrict")]
    IpFiltered,
    /// Trusted peers cannot be banned by an admin.
    #[error("trusted peers cannot be banned")]
    TrustedPeer,
    /// The peer or its address is banned.
    #[error("peer banned")]
    Banned,
    /// The peer is not known.
    #[error("unknown peer")]
    UnknownPeer,
    /// The peer is already connected or being dialed.
    #[error("already connected or dialing")]
    AlreadyConnected,
}

/// A read-only view of one known peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownPeer {
    /// Address we dial (for inbound peers: the address they connected from,
    /// unless discovery or an admin gave a better one).
    pub addr: SocketAddr,
    /// Kind.
    pub kind: PeerKind,
    /// Reputation.
    pub reputation: i32,
    /// Connection state.
    pub state: PeerState,
    /// Fork id from its discovery record, if any.
    pub fork_id: Option<ForkId>,
    /// Severe back-off counter.
    pub severe_backoffs: u8,
    /// End of the current back-off, if any.
    pub backoff_until: Option<Instant>,
    /// When the current session was established.
    pub connected_since: Option<Instant>,
}

/// Established and pending connection counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Established outbound sessions (including those being disconnected).
    pub outbound: usize,
    /// Established inbound sessions (including those being disconnected).
    pub inbound: usize,
    /// Dials under way.
    pub pending_outbound: usize,
    /// Inbound connections authenticating.
    pub pending_inbound: usize,
}

#[derive(Clone, Debug)]
struct Peer {
    addr: SocketAddr,
    kind: PeerKind,
    reputation: i32,
    state: PeerState,
    fork_id: Option<ForkId>,
    severe_backoffs: u8,
    backoff_until: Option<Instant>,
    connected_since: Option<Instant>,
    /// Removed by an admin or a fatal error while connected: forget it once
    /// the session closes.
    remove_on_close: bool,
}

impl Peer {
    fn new(addr: SocketAddr, kind: PeerKind) -> Self {
        Self {
            addr,
            kind,
            reputation: DEFAULT_REPUTATION,
            state: PeerState::Idle,
            fork_id: None,
            severe_backoffs: 0,
            backoff_until: None,
            connected_since: None,
            remove_on_close: false,
        }
    }

    fn is_backed_off(&self, now: Instant) -> bool {
        self.backoff_until.is_some_and(|t| t > now)
    }

    fn view(&self) -> KnownPeer {
        KnownPeer {
            addr: self.addr,
            kind: self.kind,
            reputation: self.reputation,
            state: self.state,
            fork_id: self.fork_id,
            severe_backoffs: self.severe_backoffs,
            backoff_until: self.backoff_until,
            connected_since: self.connected_since,
        }
    }
}

/// Ranking of a dial candidate; higher is better. Also used, reversed, to
/// pick the idle peer to evict from a full table.
fn candidate_rank(peer: &Peer, now: Instant) -> (PeerKind, bool, i32, bool) {
    (
        peer.kind,
        !peer.is_backed_off(now),
        peer.reputation,
        peer.fork_id.is_some(),
    )
}

/// The sans-IO peers manager. See the [module documentation](self).
///
/// Maps are ordered (`BTreeMap`) so a run replays exactly from its seed.
#[derive(Debug)]
pub struct PeersManager {
    config: PeersConfig,
    peers: BTreeMap<PeerId, Peer>,
    banned_peers: BTreeMap<PeerId, Instant>,
    banned_ips: BTreeMap<IpAddr, Instant>,
    counts: ConnectionCounts,
    actions: VecDeque<PeerAction>,
    fork_filter: Option<ForkFilter>,
    rng: StdRng,
    next_tick: Instant,
    next_rotation: Option<Instant>,
    /// Reputation recovery has been applied up to here.
    recovered_until: Instant,
}

impl PeersManager {
    /// A manager with no known peer, its first tick one refill interval after
    /// `now`, and its rotation RNG seeded with `seed`.
    pub fn new(config: PeersConfig, now: Instant, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let next_rotation = config.rotation.map(|r| now + rotation_wait(&r, &mut rng));
        Self {
            next_tick: now + config.refill_interval,
            config,
            peers: BTreeMap::new(),
            banned_peers: BTreeMap::new(),
            banned_ips: BTreeMap::new(),
            counts: ConnectionCounts::default(),
            actions: VecDeque::new(),
            fork_filter: None,
            rng,
            next_rotation,
            recovered_until: now,
        }
    }

    /// Validates discovered fork ids with this filter from now on (`None`:
    /// accept every fork id). Update it when the local head crosses a fork.
    pub fn set_fork_filter(&mut self, filter: Option<ForkFilter>) {
        self.fork_filter = filter;
    }

    /// The fork filter, to move its head.
    pub fn fork_filter_mut(&mut self) -> Option<&mut ForkFilter> {
        self.fork_filter.as_mut()
    }

    /// The configuration.
    pub fn config(&self) -> &PeersConfig {
        &self.config
    }

    /// Replaces the netrestrict list. Connected peers are left alone; the new
    /// list applies to the next inbound connection, added peer and dial.
    pub fn set_ip_filter(&mut self, filter: IpFilter) {
        self.config.ip_filter = filter;
    }

    /// When the next peer rotation is due, if rotation is on.
    pub fn next_rotation(&self) -> Option<Instant> {
        self.next_rotation
    }

    // ---- outputs ----------------------------------------------------------

    /// The next action or event, in the order they were decided.
    pub fn poll_action(&mut self) -> Option<PeerAction> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Instant {
        match self.next_rotation {
            Some(r) => r.min(self.next_tick),
            None => self.next_tick,
        }
    }

    /// Runs what is due at `now`: the refill tick (reputation recovery, ban
    /// and back-off expiry, outbound slot refill) and peer rotation.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next_tick {
            self.tick(now);
            self.next_tick = now + self.config.refill_interval;
        }
        if let (Some(at), Some(rotation)) = (self.next_rotation, self.config.rotation) {
            if now >= at {
                self.rotate(now, &rotation);
                self.next_rotation = Some(now + rotation_wait(&rotation, &mut self.rng));
            }
        }
    }

    // ---- queries ----------------------------------------------------------

    /// One known peer.
    pub fn peer(&self, peer_id: &PeerId) -> Option<KnownPeer> {
        self.peers.get(peer_id).map(Peer::view)
    }

    /// Every known peer of this kind.
    pub fn peers_by_kind(&self, kind: PeerKind) -> impl Iterator<Item = (PeerId, KnownPeer)> + '_ {
        self.peers
            .iter()
            .filter(move |(_, p)| p.kind == kind && !p.remove_on_close)
            .map(|(id, p)| (*id, p.view()))
    }

    /// A peer's reputation.
    pub fn reputation(&self, peer_id: &PeerId) -> Option<i32> {
        self.peers.get(peer_id).map(|p| p.reputation)
    }

    /// Number of known peers (the candidate table).
    pub fn num_known_peers(&self) -> usize {
        self.peers.len()
    }

    /// Connection counts.
    pub fn counts(&self) -> ConnectionCounts {
        self.counts
    }

    /// Whether this peer id is banned at `now`.
    pub fn is_peer_banned(&self, peer_id: &PeerId, now: Instant) -> bool {
        self.banned_peers.get(peer_id).is_some_and(|t| *t > now)
    }

    /// Whether this IP is banned at `now`.
    pub fn is_ip_banned(&self, ip: &IpAddr, now: Instant) -> bool {
        self.banned_ips.get(ip).is_some_and(|t| *t > now)
    }

    // ---- discovery --------------------------------------------------------

    /// A candidate from discovery. A fork id is validated with the fork
    /// filter first: a failing one removes the node from the table (unless it
    /// is connected, static or trusted) instead of adding it.
    pub fn on_candidate(&mut self, event: CandidateEvent, now: Instant) {
        let CandidateEvent::NodeFound { record, fork_id } = event;
        let peer_id = record.id;
        let addr = record.tcp_addr();
        if !self.config.ip_filter.is_allowed(addr.ip()) {
            trace!(%peer_id, %addr, "candidate outside netrestrict");
            return;
        }
        if let (Some(fork_id), Some(filter)) = (fork_id, &self.fork_filter) {
            if let Err(error) = filter.validate(fork_id) {
                debug!(%peer_id, %error, "candidate on another fork");
                let removable = self
                    .peers
                    .get(&peer_id)
                    .is_some_and(|p| p.kind == PeerKind::Basic && p.state == PeerState::Idle);
                if removable {
                    self.peers.remove(&peer_id);
                    self.actions.push_back(PeerAction::PeerRemoved(peer_id));
                }
                return;
            }
        }
        if self.is_peer_banned(&peer_id, now) || self.is_ip_banned(&addr.ip(), now) {
            return;
        }
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            // Refresh what discovery knows; a connected peer keeps its address.
            if peer.state == PeerState::Idle {
                peer.addr = addr;
            }
            if fork_id.is_some() {
                peer.fork_id = fork_id;
            }
            return;
        }
        let mut peer = Peer::new(addr, PeerKind::Basic);
        peer.fork_id = fork_id;
        if self.peers.len() >= self.config.max_tracked_peers && !self.evict_worse_than(&peer, now) {
            trace!(%peer_id, "candidate table full");
            return;
        }
        self.peers.insert(peer_id, peer);
        self.actions.push_back(PeerAction::PeerAdded(peer_id));
    }

    /// Evicts the worst idle basic peers until at most `len` peers are known
    /// or none is left to evict (connected, dialed, static and trusted peers
    /// are never evicted, which is how the table can exceed its bound).
    fn trim(&mut self, len: usize, now: Instant) {
        while self.peers.len() > len {
            let worst = self
                .peers
                .iter()
                .filter(|(_, p)| p.kind == PeerKind::Basic && p.state == PeerState::Idle)
                .min_by_key(|(_, p)| candidate_rank(p, now))
                .map(|(id, _)| *id);
            let Some(id) = worst else {
                return;
            };
            self.peers.remove(&id);
            self.actions.push_back(PeerAction::PeerRemoved(id));
        }
    }

    /// Feeds up to `max` candidates from `source` (bounded so one busy source
    /// cannot starve the driver); returns how many were taken.
    pub fn drain_candidates(
        &mut self,
        source: &mut impl CandidateSource,
        max: usize,
        now: Instant,
    ) -> usize {
        let mut taken = 0;
        while taken < max {
            let Some(event) = source.poll_candidate() else {
                break;
            };
            self.on_candidate(event, now);
            taken += 1;
        }
        taken
    }

    /// Evicts the worst idle basic peer if it ranks below `new`.
    fn evict_worse_than(&mut self, new: &Peer, now: Instant) -> bool {
        let worst = self
            .peers
            .iter()
            .filter(|(_, p)| p.kind == PeerKind::Basic && p.state == PeerState::Idle)
            .min_by_key(|(_, p)| candidate_rank(p, now))
            .map(|(id, p)| (*id, candidate_rank(p, now)));
        match worst {
            Some((id, rank)) if rank < candidate_rank(new, now) => {
                self.peers.remove(&id);
                self.actions.push_back(PeerAction::PeerRemoved(id));
                true
            }
            _ => false,
        }
    }

    // ---- inbound ----------------------------------------------------------

    /// A TCP connection from `ip` arrived. In order: netrestrict, IP ban,
    /// inbound slot (full slots still admit when a trusted peer is missing:
    /// it may be that peer; the check is repeated once its id is known), then
    /// the pending-inbound cap. On `Ok` the connection counts as pending until
    /// [`on_session_established`](Self::on_session_established) or
    /// [`on_inbound_pending_closed`](Self::on_inbound_pending_closed).
    pub fn on_inbound_attempt(&mut self, ip: IpAddr, now: Instant) -> Result<(), InboundRejected> {
        if !self.config.ip_filter.is_allowed(ip) {
            return Err(InboundRejected::IpFiltered);
        }
        if self.is_ip_banned(&ip, now) {
            return Err(InboundRejected::IpBanned);
        }
        let full = self.counts.inbound >= self.config.max_inbound || self.config.trusted_only;
        if full && !self.missing_trusted_peer() {
            return Err(InboundRejected::NoInboundSlot);
        }
        if self.counts.pending_inbound >= self.config.max_pending_inbound {
            return Err(InboundRejected::PendingLimit);
        }
        self.counts.pending_inbound += 1;
        Ok(())
    }

    fn missing_trusted_peer(&self) -> bool {
        self.peers
            .values()
            .any(|p| p.kind == PeerKind::Trusted && !p.state.is_connected())
    }

    /// An admitted inbound connection ended before becoming a session. When
    /// the remote's id is known and the failure is fatal, that id is banned.
    pub fn on_inbound_pending_closed(
        &mut self,
        peer_id: Option<PeerId>,
        failure: Option<SessionFailure>,
        now: Instant,
    ) {
        self.counts.pending_inbound = self.counts.pending_inbound.saturating_sub(1);
        if let (Some(peer_id), Some(failure)) = (peer_id, failure) {
            if failure.is_fatal() {
                self.on_fatal(peer_id, now);
            }
        }
    }

    // ---- sessions ---------------------------------------------------------

    /// A session with `peer_id` completed its handshake. `addr` is the
    /// address to dial it at later (for inbound peers, the remote IP with the
    /// listen port from its Hello when known).
    ///
    /// The session manager guarantees one session per peer; a banned peer, or
    /// a non-trusted peer beyond its direction's slots, is disconnected.
    pub fn on_session_established(
        &mut self,
        peer_id: PeerId,
        addr: SocketAddr,
        direction: Direction,
        now: Instant,
    ) {
        // A dial under way is over either way: it became this session, or the
        // remote's own dial won and ours will fail as already connected (that
        // failure is then ignored, the peer being connected).
        if self.peers.get(&peer_id).map(|p| p.state) == Some(PeerState::PendingOutbound) {
            self.counts.pending_outbound -= 1;
        }
        match direction {
            Direction::Inbound => {
                self.counts.pending_inbound = self.counts.pending_inbound.saturating_sub(1);
                self.counts.inbound += 1;
            }
            Direction::Outbound => self.counts.outbound += 1,
        }
        if !self.peers.contains_key(&peer_id) {
            // Connected peers are always kept; make room if an idle basic
            // peer can go.
            self.trim(self.config.max_tracked_peers.saturating_sub(1), now);
            self.peers.insert(peer_id, Peer::new(addr, PeerKind::Basic));
            self.actions.push_back(PeerAction::PeerAdded(peer_id));
        }
        let banned = self.is_peer_banned(&peer_id, now) || self.is_ip_banned(&addr.ip(), now);
        let (max, used) = match direction {
            Direction::Inbound => (self.config.max_inbound, self.counts.inbound),
            Direction::Outbound => (self.config.max_outbound, self.counts.outbound),
        };
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        if direction == Direction::Inbound && peer.state == PeerState::Idle {
            peer.addr = addr;
        }
        peer.state = PeerState::Connected(direction);
        peer.connected_since = Some(now);
        let trusted = peer.kind == PeerKind::Trusted;
        let reason = if banned || peer.remove_on_close {
            Some(DisconnectReason::DisconnectRequested)
        } else if self.config.trusted_only && !trusted {
            Some(DisconnectReason::UselessPeer)
        } else if used > max && !trusted {
            Some(DisconnectReason::TooManyPeers)
        } else {
            None
        };
        if let Some(reason) = reason {
            debug!(%peer_id, %reason, ?direction, "refusing established session");
            peer.state = PeerState::Disconnecting(direction);
            self.actions
                .push_back(PeerAction::Disconnect { peer_id, reason });
        }
    }

    /// A dial we asked for ended without a session.
    pub fn on_dial_failed(
        &mut self,
        peer_id: PeerId,
        failure: Option<SessionFailure>,
        now: Instant,
    ) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        if peer.state != PeerState::PendingOutbound {
            return;
        }
        self.counts.pending_outbound -= 1;
        peer.state = PeerState::Idle;
        if peer.remove_on_close {
            self.peers.remove(&peer_id);
        } else {
            self.on_failure(peer_id, failure, ReputationChangeKind::FailedToConnect, now);
        }
        self.trim(self.config.max_tracked_peers, now);
        self.fill_outbound_slots(now);
    }

    /// An established session ended. `failure` is `None` for an orderly
    /// close (either side's Disconnect that is not an error): the severe
    /// counter resets and the peer waits the low back-off (30 s).
    pub fn on_session_closed(
        &mut self,
        peer_id: PeerId,
        failure: Option<SessionFailure>,
        now: Instant,
    ) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let Some(direction) = peer.state.direction() else {
            return;
        };
        match direction {
            Direction::Inbound => self.counts.inbound -= 1,
            Direction::Outbound => self.counts.outbound -= 1,
        }
        peer.state = PeerState::Idle;
        peer.connected_since = None;
        if peer.remove_on_close {
            self.peers.remove(&peer_id);
        } else {
            self.on_failure(peer_id, failure, ReputationChangeKind::Dropped, now);
        }
        self.trim(self.config.max_tracked_peers, now);
        self.fill_outbound_slots(now);
    }

    /// Back-off, ban or penalty after a failed dial or a closed session; the
    /// peer is idle already.
    fn on_failure(
        &mut self,
        peer_id: PeerId,
        failure: Option<SessionFailure>,
        no_class_penalty: ReputationChangeKind,
        now: Instant,
    ) {
        let lenient_cap = |severe: u8| {
            self.config
                .lenient_backoff
                .saturating_mul(1 + u32::from(severe))
                .min(self.config.backoff.max)
        };
        let Some(failure) = failure else {
            if let Some(peer) = self.peers.get_mut(&peer_id) {
                peer.severe_backoffs = 0;
                let mut wait = self.config.backoff.low;
                if peer.kind.is_lenient() {
                    wait = wait.min(lenient_cap(0));
                }
                peer.backoff_until = Some(now + wait);
            }
            return;
        };
        if failure.is_fatal() {
            self.on_fatal(peer_id, now);
            return;
        }
        let Some(kind) = failure.backoff_kind() else {
            self.apply_reputation_change(peer_id, no_class_penalty, now);
            return;
        };
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        if kind.is_severe() {
            peer.severe_backoffs = peer.severe_backoffs.saturating_add(1);
        }
        let mut until = self.config.backoff.until(kind, peer.severe_backoffs, now);
        if peer.kind.is_lenient() {
            // Operator-chosen peers come back sooner.
            until = until.min(now + lenient_cap(peer.severe_backoffs));
        }
        peer.backoff_until = Some(until);
        trace!(%peer_id, ?kind, ?failure, severe = peer.severe_backoffs, "backing off");
        if peer.kind == PeerKind::Basic && peer.severe_backoffs > self.config.max_backoff_count {
            debug!(%peer_id, "too many severe failures; forgetting the peer");
            self.remove_entry(peer_id);
        }
    }

    /// Fatal protocol error: ban, and forget unless trusted.
    fn on_fatal(&mut self, peer_id: PeerId, now: Instant) {
        self.ban_internal(peer_id, now);
        let keep = self
            .peers
            .get(&peer_id)
            .is_none_or(|p| p.kind == PeerKind::Trusted);
        if !keep {
            self.remove_entry(peer_id);
        }
    }

    /// Removes a peer: at once when idle, after its session otherwise (a
    /// connected peer is disconnected).
    fn remove_entry(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        if peer.remove_on_close {
            return;
        }
        match peer.state {
            PeerState::Idle => {
                self.peers.remove(&peer_id);
            }
            PeerState::PendingOutbound | PeerState::Disconnecting(_) => {
                peer.remove_on_close = true;
                peer.kind = PeerKind::Basic;
            }
            PeerState::Connected(d) => {
                peer.remove_on_close = true;
                peer.kind = PeerKind::Basic;
                peer.state = PeerState::Disconnecting(d);
                self.actions.push_back(PeerAction::Disconnect {
                    peer_id,
                    reason: DisconnectReason::DisconnectRequested,
                });
            }
        }
        self.actions.push_back(PeerAction::PeerRemoved(peer_id));
    }

    // ---- reputation -------------------------------------------------------

    /// Applies a reputation change. Falling below [`BANNED_REPUTATION`]
    /// disconnects and bans the peer; rising back above it lifts the ban.
    /// Trusted and static peers ignore some kinds and take at most
    /// [`MAX_TRUSTED_PEER_REPUTATION_CHANGE`] from the others.
    pub fn apply_reputation_change(
        &mut self,
        peer_id: PeerId,
        kind: ReputationChangeKind,
        now: Instant,
    ) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let before = peer.reputation;
        peer.reputation = before.saturating_add(kind.value_for(peer.kind.is_lenient()));
        let after = peer.reputation;
        trace!(%peer_id, ?kind, before, after, "reputation change");
        if !is_banned_reputation(before) && is_banned_reputation(after) {
            debug!(%peer_id, reputation = after, "reputation below the ban threshold");
            self.ban_internal(peer_id, now);
        } else if is_banned_reputation(before)
            && !is_banned_reputation(after)
            && self.banned_peers.remove(&peer_id).is_some()
        {
            self.actions.push_back(PeerAction::UnbanPeer { peer_id });
        }
    }

    /// Recovery: +1 per whole second for connected peers below zero.
    fn recover_reputation(&mut self, now: Instant) {
        let secs = now
            .saturating_duration_since(self.recovered_until)
            .as_secs();
        if secs == 0 {
            return;
        }
        self.recovered_until += Duration::from_secs(secs);
        let gain = i32::try_from(secs).unwrap_or(i32::MAX);
        let mut unbanned = Vec::new();
        for (id, peer) in &mut self.peers {
            if peer.state.is_connected() && peer.reputation < 0 {
                let before = peer.reputation;
                peer.reputation = before.saturating_add(gain).min(0);
                if is_banned_reputation(before) && !is_banned_reputation(peer.reputation) {
                    unbanned.push(*id);
                }
            }
        }
        for peer_id in unbanned {
            if self.banned_peers.remove(&peer_id).is_some() {
                self.actions.push_back(PeerAction::UnbanPeer { peer_id });
            }
        }
    }

    // ---- bans -------------------------------------------------------------

    /// Bans a peer id for the kind's ban duration and disconnects it.
    fn ban_internal(&mut self, peer_id: PeerId, now: Instant) {
        let (lenient, state) = match self.peers.get(&peer_id) {
            Some(p) => (p.kind.is_lenient(), Some(p.state)),
            None => (false, None),
        };
        let duration = if lenient {
            self.config.lenient_ban_duration
        } else {
            self.config.ban_duration
        };
        let until = now + duration;
        insert_bounded(&mut self.banned_peers, peer_id, until, self.config.max_bans);
        if let (Some(PeerState::Connected(d)), Some(peer)) = (state, self.peers.get_mut(&peer_id)) {
            peer.state = PeerState::Disconnecting(d);
            self.actions.push_back(PeerAction::Disconnect {
                peer_id,
                reason: DisconnectReason::DisconnectRequested,
            });
        }
        self.actions
            .push_back(PeerAction::BanPeer { peer_id, until });
        self.actions.push_back(PeerAction::PeerBanned(peer_id));
    }

    /// Admin ban of a peer id (12 h; a static peer 15 s), disconnecting it.
    /// A trusted peer cannot be banned this way.
    pub fn ban_peer(&mut self, peer_id: PeerId, now: Instant) -> Result<(), PeerCommandError> {
        if self
            .peers
            .get(&peer_id)
            .is_some_and(|p| p.kind == PeerKind::Trusted)
        {
            return Err(PeerCommandError::TrustedPeer);
        }
        self.ban_internal(peer_id, now);
        Ok(())
    }

    /// Lifts a peer id's ban.
    pub fn unban_peer(&mut self, peer_id: PeerId) {
        if self.banned_peers.remove(&peer_id).is_some() {
            self.actions.push_back(PeerAction::UnbanPeer { peer_id });
        }
    }

    /// Bans an IP for the ban duration: it is neither admitted nor dialed,
    /// and non-trusted peers connected from it are disconnected.
    pub fn ban_ip(&mut self, ip: IpAddr, now: Instant) {
        let until = now + self.config.ban_duration;
        insert_bounded(&mut self.banned_ips, ip, until, self.config.max_bans);
        self.actions.push_back(PeerAction::BanIp { ip, until });
        let connected: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.addr.ip() == ip
                    && p.kind != PeerKind::Trusted
                    && matches!(p.state, PeerState::Connected(_))
            })
            .map(|(id, _)| *id)
            .collect();
        for peer_id in connected {
            self.disconnect(peer_id, DisconnectReason::DisconnectRequested);
        }
    }

    /// Lifts an IP's ban.
    pub fn unban_ip(&mut self, ip: IpAddr) {
        if self.banned_ips.remove(&ip).is_some() {
            self.actions.push_back(PeerAction::UnbanIp { ip });
        }
    }

    // ---- admin ------------------------------------------------------------

    /// Adds a peer of `kind`, or raises an existing peer to `kind` (a kind is
    /// never lowered here; see [`remove_peer_kind`](Self::remove_peer_kind)).
    pub fn add_peer(
        &mut self,
        peer_id: PeerId,
        addr: SocketAddr,
        kind: PeerKind,
        now: Instant,
    ) -> Result<(), PeerCommandError> {
        if !self.config.ip_filter.is_allowed(addr.ip()) {
            return Err(PeerCommandError::IpFiltered);
        }
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            peer.kind = peer.kind.max(kind);
            if peer.state == PeerState::Idle {
                peer.addr = addr;
            }
            peer.remove_on_close = false;
            return Ok(());
        }
        if self.peers.len() >= self.config.max_tracked_peers {
            let _ = self.evict_worse_than(&Peer::new(addr, PeerKind::Trusted), now);
        }
        self.peers.insert(peer_id, Peer::new(addr, kind));
        self.actions.push_back(PeerAction::PeerAdded(peer_id));
        Ok(())
    }

    /// Removes a peer (disconnecting it if connected).
    pub fn remove_peer(&mut self, peer_id: PeerId) {
        self.remove_entry(peer_id);
    }

    /// Takes `kind` away from a peer: a static or trusted peer of that kind
    /// becomes basic and stays known.
    pub fn remove_peer_kind(&mut self, peer_id: PeerId, kind: PeerKind, now: Instant) {
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            if peer.kind == kind {
                peer.kind = PeerKind::Basic;
            }
        }
        self.trim(self.config.max_tracked_peers, now);
    }

    /// Dials a peer now (admin `connect`), whatever the slots. Unknown peers
    /// are added as basic.
    pub fn connect(
        &mut self,
        peer_id: PeerId,
        addr: SocketAddr,
        now: Instant,
    ) -> Result<(), PeerCommandError> {
        if !self.config.ip_filter.is_allowed(addr.ip()) {
            return Err(PeerCommandError::IpFiltered);
        }
        if self.is_peer_banned(&peer_id, now) || self.is_ip_banned(&addr.ip(), now) {
            return Err(PeerCommandError::Banned);
        }
        self.add_peer(peer_id, addr, PeerKind::Basic, now)?;
        let peer = self
            .peers
            .get_mut(&peer_id)
            .ok_or(PeerCommandError::UnknownPeer)?;
        if peer.state != PeerState::Idle {
            return Err(PeerCommandError::AlreadyConnected);
        }
        peer.addr = addr;
        peer.state = PeerState::PendingOutbound;
        self.counts.pending_outbound += 1;
        self.actions.push_back(PeerAction::Dial { peer_id, addr });
        Ok(())
    }

    /// Asks for a disconnect of a connected peer.
    pub fn disconnect(&mut self, peer_id: PeerId, reason: DisconnectReason) {
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            if let PeerState::Connected(d) = peer.state {
                peer.state = PeerState::Disconnecting(d);
                self.actions
                    .push_back(PeerAction::Disconnect { peer_id, reason });
            }
        }
    }

    // ---- timers -----------------------------------------------------------

    fn tick(&mut self, now: Instant) {
        self.recover_reputation(now);
        let expired: Vec<PeerId> = self
            .banned_peers
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(id, _)| *id)
            .collect();
        for peer_id in expired {
            self.banned_peers.remove(&peer_id);
            self.actions.push_back(PeerAction::UnbanPeer { peer_id });
        }
        let expired: Vec<IpAddr> = self
            .banned_ips
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in expired {
            self.banned_ips.remove(&ip);
            self.actions.push_back(PeerAction::UnbanIp { ip });
        }
        for peer in self.peers.values_mut() {
            if peer.backoff_until.is_some_and(|t| t <= now) {
                peer.backoff_until = None;
            }
        }
        self.fill_outbound_slots(now);
    }

    /// Dials the best candidates while a concurrent-dial slot and an outbound
    /// slot are free (trusted peers need only the dial slot).
    fn fill_outbound_slots(&mut self, now: Instant) {
        while self.counts.pending_outbound < self.config.max_concurrent_dials {
            let outbound_full = self.config.trusted_only
                || self.counts.outbound + self.counts.pending_outbound >= self.config.max_outbound;
            let Some(peer_id) = self.best_candidate(now, outbound_full) else {
                break;
            };
            let Some(peer) = self.peers.get_mut(&peer_id) else {
                break;
            };
            peer.state = PeerState::PendingOutbound;
            self.counts.pending_outbound += 1;
            self.actions.push_back(PeerAction::Dial {
                peer_id,
                addr: peer.addr,
            });
        }
    }

    /// The best idle peer that is neither backed off nor banned: trusted,
    /// then static, then the highest reputation, ties to a known fork id, then
    /// the lowest id.
    fn best_candidate(&self, now: Instant, trusted_only: bool) -> Option<PeerId> {
        let mut best: Option<(PeerId, (PeerKind, bool, i32, bool))> = None;
        for (id, peer) in &self.peers {
            if peer.state != PeerState::Idle
                || peer.remove_on_close
                || peer.is_backed_off(now)
                || (trusted_only && peer.kind != PeerKind::Trusted)
                || self.is_peer_banned(id, now)
                || self.is_ip_banned(&peer.addr.ip(), now)
                || !self.config.ip_filter.is_allowed(peer.addr.ip())
            {
                continue;
            }
            let rank = candidate_rank(peer, now);
            if best.as_ref().is_none_or(|(_, b)| rank > *b) {
                best = Some((*id, rank));
            }
        }
        best.map(|(id, _)| id)
    }

    /// Evicts one random basic peer connected for at least the minimum uptime,
    /// from a direction whose pool is full.
    fn rotate(&mut self, now: Instant, rotation: &RotationConfig) {
        let out_full = self.counts.outbound >= self.config.max_outbound;
        let in_full = self.counts.inbound >= self.config.max_inbound;
        if !out_full && !in_full {
            return;
        }
        let eligible: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                let full = match p.state {
                    PeerState::Connected(Direction::Outbound) => out_full,
                    PeerState::Connected(Direction::Inbound) => in_full,
                    _ => false,
                };
                full && p.kind == PeerKind::Basic
                    && p.connected_since
                        .is_some_and(|t| now.saturating_duration_since(t) >= rotation.min_uptime)
            })
            .map(|(id, _)| *id)
            .collect();
        if eligible.is_empty() {
            return;
        }
        let peer_id = eligible[self.rng.random_range(0..eligible.len())];
        debug!(%peer_id, "rotating out a peer");
        self.disconnect(peer_id, DisconnectReason::UselessPeer);
    }
}

fn rotation_wait(rotation: &RotationConfig, rng: &mut StdRng) -> Duration {
    let lo = rotation.min_interval.as_millis() as u64;
    let hi = (rotation.max_interval.as_millis() as u64).max(lo);
    Duration::from_millis(rng.random_range(lo..=hi))
}

/// Inserts a ban, dropping the one that ends first when the map is full.
fn insert_bounded<K: Ord + Copy>(
    map: &mut BTreeMap<K, Instant>,
    key: K,
    until: Instant,
    max: usize,
) {
    if !map.contains_key(&key) && map.len() >= max.max(1) {
        if let Some(first) = map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
            map.remove(&first);
        }
    }
    let entry = map.entry(key).or_insert(until);
    *entry = (*entry).max(until);
}
