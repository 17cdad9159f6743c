//! `ethp2p probe` as a process, against ethp2p's own node (every check must
//! pass or be skipped for a stated reason) and against a peer built here
//! that behaves correctly but for one deliberate fault, on which the check
//! for that fault must fail (and only the checks for it).
//!
//! Synchronisation is on observable state only: the node's enode line on
//! stdout, the probe's exit and its JSON lines. No fixed sleep orders anything.

mod common;

use common::{Launch, ProbeRun, BIN, LONG_WAIT};
use ethp2p_eth::{
    chain::ChainSpec,
    exchange::status_exchange,
    handshake::eth_protocols,
    message::{BlockHashOrNumber, EthMessage, EthMessageError},
    snap::{chainless_response, snap_protocols, SnapMessage, SnapVersion},
    version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, P2PConfig, P2PError, P2PStream, P2P_VERSION};
use futures::future::poll_fn;
use std::time::Duration;
use tokio::{
    net::{TcpListener, TcpStream},
    process::Command,
};

/// Runs `ethp2p probe <enode> --json --seed 7 <extra>`.
async fn probe(enode: &str, extra: &[&str]) -> ProbeRun {
    common::probe(BIN, enode, extra).await
}

/// `ethp2p node --no-rpc` on loopback with `extra` flags: its enode once up.
async fn start_node(datadir: &std::path::Path, extra: &[&str]) -> common::Node {
    Launch::node()
        .no_rpc()
        .within(LONG_WAIT)
        .args(extra)
        .start(datadir)
        .await
}

/// Asserts every check passed except `skipped`, which were skipped.
fn assert_all_pass_except(run: &ProbeRun, skipped: &[&str]) {
    for (name, (result, why)) in &run.checks {
        let want = if skipped.contains(&name.as_str()) {
            "SKIP"
        } else {
            "PASS"
        };
        assert_eq!(result, want, "{name}: {why}\n{}", run.stdout);
    }
    for s in skipped {
        assert!(run.checks.contains_key(*s), "{s} did not run");
    }
    assert!(run.success, "exit code says failure:\n{}", run.stdout);
}

const SNAP_CHECKS: [&str; 6] = [
    "Snap/AccountRangeUnknownRoot",
    "Snap/StorageRangesUnknownRoot",
    "Snap/ByteCodesUnknown",
    "Snap/TrieNodesUnknownRoot",
    "Snap/GetTrieNodesOnSnap2",
    "Snap/BlockAccessListsUnknown",
];

#[tokio::test]
async fn every_check_passes_against_the_ethp2p_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start_node(dir.path(), &[]).await;
    let run = probe(&node.enode, &[]).await;
    // The node fetches announced transactions (its transactions manager) but
    // does not speak snap: the snap checks are skipped, everything else passes.
    assert_all_pass_except(&run, &SNAP_CHECKS);
    assert_eq!(run.checks.len(), 29);
    assert!(run.elapsed_ms < 30_000.0, "took {} ms", run.elapsed_ms);
    let _ = node.child.kill().await;
}

/// The one thing a [`TestPeer`] gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    AcceptsInvalidBlockRange,
    DisconnectsOnNonexistentHeaders,
    EchoesWrongRequestId,
    IgnoresUnknownIds,
    CollapsesUnavailableBals,
}

/// Starts a peer on loopback that speaks eth/69 (and `snap`), answers every
/// request with the empty response, and disconnects on bad input, except
/// for `fault`. Returns its enode.
async fn start_peer(fault: Fault, snap: Option<SnapVersion>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let key = SecretKey::from_byte_array([0x42; 32]).unwrap();
    let id = peer_id_from_secret_key(&key);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve(stream, key, fault, snap));
        }
    });
    format!("enode://{}@127.0.0.1:{port}", hex::encode(id))
}

async fn serve(stream: TcpStream, key: SecretKey, fault: Fault, snap: Option<SnapVersion>) {
    let timeout = Duration::from_secs(5);
    let Ok(rlpx) = ethp2p_rlpx::accept(stream, &key, timeout).await else {
        return;
    };
    let mut protocols = eth_protocols(&[EthVersion::Eth69]);
    protocols.extend(snap_protocols(snap.as_slice()));
    let hello = HelloMessage {
        protocol_version: P2P_VERSION,
        client_id: format!("test-peer/{fault:?}"),
        capabilities: protocols.iter().map(|p| p.cap.clone()).collect(),
        port: 0,
        id: peer_id_from_secret_key(&key),
    };
    let Ok((mut p2p, _)) =
        ethp2p_wire::handshake(rlpx, &hello, &protocols, P2PConfig::default()).await
    else {
        return;
    };
    let chain = ChainSpec::mainnet();
    let head = chain.genesis_head();
    let status = chain.status(&head);
    let filter = chain.fork_filter(head);
    if status_exchange(&mut p2p, &status, &filter, timeout)
        .await
        .is_err()
    {
        return;
    }
    let eth = p2p.shared_capabilities().index_of("eth");
    let snap_index = p2p.shared_capabilities().index_of("snap");
    loop {
        // Read; while waiting, write what is queued (Pongs to the probe's Pings).
        let next = poll_fn(|cx| {
            let r = p2p.poll_next_message(cx);
            if r.is_pending() {
                let _ = p2p.poll_flush(cx);
            }
            r
        })
        .await;
        let msg = match next {
            None => return,
            Some(Err(P2PError::UnknownMessageId(_))) if fault == Fault::IgnoresUnknownIds => {
                continue
            }
            Some(Err(e)) => {
                let reason = e
                    .disconnect_reason()
                    .unwrap_or(DisconnectReason::ProtocolBreach);
                return hang_up(&mut p2p, reason).await;
            }
            Some(Ok(m)) => m,
        };
        let answer: Option<(usize, u8, Vec<u8>)> = if Some(msg.protocol) == eth {
            match EthMessage::decode_bytes(EthVersion::Eth69, msg.id, msg.payload.freeze()) {
                // The decoder refuses earliest > latest.
                Err(EthMessageError::InvalidBlockRange(_)) => {
                    if fault == Fault::AcceptsInvalidBlockRange {
                        continue;
                    }
                    return hang_up(&mut p2p, DisconnectReason::SubprotocolSpecific).await;
                }
                Err(_) if fault == Fault::IgnoresUnknownIds => continue,
                Err(_) => return hang_up(&mut p2p, DisconnectReason::ProtocolBreach).await,
                Ok(EthMessage::GetBlockHeaders(p))
                    if fault == Fault::DisconnectsOnNonexistentHeaders
                        && p.message.start == BlockHashOrNumber::Number(u64::MAX) =>
                {
                    return hang_up(&mut p2p, DisconnectReason::UselessPeer).await;
                }
                Ok(m) => m.empty_response().map(|mut r| {
                    if fault == Fault::EchoesWrongRequestId {
                        let id = r.request_id().unwrap_or_default();
                        r.set_request_id(id.wrapping_add(1));
                    }
                    (msg.protocol, r.id().as_u8(), r.encoded().to_vec())
                }),
            }
        } else if Some(msg.protocol) == snap_index {
            let version = snap.unwrap_or(SnapVersion::Snap1);
            match SnapMessage::decode_bytes(version, msg.id, msg.payload.freeze()) {
                Err(_) => return hang_up(&mut p2p, DisconnectReason::ProtocolBreach).await,
                Ok(m) => chainless_response(&m).map(|mut r| {
                    if let SnapMessage::BlockAccessLists(p) = &mut r {
                        if fault == Fault::CollapsesUnavailableBals {
                            // Skips what it lacks, as ByteCodes does: wrong for BALs.
                            p.message = Default::default();
                        }
                    }
                    (msg.protocol, r.id().as_u8(), r.encoded().to_vec())
                }),
            }
        } else {
            None
        };
        if let Some((protocol, id, payload)) = answer {
            if p2p.send(protocol, id, &payload).is_err()
                || poll_fn(|cx| p2p.poll_flush(cx)).await.is_err()
            {
                return;
            }
        }
    }
}

async fn hang_up(p2p: &mut P2PStream<TcpStream>, reason: DisconnectReason) {
    let _ = tokio::time::timeout(Duration::from_secs(1), p2p.disconnect(reason)).await;
}

#[tokio::test]
async fn a_correct_snap1_peer_passes_every_check() {
    let enode = start_peer(Fault::None, Some(SnapVersion::Snap1)).await;
    let run = probe(&enode, &[]).await;
    assert_all_pass_except(
        &run,
        &[
            "NewPooledTxs",
            "Snap/GetTrieNodesOnSnap2",
            "Snap/BlockAccessListsUnknown",
        ],
    );
}

#[tokio::test]
async fn a_correct_snap2_peer_passes_every_check() {
    let enode = start_peer(Fault::None, Some(SnapVersion::Snap2)).await;
    let run = probe(&enode, &["--run", "Snap/|Status|Ping"]).await;
    assert_all_pass_except(&run, &["Snap/TrieNodesUnknownRoot"]);
    assert_eq!(run.result("Snap/GetTrieNodesOnSnap2"), "PASS");
    assert_eq!(run.result("Snap/BlockAccessListsUnknown"), "PASS");
}

/// Runs the checks matching `filter` against a peer with `fault`: the
/// `failing` ones fail, every other selected one passes, the exit code is 1.
async fn assert_fault_caught(fault: Fault, filter: &str, failing: &[&str]) {
    assert_fault_caught_with(fault, None, filter, failing).await
}

async fn assert_fault_caught_with(
    fault: Fault,
    snap: Option<SnapVersion>,
    filter: &str,
    failing: &[&str],
) {
    let enode = start_peer(fault, snap).await;
    let run = probe(&enode, &["--run", filter, "--timeout", "0.5"]).await;
    assert!(
        !run.success,
        "{fault:?}: exit code says success\n{}",
        run.stdout
    );
    run.assert_only_failing(&format!("{fault:?}"), failing);
    for f in failing {
        assert!(run.checks.contains_key(*f), "{f} did not run");
    }
}

#[tokio::test]
async fn accepting_an_invalid_block_range_fails() {
    assert_fault_caught(
        Fault::AcceptsInvalidBlockRange,
        "^(Status|BlockRangeUpdate)",
        &["BlockRangeUpdateInvalid"],
    )
    .await;
}

#[tokio::test]
async fn disconnecting_on_a_nonexistent_header_request_fails() {
    assert_fault_caught(
        Fault::DisconnectsOnNonexistentHeaders,
        "^(Status|GetNonexistentBlockHeaders|ZeroRequestID)$",
        &["GetNonexistentBlockHeaders"],
    )
    .await;
}

#[tokio::test]
async fn echoing_the_wrong_request_id_fails() {
    assert_fault_caught(
        Fault::EchoesWrongRequestId,
        "^(Status|Ping|SimultaneousRequests|SameRequestID|ZeroRequestID|BlockHeadersFromGenesis)$",
        &[
            "SimultaneousRequests",
            "SameRequestID",
            "ZeroRequestID",
            "BlockHeadersFromGenesis",
        ],
    )
    .await;
}

#[tokio::test]
async fn ignoring_unknown_message_ids_fails() {
    assert_fault_caught(
        Fault::IgnoresUnknownIds,
        "^(Status|UnknownMessageId|RemovedMessageId)",
        &[
            "UnknownMessageIdInRange",
            "RemovedMessageId",
            "UnknownMessageIdBeyondRange",
        ],
    )
    .await;
}

#[tokio::test]
async fn collapsing_unavailable_bals_fails() {
    assert_fault_caught_with(
        Fault::CollapsesUnavailableBals,
        Some(SnapVersion::Snap2),
        "^(Status|Snap/ByteCodesUnknown|Snap/BlockAccessListsUnknown)$",
        &["Snap/BlockAccessListsUnknown"],
    )
    .await;
}

#[tokio::test]
async fn output_formats_and_selection() {
    let enode = start_peer(Fault::None, None).await;
    let tap = Command::new(BIN)
        .args([
            "probe",
            &enode,
            "--tap",
            "--run",
            "^(Ping|Snap/ByteCodesUnknown)$",
        ])
        .output()
        .await
        .unwrap();
    assert!(tap.status.success());
    let text = String::from_utf8_lossy(&tap.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "TAP version 13");
    assert_eq!(lines[1], "1..2");
    assert!(text.contains("\nok 1 - Ping\n"), "{text}");
    assert!(
        text.contains("\nok 2 - Snap/ByteCodesUnknown # SKIP snap is not negotiated"),
        "{text}"
    );
    // A pattern that selects nothing, and one that does not parse, are usage errors.
    for pattern in ["^NoSuchCheck$", "("] {
        let out = Command::new(BIN)
            .args(["probe", &enode, "--run", pattern])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{pattern}");
    }
}

/// With `--snap` the node negotiates snap/2 with the probe (which offers
/// snap/1 and snap/2) and passes every check, the snap ones included; only
/// the snap/1 check (trie nodes) is skipped.
#[tokio::test]
async fn every_check_passes_against_the_ethp2p_node_with_snap() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start_node(dir.path(), &["--snap"]).await;
    let run = probe(&node.enode, &[]).await;
    assert_all_pass_except(&run, &["Snap/TrieNodesUnknownRoot"]);
    for c in SNAP_CHECKS {
        assert!(run.checks.contains_key(c), "{c} did not run");
    }
    let _ = node.child.kill().await;
}
