//! discv4 rows: the sans-IO engine answering Ping and FindNode on one core
//! (against recover + sign + keccak per packet), lookup convergence in a
//! simulated network, and the memory of a table entry.

use super::stats::{timed_runner, Config, Runner};
use bytes::Bytes;
use ethp2p_discv4::{
    packet::{self, Endpoint, FindNode, Message, Ping, Pong, HEADER_SIZE, PING_VERSION},
    table::{distance, node_key, Table},
    AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Params,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};
use std::{
    collections::{HashMap, HashSet, VecDeque},
    hint::black_box,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};
use tokio::time::Instant;

pub(super) const PING_PONG: &str = "discv4.ping_pong_per_sec";
pub(super) const FINDNODE: &str = "discv4.findnode_neighbors_per_sec";
pub(super) const LOOKUP_ROUNDS_1K: &str = "discv4.lookup.1000.rounds";
pub(super) const LOOKUP_PACKETS_1K: &str = "discv4.lookup.1000.packets";
pub(super) const LOOKUP_ROUNDS_10K: &str = "discv4.lookup.10000.rounds";
pub(super) const LOOKUP_PACKETS_10K: &str = "discv4.lookup.10000.packets";
pub(super) const TABLE_ENTRY: &str = "discv4.table_entry_bytes";

/// The unix time the simulated engines start at.
const UNIX: u64 = 1_800_000_000;
/// Lookup parallelism and result size (the engine's defaults).
pub(super) const ALPHA: usize = 3;
const K: usize = 16;
/// Packet type bytes.
const FIND_NODE: u8 = 0x03;
const NEIGHBOURS: u8 = 0x04;

fn key(rng: &mut StdRng) -> SecretKey {
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if let Ok(k) = SecretKey::from_byte_array(b) {
            return k;
        }
    }
}

/// A LAN address (exempt from the table's IP limits) for node `i`.
fn addr(i: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(
            10,
            (i >> 16) as u8,
            (i >> 8) as u8,
            (i & 0xff) as u8,
        )),
        30303,
    )
}

fn config() -> Discv4Config {
    Discv4Config {
        // The clock is frozen: a per-minute budget would never refill.
        max_packets_per_ip: u32::MAX,
        ..Discv4Config::default()
    }
}

fn engine(key: SecretKey, at: SocketAddr, now: Instant, seed: u64) -> Result<Discv4, String> {
    let params = Discv4Params {
        secret_key: key,
        external_ip: Some(at.ip()),
        udp_port: at.port(),
        tcp_port: at.port(),
        enr_seq: 1,
        fork_id: None,
        filter: Box::new(AcceptAll),
        config: config(),
        rng_seed: seed,
    };
    Discv4::new(params, now, Duration::from_secs(UNIX)).map_err(|e| e.to_string())
}

fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint {
        ip: a.ip(),
        udp: a.port(),
        tcp: a.port(),
    }
}

fn encode(key: &SecretKey, m: &Message) -> Result<Bytes, String> {
    packet::encode(key, m)
        .map(|p| p.bytes)
        .map_err(|e| e.to_string())
}

/// A node talking to the engine under test.
struct Client {
    key: SecretKey,
    id: PeerId,
    addr: SocketAddr,
}

/// One engine, bonded with `clients` clients (each in its table), on a
/// frozen clock.
struct Bench {
    server: Discv4,
    server_addr: SocketAddr,
    clients: Vec<Client>,
    now: Instant,
}

impl Bench {
    fn new(clients: usize, seed: u64) -> Result<Self, String> {
        let mut rng = StdRng::seed_from_u64(seed);
        let now = Instant::now();
        let server_addr = addr(1 << 20);
        let server = engine(key(&mut rng), server_addr, now, rng.random())?;
        let clients = (0..clients)
            .map(|i| {
                let key = key(&mut rng);
                Client {
                    key,
                    id: peer_id_from_secret_key(&key),
                    addr: addr(i + 1),
                }
            })
            .collect();
        let mut b = Bench {
            server,
            server_addr,
            clients,
            now,
        };
        for i in 0..b.clients.len() {
            b.bond(i)?;
        }
        Ok(b)
    }

    fn ping(&self, c: &Client, expiration: u64) -> Result<Bytes, String> {
        encode(
            &c.key,
            &Message::Ping(Ping {
                version: PING_VERSION,
                from: endpoint(c.addr),
                to: endpoint(self.server_addr),
                expiration,
                enr_seq: Some(1),
            }),
        )
    }

    /// Ping the engine, answer its Ping back: both hold a proof.
    fn bond(&mut self, i: usize) -> Result<(), String> {
        let c = &self.clients[i];
        let ping = self.ping(c, UNIX + 3600)?;
        self.server.handle_packet(self.now, c.addr, &ping);
        let mut replies = Vec::new();
        while let Some((to, bytes)) = self.server.poll_transmit() {
            if to != c.addr {
                continue;
            }
            let p = packet::decode(&bytes).map_err(|e| e.to_string())?;
            if let Message::Ping(_) = p.message {
                replies.push(encode(
                    &c.key,
                    &Message::Pong(Pong {
                        to: endpoint(self.server_addr),
                        ping_hash: p.hash,
                        expiration: UNIX + 3600,
                        enr_seq: Some(1),
                    }),
                )?);
            }
        }
        for r in replies {
            self.server.handle_packet(self.now, c.addr, &r);
        }
        while self.server.poll_transmit().is_some() {}
        while self.server.poll_event().is_some() {}
        if self.server.is_bonded(&c.id, c.addr.ip(), self.now) {
            Ok(())
        } else {
            Err("client not bonded".into())
        }
    }

    /// Feeds `packets` round-robin; each call handles one and drops what
    /// the engine sends. Checks first that one packet gives `expect` replies.
    fn runner(
        mut self,
        cfg: &Config,
        packets: Vec<(SocketAddr, Bytes)>,
        expect: usize,
    ) -> Result<Runner, String> {
        let (from, first) = &packets[0];
        self.server.handle_packet(self.now, *from, first);
        let mut n = 0;
        while let Some((to, _)) = self.server.poll_transmit() {
            if to != *from {
                return Err(format!("a reply went to {to}, not to the source {from}"));
            }
            n += 1;
        }
        if n != expect {
            return Err(format!("{n} replies to one packet, {expect} expected"));
        }
        let mut i = 1;
        let now = self.now;
        let op = move || {
            let (from, bytes) = &packets[i % packets.len()];
            i += 1;
            self.server.handle_packet(now, *from, bytes);
            while let Some(t) = self.server.poll_transmit() {
                black_box(t);
            }
            while let Some(e) = self.server.poll_event() {
                black_box(e);
            }
        };
        Ok(timed_runner(cfg, op, |s| 1.0 / s))
    }
}

/// More distinct packets than the engine's duplicate filter remembers, so
/// none is dropped as a replay when the pool comes round again.
fn pool_size() -> usize {
    Discv4Config::default().recent_hashes * 2
}

/// Ping→Pong: bonded peers ping the engine; each Ping is decoded (signature
/// recovered), checked, and answered with a signed Pong.
pub(super) fn ping_pong(cfg: &Config) -> Result<Runner, String> {
    let b = Bench::new(8, 1)?;
    // In the table: a Ping then only refreshes the bond (no table insertion).
    if !b.clients.iter().all(|c| b.server.table().contains(&c.id)) {
        return Err("a bonded client is not in the table".into());
    }
    let mut packets = Vec::with_capacity(pool_size());
    for i in 0..pool_size() {
        let c = &b.clients[i % b.clients.len()];
        packets.push((c.addr, b.ping(c, UNIX + 7200 + i as u64)?));
    }
    b.runner(cfg, packets, 1)
}

/// FindNode→Neighbours: bonded peers ask for random targets; the engine
/// answers with the 16 closest of its table in two Neighbours packets (12 + 4).
pub(super) fn findnode(cfg: &Config) -> Result<Runner, String> {
    let b = Bench::new(48, 2)?;
    if b.server.table().len() < K {
        return Err("table too small for full answers".into());
    }
    let mut rng = StdRng::seed_from_u64(3);
    let mut packets = Vec::with_capacity(pool_size());
    for i in 0..pool_size() {
        let c = &b.clients[i % b.clients.len()];
        let mut t = [0u8; 64];
        rng.fill_bytes(&mut t);
        let m = Message::FindNode(FindNode {
            target: PeerId::from(t),
            expiration: UNIX + 3600 + i as u64,
        });
        packets.push((c.addr, encode(&c.key, &m)?));
    }
    b.runner(cfg, packets, K.div_ceil(packet::MAX_NEIGHBOURS_PER_PACKET))
}

// ----- lookup convergence ---------------------------------------------------

/// What one lookup took.
#[derive(Debug, Clone, Copy)]
pub(super) struct LookupRun {
    /// FindNode rounds (FindNodes sent by the requester / α) until every
    /// one of the 16 nodes closest to the target had been named to it.
    pub(super) rounds_to_closest: f64,
    /// Datagrams exchanged (all nodes) until then.
    pub(super) packets_to_closest: f64,
    /// FindNode rounds until the lookup ended.
    pub(super) rounds_total: f64,
    /// Datagrams until the lookup ended.
    pub(super) packets_total: f64,
    /// Of the 16 true closest, how many the lookup's result holds.
    pub(super) found: usize,
}

/// A simulated network of `n` discv4 engines on a frozen clock, built
/// lazily: a node's engine exists once a datagram reaches it, and its table
/// is filled (by pinging each node its converged table would hold: the
/// table code run over the whole population) just before it answers its
/// first FindNode, with traffic not counted. Datagrams are delivered in
/// order, without loss.
struct Sim {
    keys: Vec<SecretKey>,
    ids: Vec<PeerId>,
    keys_b256: Vec<alloy_primitives::B256>,
    by_addr: HashMap<SocketAddr, usize>,
    engines: HashMap<usize, Discv4>,
    populated: HashSet<usize>,
    rng: StdRng,
    now: Instant,
}

/// Datagrams in flight: source, destination, bytes.
type Queue = VecDeque<(SocketAddr, SocketAddr, Bytes)>;

/// What one lookup's datagrams showed.
struct Counters {
    requester: SocketAddr,
    packets: u64,
    findnodes: u64,
    /// Every node the requester was told about.
    named: HashSet<PeerId>,
    lookup: Option<ethp2p_discv4::LookupId>,
    result: Option<Vec<NodeRecord>>,
}

impl Sim {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys: Vec<SecretKey> = (0..n).map(|_| key(&mut rng)).collect();
        let ids: Vec<PeerId> = keys.iter().map(peer_id_from_secret_key).collect();
        let keys_b256 = ids.iter().map(node_key).collect();
        let by_addr = (0..n).map(|i| (addr(i), i)).collect();
        Sim {
            keys,
            ids,
            keys_b256,
            by_addr,
            engines: HashMap::new(),
            populated: HashSet::new(),
            rng,
            now: Instant::now(),
        }
    }

    fn engine(&mut self, i: usize) -> Result<&mut Discv4, String> {
        if !self.engines.contains_key(&i) {
            let e = engine(self.keys[i], addr(i), self.now, self.rng.random())?;
            self.engines.insert(i, e);
        }
        self.engines
            .get_mut(&i)
            .ok_or_else(|| "engine vanished".into())
    }

    fn drain(&mut self, i: usize, queue: &mut Queue) {
        if let Some(e) = self.engines.get_mut(&i) {
            while let Some((to, bytes)) = e.poll_transmit() {
                queue.push_back((addr(i), to, bytes));
            }
            while e.poll_event().is_some() {}
        }
    }

    /// Fills node `i`'s table with what a converged table would hold.
    /// Datagrams to or from the requester (node 0) are left in `spill`
    /// (they count) unless this is the requester's own filling.
    fn populate(&mut self, i: usize, spill: &mut Queue) -> Result<(), String> {
        if !self.populated.insert(i) {
            return Ok(());
        }
        let mut ideal = Table::new(self.ids[i]);
        let n = self.ids.len();
        let start = self.rng.random_range(0..n);
        for k in 0..n {
            let j = (start + k) % n;
            if j != i {
                let _ = ideal.add(NodeRecord::new(self.ids[j], addr(j)), self.now);
            }
        }
        let now = self.now;
        let e = self.engine(i)?;
        for r in ideal.records() {
            e.add_node(now, r);
        }
        let mut queue = VecDeque::new();
        self.drain(i, &mut queue);
        let requester = (i != 0).then_some(addr(0));
        while let Some((from, to, bytes)) = queue.pop_front() {
            if Some(from) == requester || Some(to) == requester {
                spill.push_back((from, to, bytes));
                continue;
            }
            let Some(&j) = self.by_addr.get(&to) else {
                continue;
            };
            let now = self.now;
            self.engine(j)?.handle_packet(now, from, &bytes);
            self.drain(j, &mut queue);
        }
        Ok(())
    }

    /// Delivers one datagram of the lookup (counted) and queues what it
    /// causes; the requester's events are checked for the result.
    fn deliver(
        &mut self,
        (from, to, bytes): (SocketAddr, SocketAddr, Bytes),
        queue: &mut Queue,
        c: &mut Counters,
    ) -> Result<(), String> {
        let Some(&j) = self.by_addr.get(&to) else {
            return Ok(());
        };
        let kind = bytes.get(HEADER_SIZE - 1).copied();
        c.packets += 1;
        if from == c.requester && kind == Some(FIND_NODE) {
            c.findnodes += 1;
        }
        if to == c.requester && kind == Some(NEIGHBOURS) {
            if let Ok(p) = packet::decode(&bytes) {
                if let Message::Neighbours(nb) = p.message {
                    c.named.extend(nb.nodes.iter().map(|r| r.id));
                }
            }
        }
        if kind == Some(FIND_NODE) && !self.populated.contains(&j) {
            self.populate(j, queue)?;
        }
        let now = self.now;
        self.engine(j)?.handle_packet(now, from, &bytes);
        self.collect(j, queue, c);
        Ok(())
    }

    /// Queues node `i`'s datagrams; keeps the requester's lookup result.
    fn collect(&mut self, i: usize, queue: &mut Queue, c: &mut Counters) {
        if let Some(e) = self.engines.get_mut(&i) {
            while let Some((to, bytes)) = e.poll_transmit() {
                queue.push_back((addr(i), to, bytes));
            }
            while let Some(ev) = e.poll_event() {
                if let Discv4Event::LookupFinished { id, nodes, .. } = ev {
                    if i == 0 && Some(id) == c.lookup {
                        c.result = Some(nodes);
                    }
                }
            }
        }
    }

    /// One lookup from node 0 for a random target.
    fn lookup(&mut self) -> Result<LookupRun, String> {
        let mut t = [0u8; 64];
        self.rng.fill_bytes(&mut t);
        let target = PeerId::from(t);
        let tk = node_key(&target);
        let mut order: Vec<usize> = (1..self.ids.len()).collect();
        order.sort_by_key(|&j| distance(&self.keys_b256[j], &tk));
        let closest: HashSet<PeerId> = order[..K].iter().map(|&j| self.ids[j]).collect();

        let mut queue = VecDeque::new();
        self.populate(0, &mut queue)?;
        let now = self.now;
        let id = self
            .engine(0)?
            .lookup(now, target)
            .map_err(|e| e.to_string())?;
        let mut c = Counters {
            requester: addr(0),
            packets: 0,
            findnodes: 0,
            named: HashSet::new(),
            lookup: Some(id),
            result: None,
        };
        let mut at_closest: Option<(u64, u64)> = None;
        self.collect(0, &mut queue, &mut c);
        // A lookup stuck on an unanswered request moves on with the clock
        // (100 ms steps, at most 20 s).
        for _ in 0..200 {
            while let Some(item) = queue.pop_front() {
                self.deliver(item, &mut queue, &mut c)?;
                if at_closest.is_none() && closest.is_subset(&c.named) {
                    at_closest = Some((c.findnodes, c.packets));
                }
            }
            if c.result.is_some() {
                break;
            }
            self.now += Duration::from_millis(100);
            let now = self.now;
            let ids: Vec<usize> = self.engines.keys().copied().collect();
            for i in ids {
                if let Some(e) = self.engines.get_mut(&i) {
                    e.handle_timeout(now);
                }
                self.collect(i, &mut queue, &mut c);
            }
        }
        let result = c.result.take().ok_or("the lookup did not finish")?;
        let found = result.iter().filter(|r| closest.contains(&r.id)).count();
        let rounds = |f: u64| (f as f64 / ALPHA as f64).ceil();
        let (f_closest, p_closest) = at_closest.unwrap_or((c.findnodes, c.packets));
        Ok(LookupRun {
            rounds_to_closest: rounds(f_closest),
            packets_to_closest: p_closest as f64,
            rounds_total: rounds(c.findnodes),
            packets_total: c.packets as f64,
            found,
        })
    }
}

/// Runs `lookups` lookups from one node of a simulated network of `n`.
pub(super) fn lookups(n: usize, lookups: usize, seed: u64) -> Result<Vec<LookupRun>, String> {
    let mut sim = Sim::new(n, seed);
    (0..lookups).map(|_| sim.lookup()).collect()
}

/// The bound: 2 × ⌈log₂ N / log₂ 16⌉ rounds of α queries.
pub(super) fn round_bound(n: usize) -> f64 {
    2.0 * ((n as f64).log2() / (K as f64).log2()).ceil()
}

// ----- memory per table entry ---------------------------------------------

/// Resident set size of this process, bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> Result<u64, String> {
    let s = std::fs::read_to_string("/proc/self/statm").map_err(|e| format!("statm: {e}"))?;
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or("statm: no RSS field")?;
    Ok(pages * 4096)
}

/// Table memory, measured in a fresh process (`--peer table-memory`): RSS
/// before and after filling `tables` tables from random ids (entries as the
/// table keeps them, each with the 100-odd byte ENR a fetched entry holds).
/// Prints one JSON object.
pub(super) fn peer_table_memory(tables: usize) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(11);
    let now = Instant::now();
    // Distinct signed records to clone into the entries.
    let enrs: Vec<_> = (0..16)
        .map(|i| {
            let k = key(&mut rng);
            ethp2p_discv4::enr::LocalEnr::new(
                &k,
                1,
                ethp2p_discv4::enr::LocalEnrFields {
                    ip: Some(addr(i).ip()),
                    tcp: 30303,
                    udp: 30303,
                    fork_id: Some(ethp2p_eth::forkid::ForkId {
                        hash: ethp2p_eth::forkid::ForkHash([1, 2, 3, 4]),
                        next: 0,
                    }),
                },
            )
            .map(|l| l.record().clone())
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let before = rss_bytes()?;
    let mut all = Vec::with_capacity(tables);
    let mut entries = 0usize;
    for _ in 0..tables {
        let mut b = [0u8; 64];
        rng.fill_bytes(&mut b);
        let mut table = Table::new(PeerId::from(b));
        for j in 0..2000 {
            rng.fill_bytes(&mut b);
            let _ = table.add(NodeRecord::new(PeerId::from(b), addr(j)), now);
        }
        entries += table.len();
        all.push(table);
    }
    let no_enr = rss_bytes()?;
    for (t, table) in all.iter_mut().enumerate() {
        let ids: Vec<PeerId> = table.iter().map(|e| e.record.id).collect();
        for (k, id) in ids.iter().enumerate() {
            if let Some(e) = table.get_mut(id) {
                e.enr = Some(enrs[(t + k) % enrs.len()].clone());
            }
        }
    }
    let with_enr = rss_bytes()?;
    let replacements: usize = all.iter().map(Table::replacements_len).sum();
    black_box(&all);
    println!(
        "{}",
        serde_json::json!({
            "tables": tables,
            "entries": entries,
            "replacements": replacements,
            "rss_before": before,
            "rss_tables": no_enr,
            "rss_with_enr": with_enr,
            "size_of_entry": std::mem::size_of::<ethp2p_discv4::table::Entry>(),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_round_bound_is_twice_the_base_16_digits() {
        assert_eq!(round_bound(16), 2.0);
        assert_eq!(round_bound(1000), 6.0);
        assert_eq!(round_bound(10_000), 8.0);
    }

    /// The simulated network answers like a converged one: a lookup in 300
    /// nodes ends and returns the 16 nodes truly closest to its target.
    #[test]
    fn a_simulated_lookup_finds_the_true_closest() {
        let runs = lookups(300, 1, 5).unwrap();
        assert_eq!(runs[0].found, K);
        assert!(runs[0].rounds_to_closest >= 1.0);
        assert!(runs[0].rounds_total >= runs[0].rounds_to_closest);
        assert!(runs[0].packets_total >= runs[0].packets_to_closest);
    }
}
