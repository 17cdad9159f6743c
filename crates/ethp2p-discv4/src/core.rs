//! The sans-IO discv4 engine.
//!
//! [`Discv4`] owns the table, the endpoint proofs, the pending requests and
//! the lookups. It never touches a socket or a clock: feed it datagrams with
//! [`Discv4::handle_packet`] and the time with [`Discv4::handle_timeout`], then
//! drain [`Discv4::poll_transmit`] (datagrams to send) and
//! [`Discv4::poll_event`], and wake it again at [`Discv4::poll_timeout`].
//!
//! Rules it enforces (each has a test in `core/tests.rs`):
//!
//! - Every Ping is answered with a Pong sent to the packet's UDP source, its
//!   `to` echoing that address; a sender without a fresh endpoint proof is
//!   pinged back, and enters the table once it answers.
//! - Endpoint proofs are kept per (node id, IP) and expire after
//!   [`Discv4Config::bond_expiration`] (12 h). FindNode and ENRRequest are
//!   answered only to bonded senders, always at the packet's source address,
//!   never at an address the packet names.
//! - A Pong counts only if it echoes the hash of our outstanding Ping to that
//!   node and comes from the IP we pinged; Neighbours only if we asked that
//!   node (from the same IP) and are still waiting; ENRResponse only if it
//!   echoes our ENRRequest's hash and the record is signed by the sender.
//! - Packets past their expiration, or with an expiration above `i64::MAX`,
//!   are dropped; so are duplicates (same hash), packets over the per-IP rate,
//!   and packets from banned ids or IPs.
//! - Before asking a node anything we make sure both sides hold a proof: we
//!   ping it, and once it answered we wait up to
//!   [`Discv4Config::bond_wait`] for its own Ping (so it knows us) before
//!   sending the request.
//! - Each node new to the table, or verified but kept out of it by a full
//!   bucket or an IP limit, gets an ENRRequest (EIP-868); its `eth` entry
//!   goes through the [`NodeFilter`] and only accepted nodes are reported as
//!   [`Discv4Event::NodeFound`]. A node that does not answer the ENRRequest
//!   (pre-EIP-868 implementations) is offered to the filter without a record.
//! - Revalidation pings a random bucket's least recently seen entry; failures
//!   evict it for a replacement. A higher ENR seq in a Pong or Ping re-fetches
//!   the record.
//! - The `to` field of each valid Pong (our endpoint as that node saw it)
//!   feeds an [`EndpointPredictor`]; a change of its prediction is reported
//!   as [`Discv4Event::EndpointPredicted`].
//! - Nodes learnt from a Neighbours answer we asked for are pinged when their
//!   bucket has room, and enter the table once they answer; unsolicited
//!   Neighbours are ignored.
//!
//! Bounds: pending pings triggered by peers ≤ [`Discv4Config::max_pending_pings`];
//! endpoint proofs ≤ [`Discv4Config::max_bonds`]; ENR requests in flight ≤
//! [`Discv4Config::max_enr_requests`] with at most
//! [`Discv4Config::max_enr_queue`] waiting; lookups ≤
//! [`Discv4Config::max_lookups`]; outgoing datagrams and events ≤
//! [`Discv4Config::max_queued`] each (the driver drains them after every call);
//! reported ids of nodes outside the table ≤ [`Discv4Config::max_reported`];
//! timers: one per outstanding request, each gone within
//! [`Discv4Config::request_timeout`] or [`Discv4Config::bond_wait`]; the rate
//! limiter, duplicate filter and ban list have their own caps
//! ([`Discv4Config::max_rate_ips`], [`Discv4Config::recent_hashes`],
//! [`Discv4Config::max_bans`]).

use crate::{
    endpoint::{EndpointPredictor, PredictorConfig},
    enr::{enr_peer_id, eth_fork_id, Enr, EnrError, LocalEnr, LocalEnrFields},
    limits::{Bans, RateLimiter, RecentHashes, RecentSet},
    lookup::{Lookup, LookupId, State},
    packet::{
        self, is_expired, EncodedPacket, Endpoint, EnrRequest, EnrResponse, FindNode, Message,
        Neighbours, Packet, PacketError, Ping, Pong, MAX_NEIGHBOURS_PER_PACKET, PING_VERSION,
    },
    table::{is_invalid_node_ip, is_lan, AddOutcome, Table, BUCKET_SIZE},
};
use alloy_primitives::B256;
use bytes::Bytes;
use ethp2p_eth::forkid::{ForkFilter, ForkId};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque},
    net::{IpAddr, SocketAddr},
    time::Duration,
};
use tokio::time::Instant;
use tracing::{debug, trace, warn};

/// Tunables of the engine. `Default` follows geth where the reference gives
/// a value.
#[derive(Debug, Clone)]
pub struct Discv4Config {
    /// How long an endpoint proof (a valid Pong, or a Ping we answered) lasts.
    pub bond_expiration: Duration,
    /// How long we wait for a Pong, a FindNode's Neighbours or an ENRResponse.
    pub request_timeout: Duration,
    /// After a node's Pong, how long we wait for its Ping before sending it a
    /// request anyway.
    pub bond_wait: Duration,
    /// Lifetime written into outgoing packets.
    pub packet_expiration: Duration,
    /// Delay before the first table refresh (a self lookup).
    pub first_refresh: Duration,
    /// Interval of table refreshes (lookups: every fourth targets our own id,
    /// the others a random id).
    pub refresh_interval: Duration,
    /// Mean interval between revalidation pings (drawn from
    /// U[interval/2, 3·interval/2)).
    pub revalidation_interval: Duration,
    /// Lookup parallelism (α).
    pub alpha: usize,
    /// Most concurrent lookups.
    pub max_lookups: usize,
    /// Most packets accepted from one IP per [`Self::rate_window`].
    pub max_packets_per_ip: u32,
    /// Window of the per-IP rate limit.
    pub rate_window: Duration,
    /// IPs tracked by the rate limiter.
    pub max_rate_ips: usize,
    /// Packet hashes remembered to drop duplicates.
    pub recent_hashes: usize,
    /// Most outstanding Pings sent in answer to strangers' Pings.
    pub max_pending_pings: usize,
    /// Most endpoint proofs kept.
    pub max_bonds: usize,
    /// ENRRequests in flight.
    pub max_enr_requests: usize,
    /// Nodes waiting for an ENRRequest slot.
    pub max_enr_queue: usize,
    /// Ids remembered as already reported (`NodeFound`) for nodes outside
    /// the table, so they are not fetched and reported again.
    pub max_reported: usize,
    /// FindNode requests in a row without an answer after which a node leaves
    /// the table.
    pub max_find_node_failures: u32,
    /// Ban-list capacity (ids and IPs each).
    pub max_bans: usize,
    /// Cap of the outgoing datagram queue and of the event queue.
    pub max_queued: usize,
    /// The external endpoint predictor fed by Pongs' `to` fields.
    pub endpoint_predictor: PredictorConfig,
}

impl Default for Discv4Config {
    fn default() -> Self {
        Self {
            bond_expiration: Duration::from_secs(12 * 3600),
            request_timeout: Duration::from_millis(500),
            bond_wait: Duration::from_millis(500),
            packet_expiration: Duration::from_secs(20),
            first_refresh: Duration::from_secs(1),
            refresh_interval: Duration::from_secs(30),
            revalidation_interval: Duration::from_secs(5),
            alpha: 3,
            max_lookups: 16,
            max_packets_per_ip: 120,
            rate_window: Duration::from_secs(60),
            max_rate_ips: 16_384,
            recent_hashes: 1024,
            max_pending_pings: 256,
            max_bonds: 16_384,
            max_enr_requests: 16,
            max_enr_queue: 1024,
            max_reported: 4096,
            max_find_node_failures: 5,
            max_bans: 16_384,
            max_queued: 4096,
            endpoint_predictor: PredictorConfig::default(),
        }
    }
}

/// Decides which discovered nodes are reported to the embedder.
pub trait NodeFilter: Send {
    /// Whether to report `record`, given its ENR (if it answered the
    /// ENRRequest) and the fork id of the record's `eth` entry (if present).
    fn accept(&self, record: &NodeRecord, enr: Option<&Enr>, fork_id: Option<ForkId>) -> bool;
}

/// Reports every node.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl NodeFilter for AcceptAll {
    fn accept(&self, _: &NodeRecord, _: Option<&Enr>, _: Option<ForkId>) -> bool {
        true
    }
}

/// The EIP-2124 filter on the `eth` entry: a node whose fork id fails
/// validation is refused; a node without one is refused when
/// `require_fork_id` is set, admitted otherwise.
#[derive(Debug, Clone)]
pub struct ForkIdFilter {
    /// The local fork schedule and head.
    pub filter: ForkFilter,
    /// Refuse nodes without an `eth` entry (or without an ENR at all).
    pub require_fork_id: bool,
}

impl NodeFilter for ForkIdFilter {
    fn accept(&self, _: &NodeRecord, _: Option<&Enr>, fork_id: Option<ForkId>) -> bool {
        match fork_id {
            Some(id) => self.filter.validate(id).is_ok(),
            None => !self.require_fork_id,
        }
    }
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discv4Event {
    /// A node proved its endpoint (answered our Ping), its ENR was fetched
    /// (or it does not speak EIP-868) and the [`NodeFilter`] accepted it: a
    /// dial candidate. Reported once per table entry, and once for a node
    /// kept out of the table (full bucket, IP limit) within the last
    /// [`Discv4Config::max_reported`] such reports.
    NodeFound {
        /// Its id and verified endpoint (UDP as observed, TCP as announced).
        record: NodeRecord,
        /// Its record, if it answered the ENRRequest.
        enr: Option<Enr>,
        /// The fork id of the record's `eth` entry, if any.
        fork_id: Option<ForkId>,
    },
    /// A node left the table (failed revalidation, unanswered FindNodes, or
    /// banned).
    NodeRemoved {
        /// Its id.
        id: PeerId,
    },
    /// The endpoint other nodes see us at (from the `to` field of their
    /// Pongs, see [`crate::endpoint`]) changed: `None` when no address has a
    /// majority any more.
    EndpointPredicted {
        /// The predicted external UDP endpoint.
        predicted: Option<SocketAddr>,
    },
    /// A lookup ended.
    LookupFinished {
        /// Which lookup.
        id: LookupId,
        /// Its target.
        target: PeerId,
        /// Up to 16 nodes closest to the target that answered, closest first.
        nodes: Vec<NodeRecord>,
    },
}

/// Packets of each discv4 type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketCounts {
    /// Ping (0x01).
    pub ping: u64,
    /// Pong (0x02).
    pub pong: u64,
    /// FindNode (0x03).
    pub find_node: u64,
    /// Neighbours (0x04).
    pub neighbours: u64,
    /// ENRRequest (0x05).
    pub enr_request: u64,
    /// ENRResponse (0x06).
    pub enr_response: u64,
}

impl PacketCounts {
    fn count(&mut self, m: &Message) {
        let c = match m {
            Message::Ping(_) => &mut self.ping,
            Message::Pong(_) => &mut self.pong,
            Message::FindNode(_) => &mut self.find_node,
            Message::Neighbours(_) => &mut self.neighbours,
            Message::EnrRequest(_) => &mut self.enr_request,
            Message::EnrResponse(_) => &mut self.enr_response,
        };
        *c = c.saturating_add(1);
    }

    /// The counts with lower-case type names (`ping`, `pong`, `findnode`,
    /// `neighbors`, `enrrequest`, `enrresponse`, as geth's metrics name them).
    pub fn by_name(&self) -> [(&'static str, u64); 6] {
        [
            ("ping", self.ping),
            ("pong", self.pong),
            ("findnode", self.find_node),
            ("neighbors", self.neighbours),
            ("enrrequest", self.enr_request),
            ("enrresponse", self.enr_response),
        ]
    }
}

/// Running totals of the engine, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discv4Stats {
    /// Valid (decoded, signature-checked) packets received, by type,
    /// counted before the expiry, ban and bond checks.
    pub packets_in: PacketCounts,
    /// Packets queued for sending, by type.
    pub packets_out: PacketCounts,
    /// Datagrams dropped before decoding (rate limit, banned IP, duplicate,
    /// undecodable).
    pub dropped_in: u64,
    /// Lookups started (refreshes included).
    pub lookups_started: u64,
    /// Lookups finished.
    pub lookups_finished: u64,
    /// Nodes in the table.
    pub table_len: usize,
    /// (node id, IP) pairs holding a fresh endpoint proof.
    pub bonded: usize,
}

/// Everything [`Discv4::new`] needs.
pub struct Discv4Params {
    /// The node's key.
    pub secret_key: SecretKey,
    /// The IP to announce (ENR and Ping `from`); `None` while unknown.
    pub external_ip: Option<IpAddr>,
    /// The discovery port to announce.
    pub udp_port: u16,
    /// The RLPx port to announce.
    pub tcp_port: u16,
    /// Sequence number of the local ENR (see [`crate::enr::next_seq`]).
    pub enr_seq: u64,
    /// Fork id for the local ENR's `eth` entry.
    pub fork_id: Option<ForkId>,
    /// Which nodes to report.
    pub filter: Box<dyn NodeFilter>,
    /// Tunables.
    pub config: Discv4Config,
    /// Seed of the engine's RNG (lookup targets, revalidation choices).
    pub rng_seed: u64,
}

impl std::fmt::Debug for Discv4Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discv4Params")
            .field("external_ip", &self.external_ip)
            .field("udp_port", &self.udp_port)
            .field("tcp_port", &self.tcp_port)
            .field("enr_seq", &self.enr_seq)
            .field("fork_id", &self.fork_id)
            .field("config", &self.config)
            .field("rng_seed", &self.rng_seed)
            .finish_non_exhaustive()
    }
}

/// Why [`Discv4::lookup`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many lookups in progress")]
pub struct TooManyLookups;

#[derive(Debug, Clone, Copy, Default)]
struct Bond {
    /// Last valid Pong from them: they proved this endpoint.
    last_pong: Option<Instant>,
    /// Last Ping from them (answered): they hold our proof.
    last_ping: Option<Instant>,
}

#[derive(Debug)]
struct PendingPing {
    record: NodeRecord,
    hash: B256,
    token: u64,
}

#[derive(Debug)]
struct PendingFind {
    ip: IpAddr,
    lookup: LookupId,
    received: usize,
    token: u64,
}

#[derive(Debug)]
struct PendingEnr {
    ip: IpAddr,
    hash: B256,
    token: u64,
}

#[derive(Debug, Clone, Copy)]
enum Deferred {
    FindNode { lookup: LookupId, target: PeerId },
    Enr,
}

#[derive(Debug)]
struct AwaitingBond {
    record: NodeRecord,
    requests: Vec<Deferred>,
    flush_token: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Ping(PeerId),
    Find(PeerId),
    Enr(PeerId),
    BondFlush(PeerId),
}

/// The discv4 protocol engine. See the module docs.
pub struct Discv4 {
    config: Discv4Config,
    key: SecretKey,
    local_id: PeerId,
    local_endpoint: Endpoint,
    local_enr: LocalEnr,
    table: Table,
    filter: Box<dyn NodeFilter>,
    rng: StdRng,
    instant_base: Instant,
    unix_base: Duration,

    bonds: HashMap<(PeerId, IpAddr), Bond>,
    pending_pings: HashMap<PeerId, PendingPing>,
    /// Of `pending_pings`, how many were sent in answer to strangers.
    stranger_pings: HashSet<PeerId>,
    pending_find: HashMap<PeerId, PendingFind>,
    /// Nodes with a FindNode pending or waiting for a bond.
    find_busy: HashSet<PeerId>,
    pending_enr: HashMap<PeerId, PendingEnr>,
    enr_in_flight: HashMap<PeerId, NodeRecord>,
    enr_queue: VecDeque<NodeRecord>,
    /// Nodes outside the table already reported.
    reported: RecentSet<PeerId>,
    awaiting_bond: HashMap<PeerId, AwaitingBond>,
    lookups: BTreeMap<LookupId, Lookup>,
    next_lookup: u64,
    bootnodes: Vec<NodeRecord>,

    timers: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    next_token: u64,
    next_refresh: Instant,
    refresh_count: u64,
    next_revalidation: Instant,
    next_cleanup: Instant,

    rate: RateLimiter,
    recent: RecentHashes,
    bans: Bans,
    transmits: VecDeque<(SocketAddr, Bytes)>,
    events: VecDeque<Discv4Event>,
    predictor: EndpointPredictor,
    stats: Discv4Stats,
}

impl std::fmt::Debug for Discv4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discv4")
            .field("local_id", &self.local_id)
            .field("table_len", &self.table.len())
            .field("lookups", &self.lookups.len())
            .finish_non_exhaustive()
    }
}

const CLEANUP_INTERVAL: Duration = Duration::from_secs(600);

impl Discv4 {
    /// A new engine. `now` and `unix_time` (time since the UNIX epoch at
    /// `now`) anchor the packet expiration clock.
    pub fn new(params: Discv4Params, now: Instant, unix_time: Duration) -> Result<Self, EnrError> {
        let Discv4Params {
            secret_key,
            external_ip,
            udp_port,
            tcp_port,
            enr_seq,
            fork_id,
            filter,
            config,
            rng_seed,
        } = params;
        let local_id = peer_id_from_secret_key(&secret_key);
        let local_enr = LocalEnr::new(
            &secret_key,
            enr_seq,
            LocalEnrFields {
                ip: external_ip,
                tcp: tcp_port,
                udp: udp_port,
                fork_id,
            },
        )?;
        let mut rng = StdRng::seed_from_u64(rng_seed);
        let next_revalidation = now + jitter(&mut rng, config.revalidation_interval);
        let reported = RecentSet::new(config.max_reported);
        Ok(Self {
            local_endpoint: Endpoint {
                ip: external_ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                udp: udp_port,
                tcp: tcp_port,
            },
            table: Table::new(local_id),
            predictor: EndpointPredictor::new(config.endpoint_predictor),
            stats: Discv4Stats::default(),
            rate: RateLimiter::new(
                config.rate_window,
                config.max_packets_per_ip,
                config.max_rate_ips,
            ),
            recent: RecentHashes::new(config.recent_hashes),
            bans: Bans::new(config.max_bans),
            next_refresh: now + config.first_refresh,
            next_cleanup: now + CLEANUP_INTERVAL,
            next_revalidation,
            config,
            key: secret_key,
            local_id,
            local_enr,
            filter,
            rng,
            instant_base: now,
            unix_base: unix_time,
            bonds: HashMap::new(),
            pending_pings: HashMap::new(),
            stranger_pings: HashSet::new(),
            pending_find: HashMap::new(),
            find_busy: HashSet::new(),
            pending_enr: HashMap::new(),
            enr_in_flight: HashMap::new(),
            enr_queue: VecDeque::new(),
            reported,
            awaiting_bond: HashMap::new(),
            lookups: BTreeMap::new(),
            next_lookup: 0,
            bootnodes: Vec::new(),
            timers: BinaryHeap::new(),
            next_token: 0,
            refresh_count: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    // ----- accessors -------------------------------------------------------

    /// Our node id.
    pub fn local_id(&self) -> PeerId {
        self.local_id
    }

    /// Our `enode://` record (announced IP, UDP and TCP ports).
    pub fn local_record(&self) -> NodeRecord {
        NodeRecord {
            id: self.local_id,
            address: self.local_endpoint.ip,
            tcp_port: self.local_endpoint.tcp,
            udp_port: self.local_endpoint.udp,
        }
    }

    /// Our current ENR.
    pub fn local_enr(&self) -> &Enr {
        self.local_enr.record()
    }

    /// The routing table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Whether (id, ip) holds an endpoint proof at `now`.
    pub fn is_bonded(&self, id: &PeerId, ip: IpAddr, now: Instant) -> bool {
        self.bonds
            .get(&(*id, ip))
            .is_some_and(|b| self.fresh(b.last_pong, now))
    }

    /// The external endpoint predicted from Pongs (see [`crate::endpoint`]).
    pub fn predicted_endpoint(&self) -> Option<SocketAddr> {
        self.predictor.prediction()
    }

    /// Running totals, with the table size and the fresh endpoint proofs
    /// at `now`.
    pub fn stats(&self, now: Instant) -> Discv4Stats {
        Discv4Stats {
            table_len: self.table.len(),
            bonded: self
                .bonds
                .values()
                .filter(|b| self.fresh(b.last_pong, now))
                .count(),
            ..self.stats
        }
    }

    /// Number of lookups in progress.
    pub fn active_lookups(&self) -> usize {
        self.lookups.len()
    }

    // ----- embedder commands -----------------------------------------------

    /// Sets the fork id of the local ENR's `eth` entry; re-signs with a higher
    /// seq when it changed (returns whether it did; persist
    /// [`Enr::seq`] of [`Self::local_enr`] then).
    pub fn set_fork_id(&mut self, fork_id: ForkId) -> Result<bool, EnrError> {
        self.local_enr.set_fork_id(fork_id)
    }

    /// Sets the announced IP (e.g. once NAT detection found it).
    pub fn set_external_ip(&mut self, ip: IpAddr) -> Result<bool, EnrError> {
        self.local_endpoint.ip = ip;
        let fields = LocalEnrFields {
            ip: Some(ip),
            ..*self.local_enr.fields()
        };
        self.local_enr.update(fields)
    }

    /// Replaces the filter deciding which nodes are reported.
    pub fn set_node_filter(&mut self, filter: Box<dyn NodeFilter>) {
        self.filter = filter;
    }

    /// Adds a bootnode: remembered as a lookup seed while the table is empty,
    /// and pinged now (it enters the table when it answers).
    pub fn add_bootnode(&mut self, now: Instant, record: NodeRecord) {
        if record.id == self.local_id || self.bootnodes.iter().any(|b| b.id == record.id) {
            return;
        }
        if self.bootnodes.len() < BUCKET_SIZE * 4 {
            self.bootnodes.push(record);
        }
        self.add_node(now, record);
    }

    /// Pings `record`; it enters the table when it answers.
    pub fn add_node(&mut self, now: Instant, record: NodeRecord) {
        if record.id == self.local_id || self.banned(&record.id, record.address, now) {
            return;
        }
        self.send_ping(now, record);
    }

    /// Starts a lookup for the nodes closest to `target`; its result comes as
    /// [`Discv4Event::LookupFinished`].
    pub fn lookup(&mut self, now: Instant, target: PeerId) -> Result<LookupId, TooManyLookups> {
        if self.lookups.len() >= self.config.max_lookups {
            return Err(TooManyLookups);
        }
        let id = LookupId(self.next_lookup);
        self.next_lookup += 1;
        self.stats.lookups_started += 1;
        let mut lookup = Lookup::new(target);
        let mut seeds = self.table.closest(&target, BUCKET_SIZE);
        if seeds.is_empty() {
            seeds = self.bootnodes.clone();
        }
        for s in seeds {
            if !self.banned(&s.id, s.address, now) {
                lookup.add(s);
            }
        }
        self.lookups.insert(id, lookup);
        self.advance_lookup(now, id);
        Ok(id)
    }

    /// Bans a node id (for `duration`, or for good): its packets are dropped
    /// and it leaves the table.
    pub fn ban_node(&mut self, now: Instant, id: PeerId, duration: Option<Duration>) {
        if !self.bans.ban_id(id, duration.map(|d| now + d), now) {
            warn!(target: "discv4", "ban list full, id not banned");
        }
        self.remove_node(now, &id);
    }

    /// Bans an IP (for `duration`, or for good): its packets are dropped and
    /// its nodes leave the table.
    pub fn ban_ip(&mut self, now: Instant, ip: IpAddr, duration: Option<Duration>) {
        if !self.bans.ban_ip(ip, duration.map(|d| now + d), now) {
            warn!(target: "discv4", "ban list full, IP not banned");
        }
        let gone: Vec<PeerId> = self
            .table
            .iter()
            .filter(|e| e.record.address == ip)
            .map(|e| e.record.id)
            .collect();
        for id in gone {
            self.remove_node(now, &id);
        }
    }

    /// Lifts a ban on a node id.
    pub fn unban_node(&mut self, id: &PeerId) {
        self.bans.unban_id(id);
    }

    /// Lifts a ban on an IP.
    pub fn unban_ip(&mut self, ip: &IpAddr) {
        self.bans.unban_ip(ip);
    }

    // ----- sans-IO interface -----------------------------------------------

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Discv4Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let periodic = self
            .next_refresh
            .min(self.next_revalidation)
            .min(self.next_cleanup);
        Some(match self.timers.peek() {
            Some(Reverse((t, _, _))) => periodic.min(*t),
            None => periodic,
        })
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((t, token, timer))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            self.on_timer(now, token, timer);
        }
        if now >= self.next_refresh {
            self.next_refresh = now + at_least_1ms(self.config.refresh_interval);
            self.refresh(now);
        }
        if now >= self.next_revalidation {
            self.next_revalidation = now + jitter(&mut self.rng, self.config.revalidation_interval);
            self.revalidate(now);
        }
        if now >= self.next_cleanup {
            self.next_cleanup = now + CLEANUP_INTERVAL;
            self.cleanup(now);
        }
    }

    /// Handles one received datagram from `src`.
    pub fn handle_packet(&mut self, now: Instant, src: SocketAddr, datagram: &[u8]) {
        let ip = src.ip();
        if self.bans.is_ip_banned(&ip, now) {
            trace!(target: "discv4", %src, "packet from banned IP dropped");
            self.stats.dropped_in += 1;
            return;
        }
        if !self.rate.allow(ip, now) {
            debug!(target: "discv4", %src, "per-IP rate limit exceeded, packet dropped");
            self.stats.dropped_in += 1;
            return;
        }
        if datagram.len() >= 32 && self.recent.contains(&B256::from_slice(&datagram[..32])) {
            trace!(target: "discv4", %src, "duplicate packet dropped");
            self.stats.dropped_in += 1;
            return;
        }
        let packet = match packet::decode(datagram) {
            Ok(p) => p,
            Err(PacketError::UnknownType(t)) => {
                trace!(target: "discv4", %src, packet_type = t, "unknown packet type dropped");
                self.stats.dropped_in += 1;
                return;
            }
            Err(e) => {
                debug!(target: "discv4", %src, error = %e, "undecodable packet dropped");
                self.stats.dropped_in += 1;
                return;
            }
        };
        self.stats.packets_in.count(&packet.message);
        self.recent.insert(packet.hash);
        if packet.node_id == self.local_id {
            return;
        }
        if self.bans.is_id_banned(&packet.node_id, now) {
            trace!(target: "discv4", %src, "packet from banned id dropped");
            return;
        }
        if let Some(exp) = packet.message.expiration() {
            if is_expired(exp, self.unix_secs(now)) {
                debug!(target: "discv4", %src, kind = packet.message.name(), exp, "expired packet dropped");
                return;
            }
        }
        let Packet {
            hash,
            node_id,
            message,
        } = packet;
        match message {
            Message::Ping(p) => self.on_ping(now, src, node_id, hash, p),
            Message::Pong(p) => self.on_pong(now, src, node_id, p),
            Message::FindNode(f) => self.on_find_node(now, src, node_id, f),
            Message::Neighbours(n) => self.on_neighbours(now, src, node_id, n),
            Message::EnrRequest(_) => self.on_enr_request(now, src, node_id, hash),
            Message::EnrResponse(r) => self.on_enr_response(now, src, node_id, r),
        }
    }

    // ----- handlers ----------------------------------------------------------

    fn on_ping(&mut self, now: Instant, src: SocketAddr, id: PeerId, hash: B256, ping: Ping) {
        let pong = Message::Pong(Pong {
            to: Endpoint {
                ip: src.ip(),
                udp: src.port(),
                tcp: ping.from.tcp,
            },
            ping_hash: hash,
            expiration: self.expiration(now),
            enr_seq: Some(self.local_enr.seq()),
        });
        self.send(src, &pong);
        self.touch_bond(id, src.ip(), now, |b| b.last_ping = Some(now));

        let record = NodeRecord {
            id,
            address: src.ip(),
            tcp_port: ping.from.tcp,
            udp_port: src.port(),
        };
        let verified = self.is_bonded(&id, src.ip(), now);
        if verified {
            if self.awaiting_bond.contains_key(&id) {
                self.flush_bond(now, id);
            }
            self.note_seq(now, &id, ping.enr_seq);
            if !self.table.contains(&id) {
                self.try_add(now, record, ping.enr_seq);
            }
        } else if !self.pending_pings.contains_key(&id) {
            if self.stranger_pings.len() >= self.config.max_pending_pings {
                debug!(target: "discv4", %src, "too many pending pings, not pinging back");
                return;
            }
            if self.send_ping(now, record) {
                self.stranger_pings.insert(id);
            }
        }
    }

    fn on_pong(&mut self, now: Instant, src: SocketAddr, id: PeerId, pong: Pong) {
        let matches = self
            .pending_pings
            .get(&id)
            .is_some_and(|p| p.record.address == src.ip() && p.hash == pong.ping_hash);
        if !matches {
            debug!(target: "discv4", %src, "unsolicited or mismatched pong dropped");
            return;
        }
        let Some(pending) = self.pending_pings.remove(&id) else {
            return;
        };
        self.stranger_pings.remove(&id);
        self.touch_bond(id, src.ip(), now, |b| b.last_pong = Some(now));
        let seen_as = SocketAddr::new(pong.to.ip, pong.to.udp);
        if let Some(predicted) = self.predictor.report(now, id, seen_as) {
            self.emit(Discv4Event::EndpointPredicted { predicted });
        }
        if self.table.contains(&id) {
            self.table.mark_seen(&id, now);
        } else {
            self.try_add(now, pending.record, pong.enr_seq);
        }
        self.note_seq(now, &id, pong.enr_seq);
        if self.awaiting_bond.contains_key(&id) {
            let they_know_us = self
                .bonds
                .get(&(id, src.ip()))
                .is_some_and(|b| self.fresh(b.last_ping, now));
            if they_know_us {
                self.flush_bond(now, id);
            } else {
                let token = self.token();
                if let Some(a) = self.awaiting_bond.get_mut(&id) {
                    a.flush_token = Some(token);
                }
                self.timers.push(Reverse((
                    now + at_least_1ms(self.config.bond_wait),
                    token,
                    Timer::BondFlush(id),
                )));
            }
        }
    }

    fn on_find_node(&mut self, now: Instant, src: SocketAddr, id: PeerId, f: FindNode) {
        if !self.is_bonded(&id, src.ip(), now) {
            debug!(target: "discv4", %src, "FindNode without endpoint proof ignored");
            return;
        }
        let public_requester = !is_lan(src.ip());
        let nodes: Vec<NodeRecord> = self
            .table
            .closest(&f.target, BUCKET_SIZE * 2)
            .into_iter()
            .filter(|r| !(public_requester && is_lan(r.address)))
            .take(BUCKET_SIZE)
            .collect();
        let expiration = self.expiration(now);
        if nodes.is_empty() {
            self.send(
                src,
                &Message::Neighbours(Neighbours {
                    nodes: Vec::new(),
                    expiration,
                }),
            );
        }
        for chunk in nodes.chunks(MAX_NEIGHBOURS_PER_PACKET) {
            self.send(
                src,
                &Message::Neighbours(Neighbours {
                    nodes: chunk.to_vec(),
                    expiration,
                }),
            );
        }
    }

    fn on_neighbours(&mut self, now: Instant, src: SocketAddr, id: PeerId, n: Neighbours) {
        let Some(pending) = self.pending_find.get_mut(&id) else {
            debug!(target: "discv4", %src, "unsolicited Neighbours ignored");
            return;
        };
        if pending.ip != src.ip() {
            debug!(target: "discv4", %src, "Neighbours from an unexpected IP ignored");
            return;
        }
        pending.received += n.nodes.len();
        let complete = pending.received >= BUCKET_SIZE;
        let lookup_id = pending.lookup;
        let public_sender = !is_lan(src.ip());
        let accepted: Vec<NodeRecord> = n
            .nodes
            .into_iter()
            .filter(|r| {
                r.id != self.local_id
                    && r.udp_port > 1024
                    && !is_invalid_node_ip(r.address)
                    && !(public_sender && is_lan(r.address))
                    && !self.banned(&r.id, r.address, now)
            })
            .collect();
        // Nodes learnt from an answer we asked for are pinged when their
        // bucket has room; they enter the table once they answer (as geth
        // adds found nodes, but only after the endpoint is verified).
        for r in &accepted {
            if !self.table.contains(&r.id)
                && self.table.has_room_for(&r.id)
                && !self.pending_pings.contains_key(&r.id)
                && self.stranger_pings.len() < self.config.max_pending_pings
                && self.send_ping(now, *r)
            {
                self.stranger_pings.insert(r.id);
            }
        }
        if let Some(lookup) = self.lookups.get_mut(&lookup_id) {
            for r in accepted {
                lookup.add(r);
            }
        }
        if self.table.contains(&id) {
            self.table.mark_seen(&id, now);
        }
        if complete {
            self.find_done(now, id, true);
        } else {
            self.advance_lookup(now, lookup_id);
        }
    }

    fn on_enr_request(&mut self, now: Instant, src: SocketAddr, id: PeerId, hash: B256) {
        if !self.is_bonded(&id, src.ip(), now) {
            debug!(target: "discv4", %src, "ENRRequest without endpoint proof ignored");
            return;
        }
        let response = Message::EnrResponse(EnrResponse {
            request_hash: hash,
            enr: self.local_enr.record().clone(),
        });
        self.send(src, &response);
    }

    fn on_enr_response(&mut self, now: Instant, src: SocketAddr, id: PeerId, r: EnrResponse) {
        let matches = self
            .pending_enr
            .get(&id)
            .is_some_and(|p| p.ip == src.ip() && p.hash == r.request_hash);
        if !matches {
            debug!(target: "discv4", %src, "unsolicited or mismatched ENRResponse dropped");
            return;
        }
        if enr_peer_id(&r.enr) != id {
            debug!(target: "discv4", %src, "ENRResponse carries another node's record");
            return;
        }
        self.pending_enr.remove(&id);
        self.enr_done(now, id, Some(r.enr), true);
    }

    // ----- timers --------------------------------------------------------------

    fn on_timer(&mut self, now: Instant, token: u64, timer: Timer) {
        match timer {
            Timer::Ping(id) => {
                if self.pending_pings.get(&id).map(|p| p.token) != Some(token) {
                    return;
                }
                self.pending_pings.remove(&id);
                self.stranger_pings.remove(&id);
                if let Some(a) = self.awaiting_bond.remove(&id) {
                    for d in a.requests {
                        self.deferred_failed(now, id, d);
                    }
                }
                if self.table.contains(&id) {
                    if let Some(ev) = self.table.on_check_failed(&id) {
                        self.on_evicted(now, ev.removed.record.id, ev.promoted);
                    }
                }
            }
            Timer::Find(id) => {
                if self.pending_find.get(&id).map(|p| p.token) == Some(token) {
                    let answered = self.pending_find.get(&id).is_some_and(|p| p.received > 0);
                    self.find_done(now, id, answered);
                }
            }
            Timer::Enr(id) => {
                if self.pending_enr.get(&id).map(|p| p.token) == Some(token) {
                    self.pending_enr.remove(&id);
                    // Alive (it answered our Ping) but silent: a pre-EIP-868 node.
                    self.enr_done(now, id, None, true);
                }
            }
            Timer::BondFlush(id) => {
                if self.awaiting_bond.get(&id).and_then(|a| a.flush_token) == Some(token) {
                    self.flush_bond(now, id);
                }
            }
        }
    }

    fn refresh(&mut self, now: Instant) {
        let target = if self.refresh_count.is_multiple_of(4) {
            self.local_id
        } else {
            let mut b = [0u8; 64];
            self.rng.fill_bytes(&mut b);
            PeerId::from(b)
        };
        self.refresh_count += 1;
        if self.lookup(now, target).is_err() {
            debug!(target: "discv4", "refresh skipped: too many lookups");
        }
    }

    fn revalidate(&mut self, now: Instant) {
        if let Some(record) = self.table.revalidation_target(&mut self.rng) {
            if !self.pending_pings.contains_key(&record.id) {
                self.send_ping(now, record);
            }
        }
    }

    fn cleanup(&mut self, now: Instant) {
        let exp = self.config.bond_expiration;
        self.bonds.retain(|_, b| {
            let fresh =
                |t: Option<Instant>| t.is_some_and(|t| now.saturating_duration_since(t) < exp);
            fresh(b.last_pong) || fresh(b.last_ping)
        });
        self.bans.expire(now);
    }

    // ----- requests ------------------------------------------------------------

    fn send_ping(&mut self, now: Instant, record: NodeRecord) -> bool {
        if self.pending_pings.contains_key(&record.id) {
            return true;
        }
        let ping = Message::Ping(Ping {
            version: PING_VERSION,
            from: self.local_endpoint,
            to: Endpoint {
                ip: record.address,
                udp: record.udp_port,
                tcp: record.tcp_port,
            },
            expiration: self.expiration(now),
            enr_seq: Some(self.local_enr.seq()),
        });
        let Some(hash) = self.send(SocketAddr::new(record.address, record.udp_port), &ping) else {
            return false;
        };
        let token = self.token();
        self.pending_pings.insert(
            record.id,
            PendingPing {
                record,
                hash,
                token,
            },
        );
        self.timers.push(Reverse((
            now + at_least_1ms(self.config.request_timeout),
            token,
            Timer::Ping(record.id),
        )));
        true
    }

    /// Runs `request` once both sides hold an endpoint proof, pinging first
    /// if needed.
    fn ensure_bond(&mut self, now: Instant, record: NodeRecord, request: Deferred) {
        let bond = self.bonds.get(&(record.id, record.address)).copied();
        let verified = bond.is_some_and(|b| self.fresh(b.last_pong, now));
        let known = bond.is_some_and(|b| self.fresh(b.last_ping, now));
        if verified && known {
            self.execute(now, record, request);
            return;
        }
        self.awaiting_bond
            .entry(record.id)
            .or_insert(AwaitingBond {
                record,
                requests: Vec::new(),
                flush_token: None,
            })
            .requests
            .push(request);
        // Even when they answered an earlier Ping of ours, they may not hold a
        // proof for us: ping again and give them `bond_wait` to ping back.
        if !self.send_ping(now, record) {
            if let Some(a) = self.awaiting_bond.remove(&record.id) {
                for d in a.requests {
                    self.deferred_failed(now, record.id, d);
                }
            }
        }
    }

    fn flush_bond(&mut self, now: Instant, id: PeerId) {
        if let Some(a) = self.awaiting_bond.remove(&id) {
            for d in a.requests {
                self.execute(now, a.record, d);
            }
        }
    }

    fn execute(&mut self, now: Instant, record: NodeRecord, request: Deferred) {
        let to = SocketAddr::new(record.address, record.udp_port);
        let expiration = self.expiration(now);
        let deadline = now + at_least_1ms(self.config.request_timeout);
        match request {
            Deferred::FindNode { lookup, target } => {
                if self
                    .send(to, &Message::FindNode(FindNode { target, expiration }))
                    .is_none()
                {
                    self.deferred_failed(now, record.id, request);
                    return;
                }
                let token = self.token();
                self.pending_find.insert(
                    record.id,
                    PendingFind {
                        ip: record.address,
                        lookup,
                        received: 0,
                        token,
                    },
                );
                self.timers
                    .push(Reverse((deadline, token, Timer::Find(record.id))));
            }
            Deferred::Enr => {
                let Some(hash) = self.send(to, &Message::EnrRequest(EnrRequest { expiration }))
                else {
                    self.deferred_failed(now, record.id, request);
                    return;
                };
                let token = self.token();
                self.pending_enr.insert(
                    record.id,
                    PendingEnr {
                        ip: record.address,
                        hash,
                        token,
                    },
                );
                self.timers
                    .push(Reverse((deadline, token, Timer::Enr(record.id))));
            }
        }
    }

    fn deferred_failed(&mut self, now: Instant, id: PeerId, request: Deferred) {
        match request {
            Deferred::FindNode { lookup, .. } => {
                self.find_busy.remove(&id);
                if let Some(l) = self.lookups.get_mut(&lookup) {
                    if l.set_state(&id, State::Failed) {
                        l.in_flight = l.in_flight.saturating_sub(1);
                    }
                }
                self.advance_lookups(now);
            }
            // The node did not answer our Ping: no report.
            Deferred::Enr => self.enr_done(now, id, None, false),
        }
    }

    fn find_done(&mut self, now: Instant, id: PeerId, answered: bool) {
        let Some(p) = self.pending_find.remove(&id) else {
            return;
        };
        self.find_busy.remove(&id);
        if let Some(l) = self.lookups.get_mut(&p.lookup) {
            let state = if answered {
                State::Answered
            } else {
                State::Failed
            };
            if l.set_state(&id, state) {
                l.in_flight = l.in_flight.saturating_sub(1);
            }
        }
        if !answered {
            let max = self.config.max_find_node_failures;
            let remove = self.table.get_mut(&id).is_some_and(|e| {
                e.find_node_failures = e.find_node_failures.saturating_add(1);
                e.find_node_failures >= max
            });
            if remove {
                self.remove_node(now, &id);
            }
        }
        self.advance_lookups(now);
    }

    // ----- lookups -------------------------------------------------------------

    fn advance_lookups(&mut self, now: Instant) {
        let ids: Vec<LookupId> = self.lookups.keys().copied().collect();
        for id in ids {
            self.advance_lookup(now, id);
        }
    }

    fn advance_lookup(&mut self, now: Instant, lid: LookupId) {
        loop {
            let Some(l) = self.lookups.get_mut(&lid) else {
                return;
            };
            if l.in_flight >= self.config.alpha {
                break;
            }
            let busy = &self.find_busy;
            let Some(i) = l.next_to_ask(|id| busy.contains(id)) else {
                break;
            };
            l.candidates[i].state = State::Waiting;
            l.in_flight += 1;
            let record = l.candidates[i].record;
            let target = l.target;
            self.find_busy.insert(record.id);
            self.ensure_bond(
                now,
                record,
                Deferred::FindNode {
                    lookup: lid,
                    target,
                },
            );
        }
        let done = self
            .lookups
            .get(&lid)
            .is_some_and(|l| l.in_flight == 0 && !l.has_unasked());
        if done {
            if let Some(l) = self.lookups.remove(&lid) {
                self.stats.lookups_finished += 1;
                self.emit(Discv4Event::LookupFinished {
                    id: lid,
                    target: l.target,
                    nodes: l.result(),
                });
            }
        }
    }

    // ----- table and ENRs --------------------------------------------------------

    /// Adds a verified node; `seq` is the ENR sequence number its Ping or
    /// Pong announced.
    fn try_add(&mut self, now: Instant, record: NodeRecord, seq: Option<u64>) {
        if self.banned(&record.id, record.address, now) {
            return;
        }
        match self.table.add(record, now) {
            AddOutcome::Added => {
                trace!(target: "discv4", id = %record.id, "node added to the table");
                if let Some(e) = self.table.get_mut(&record.id) {
                    e.announced_seq = seq;
                }
                self.fetch_enr_or_judge(now, record, seq);
            }
            // A verified node kept out of the table (full bucket or IP limit)
            // is still a dial candidate: fetch its ENR and report it once.
            outcome @ (AddOutcome::Replacement | AddOutcome::IpLimit) => {
                trace!(target: "discv4", id = %record.id, ?outcome, "node kept out of the table");
                if let Some(e) = self.table.replacement_mut(&record.id) {
                    e.announced_seq = seq;
                }
                if !self.reported.contains(&record.id) {
                    self.fetch_enr_or_judge(now, record, seq);
                }
            }
            outcome => trace!(target: "discv4", id = %record.id, ?outcome, "node not added"),
        }
    }

    fn remove_node(&mut self, now: Instant, id: &PeerId) {
        if let Some(ev) = self.table.remove(id) {
            self.on_evicted(now, ev.removed.record.id, ev.promoted);
        }
    }

    fn on_evicted(&mut self, now: Instant, id: PeerId, promoted: Option<NodeRecord>) {
        self.emit(Discv4Event::NodeRemoved { id });
        if let Some(p) = promoted {
            let seq = self.table.get(&p.id).and_then(|e| e.announced_seq);
            self.fetch_enr_or_judge(now, p, seq);
        }
    }

    /// A node that announced an ENR sequence number (EIP-868) in its Ping
    /// or Pong has its record fetched, then judged; one that announced none
    /// is judged without a record and sent no ENRRequest, as geth does (a
    /// pre-EIP-868 node would not understand one, and geth's own v4 test
    /// suite reads an unexpected ENRRequest as a failure).
    fn fetch_enr_or_judge(&mut self, now: Instant, record: NodeRecord, seq: Option<u64>) {
        if seq.is_some() {
            self.request_enr(now, record);
        } else {
            self.judge(record, None);
        }
    }

    /// A node announced `seq` in a Ping or Pong: fetch its ENR if newer.
    fn note_seq(&mut self, now: Instant, id: &PeerId, seq: Option<u64>) {
        let Some(seq) = seq else {
            return;
        };
        let Some(e) = self.table.get_mut(id) else {
            return;
        };
        let newer = e.announced_seq.is_none_or(|s| seq > s);
        if newer {
            e.announced_seq = Some(seq);
        }
        let known = e.enr.as_ref().map(|r| r.seq());
        let record = e.record;
        // A newer record than the one held, or a first announcement from a
        // node met without one (`request_enr` skips one already asked for).
        if newer && known.is_none_or(|k| seq > k) {
            self.request_enr(now, record);
        }
    }

    fn request_enr(&mut self, now: Instant, record: NodeRecord) {
        if self.enr_in_flight.contains_key(&record.id) {
            return;
        }
        if self.enr_in_flight.len() >= self.config.max_enr_requests {
            if self.enr_queue.len() < self.config.max_enr_queue
                && !self.enr_queue.iter().any(|r| r.id == record.id)
            {
                self.enr_queue.push_back(record);
            }
            return;
        }
        self.enr_in_flight.insert(record.id, record);
        self.ensure_bond(now, record, Deferred::Enr);
    }

    fn enr_done(&mut self, now: Instant, id: PeerId, enr: Option<Enr>, alive: bool) {
        let record = self.enr_in_flight.remove(&id);
        if let (Some(record), true) = (record, alive) {
            self.judge(record, enr);
        }
        while self.enr_in_flight.len() < self.config.max_enr_requests {
            let Some(next) = self.enr_queue.pop_front() else {
                break;
            };
            self.request_enr(now, next);
        }
    }

    /// Stores the ENR result and reports the node if the filter accepts it
    /// (once per table entry; once per [`Discv4Config::max_reported`] window
    /// for nodes outside the table).
    fn judge(&mut self, record: NodeRecord, enr: Option<Enr>) {
        let id = record.id;
        let (fork_id, malformed) = match enr.as_ref().map(eth_fork_id) {
            Some(Ok(f)) => (f, false),
            Some(Err(_)) => (None, true),
            None => (None, false),
        };
        let record = match self.table.get_mut(&id) {
            Some(entry) => {
                if enr.is_some() {
                    entry.enr = enr.clone();
                }
                entry.fork_id = fork_id;
                if entry.announced {
                    return;
                }
                if self.reported.contains(&id) {
                    // Reported while it was outside the table.
                    entry.announced = true;
                    return;
                }
                entry.record
            }
            None if self.reported.contains(&id) => return,
            None => record,
        };
        if malformed || !self.filter.accept(&record, enr.as_ref(), fork_id) {
            debug!(target: "discv4", id = %id, ?fork_id, "node refused by the filter");
            return;
        }
        match self.table.get_mut(&id) {
            Some(e) => e.announced = true,
            None => self.reported.insert(id),
        }
        self.emit(Discv4Event::NodeFound {
            record,
            enr,
            fork_id,
        });
    }

    // ----- helpers ---------------------------------------------------------------

    fn banned(&self, id: &PeerId, ip: IpAddr, now: Instant) -> bool {
        self.bans.is_id_banned(id, now) || self.bans.is_ip_banned(&ip, now)
    }

    fn fresh(&self, t: Option<Instant>, now: Instant) -> bool {
        t.is_some_and(|t| now.saturating_duration_since(t) < self.config.bond_expiration)
    }

    fn touch_bond(&mut self, id: PeerId, ip: IpAddr, now: Instant, f: impl FnOnce(&mut Bond)) {
        let key = (id, ip);
        if !self.bonds.contains_key(&key) && self.bonds.len() >= self.config.max_bonds {
            self.cleanup(now);
            if self.bonds.len() >= self.config.max_bonds {
                debug!(target: "discv4", "endpoint proof store full");
                return;
            }
        }
        f(self.bonds.entry(key).or_default());
    }

    fn unix_secs(&self, now: Instant) -> u64 {
        (self.unix_base + now.saturating_duration_since(self.instant_base)).as_secs()
    }

    fn expiration(&self, now: Instant) -> u64 {
        self.unix_secs(now) + self.config.packet_expiration.as_secs()
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Encodes and queues `message` for `to`; returns its hash.
    fn send(&mut self, to: SocketAddr, message: &Message) -> Option<B256> {
        let EncodedPacket { bytes, hash } = match packet::encode(&self.key, message) {
            Ok(p) => p,
            Err(e) => {
                warn!(target: "discv4", error = %e, "failed to encode packet");
                return None;
            }
        };
        if self.transmits.len() >= self.config.max_queued {
            warn!(target: "discv4", "outgoing queue full, packet dropped");
            return None;
        }
        trace!(target: "discv4", %to, kind = message.name(), "send");
        self.stats.packets_out.count(message);
        self.transmits.push_back((to, bytes));
        Some(hash)
    }

    fn emit(&mut self, event: Discv4Event) {
        if self.events.len() >= self.config.max_queued {
            warn!(target: "discv4", "event queue full, event dropped");
            return;
        }
        self.events.push_back(event);
    }
}

/// Timers are never set to `now`: a zero duration in the config must not
/// make `handle_timeout` loop or the driver spin.
fn at_least_1ms(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

fn jitter(rng: &mut StdRng, mean: Duration) -> Duration {
    let ms = mean.as_millis().max(2) as u64;
    Duration::from_millis(rng.random_range(ms / 2..ms + ms / 2))
}

#[cfg(test)]
mod tests;
