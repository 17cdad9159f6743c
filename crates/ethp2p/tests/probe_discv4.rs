//! `ethp2p probe --discv4` as a process: against ethp2p's own node every
//! check passes; against a discv4 peer built here that follows the rules
//! but for one deliberate fault, the checks of that fault fail and only
//! them. The fault-free peer passes all fifteen, so each failure is the
//! fault's.
//!
//! Synchronisation is on observable state only: the node's enode line, the
//! probe's exit and its JSON lines.

mod common;

use alloy_primitives::B256;
use common::{Launch, Node, ProbeRun, BIN, LONG_WAIT};
use ethp2p_discv4::{
    enr::{LocalEnr, LocalEnrFields},
    packet::{
        decode, encode, is_expired, Endpoint, EnrResponse, Message, Neighbours, Packet,
        PacketError, Ping, Pong, MAX_PACKET_SIZE, PING_VERSION,
    },
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, PeerId, SecretKey};
use ethp2p_testing::jspeer::repo_root;
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    process::Stdio,
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::UdpSocket,
    process::Command,
};

/// The binary under test; `ETHP2P_BIN` may name a copy (a target directory
/// shared by several checkouts can relink `ethp2p` while tests run).
fn bin() -> String {
    std::env::var("ETHP2P_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// The 15 discv4 checks.
const DISCV4: [&str; 15] = [
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

/// Runs `probe <enode> --json --seed 7 <extra>` of the binary under test.
async fn probe(enode: &str, extra: &[&str]) -> ProbeRun {
    common::probe(&bin(), enode, extra).await
}

/// A temporary data directory and a started `ethp2p node --no-rpc` on
/// loopback in it (killed when dropped: bind it after the directory).
async fn start_node() -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let node = Launch::node()
        .program(bin())
        .no_rpc()
        .within(LONG_WAIT)
        .start(dir.path())
        .await;
    (dir, node)
}

#[tokio::test]
async fn every_check_passes_against_the_ethp2p_node_with_discv4() {
    let (_dir, node) = start_node().await;
    let run = probe(&node.enode, &["--discv4"]).await;
    for name in DISCV4 {
        let (result, why) = run
            .checks
            .get(name)
            .unwrap_or_else(|| panic!("{name} did not run:\n{}", run.stdout));
        assert_eq!(result, "PASS", "{name}: {why}\n{}", run.stdout);
        // As geth, the node asks for no record of a prober that announced
        // no enr-seq: nothing geth's tester would read as a failure.
        assert!(
            !why.contains("geth's tester reads one packet"),
            "{name}: {why}"
        );
    }
    // The other checks pass too; the node speaks no snap, so those may skip.
    for (name, (result, why)) in &run.checks {
        let ok = result == "PASS" || (result == "SKIP" && name.starts_with("Snap/"));
        assert!(ok, "{name}: {result} {why}\n{}", run.stdout);
    }
    assert!(run.success, "exit code says failure:\n{}", run.stdout);
    assert!(run.elapsed_ms < 30_000.0, "took {} ms", run.elapsed_ms);
}

#[tokio::test]
async fn udp_port_overrides_the_enode_and_bad_values_are_refused() {
    let (_dir, node) = start_node().await;
    let real = node.port();
    // The enode names a discport nobody listens on.
    let wrong = format!("{}?discport=9", node.enode);
    let basic = [
        "--discv4",
        "--run",
        "^Discv4/Ping/Basic$",
        "--timeout",
        "0.5",
    ];
    let run = probe(&wrong, &basic).await;
    assert_eq!(run.checks["Discv4/Ping/Basic"].0, "FAIL", "{}", run.stdout);
    let port = real.to_string();
    let mut with_port = basic.to_vec();
    with_port.extend(["--udp-port", &port]);
    let run = probe(&wrong, &with_port).await;
    assert_eq!(run.checks["Discv4/Ping/Basic"].0, "PASS", "{}", run.stdout);
    assert!(run.success);

    // Usage errors: one line naming the flag, exit code 2.
    for (args, flag) in [
        (vec!["--discv4", "--udp-port", "0"], "--udp-port"),
        (vec!["--udp-port", "30303"], "--udp-port"),
        (vec!["--discv4", "--discv4-wait", "0"], "--discv4-wait"),
        (vec!["--discv4-wait", "1"], "--discv4-wait"),
    ] {
        let run = probe(&node.enode, &args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        assert!(run.checks.is_empty(), "{args:?} ran checks");
    }
    // Without --discv4 the discv4 checks do not run.
    let run = probe(&node.enode, &["--run", "^(Ping|Discv4/.*)$"]).await;
    assert_eq!(run.checks.keys().collect::<Vec<_>>(), ["Ping"]);
}

// ----- a deliberately wrong discv4 peer ------------------------------------------------------

/// The one thing a [`FaultyPeer`] gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Pongs and pings the Ping's `from` field instead of the packet's source.
    TrustsFrom,
    /// Drops a Ping with list elements it does not know (not EIP-8).
    RejectsExtraData,
    /// Never checks the expiration.
    AcceptsExpired,
    /// Treats an unknown packet type as a Ping.
    AnswersUnknownType,
    /// Answers FindNode without an endpoint proof.
    AnswersUnbonded,
    /// Takes any Pong from the pinged node as the endpoint proof.
    AcceptsAnyPongHash,
    /// Keys endpoint proofs by node id only, not (id, IP).
    BondsByIdOnly,
    /// Adds the nodes of unsolicited Neighbours to its table.
    AddsUnsolicited,
    /// Does not implement EIP-868 (no ENRResponse, no enr-seq).
    NoEnr,
    /// Echoes a wrong hash in its ENRResponse.
    WrongEnrHash,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A discv4 responder on 127.0.0.1 that follows `discv4.md` except for
/// `fault`. Returns its enode (TCP port = UDP port; nothing listens on TCP).
async fn start_peer(fault: Fault) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let key = SecretKey::from_byte_array([0x24; 32]).unwrap();
    let id = peer_id_from_secret_key(&key);
    let enr = LocalEnr::new(
        &key,
        5,
        LocalEnrFields {
            ip: Some(addr.ip()),
            tcp: addr.port(),
            udp: addr.port(),
            fork_id: None,
        },
    )
    .unwrap();
    tokio::spawn(serve(socket, key, enr, fault));
    format!("enode://{}@{addr}", hex::encode(id))
}

/// The peer's state: its outstanding pings, proofs and table (tests are short: no bounds needed).
#[derive(Default)]
struct State {
    pending: HashMap<PeerId, (B256, IpAddr)>,
    bonded: HashSet<(PeerId, Option<IpAddr>)>,
    table: Vec<NodeRecord>,
}

async fn serve(socket: UdpSocket, key: SecretKey, enr: LocalEnr, fault: Fault) {
    let mut st = State::default();
    let mut buf = vec![0u8; MAX_PACKET_SIZE];
    let me = socket.local_addr().unwrap();
    let seq = (fault != Fault::NoEnr).then(|| enr.seq());
    loop {
        let Ok((n, src)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let data = &buf[..n];
        let packet = match decode(data) {
            Ok(p) => p,
            Err(PacketError::UnknownType(_)) if fault == Fault::AnswersUnknownType => {
                // Answered as if it were a Ping.
                let pong = Message::Pong(Pong {
                    to: endpoint(src),
                    ping_hash: B256::from_slice(&data[..32]),
                    expiration: unix_now() + 20,
                    enr_seq: seq,
                });
                send(&socket, &key, src, &pong).await;
                continue;
            }
            Err(_) => continue,
        };
        if fault == Fault::RejectsExtraData && has_extra_data(&packet, data) {
            continue;
        }
        if fault != Fault::AcceptsExpired {
            if let Some(exp) = packet.message.expiration() {
                if is_expired(exp, unix_now()) {
                    continue;
                }
            }
        }
        let Packet {
            hash,
            node_id,
            message,
        } = packet;
        let bond_ip = (fault != Fault::BondsByIdOnly).then_some(src.ip());
        let bonded = st.bonded.contains(&(node_id, bond_ip));
        match message {
            Message::Ping(ping) => {
                // The address the peer believes the sender is at.
                let reply_to = if fault == Fault::TrustsFrom {
                    ping.from.udp_addr()
                } else {
                    src
                };
                let pong = Message::Pong(Pong {
                    to: endpoint(reply_to),
                    ping_hash: hash,
                    expiration: unix_now() + 20,
                    enr_seq: seq,
                });
                send(&socket, &key, reply_to, &pong).await;
                if !bonded {
                    let ping = Message::Ping(Ping {
                        version: PING_VERSION,
                        from: endpoint(me),
                        to: endpoint(reply_to),
                        expiration: unix_now() + 20,
                        enr_seq: seq,
                    });
                    if let Some(h) = send(&socket, &key, reply_to, &ping).await {
                        st.pending.insert(node_id, (h, reply_to.ip()));
                    }
                }
            }
            Message::Pong(pong) => {
                let ok = st.pending.get(&node_id).is_some_and(|(h, ip)| {
                    *ip == src.ip() && (*h == pong.ping_hash || fault == Fault::AcceptsAnyPongHash)
                });
                if ok {
                    st.pending.remove(&node_id);
                    st.bonded.insert((node_id, bond_ip));
                    st.table.push(NodeRecord {
                        id: node_id,
                        address: src.ip(),
                        tcp_port: 0,
                        udp_port: src.port(),
                    });
                }
            }
            Message::FindNode(_) if bonded || fault == Fault::AnswersUnbonded => {
                let nodes = st.table.iter().rev().take(12).copied().collect();
                let n = Message::Neighbours(Neighbours {
                    nodes,
                    expiration: unix_now() + 20,
                });
                send(&socket, &key, src, &n).await;
            }
            Message::Neighbours(n) if fault == Fault::AddsUnsolicited => {
                st.table.extend(n.nodes);
            }
            Message::EnrRequest(_) if bonded && fault != Fault::NoEnr => {
                let request_hash = if fault == Fault::WrongEnrHash {
                    B256::repeat_byte(0x11)
                } else {
                    hash
                };
                let r = Message::EnrResponse(EnrResponse {
                    request_hash,
                    enr: enr.record().clone(),
                });
                send(&socket, &key, src, &r).await;
            }
            _ => {}
        }
    }
}

fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint {
        ip: a.ip(),
        udp: a.port(),
        tcp: 0,
    }
}

/// Whether the packet data is longer than its re-encoding (extra elements).
fn has_extra_data(p: &Packet, datagram: &[u8]) -> bool {
    let key = SecretKey::from_byte_array([1; 32]).unwrap();
    encode(&key, &p.message).is_ok_and(|e| e.bytes.len() < datagram.len())
}

async fn send(socket: &UdpSocket, key: &SecretKey, to: SocketAddr, m: &Message) -> Option<B256> {
    let p = encode(key, m).ok()?;
    socket.send_to(&p.bytes, to).await.ok()?;
    Some(p.hash)
}

/// Runs the discv4 checks against a peer with `fault`: exactly the
/// `failing` ones fail, all others pass, and the exit code says failure
/// (or success when nothing should fail).
async fn assert_fault_caught(fault: Fault, failing: &[&str]) {
    let enode = start_peer(fault).await;
    let run = probe(
        &enode,
        &[
            "--discv4",
            "--run",
            "^Discv4/",
            "--timeout",
            "1",
            "--discv4-wait",
            "0.5",
        ],
    )
    .await;
    assert_eq!(
        run.checks.len(),
        15,
        "{fault:?}\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run.assert_only_failing(&format!("{fault:?}"), failing);
    assert_eq!(run.success, failing.is_empty(), "{fault:?}\n{}", run.stdout);
}

#[tokio::test]
async fn a_correct_peer_passes_every_discv4_check() {
    assert_fault_caught(Fault::None, &[]).await;
}

#[tokio::test]
async fn trusting_the_from_field_fails() {
    assert_fault_caught(
        Fault::TrustsFrom,
        &[
            "Discv4/Ping/WrongFrom",
            "Discv4/Ping/ExtraDataWrongFrom",
            "Discv4/Ping/BondThenPingWithWrongFrom",
        ],
    )
    .await;
}

#[tokio::test]
async fn rejecting_extra_list_elements_fails() {
    assert_fault_caught(
        Fault::RejectsExtraData,
        &["Discv4/Ping/ExtraData", "Discv4/Ping/ExtraDataWrongFrom"],
    )
    .await;
}

#[tokio::test]
async fn accepting_expired_packets_fails() {
    assert_fault_caught(
        Fault::AcceptsExpired,
        &[
            "Discv4/Ping/PastExpiration",
            "Discv4/Findnode/PastExpiration",
        ],
    )
    .await;
}

#[tokio::test]
async fn answering_an_unknown_packet_type_fails() {
    assert_fault_caught(Fault::AnswersUnknownType, &["Discv4/Ping/WrongPacketType"]).await;
}

#[tokio::test]
async fn answering_unbonded_findnode_fails() {
    assert_fault_caught(
        Fault::AnswersUnbonded,
        &[
            "Discv4/Findnode/WithoutEndpointProof",
            "Discv4/Amplification/InvalidPongHash",
            "Discv4/Amplification/WrongIP",
        ],
    )
    .await;
}

#[tokio::test]
async fn accepting_a_wrong_pong_hash_fails() {
    assert_fault_caught(
        Fault::AcceptsAnyPongHash,
        &["Discv4/Amplification/InvalidPongHash"],
    )
    .await;
}

#[tokio::test]
async fn bonding_by_id_only_fails() {
    assert_fault_caught(Fault::BondsByIdOnly, &["Discv4/Amplification/WrongIP"]).await;
}

#[tokio::test]
async fn adding_unsolicited_neighbours_fails() {
    assert_fault_caught(
        Fault::AddsUnsolicited,
        &["Discv4/Findnode/UnsolicitedNeighbors"],
    )
    .await;
}

#[tokio::test]
async fn no_enr_support_fails() {
    assert_fault_caught(Fault::NoEnr, &["Discv4/ENRRequest"]).await;
}

#[tokio::test]
async fn a_wrong_enr_response_hash_fails() {
    assert_fault_caught(Fault::WrongEnrHash, &["Discv4/ENRRequest"]).await;
}

// ----- the independent JS peer ------------------------------------------------------------------

/// Starts `node interop/<script> <args>` and returns it with its `ready` event.
async fn spawn_js(script: &str, args: &[&str]) -> (tokio::process::Child, Value) {
    let mut child = Command::new("node")
        .arg(repo_root().join("interop").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {script}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(LONG_WAIT, async {
        loop {
            let line = lines.next_line().await.unwrap().expect("ready event");
            let v: Value = serde_json::from_str(&line).unwrap_or_default();
            if v["event"] == "ready" {
                return v;
            }
        }
    })
    .await
    .expect("ready in time");
    // Keep draining its events so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, ready)
}

/// The expected-results table of `docs/probe.md`: check → result.
fn documented_ethereumjs_results() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(repo_root().join("docs/probe.md")).expect("docs/probe.md");
    let start = doc
        .find("<!-- ethereumjs-results:start -->")
        .expect("start marker");
    let end = doc
        .find("<!-- ethereumjs-results:end -->")
        .expect("end marker");
    doc[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // | `check` | RESULT | why |
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// The full probe (with `--discv4`) against @ethereumjs/devp2p: `peer.mjs`
/// (RLPx/eth) and `dpt.mjs` (discv4) run with one key, so one enode names
/// both. Every result must be the one documented in `docs/probe.md`.
#[tokio::test]
async fn the_ethereumjs_peer_gets_its_documented_results() {
    if let Err(why) = common::interop_dir() {
        eprintln!("skipped: {why}");
        return;
    }
    let key = hex::encode([0x5a; 32]);
    let genesis = "0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3";
    let (_peer, peer_ready) = spawn_js(
        "peer.mjs",
        &[
            "--mode",
            "listen",
            "--network-id",
            "1",
            "--genesis",
            genesis,
            "--port",
            "0",
            "--key",
            &key,
        ],
    )
    .await;
    let (_dpt, dpt_ready) = spawn_js("dpt.mjs", &["--key", &key]).await;
    assert_eq!(peer_ready["id"], dpt_ready["id"], "one key for both");
    let enode = format!(
        "enode://{}@127.0.0.1:{}?discport={}",
        dpt_ready["id"].as_str().unwrap(),
        peer_ready["port"],
        dpt_ready["port"]
    );
    let run = probe(&enode, &["--discv4", "--timeout", "1"]).await;
    let documented = documented_ethereumjs_results();
    let mut differences = Vec::new();
    for (name, (result, why)) in &run.checks {
        match documented.get(name) {
            Some(want) if want == result => {}
            Some(want) => {
                differences.push(format!("{name}: documented {want}, got {result} ({why})"))
            }
            None => differences.push(format!("{name}: not in the table, got {result} ({why})")),
        }
    }
    for name in documented.keys() {
        if !run.checks.contains_key(name) {
            differences.push(format!("{name}: in the table, did not run"));
        }
    }
    assert!(
        differences.is_empty(),
        "the ethereumjs results differ from docs/probe.md:\n{}\n\n{}",
        differences.join("\n"),
        run.stdout
    );
    assert!(
        !run.success,
        "the peer fails documented checks: exit code 1"
    );
    assert!(run.elapsed_ms < 30_000.0, "took {} ms", run.elapsed_ms);
}
