use super::*;
use crate::{
    enr::{encode_eth_entry, signing_key, ETH_ENR_KEY},
    table::node_key,
};
use ethp2p_eth::chain::ChainSpec;

const UNIX: u64 = 1_800_000_000;
const LOCAL_IP: &str = "10.0.0.1";

fn key(seed: u64) -> SecretKey {
    let mut rng = StdRng::seed_from_u64(seed);
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if let Ok(k) = SecretKey::from_byte_array(b) {
            return k;
        }
    }
}

fn params(config: Discv4Config, filter: Box<dyn NodeFilter>) -> Discv4Params {
    Discv4Params {
        secret_key: key(1),
        external_ip: Some(LOCAL_IP.parse().unwrap()),
        udp_port: 30303,
        tcp_port: 30303,
        enr_seq: 1,
        fork_id: Some(ChainSpec::mainnet().fork_id_at(0, 0)),
        filter,
        config,
        rng_seed: 1,
    }
}

fn engine_with(config: Discv4Config, filter: Box<dyn NodeFilter>) -> (Discv4, Instant) {
    let now = Instant::now();
    let d = Discv4::new(params(config, filter), now, Duration::from_secs(UNIX)).unwrap();
    (d, now)
}

fn engine() -> (Discv4, Instant) {
    engine_with(Discv4Config::default(), Box::new(AcceptAll))
}

/// A remote node driven by hand.
struct Tester {
    key: SecretKey,
    id: PeerId,
    addr: SocketAddr,
}

impl Tester {
    fn new(seed: u64, addr: &str) -> Self {
        let key = key(seed);
        Self {
            id: peer_id_from_secret_key(&key),
            key,
            addr: addr.parse().unwrap(),
        }
    }

    fn record(&self) -> NodeRecord {
        NodeRecord {
            id: self.id,
            address: self.addr.ip(),
            tcp_port: self.addr.port(),
            udp_port: self.addr.port(),
        }
    }

    fn encode(&self, m: &Message) -> EncodedPacket {
        packet::encode(&self.key, m).unwrap()
    }

    fn ping_msg(&self, expiration: u64) -> Message {
        Message::Ping(Ping {
            version: 4,
            from: Endpoint {
                ip: self.addr.ip(),
                udp: self.addr.port(),
                tcp: self.addr.port(),
            },
            to: Endpoint {
                ip: LOCAL_IP.parse().unwrap(),
                udp: 30303,
                tcp: 0,
            },
            expiration,
            enr_seq: None,
        })
    }

    /// Sends `m` from `from` (default: its own address); returns its hash.
    fn send(&self, d: &mut Discv4, now: Instant, m: &Message) -> B256 {
        self.send_from(d, now, self.addr, m)
    }

    fn send_from(&self, d: &mut Discv4, now: Instant, from: SocketAddr, m: &Message) -> B256 {
        let p = self.encode(m);
        d.handle_packet(now, from, &p.bytes);
        p.hash
    }

    fn enr(&self, fork_id: Option<ForkId>) -> Enr {
        let k = signing_key(&self.key).unwrap();
        let mut b = ::enr::Enr::builder();
        b.ip(self.addr.ip())
            .udp4(self.addr.port())
            .tcp4(self.addr.port());
        if let Some(f) = fork_id {
            b.add_value_rlp(ETH_ENR_KEY, encode_eth_entry(f).into());
        }
        b.build(&k).unwrap()
    }
}

fn exp(now_unix: u64) -> u64 {
    now_unix + 20
}

fn unix_at(start: Instant, now: Instant) -> u64 {
    UNIX + now.duration_since(start).as_secs()
}

/// Everything the engine queued, decoded.
fn drain(d: &mut Discv4) -> Vec<(SocketAddr, Packet)> {
    let mut out = Vec::new();
    while let Some((to, bytes)) = d.poll_transmit() {
        out.push((to, packet::decode(&bytes).unwrap()));
    }
    out
}

fn events(d: &mut Discv4) -> Vec<Discv4Event> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn find_ping(out: &[(SocketAddr, Packet)]) -> Option<(SocketAddr, B256)> {
    out.iter().find_map(|(to, p)| match p.message {
        Message::Ping(_) => Some((*to, p.hash)),
        _ => None,
    })
}

/// Full bond: the tester pings, the engine pongs and pings back, the tester
/// pongs. Returns what the engine sent after the Pong.
fn bond(d: &mut Discv4, t: &Tester, now: Instant, start: Instant) -> Vec<(SocketAddr, Packet)> {
    t.send(d, now, &t.ping_msg(exp(unix_at(start, now))));
    let out = drain(d);
    let (_, ping_hash) = find_ping(&out).expect("engine pings back a stranger");
    pong(d, t, now, start, ping_hash);
    drain(d)
}

/// A Pong to the engine's endpoint (UDP 30303, the given TCP port).
fn pong_msg(ping_hash: B256, expiration: u64, enr_seq: Option<u64>, tcp: u16) -> Message {
    Message::Pong(Pong {
        to: Endpoint {
            ip: LOCAL_IP.parse().unwrap(),
            udp: 30303,
            tcp,
        },
        ping_hash,
        expiration,
        enr_seq,
    })
}

/// The tester's Pong; like a current node it announces its record's
/// sequence number (EIP-868).
fn pong(d: &mut Discv4, t: &Tester, now: Instant, start: Instant, ping_hash: B256) {
    let m = pong_msg(ping_hash, exp(unix_at(start, now)), Some(1), 30303);
    t.send(d, now, &m);
}

fn find_node(_t: &Tester, target: PeerId, now_unix: u64) -> Message {
    Message::FindNode(FindNode {
        target,
        expiration: exp(now_unix),
    })
}

fn neighbours_to(out: &[(SocketAddr, Packet)], to: SocketAddr) -> usize {
    out.iter()
        .filter(|(a, p)| *a == to && matches!(p.message, Message::Neighbours(_)))
        .count()
}

#[test]
fn stranger_ping_gets_one_pong_and_one_ping_at_the_source_address() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    // `from` lies about the endpoint: replies must go to the packet's source.
    let mut m = t.ping_msg(exp(UNIX));
    if let Message::Ping(p) = &mut m {
        p.from = Endpoint {
            ip: "10.9.9.9".parse().unwrap(),
            udp: 1111,
            tcp: 2222,
        };
    }
    let hash = t.send(&mut d, now, &m);
    let out = drain(&mut d);
    assert_eq!(out.len(), 2, "{out:?}");
    let (to, p) = &out[0];
    assert_eq!(*to, t.addr);
    let Message::Pong(pong) = &p.message else {
        panic!("first reply is not a Pong: {:?}", p.message)
    };
    assert_eq!(pong.ping_hash, hash);
    assert_eq!(pong.to.udp_addr(), t.addr);
    assert_eq!(pong.to.tcp, 2222);
    assert_eq!(pong.enr_seq, Some(1));
    let (to, p) = &out[1];
    assert_eq!(*to, t.addr);
    assert!(matches!(p.message, Message::Ping(_)));
    // Not yet in the table: no proof from it.
    assert!(d.table().is_empty());
}

#[test]
fn find_node_needs_an_endpoint_proof() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    t.send(&mut d, now, &find_node(&t, t.id, UNIX));
    assert!(drain(&mut d).is_empty());
    // ENRRequest likewise.
    t.send(
        &mut d,
        now,
        &Message::EnrRequest(EnrRequest {
            expiration: exp(UNIX),
        }),
    );
    assert!(drain(&mut d).is_empty());

    let after_bond = bond(&mut d, &t, now, now);
    assert!(d.is_bonded(&t.id, t.addr.ip(), now));
    assert!(d.table().contains(&t.id));
    // The new table entry's ENR is requested right away (both proofs held).
    assert!(after_bond
        .iter()
        .any(|(a, p)| *a == t.addr && matches!(p.message, Message::EnrRequest(_))));

    // (Another target: the same packet again would be dropped as a duplicate.)
    let local = d.local_id();
    t.send(&mut d, now, &find_node(&t, local, UNIX));
    let out = drain(&mut d);
    assert_eq!(neighbours_to(&out, t.addr), 1, "{out:?}");

    let req_hash = t.send(
        &mut d,
        now,
        &Message::EnrRequest(EnrRequest {
            expiration: exp(UNIX) + 1,
        }),
    );
    let out = drain(&mut d);
    let Message::EnrResponse(r) = &out[0].1.message else {
        panic!("no ENRResponse")
    };
    assert_eq!(out[0].0, t.addr);
    assert_eq!(r.request_hash, req_hash);
    assert_eq!(&r.enr, d.local_enr());
}

#[test]
fn a_node_announcing_no_enr_seq_is_sent_no_enr_request_and_reported_without_a_record() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    // As geth's v4 test suite bonds: its Ping and Pong carry no enr-seq.
    t.send(&mut d, now, &t.ping_msg(exp(UNIX)));
    let (_, ping_hash) = find_ping(&drain(&mut d)).unwrap();
    t.send(&mut d, now, &pong_msg(ping_hash, exp(UNIX), None, 30303));
    assert!(d.table().contains(&t.id));
    let out = drain(&mut d);
    assert!(
        !out.iter()
            .any(|(_, p)| matches!(p.message, Message::EnrRequest(_))),
        "{out:?}"
    );
    // Its FindNode is answered with Neighbours, nothing else in between.
    let local = d.local_id();
    t.send(&mut d, now, &find_node(&t, local, UNIX));
    let out = drain(&mut d);
    assert!(out
        .iter()
        .all(|(_, p)| matches!(p.message, Message::Neighbours(_))));
    assert_eq!(neighbours_to(&out, t.addr), 1, "{out:?}");
    let ev = events(&mut d);
    assert!(
        matches!(&ev[..], [Discv4Event::NodeFound { record, enr: None, fork_id: None }] if record.id == t.id),
        "{ev:?}"
    );
    // Once it announces a sequence number (here in a Ping), its record is
    // fetched.
    let mut ping = t.ping_msg(exp(UNIX) + 1);
    if let Message::Ping(p) = &mut ping {
        p.enr_seq = Some(3);
    }
    t.send(&mut d, now, &ping);
    assert!(drain(&mut d)
        .iter()
        .any(|(a, p)| *a == t.addr && matches!(p.message, Message::EnrRequest(_))));
}

#[test]
fn pong_with_wrong_hash_makes_no_bond() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    t.send(&mut d, now, &t.ping_msg(exp(UNIX)));
    let _ = drain(&mut d);
    pong(&mut d, &t, now, now, B256::repeat_byte(0x42));
    assert!(!d.is_bonded(&t.id, t.addr.ip(), now));
    t.send(&mut d, now, &find_node(&t, t.id, UNIX));
    assert_eq!(neighbours_to(&drain(&mut d), t.addr), 0);
    assert!(d.table().is_empty());
}

#[test]
fn pong_from_another_ip_makes_no_bond() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    t.send(&mut d, now, &t.ping_msg(exp(UNIX)));
    let (_, ping_hash) = find_ping(&drain(&mut d)).unwrap();
    let m = pong_msg(ping_hash, exp(UNIX), None, 0);
    t.send_from(&mut d, now, "10.0.0.99:30310".parse().unwrap(), &m);
    assert!(!d.is_bonded(&t.id, t.addr.ip(), now));
    assert!(!d.is_bonded(&t.id, "10.0.0.99".parse().unwrap(), now));
    assert!(d.table().is_empty());
}

#[test]
fn find_node_from_the_same_id_at_another_ip_is_ignored() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, now, now);
    t.send_from(
        &mut d,
        now,
        "10.0.0.77:30310".parse().unwrap(),
        &find_node(&t, t.id, UNIX),
    );
    assert!(drain(&mut d).is_empty());
}

#[test]
fn endpoint_proof_expires_after_twelve_hours() {
    let (mut d, start) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, start, start);
    let later = start + Duration::from_secs(11 * 3600);
    d.handle_timeout(later);
    let _ = drain(&mut d);
    t.send(&mut d, later, &find_node(&t, t.id, unix_at(start, later)));
    assert_eq!(neighbours_to(&drain(&mut d), t.addr), 1);
    let expired = start + Duration::from_secs(12 * 3600 + 1);
    t.send(
        &mut d,
        expired,
        &find_node(&t, t.id, unix_at(start, expired)),
    );
    assert_eq!(neighbours_to(&drain(&mut d), t.addr), 0);
    assert!(!d.is_bonded(&t.id, t.addr.ip(), expired));
}

#[test]
fn expired_and_far_future_packets_are_dropped() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    t.send(&mut d, now, &t.ping_msg(UNIX - 1));
    assert!(drain(&mut d).is_empty(), "past expiration answered");
    // geth's Ping/PastExpiration: 2^64 - now, a "negative" time.
    t.send(&mut d, now, &t.ping_msg(0u64.wrapping_sub(UNIX)));
    assert!(drain(&mut d).is_empty(), "far-future expiration answered");
    t.send(&mut d, now, &t.ping_msg(i64::MAX as u64));
    assert_eq!(drain(&mut d).len(), 2);
}

#[test]
fn expiration_follows_the_clock_fed_in() {
    let (mut d, start) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let later = start + Duration::from_secs(100);
    // Valid at start, expired 100 s later.
    t.send(&mut d, later, &t.ping_msg(UNIX + 50));
    assert!(drain(&mut d).is_empty());
    t.send(&mut d, later, &t.ping_msg(UNIX + 150));
    assert_eq!(drain(&mut d).len(), 2);
}

#[test]
fn unsolicited_neighbours_are_not_added() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, now, now);
    let others: Vec<NodeRecord> = (10..13)
        .map(|i| Tester::new(i, &format!("10.0.1.{i}:30303")).record())
        .collect();
    t.send(
        &mut d,
        now,
        &Message::Neighbours(Neighbours {
            nodes: others.clone(),
            expiration: exp(UNIX),
        }),
    );
    let out = drain(&mut d);
    assert!(out.is_empty(), "{out:?}");
    for o in &others {
        assert!(!d.table().contains(&o.id));
    }
    assert_eq!(d.table().len(), 1);
}

#[test]
fn duplicate_packets_are_dropped() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let p = t.encode(&t.ping_msg(exp(UNIX)));
    d.handle_packet(now, t.addr, &p.bytes);
    d.handle_packet(now, t.addr, &p.bytes);
    let pongs = drain(&mut d)
        .iter()
        .filter(|(_, p)| matches!(p.message, Message::Pong(_)))
        .count();
    assert_eq!(pongs, 1);
}

#[test]
fn per_ip_rate_limit() {
    let config = Discv4Config {
        max_packets_per_ip: 5,
        ..Default::default()
    };
    let (mut d, now) = engine_with(config, Box::new(AcceptAll));
    let t = Tester::new(2, "10.0.0.2:30310");
    for i in 0..10 {
        t.send(&mut d, now, &t.ping_msg(exp(UNIX) + i));
    }
    let pongs = |out: &[(SocketAddr, Packet)]| {
        out.iter()
            .filter(|(_, p)| matches!(p.message, Message::Pong(_)))
            .count()
    };
    assert_eq!(pongs(&drain(&mut d)), 5);
    // Another IP is not affected; the window resets.
    let u = Tester::new(3, "10.0.0.3:30310");
    u.send(&mut d, now, &u.ping_msg(exp(UNIX)));
    assert_eq!(pongs(&drain(&mut d)), 1);
    let later = now + Duration::from_secs(60);
    t.send(&mut d, later, &t.ping_msg(exp(UNIX + 60) + 99));
    assert_eq!(pongs(&drain(&mut d)), 1);
}

#[test]
fn bans_are_honoured() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, now, now);
    assert!(d.table().contains(&t.id));
    d.ban_node(now, t.id, Some(Duration::from_secs(60)));
    assert!(!d.table().contains(&t.id));
    assert!(events(&mut d)
        .iter()
        .any(|e| matches!(e, Discv4Event::NodeRemoved { id } if *id == t.id)));
    t.send(&mut d, now, &t.ping_msg(exp(UNIX)));
    assert!(drain(&mut d).is_empty());
    // The ban ends.
    let later = now + Duration::from_secs(61);
    t.send(&mut d, later, &t.ping_msg(exp(UNIX + 61)));
    assert!(!drain(&mut d).is_empty());

    let u = Tester::new(3, "10.0.0.3:30310");
    d.ban_ip(now, u.addr.ip(), None);
    u.send(&mut d, later, &u.ping_msg(exp(UNIX + 61)));
    assert!(drain(&mut d).is_empty());
}

#[test]
fn enr_response_must_match_request_and_signer() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let out = bond(&mut d, &t, now, now);
    let req = out
        .iter()
        .find(|(_, p)| matches!(p.message, Message::EnrRequest(_)))
        .unwrap()
        .1
        .hash;
    let fork = ChainSpec::mainnet().fork_id_at(0, 0);
    // Wrong hash: ignored.
    t.send(
        &mut d,
        now,
        &Message::EnrResponse(EnrResponse {
            request_hash: B256::repeat_byte(1),
            enr: t.enr(Some(fork)),
        }),
    );
    // Someone else's record: ignored.
    let other = Tester::new(9, "10.0.0.9:30303");
    t.send(
        &mut d,
        now,
        &Message::EnrResponse(EnrResponse {
            request_hash: req,
            enr: other.enr(Some(fork)),
        }),
    );
    assert!(events(&mut d).is_empty());
    t.send(
        &mut d,
        now,
        &Message::EnrResponse(EnrResponse {
            request_hash: req,
            enr: t.enr(Some(fork)),
        }),
    );
    let ev = events(&mut d);
    assert_eq!(ev.len(), 1);
    let Discv4Event::NodeFound {
        record,
        enr,
        fork_id,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(record.id, t.id);
    assert_eq!(*fork_id, Some(fork));
    assert_eq!(enr.as_ref().map(enr_peer_id), Some(t.id));
}

fn mainnet_filter(require: bool) -> Box<dyn NodeFilter> {
    let spec = ChainSpec::mainnet();
    Box::new(ForkIdFilter {
        filter: spec.fork_filter(spec.genesis_head()),
        require_fork_id: require,
    })
}

/// Bonds `t` and answers the engine's ENRRequest with `enr` (or lets it time
/// out when `None`); returns the events.
fn discover_with_enr(
    d: &mut Discv4,
    t: &Tester,
    now: Instant,
    enr: Option<Enr>,
) -> Vec<Discv4Event> {
    let out = bond(d, t, now, now);
    let req = out
        .iter()
        .find(|(_, p)| matches!(p.message, Message::EnrRequest(_)))
        .expect("ENRRequest")
        .1
        .hash;
    match enr {
        Some(enr) => {
            t.send(
                d,
                now,
                &Message::EnrResponse(EnrResponse {
                    request_hash: req,
                    enr,
                }),
            );
        }
        None => d.handle_timeout(now + Duration::from_millis(600)),
    }
    events(d)
}

#[test]
fn fork_id_filter_refuses_another_chain() {
    let (mut d, now) = engine_with(Discv4Config::default(), mainnet_filter(false));
    let sepolia = Tester::new(2, "10.0.0.2:30310");
    let ev = discover_with_enr(
        &mut d,
        &sepolia,
        now,
        Some(sepolia.enr(Some(ChainSpec::sepolia().fork_id_at(0, 0)))),
    );
    assert!(ev.is_empty(), "{ev:?}");
    // Still in the table (discovery itself is chain-agnostic), not reported.
    assert!(d.table().contains(&sepolia.id));

    let mainnet = Tester::new(3, "10.0.0.3:30310");
    let fork = ChainSpec::mainnet().fork_id_at(0, 0);
    let ev = discover_with_enr(&mut d, &mainnet, now, Some(mainnet.enr(Some(fork))));
    assert!(matches!(
        &ev[..],
        [Discv4Event::NodeFound { record, fork_id: Some(f), .. }] if record.id == mainnet.id && *f == fork
    ));
}

#[test]
fn nodes_without_eth_entry_follow_require_flag() {
    for require in [false, true] {
        let (mut d, now) = engine_with(Discv4Config::default(), mainnet_filter(require));
        let t = Tester::new(2, "10.0.0.2:30310");
        let ev = discover_with_enr(&mut d, &t, now, Some(t.enr(None)));
        assert_eq!(ev.len(), usize::from(!require), "require={require}");
        // A node that never answers the ENRRequest (pre-EIP-868).
        let u = Tester::new(3, "10.0.0.3:30310");
        let ev = discover_with_enr(&mut d, &u, now, None);
        assert_eq!(ev.len(), usize::from(!require), "require={require}");
        if let Some(Discv4Event::NodeFound { enr, fork_id, .. }) = ev.first() {
            assert!(enr.is_none() && fork_id.is_none());
        }
    }
}

/// Testers whose ids fall into the engine's farthest bucket (16).
fn testers_in_far_bucket(d: &Discv4, n: usize) -> Vec<Tester> {
    let local = node_key(&d.local_id());
    let mut out = Vec::new();
    let mut seed = 100;
    while out.len() < n {
        seed += 1;
        let t = Tester::new(
            seed,
            &format!("10.1.{}.{}:30303", seed / 200, seed % 200 + 1),
        );
        if crate::table::log_distance(&local, &node_key(&t.id)) == 256 {
            out.push(t);
        }
    }
    out
}

#[test]
fn revalidation_replaces_a_dead_entry() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let testers = testers_in_far_bucket(&d, BUCKET_SIZE + 1);
    for t in &testers {
        let _ = bond(&mut d, t, start, start);
    }
    assert_eq!(d.table().len(), BUCKET_SIZE);
    assert_eq!(d.table().replacements_len(), 1);
    let first = &testers[0];
    let spare = &testers[BUCKET_SIZE];
    assert!(d.table().contains(&first.id) && !d.table().contains(&spare.id));
    let _ = events(&mut d);

    // The first revalidation pings the least recently seen entry; it is silent.
    let (now, to) = loop {
        let now = d.poll_timeout().unwrap();
        d.handle_timeout(now);
        if let Some((to, _)) = find_ping(&drain(&mut d)) {
            break (now, to);
        }
    };
    assert_eq!(to, first.addr);
    d.handle_timeout(now + Duration::from_millis(501));
    assert!(!d.table().contains(&first.id));
    assert!(d.table().contains(&spare.id));
    assert_eq!(d.table().len(), BUCKET_SIZE);
    assert!(events(&mut d)
        .iter()
        .any(|e| matches!(e, Discv4Event::NodeRemoved { id } if *id == first.id)));
    // The promoted node's ENR is fetched.
    assert!(drain(&mut d)
        .iter()
        .any(|(a, p)| *a == spare.addr && matches!(p.message, Message::EnrRequest(_))));
}

#[test]
fn revalidation_answered_keeps_the_entry() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, start, start);
    for _ in 0..5 {
        let (now, hash) = loop {
            let now = d.poll_timeout().unwrap();
            d.handle_timeout(now);
            if let Some((_, h)) = find_ping(&drain(&mut d)) {
                break (now, h);
            }
        };
        pong(&mut d, &t, now, start, hash);
    }
    let e = d.table().get(&t.id).unwrap();
    assert_eq!(e.failed_checks, 0);
    assert!(e.liveness >= 5);
}

#[test]
fn silent_entry_without_replacement_leaves_after_three_failed_checks() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, start, start);
    let mut pings = 0;
    while d.table().contains(&t.id) {
        let now = d.poll_timeout().unwrap();
        d.handle_timeout(now);
        if find_ping(&drain(&mut d)).is_some() {
            pings += 1;
        }
        assert!(now < start + Duration::from_secs(600));
    }
    assert_eq!(pings, 3);
}

#[test]
fn lookup_through_a_bootnode_queries_its_neighbours() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let boot = Tester::new(2, "10.0.0.2:30310");
    let peers: Vec<Tester> = (10..14)
        .map(|i| Tester::new(i, &format!("10.0.2.{i}:30303")))
        .collect();
    d.add_bootnode(start, boot.record());
    let lid = d.lookup(start, boot.id).unwrap();
    let now = start;
    // The engine pings the bootnode (bond before FindNode).
    let (_, ping_hash) = find_ping(&drain(&mut d)).unwrap();
    pong(&mut d, &boot, now, start, ping_hash);
    // It waits for the bootnode's Ping before asking.
    assert!(!drain(&mut d)
        .iter()
        .any(|(_, p)| matches!(p.message, Message::FindNode(_))));
    boot.send(&mut d, now, &boot.ping_msg(exp(UNIX)));
    let out = drain(&mut d);
    assert!(out
        .iter()
        .any(|(a, p)| *a == boot.addr && matches!(p.message, Message::FindNode(_))));
    boot.send(
        &mut d,
        now,
        &Message::Neighbours(Neighbours {
            nodes: peers.iter().map(Tester::record).collect(),
            expiration: exp(UNIX),
        }),
    );
    // Learnt nodes are pinged at once (their buckets have room; they would
    // enter the table on answering).
    let out = drain(&mut d);
    let pinged: Vec<(SocketAddr, B256)> = out
        .iter()
        .filter(|(_, p)| matches!(p.message, Message::Ping(_)))
        .map(|(a, p)| (*a, p.hash))
        .collect();
    assert_eq!(pinged.len(), 4);
    // Two answer fully (Pong and Ping): with the bootnode's FindNode still in
    // flight, α = 3 allows FindNode to only two of them.
    let find_nodes = |out: Vec<(SocketAddr, Packet)>| {
        out.iter()
            .filter(|(_, p)| matches!(p.message, Message::FindNode(_)))
            .count()
    };
    let mut sent = 0;
    let t1 = now + Duration::from_millis(100);
    for p in &peers {
        let (_, h) = pinged.iter().find(|(a, _)| *a == p.addr).unwrap();
        pong(&mut d, p, t1, start, *h);
        p.send(&mut d, t1, &p.ping_msg(exp(UNIX)));
        sent += find_nodes(drain(&mut d));
    }
    assert_eq!(sent, 2);
    assert_eq!(d.table().len(), 5);
    // Once the bootnode's FindNode times out (a partial answer counts), a
    // third (the other two, sent 100 ms later, are still in flight).
    let later = now + Duration::from_millis(550);
    d.handle_timeout(later);
    assert_eq!(find_nodes(drain(&mut d)), 1);
    // Nobody answers the FindNodes: the lookup ends with the bootnode only.
    let mut t = later;
    let result = loop {
        t += Duration::from_millis(600);
        d.handle_timeout(t);
        let _ = drain(&mut d);
        if let Some(Discv4Event::LookupFinished { id, nodes, .. }) = events(&mut d)
            .into_iter()
            .find(|e| matches!(e, Discv4Event::LookupFinished { .. }))
        {
            assert_eq!(id, lid);
            break nodes;
        }
        assert!(t < start + Duration::from_secs(30), "lookup never ended");
    };
    assert_eq!(result, vec![boot.record()]);
}

#[test]
fn neighbours_from_a_public_node_drop_lan_addresses() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let boot = Tester::new(2, "203.0.113.2:30310");
    d.add_bootnode(start, boot.record());
    let _ = d.lookup(start, boot.id).unwrap();
    let (_, h) = find_ping(&drain(&mut d)).unwrap();
    pong(&mut d, &boot, start, start, h);
    boot.send(&mut d, start, &boot.ping_msg(exp(UNIX)));
    let _ = drain(&mut d);
    let lan = Tester::new(10, "192.168.1.5:30303");
    let low_port = Tester::new(11, "198.51.100.5:80");
    let public = Tester::new(12, "198.51.100.6:30303");
    boot.send(
        &mut d,
        start,
        &Message::Neighbours(Neighbours {
            nodes: vec![lan.record(), low_port.record(), public.record()],
            expiration: exp(UNIX),
        }),
    );
    d.handle_timeout(start + Duration::from_millis(600));
    let pinged: Vec<SocketAddr> = drain(&mut d)
        .iter()
        .filter(|(_, p)| matches!(p.message, Message::Ping(_)))
        .map(|(a, _)| *a)
        .collect();
    assert_eq!(pinged, vec![public.addr]);
}

#[test]
fn find_node_answers_split_twelve_plus_four() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, now, now);
    // Fill the table with 20 more nodes.
    for i in 0..20u64 {
        let u = Tester::new(1000 + i, &format!("10.3.0.{}:30303", i + 1));
        let _ = bond(&mut d, &u, now, now);
    }
    assert!(d.table().len() >= BUCKET_SIZE);
    t.send(&mut d, now, &find_node(&t, t.id, UNIX));
    let sizes: Vec<usize> = drain(&mut d)
        .iter()
        .filter_map(|(_, p)| match &p.message {
            Message::Neighbours(n) => Some(n.nodes.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![12, 4]);
}

#[test]
fn local_enr_seq_bumps_on_fork_change() {
    let (mut d, _) = engine();
    let seq = d.local_enr().seq();
    assert!(!d
        .set_fork_id(ChainSpec::mainnet().fork_id_at(0, 0))
        .unwrap());
    assert!(d
        .set_fork_id(ChainSpec::mainnet().fork_id_at(20_000_000, 1_800_000_000))
        .unwrap());
    assert_eq!(d.local_enr().seq(), seq + 1);
}

#[test]
fn unknown_packet_type_is_dropped_silently() {
    let (mut d, now) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let _ = bond(&mut d, &t, now, now);
    // A well-signed packet of type 0x07 (geth's Ping/WrongPacketType sends
    // its Ping body with another type byte).
    let mut body = vec![0x07];
    body.extend_from_slice(&[0xc2, 0x04, 0x05]);
    let signed_hash = alloy_primitives::keccak256(&body);
    let (recid, sig) = secp256k1::SECP256K1
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(signed_hash.0), &t.key)
        .serialize_compact();
    let mut datagram = vec![0u8; 32];
    datagram.extend_from_slice(&sig);
    datagram.push(i32::from(recid) as u8);
    datagram.extend_from_slice(&body);
    let hash = alloy_primitives::keccak256(&datagram[32..]);
    datagram[..32].copy_from_slice(hash.as_slice());
    d.handle_packet(now, t.addr, &datagram);
    assert!(drain(&mut d).is_empty());
    assert!(events(&mut d).is_empty());
}

#[test]
fn higher_enr_seq_in_pong_refetches_the_record() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let t = Tester::new(2, "10.0.0.2:30310");
    let enr = t.enr(None);
    let ev = discover_with_enr(&mut d, &t, start, Some(enr.clone()));
    assert_eq!(ev.len(), 1);
    let seq = enr.seq();
    // Revalidation Pongs: same seq → no ENRRequest; higher → one.
    for (announced, expect_request) in [(seq, false), (seq + 1, true)] {
        let (now, hash) = loop {
            let now = d.poll_timeout().unwrap();
            d.handle_timeout(now);
            if let Some((_, h)) = find_ping(&drain(&mut d)) {
                break (now, h);
            }
        };
        t.send(
            &mut d,
            now,
            &pong_msg(hash, exp(unix_at(start, now)), Some(announced), 30303),
        );
        let requested = drain(&mut d)
            .iter()
            .any(|(_, p)| matches!(p.message, Message::EnrRequest(_)));
        assert_eq!(requested, expect_request, "announced seq {announced}");
    }
}

#[test]
fn zero_durations_in_config_never_make_timers_due_immediately() {
    let config = Discv4Config {
        request_timeout: Duration::ZERO,
        bond_wait: Duration::ZERO,
        first_refresh: Duration::ZERO,
        refresh_interval: Duration::ZERO,
        revalidation_interval: Duration::ZERO,
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    d.add_bootnode(start, Tester::new(2, "10.0.0.2:30310").record());
    let mut now = start;
    for _ in 0..50 {
        d.handle_timeout(now);
        let _ = drain(&mut d);
        let next = d.poll_timeout().unwrap();
        assert!(next > now, "timer due at the time it was handled");
        now = next;
    }
}

#[test]
fn verified_nodes_kept_out_of_a_full_bucket_are_reported_once() {
    let config = Discv4Config {
        first_refresh: Duration::from_secs(3600),
        revalidation_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let (mut d, start) = engine_with(config, Box::new(AcceptAll));
    let testers = testers_in_far_bucket(&d, BUCKET_SIZE + 1);
    for t in &testers {
        let _ = bond(&mut d, t, start, start);
    }
    let spare = &testers[BUCKET_SIZE];
    assert!(!d.table().contains(&spare.id));
    // Every ENRRequest goes unanswered (a pre-EIP-868 network). Sixteen are
    // in flight at once; the seventeenth leaves when a slot frees.
    d.handle_timeout(start + Duration::from_millis(600));
    let queued = drain(&mut d);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, spare.addr);
    d.handle_timeout(start + Duration::from_millis(1200));
    let found: HashSet<PeerId> = events(&mut d)
        .into_iter()
        .filter_map(|e| match e {
            Discv4Event::NodeFound { record, .. } => Some(record.id),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), BUCKET_SIZE + 1);
    assert!(found.contains(&spare.id));
    // Once promoted into the table it is not reported a second time.
    d.ban_node(start, testers[0].id, None);
    assert!(d.table().contains(&spare.id));
    let later = start + Duration::from_secs(3);
    d.handle_timeout(later);
    let _ = drain(&mut d);
    d.handle_timeout(later + Duration::from_millis(600));
    assert!(!events(&mut d)
        .iter()
        .any(|e| matches!(e, Discv4Event::NodeFound { record, .. } if record.id == spare.id)));
}

/// Pongs whose `to` names another endpoint than the announced one move the
/// prediction once enough distinct nodes agree; a Pong with a wrong hash
/// counts for nothing.
#[test]
fn pong_to_fields_predict_the_external_endpoint() {
    let mut config = Discv4Config::default();
    config.endpoint_predictor.min_votes = 3;
    let (mut d, now) = engine_with(config, Box::new(AcceptAll));
    let seen: SocketAddr = "203.0.113.50:41000".parse().unwrap();
    let pong_to = |t: &Tester, d: &mut Discv4, ping_hash: B256| {
        let m = Message::Pong(Pong {
            to: Endpoint {
                ip: seen.ip(),
                udp: seen.port(),
                tcp: 30303,
            },
            ping_hash,
            expiration: exp(UNIX),
            enr_seq: None,
        });
        t.send(d, now, &m);
    };
    let testers: Vec<Tester> = (0..3)
        .map(|i| Tester::new(40 + i, &format!("10.0.1.{}:30303", i + 1)))
        .collect();
    for (i, t) in testers.iter().enumerate() {
        d.add_node(now, t.record());
        let (_, hash) = find_ping(
            &drain(&mut d)
                .into_iter()
                .filter(|(to, _)| *to == t.addr)
                .collect::<Vec<_>>(),
        )
        .expect("engine pings");
        // A wrong hash first: not a statement.
        pong_to(t, &mut d, B256::repeat_byte(7));
        pong_to(t, &mut d, hash);
        let predicted: Vec<_> = events(&mut d)
            .into_iter()
            .filter_map(|e| match e {
                Discv4Event::EndpointPredicted { predicted } => Some(predicted),
                _ => None,
            })
            .collect();
        if i < 2 {
            assert!(predicted.is_empty(), "{i}: {predicted:?}");
            assert_eq!(d.predicted_endpoint(), None);
        } else {
            assert_eq!(predicted, vec![Some(seen)]);
            assert_eq!(d.predicted_endpoint(), Some(seen));
        }
    }
}

#[test]
fn stats_count_packets_by_type_lookups_and_bonds() {
    let (mut d, start) = engine();
    let t = Tester::new(2, "10.0.0.2:30310");
    let now = start;
    bond(&mut d, &t, now, start);
    let s = d.stats(now);
    assert_eq!((s.packets_in.ping, s.packets_in.pong), (1, 1));
    assert_eq!((s.packets_out.pong, s.packets_out.ping), (1, 1));
    assert_eq!(s.bonded, 1);
    assert_eq!(s.table_len, 1);
    // Undecodable datagrams are counted as dropped, not by type.
    d.handle_packet(now, t.addr, &[0u8; 120]);
    assert_eq!(d.stats(now).dropped_in, 1);
    let id = d.lookup(now, t.id).unwrap();
    let s = d.stats(now);
    assert_eq!(s.lookups_started, 1);
    assert_eq!(s.lookups_finished, 0);
    // Nobody answers: the lookup ends after the timeouts.
    let mut at = now;
    while d.stats(at).lookups_finished == 0 {
        at = d.poll_timeout().unwrap();
        d.handle_timeout(at);
        drain(&mut d);
        assert!(at < now + Duration::from_secs(60), "lookup never finished");
    }
    assert!(events(&mut d)
        .iter()
        .any(|e| matches!(e, Discv4Event::LookupFinished { id: l, .. } if *l == id)));
    // The bond expires after twelve hours.
    assert_eq!(d.stats(now + Duration::from_secs(12 * 3600 + 1)).bonded, 0);
}
