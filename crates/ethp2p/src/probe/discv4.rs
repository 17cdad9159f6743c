//! `--discv4`: the 15 discv4 checks of geth's `devp2p discv4 test` suite
//! (reference `discovery.md` §1.8) against the node's UDP port, with raw
//! packets crafted by [`ethp2p_discv4::packet`].
//!
//! Each check uses a fresh key and fresh sockets, as geth's tester does. A
//! reply is awaited up to `--timeout`; a reply that must *not* come is
//! listened for during `--discv4-wait` (geth: 300 ms). Packets signed by
//! another key than the target's, or that do not decode, are recorded and
//! otherwise ignored.
//!
//! Where the probe differs from geth's tester (on purpose):
//! - the past expiration is `now − 20 s`, a timestamp any decoder reads,
//!   where geth sends `2^64 − (now + 20 s)`: a node that rejects the 8-byte
//!   value as malformed would pass geth's check without checking expiry;
//! - while waiting for a Pong or Neighbours, the node's own FindNode,
//!   ENRRequest or Ping are skipped (and noted), where geth's tester reads
//!   one packet and fails on anything else;
//! - the ENRRequest check (EIP-868) bonds, asks for the record and checks
//!   the answer's request hash, signer and sequence number.

use super::checks::{fail, pass, skip, Ctx, Outcome, Record};
use alloy_primitives::B256;
use alloy_rlp::{Encodable, Header};
use ethp2p_discv4::{
    enr::enr_peer_id,
    packet::{
        self, encode, encode_raw, Endpoint, EnrRequest, FindNode, Message, Neighbours, Packet,
        Ping, Pong, MAX_PACKET_SIZE, PING_VERSION,
    },
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use rand::RngCore;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{net::UdpSocket, time::Instant};

/// The discv4 checks, in the order they run (geth's names, prefixed).
pub(crate) const CHECKS: &[&str] = &[
    "Discv4/Ping/Basic",
    "Discv4/Ping/WrongTo",
    "Discv4/Ping/WrongFrom",
    "Discv4/Ping/ExtraData",
    "Discv4/Ping/ExtraDataWrongFrom",
    "Discv4/Ping/PastExpiration",
    "Discv4/Ping/WrongPacketType",
    "Discv4/Ping/BondThenPingWithWrongFrom",
    "Discv4/ENRRequest",
    "Discv4/Findnode/WithoutEndpointProof",
    "Discv4/Findnode/BasicFindnode",
    "Discv4/Findnode/UnsolicitedNeighbors",
    "Discv4/Findnode/PastExpiration",
    "Discv4/Amplification/InvalidPongHash",
    "Discv4/Amplification/WrongIP",
];

/// Default of `--discv4-wait`: geth's tester reads for 300 ms.
pub(super) const DEFAULT_WAIT: f64 = 0.3;
/// Lifetime of the packets the probe sends (geth's tester: 20 s).
const EXPIRATION: u64 = 20;
/// Most received packets described in one check's record.
const MAX_NOTES: usize = 32;
/// The packet type geth's WrongPacketType sends.
const WRONG_PACKET_TYPE: u8 = 66;
/// The documentation address (RFC 5737) geth puts into wrong endpoints.
const WRONG_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 0);

/// Where and how long: the node's UDP address and the silence window.
pub(super) struct Opts {
    /// The node's discv4 socket address.
    pub udp: SocketAddr,
    /// How long a reply that must not come is listened for.
    pub wait: Duration,
}

impl Opts {
    /// The UDP address of `target`, or of `udp_port` on its IP.
    pub(super) fn new(target: &NodeRecord, udp_port: Option<u16>, wait: Duration) -> Self {
        Self {
            udp: SocketAddr::new(target.address, udp_port.unwrap_or(target.udp_port)),
            wait,
        }
    }
}

/// Runs the discv4 check called `name`.
pub(super) async fn run(name: &str, ctx: &mut Ctx, opts: &Opts, r: &mut Record) -> Outcome {
    let mut t = match Tester::new(ctx, opts).await {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let outcome = match name {
        "Discv4/Ping/Basic" => ping_pong(&mut t, PingKind::Basic).await,
        "Discv4/Ping/WrongTo" => ping_pong(&mut t, PingKind::WrongTo).await,
        "Discv4/Ping/WrongFrom" => ping_pong(&mut t, PingKind::WrongFrom).await,
        "Discv4/Ping/ExtraData" => ping_pong(&mut t, PingKind::ExtraData).await,
        "Discv4/Ping/ExtraDataWrongFrom" => ping_pong(&mut t, PingKind::ExtraDataWrongFrom).await,
        "Discv4/Ping/PastExpiration" => ping_past_expiration(&mut t).await,
        "Discv4/Ping/WrongPacketType" => wrong_packet_type(&mut t).await,
        "Discv4/Ping/BondThenPingWithWrongFrom" => bond_then_ping_wrong_from(&mut t).await,
        "Discv4/ENRRequest" => enr_request(&mut t).await,
        "Discv4/Findnode/WithoutEndpointProof" => findnode_without_proof(ctx, &mut t).await,
        "Discv4/Findnode/BasicFindnode" => basic_findnode(ctx, &mut t).await,
        "Discv4/Findnode/UnsolicitedNeighbors" => unsolicited_neighbors(ctx, &mut t).await,
        "Discv4/Findnode/PastExpiration" => findnode_past_expiration(ctx, &mut t).await,
        "Discv4/Amplification/InvalidPongHash" => invalid_pong_hash(ctx, &mut t).await,
        "Discv4/Amplification/WrongIP" => wrong_ip(ctx, &mut t).await,
        other => fail(format!("no check called {other}")),
    };
    r.sent = t.sent.join("; ");
    r.expected = t.expected;
    r.got = t.got.to_string();
    outcome
}

/// What came back: at most [`MAX_NOTES`] entries, a flood beyond that only
/// counted.
#[derive(Default)]
struct Notes {
    items: Vec<String>,
    more: usize,
}

impl Notes {
    fn push(&mut self, what: String) {
        if self.items.len() < MAX_NOTES {
            self.items.push(what);
        } else {
            self.more += 1;
        }
    }
}

impl std::fmt::Display for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.items.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&self.items.join("; "))?;
        if self.more > 0 {
            write!(f, "; … {} more", self.more)?;
        }
        Ok(())
    }
}

/// One check's tester: its key, its socket(s) and what it saw.
struct Tester {
    key: SecretKey,
    l1: UdpSocket,
    remote: SocketAddr,
    remote_id: PeerId,
    timeout: Duration,
    wait: Duration,
    sent: Vec<String>,
    expected: String,
    /// What came back.
    got: Notes,
    /// The enr-seq the node announced in its last Pong.
    pong_seq: Option<u64>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn future_expiration() -> u64 {
    unix_now() + EXPIRATION
}

fn past_expiration() -> u64 {
    unix_now().saturating_sub(EXPIRATION)
}

fn short(h: &B256) -> String {
    format!("{}…", &hex::encode(h)[..8])
}

fn describe(m: &Message) -> String {
    match m {
        Message::Ping(p) => format!(
            "Ping(from {}, to {}{})",
            p.from.udp_addr(),
            p.to.udp_addr(),
            p.enr_seq
                .map(|s| format!(", enr-seq {s}"))
                .unwrap_or_default()
        ),
        Message::Pong(p) => format!(
            "Pong(to {}, ping-hash {}{})",
            p.to.udp_addr(),
            short(&p.ping_hash),
            p.enr_seq
                .map(|s| format!(", enr-seq {s}"))
                .unwrap_or_default()
        ),
        Message::FindNode(_) => "FindNode".into(),
        Message::Neighbours(n) => format!("Neighbours({} nodes)", n.nodes.len()),
        Message::EnrRequest(_) => "ENRRequest".into(),
        Message::EnrResponse(r) => format!(
            "ENRResponse(request-hash {}, seq {})",
            short(&r.request_hash),
            r.enr.seq()
        ),
        _ => m.name().into(),
    }
}

/// The local address the system would use towards `remote`.
fn local_ip_towards(remote: SocketAddr) -> Result<IpAddr, String> {
    let any: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse().unwrap_or(remote)
    } else {
        "[::]:0".parse().unwrap_or(remote)
    };
    let probe = std::net::UdpSocket::bind(any).map_err(|e| format!("UDP socket: {e}"))?;
    probe
        .connect(remote)
        .map_err(|e| format!("no route to {remote}: {e}"))?;
    probe
        .local_addr()
        .map(|a| a.ip())
        .map_err(|e| format!("UDP socket: {e}"))
}

impl Tester {
    async fn new(ctx: &mut Ctx, opts: &Opts) -> Result<Self, String> {
        let ip = local_ip_towards(opts.udp)?;
        let l1 = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|e| format!("cannot bind UDP on {ip}: {e}"))?;
        Ok(Self {
            key: ctx.key(),
            l1,
            remote: opts.udp,
            remote_id: ctx.target.id,
            timeout: ctx.timeout,
            wait: opts.wait,
            sent: Vec::new(),
            expected: String::new(),
            got: Notes::default(),
            pong_seq: None,
        })
    }

    /// The tester's endpoint on `sock`, as geth's tester states it (TCP 0).
    fn local_endpoint(sock: &UdpSocket) -> Endpoint {
        let addr = sock
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
        Endpoint {
            ip: addr.ip(),
            udp: addr.port(),
            tcp: 0,
        }
    }

    fn remote_endpoint(&self) -> Endpoint {
        Endpoint {
            ip: self.remote.ip(),
            udp: self.remote.port(),
            tcp: 0,
        }
    }

    fn wrong_endpoint() -> Endpoint {
        Endpoint {
            ip: WRONG_IP.into(),
            udp: 0,
            tcp: 0,
        }
    }

    fn ping(&self, from: Endpoint) -> Message {
        Message::Ping(Ping {
            version: PING_VERSION,
            from,
            to: self.remote_endpoint(),
            expiration: future_expiration(),
            enr_seq: None,
        })
    }

    /// Sends `datagram` from `sock` (l1 unless given); returns its hash.
    async fn send_bytes(
        &mut self,
        sock: Option<&UdpSocket>,
        bytes: &[u8],
        what: String,
    ) -> Result<(), String> {
        let sock = sock.unwrap_or(&self.l1);
        let from = sock.local_addr().map_err(|e| e.to_string())?;
        sock.send_to(bytes, self.remote)
            .await
            .map_err(|e| format!("cannot send {what} to {}: {e}", self.remote))?;
        self.sent.push(format!("{what} from {from}"));
        Ok(())
    }

    async fn send_on(&mut self, sock: Option<&UdpSocket>, m: &Message) -> Result<B256, String> {
        let p = encode(&self.key, m).map_err(|e| format!("cannot encode {}: {e}", m.name()))?;
        self.send_bytes(sock, &p.bytes, describe(m)).await?;
        Ok(p.hash)
    }

    async fn send(&mut self, m: &Message) -> Result<B256, String> {
        self.send_on(None, m).await
    }

    /// Reads the next packet from the target on `sock` (l1 unless given)
    /// until `deadline`; undecodable datagrams and packets signed by another
    /// key are recorded and skipped.
    async fn read_on(&mut self, sock: Option<&UdpSocket>, deadline: Instant) -> Option<Packet> {
        let sock = sock.unwrap_or(&self.l1);
        let mut buf = vec![0u8; MAX_PACKET_SIZE + 1];
        loop {
            let (n, from) = match tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await
            {
                Err(_) => return None,
                // (ICMP port unreachable surfaces here on some systems.)
                // Nothing more can be read: the rest of the window is silent.
                Ok(Err(e)) => {
                    self.got.push(format!("socket error: {e}"));
                    tokio::time::sleep_until(deadline).await;
                    return None;
                }
                Ok(Ok(x)) => x,
            };
            match packet::decode(&buf[..n]) {
                Ok(p) if p.node_id == self.remote_id => {
                    if from == self.remote {
                        self.got.push(describe(&p.message));
                    } else {
                        self.got
                            .push(format!("{} from {from}", describe(&p.message)));
                    }
                    return Some(p);
                }
                Ok(p) => self.got.push(format!(
                    "{} signed by another key ({}), ignored",
                    p.message.name(),
                    &hex::encode(p.node_id)[..8]
                )),
                Err(e) => self
                    .got
                    .push(format!("undecodable datagram of {n} bytes ({e}), ignored")),
            }
        }
    }

    async fn read(&mut self, deadline: Instant) -> Option<Packet> {
        self.read_on(None, deadline).await
    }

    fn reply_deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    fn quiet_deadline(&self) -> Instant {
        Instant::now() + self.wait
    }

    /// Checks a Pong against the Ping hash and the tester's own endpoint.
    fn check_pong(&mut self, pong: &Pong, ping_hash: B256) -> Result<(), String> {
        if pong.ping_hash != ping_hash {
            return Err(format!(
                "the Pong's ping-hash {} is not the Ping's hash {}",
                short(&pong.ping_hash),
                short(&ping_hash)
            ));
        }
        let want = Self::local_endpoint(&self.l1);
        if pong.to.ip != want.ip || pong.to.udp != want.udp {
            return Err(format!(
                "the Pong's `to` is {}, not the Ping's UDP source {}",
                pong.to.udp_addr(),
                want.udp_addr()
            ));
        }
        if packet::is_expired(pong.expiration, unix_now()) {
            return Err(format!("the Pong is expired ({})", pong.expiration));
        }
        self.pong_seq = pong.enr_seq;
        Ok(())
    }

    /// Endpoint proof: Ping the node, answer its Ping (with the right hash,
    /// or a zero one when `valid_token` is false), and wait for its Pong.
    async fn bond(&mut self, valid_token: bool) -> Result<(), String> {
        let from = Self::local_endpoint(&self.l1);
        let ping_hash = self.send(&self.ping(from)).await?;
        let deadline = self.reply_deadline();
        let (mut got_ping, mut got_pong) = (false, false);
        while !(got_ping && got_pong) {
            match self.read(deadline).await {
                None => {
                    let missing = match (got_ping, got_pong) {
                        (false, false) => "neither a Pong nor a Ping",
                        (true, false) => "no Pong",
                        _ => "no Ping",
                    };
                    return Err(format!(
                        "bonding: {missing} within {:.1} s",
                        self.timeout.as_secs_f64()
                    ));
                }
                Some(p) => match p.message {
                    Message::Ping(_) => {
                        let token = if valid_token { p.hash } else { B256::ZERO };
                        let pong = Message::Pong(Pong {
                            to: self.remote_endpoint(),
                            ping_hash: token,
                            expiration: future_expiration(),
                            enr_seq: None,
                        });
                        self.send(&pong).await?;
                        got_ping = true;
                    }
                    Message::Pong(pong) => {
                        self.check_pong(&pong, ping_hash)
                            .map_err(|e| format!("bonding: {e}"))?;
                        got_pong = true;
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// Listens on `sock` for `self.wait`; returns the first packet for
    /// which `bad` holds.
    async fn quiet_on(
        &mut self,
        sock: Option<&UdpSocket>,
        bad: impl Fn(&Message) -> bool,
    ) -> Option<String> {
        let deadline = self.quiet_deadline();
        loop {
            match self.read_on(sock, deadline).await {
                None => return None,
                Some(p) if bad(&p.message) => return Some(describe(&p.message)),
                Some(_) => {}
            }
        }
    }

    /// Waits for Neighbours, skipping the node's own requests (noted in
    /// `skipped`); any other packet is an error.
    async fn await_neighbours(&mut self, skipped: &mut Vec<String>) -> Result<Neighbours, String> {
        let deadline = self.reply_deadline();
        loop {
            match self.read(deadline).await {
                None => {
                    return Err(format!(
                        "no Neighbours within {:.1} s",
                        self.timeout.as_secs_f64()
                    ))
                }
                Some(p) => match p.message {
                    Message::Neighbours(n) => return Ok(n),
                    m @ (Message::FindNode(_) | Message::EnrRequest(_) | Message::Ping(_)) => {
                        skipped.push(m.name().to_string())
                    }
                    m => return Err(format!("expected Neighbours, got {}", describe(&m))),
                },
            }
        }
    }

    fn findnode(target: PeerId, expiration: u64) -> Message {
        Message::FindNode(FindNode { target, expiration })
    }
}

fn random_id(ctx: &mut Ctx) -> PeerId {
    let mut b = [0u8; 64];
    ctx.rng.fill_bytes(&mut b);
    PeerId::from(b)
}

fn skipped_note(skipped: &[String]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!(
            " (the node sent {} first; geth's tester reads one packet and would fail on it)",
            skipped.join(", ")
        )
    }
}

// ----- Ping ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum PingKind {
    Basic,
    WrongTo,
    WrongFrom,
    ExtraData,
    ExtraDataWrongFrom,
}

/// A Ping's packet data with two extra list elements after the expiration
/// (as geth's pingWithJunk: the integer 42 and 9 bytes).
fn ping_with_junk(p: &Ping) -> Vec<u8> {
    let mut body = Vec::new();
    p.version.encode(&mut body);
    for e in [&p.from, &p.to] {
        let mut item = Vec::new();
        match e.ip {
            IpAddr::V4(v4) => v4.octets().as_slice().encode(&mut item),
            IpAddr::V6(v6) => v6.octets().as_slice().encode(&mut item),
        }
        e.udp.encode(&mut item);
        e.tcp.encode(&mut item);
        Header {
            list: true,
            payload_length: item.len(),
        }
        .encode(&mut body);
        body.extend_from_slice(&item);
    }
    p.expiration.encode(&mut body);
    42u64.encode(&mut body);
    [9u8, 8, 7, 6, 5, 4, 3, 2, 1].as_slice().encode(&mut body);
    let mut out = Vec::new();
    Header {
        list: true,
        payload_length: body.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&body);
    out
}

/// Sends one Ping and expects exactly one Pong (echoing its hash and the
/// tester's UDP source) and one Ping.
async fn ping_pong(t: &mut Tester, kind: PingKind) -> Outcome {
    let wrong_from = matches!(kind, PingKind::WrongFrom | PingKind::ExtraDataWrongFrom);
    let from = if wrong_from {
        Tester::wrong_endpoint()
    } else {
        Tester::local_endpoint(&t.l1)
    };
    let Message::Ping(mut ping) = t.ping(from) else {
        return fail("internal: not a Ping");
    };
    if kind == PingKind::WrongTo {
        ping.to = Tester::wrong_endpoint();
    }
    t.expected = format!(
        "one Pong echoing the Ping's hash with `to` = the tester's UDP source (the packet's source, {}), and one Ping to that source (geth checkPingPong)",
        if wrong_from {
            "not the `from` field"
        } else {
            "whatever `to` says"
        }
    );
    let sent = if matches!(kind, PingKind::ExtraData | PingKind::ExtraDataWrongFrom) {
        t.expected
            .push_str("; the extra list elements are ignored (EIP-8)");
        match encode_raw(&t.key, 0x01, &ping_with_junk(&ping)) {
            Ok(p) => {
                let what = format!("{} + 2 extra list elements", describe(&Message::Ping(ping)));
                t.send_bytes(None, &p.bytes, what).await.map(|_| p.hash)
            }
            Err(e) => Err(e.to_string()),
        }
    } else {
        t.send(&Message::Ping(ping)).await
    };
    let hash = match sent {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let deadline = t.reply_deadline();
    let (mut pings, mut pongs) = (0, 0);
    while pings == 0 || pongs == 0 {
        match t.read(deadline).await {
            None => break,
            Some(p) => match p.message {
                Message::Pong(pong) => {
                    if let Err(e) = t.check_pong(&pong, hash) {
                        return fail(e);
                    }
                    pongs += 1;
                }
                Message::Ping(_) => pings += 1,
                m => return fail(format!("expected a Ping or a Pong, got {}", describe(&m))),
            },
        }
    }
    match (pongs, pings) {
        (1, 1) => pass("one Pong (hash and `to` right) and one Ping"),
        (0, 0) => fail(format!("no reply within {:.1} s", t.timeout.as_secs_f64())),
        (0, _) => fail("a Ping but no Pong"),
        _ if wrong_from => fail(
            "a Pong but no Ping to the packet's source: the node trusted the Ping's `from` field",
        ),
        _ => fail("a Pong but no Ping: the node does not ask for an endpoint proof"),
    }
}

async fn ping_past_expiration(t: &mut Tester) -> Outcome {
    let from = Tester::local_endpoint(&t.l1);
    let Message::Ping(mut ping) = t.ping(from) else {
        return fail("internal: not a Ping");
    };
    ping.expiration = past_expiration();
    t.expected = "no reply: a packet past its expiration is dropped (discv4.md)".into();
    if let Err(e) = t.send(&Message::Ping(ping)).await {
        return fail(e);
    }
    match t.quiet_on(None, |_| true).await {
        None => pass(format!("no reply within {:.1} s", t.wait.as_secs_f64())),
        Some(m) => fail(format!("answered an expired Ping with {m}")),
    }
}

async fn wrong_packet_type(t: &mut Tester) -> Outcome {
    let from = Tester::local_endpoint(&t.l1);
    let Message::Ping(ping) = t.ping(from) else {
        return fail("internal: not a Ping");
    };
    t.expected = format!("no reply to packet type {WRONG_PACKET_TYPE} (unknown types are dropped)");
    // The Ping's data under an unknown type byte.
    let data = match encode(&t.key, &Message::Ping(ping)) {
        Ok(p) => p.bytes[packet::HEADER_SIZE..].to_vec(),
        Err(e) => return fail(e.to_string()),
    };
    let sent = match encode_raw(&t.key, WRONG_PACKET_TYPE, &data) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let what = format!("packet type {WRONG_PACKET_TYPE} carrying a Ping's data");
    if let Err(e) = t.send_bytes(None, &sent.bytes, what).await {
        return fail(e);
    }
    match t.quiet_on(None, |_| true).await {
        None => pass(format!("no reply within {:.1} s", t.wait.as_secs_f64())),
        Some(m) => fail(format!("answered an unknown packet type with {m}")),
    }
}

async fn bond_then_ping_wrong_from(t: &mut Tester) -> Outcome {
    t.expected =
        "after the endpoint proof, a Ping with a wrong `from` is still answered with a Pong to the packet's source (FindNode and ENRRequest from the node tolerated)"
            .into();
    if let Err(e) = t.bond(true).await {
        return fail(e);
    }
    let hash = match t.send(&t.ping(Tester::wrong_endpoint())).await {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let deadline = t.reply_deadline();
    loop {
        match t.read(deadline).await {
            None => return fail(format!("no Pong within {:.1} s", t.timeout.as_secs_f64())),
            Some(p) => match p.message {
                Message::Pong(pong) => {
                    return match t.check_pong(&pong, hash) {
                        Ok(()) => pass("answered with a Pong to the packet's source"),
                        Err(e) => fail(e),
                    }
                }
                Message::FindNode(_) | Message::EnrRequest(_) => {}
                m => return fail(format!("expected a Pong, got {}", describe(&m))),
            },
        }
    }
}

// ----- ENRRequest (EIP-868) --------------------------------------------------------------

async fn enr_request(t: &mut Tester) -> Outcome {
    t.expected = "after the endpoint proof, an ENRResponse echoing the ENRRequest's hash, carrying a record signed by the node's key whose seq is the enr-seq of its Pong (EIP-868)".into();
    if let Err(e) = t.bond(true).await {
        return fail(e);
    }
    let announced = t.pong_seq;
    let hash = match t
        .send(&Message::EnrRequest(EnrRequest {
            expiration: future_expiration(),
        }))
        .await
    {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let deadline = t.reply_deadline();
    loop {
        match t.read(deadline).await {
            None => {
                let why = match announced {
                    None => " (its Pong announced no enr-seq: the node does not implement EIP-868)",
                    Some(_) => "",
                };
                return fail(format!(
                    "no ENRResponse within {:.1} s{why}",
                    t.timeout.as_secs_f64()
                ));
            }
            Some(p) => match p.message {
                Message::EnrResponse(resp) => {
                    if resp.request_hash != hash {
                        return fail(format!(
                            "the ENRResponse's request-hash {} is not the ENRRequest's hash {}",
                            short(&resp.request_hash),
                            short(&hash)
                        ));
                    }
                    if enr_peer_id(&resp.enr) != t.remote_id {
                        return fail("the record is signed by another key than the node's");
                    }
                    return match announced {
                        Some(seq) if seq != resp.enr.seq() => fail(format!(
                            "the record's seq {} is not the enr-seq {seq} of the node's Pong",
                            resp.enr.seq()
                        )),
                        Some(seq) => pass(format!("record seq {seq}, signed by the node")),
                        None => pass(format!(
                            "record seq {}, signed by the node (the Pong announced no enr-seq)",
                            resp.enr.seq()
                        )),
                    };
                }
                Message::FindNode(_) | Message::EnrRequest(_) | Message::Ping(_) => {}
                m => return fail(format!("expected an ENRResponse, got {}", describe(&m))),
            },
        }
    }
}

// ----- FindNode --------------------------------------------------------------------------

async fn findnode_without_proof(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected = "no Neighbours (nor anything but a Ping): FindNode needs an endpoint proof".into();
    let m = Tester::findnode(random_id(ctx), future_expiration());
    if let Err(e) = t.send(&m).await {
        return fail(e);
    }
    match t.quiet_on(None, |m| !matches!(m, Message::Ping(_))).await {
        None => pass(format!(
            "no reply but a Ping within {:.1} s",
            t.wait.as_secs_f64()
        )),
        Some(m) => fail(format!(
            "answered a FindNode from an unbonded sender with {m}"
        )),
    }
}

async fn basic_findnode(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected = "after the endpoint proof, Neighbours".into();
    if let Err(e) = t.bond(true).await {
        return fail(e);
    }
    let m = Tester::findnode(random_id(ctx), future_expiration());
    if let Err(e) = t.send(&m).await {
        return fail(e);
    }
    let mut skipped = Vec::new();
    match t.await_neighbours(&mut skipped).await {
        Ok(n) => pass(format!(
            "Neighbours with {} nodes{}",
            n.nodes.len(),
            skipped_note(&skipped)
        )),
        Err(e) => fail(e),
    }
}

async fn unsolicited_neighbors(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected = "the node of an unsolicited Neighbours is not added: a FindNode for it is answered without it".into();
    if let Err(e) = t.bond(true).await {
        return fail(e);
    }
    let fake_key = ctx.key();
    let fake = peer_id_from_secret_key(&fake_key);
    let neighbours = Message::Neighbours(Neighbours {
        nodes: vec![NodeRecord {
            id: fake,
            address: Ipv4Addr::new(1, 2, 3, 4).into(),
            tcp_port: 30303,
            udp_port: 30303,
        }],
        expiration: future_expiration(),
    });
    if let Err(e) = t.send(&neighbours).await {
        return fail(e);
    }
    if let Err(e) = t.send(&Tester::findnode(fake, future_expiration())).await {
        return fail(e);
    }
    let mut skipped = Vec::new();
    match t.await_neighbours(&mut skipped).await {
        Ok(n) if n.nodes.iter().any(|r| r.id == fake) => {
            fail("the Neighbours answer holds the node of the unsolicited Neighbours")
        }
        Ok(n) => pass(format!(
            "Neighbours with {} nodes, not the unsolicited one{}",
            n.nodes.len(),
            skipped_note(&skipped)
        )),
        Err(e) => fail(e),
    }
}

async fn findnode_past_expiration(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected =
        "after the endpoint proof, no Neighbours for a FindNode past its expiration".into();
    let m = Tester::findnode(random_id(ctx), past_expiration());
    unanswered_findnode(t, true, None, &m, |_| {
        "answered an expired FindNode with Neighbours".into()
    })
    .await
}

/// The amplification and expiry checks' common course: bond (with a valid
/// or a zero ping-hash in our Pong), send `findnode` (from `via`, or the
/// bonded socket), and pass if no Neighbours (on `via`: nothing at all)
/// comes back within the wait; `answered` words the failure from what came.
async fn unanswered_findnode(
    t: &mut Tester,
    valid_pong: bool,
    via: Option<&UdpSocket>,
    findnode: &Message,
    answered: impl FnOnce(String) -> String,
) -> Outcome {
    if let Err(e) = t.bond(valid_pong).await {
        return fail(e);
    }
    if let Err(e) = t.send_on(via, findnode).await {
        return fail(e);
    }
    let any_reply = via.is_some();
    let what = match via.and_then(|s| s.local_addr().ok()) {
        Some(at) => format!("reply at {}", at.ip()),
        None => "Neighbours".into(),
    };
    match t
        .quiet_on(via, |m| any_reply || matches!(m, Message::Neighbours(_)))
        .await
    {
        None => pass(format!("no {what} within {:.1} s", t.wait.as_secs_f64())),
        Some(m) => fail(answered(m)),
    }
}

// ----- Amplification -----------------------------------------------------------------------

async fn invalid_pong_hash(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected = "no Neighbours: a Pong with a wrong ping-hash is no endpoint proof".into();
    let m = Tester::findnode(random_id(ctx), future_expiration());
    unanswered_findnode(t, false, None, &m, |_| {
        "answered FindNode after a Pong with a zero ping-hash: the proof is not checked".into()
    })
    .await
}

async fn wrong_ip(ctx: &mut Ctx, t: &mut Tester) -> Outcome {
    t.expected = "no reply to a FindNode from another IP than the bonded one (same key)".into();
    let second: IpAddr = match t.remote.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => {
            let l1 = Tester::local_endpoint(&t.l1).ip;
            if l1 == IpAddr::from(Ipv4Addr::new(127, 0, 0, 2)) {
                Ipv4Addr::new(127, 0, 0, 3).into()
            } else {
                Ipv4Addr::new(127, 0, 0, 2).into()
            }
        }
        _ => {
            return skip(
                "needs a second IP address towards the node: only available when the node is on IPv4 loopback",
            )
        }
    };
    let l2 = match UdpSocket::bind(SocketAddr::new(second, 0)).await {
        Ok(s) => s,
        Err(e) => {
            return skip(format!(
                "cannot bind a second loopback address {second}: {e}"
            ))
        }
    };
    let m = Tester::findnode(random_id(ctx), future_expiration());
    unanswered_findnode(t, true, Some(&l2), &m, |m| {
        format!(
            "answered a FindNode from {second} with {m}: the endpoint proof of another IP was accepted"
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn fifteen_unique_names() {
        assert_eq!(CHECKS.len(), 15);
        let set: HashSet<_> = CHECKS.iter().chain(super::super::CHECKS).collect();
        assert_eq!(set.len(), CHECKS.len() + super::super::CHECKS.len());
    }

    #[test]
    fn notes_are_bounded() {
        let mut n = Notes::default();
        assert_eq!(n.to_string(), "nothing");
        for i in 0..MAX_NOTES + 3 {
            n.push(i.to_string());
        }
        assert_eq!(n.items.len(), MAX_NOTES);
        assert!(n.to_string().ends_with("; 31; … 3 more"), "{n}");
    }

    #[test]
    fn junk_ping_decodes_as_the_ping() {
        let ping = Ping {
            version: PING_VERSION,
            from: Endpoint {
                ip: Ipv4Addr::LOCALHOST.into(),
                udp: 30303,
                tcp: 0,
            },
            to: Tester::wrong_endpoint(),
            expiration: 1_900_000_000,
            enr_seq: None,
        };
        let data = ping_with_junk(&ping);
        let plain = encode(
            &SecretKey::from_byte_array([7; 32]).unwrap(),
            &Message::Ping(ping.clone()),
        )
        .unwrap();
        assert!(data.len() > plain.bytes.len() - packet::HEADER_SIZE);
        // The first extra element sits in EIP-868's enr-seq slot (as in
        // geth's test); the second is ignored.
        let want = Ping {
            enr_seq: Some(42),
            ..ping
        };
        assert_eq!(
            packet::decode_data(0x01, &data).unwrap(),
            Message::Ping(want)
        );
    }
}
