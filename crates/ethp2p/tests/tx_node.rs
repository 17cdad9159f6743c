//! Process tests of the node's transaction gossip: its flags, its
//! transaction subscriptions. `ethp2p node` runs with the flag, in-test peers
//! (network managers on loopback) talk eth to it, and each test checks what
//! the flag changes on the wire or what the subscription delivers.
//!
//! Most checks are answers, not silences: a peer broadcasts a transaction
//! and then asks for it with `GetPooledTransactions` on the same link; the
//! node handles a link's messages in order, so the answer tells whether the
//! broadcast was taken in (the node serves what it took in). Where a check
//! is the absence of a message, the window is stated and is several times
//! the timer that would have sent it.

mod common;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Signature, TxKind, B256, U256};
use common::{run_cli, Launch, Node, WAIT};
use ethp2p_eth::{
    chain::ChainSpec,
    message::{
        EthMessage, NewPooledTransactionHashes, NewPooledTransactionHashes68, RawList, RequestPair,
    },
};
use ethp2p_network::{IncomingMessage, NetworkConfig, NetworkEvent, NetworkHandle, NetworkManager};
use ethp2p_rlpx::{NodeRecord, PeerId};
use ethp2p_session::{EthResponder, PeerMessage};
use jsonrpsee_core::{
    client::{ClientT, Subscription},
    rpc_params,
};
use secp256k1::{Message, SecretKey, SECP256K1};
use serde_json::Value;
use std::{net::SocketAddr, path::Path, time::Duration};
use tokio::sync::{broadcast, mpsc};

/// Window in which a message that should not come is looked for: the
/// fetcher asks 500–600 ms after an announcement, propagation is immediate.
const SILENCE: Duration = Duration::from_millis(2000);

/// A signed EIP-1559 transfer from the key `[key; 32]` with `nonce`: its
/// EIP-2718 bytes.
fn signed_tx(key: u8, nonce: u64) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: 1,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(7),
        input: Default::default(),
        access_list: Default::default(),
    };
    let sk = SecretKey::from_byte_array([key; 32]).expect("key");
    let (recid, compact) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(tx.signature_hash().0), &sk)
        .serialize_compact();
    let sig = Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(recid) == 1,
    );
    TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()
}

/// A typed transaction as a list item on the wire: its bytes in an RLP string.
fn item(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::Header {
        list: false,
        payload_length: raw.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(raw);
    out
}

/// Starts `ethp2p node --no-discovery -vv` on loopback with `extra` flags.
async fn start(dir: &Path, extra: &[&str]) -> Node {
    Launch::node()
        .vv()
        .args(&["--no-discovery"])
        .args(extra)
        .start(dir)
        .await
}

/// `eth_sendRawTransaction`: the hash, or the error message.
async fn send_raw(node: &Node, raw: &[u8]) -> Result<B256, String> {
    node.rpc()
        .request::<B256, _>(
            "eth_sendRawTransaction",
            rpc_params![format!("0x{}", hex::encode(raw))],
        )
        .await
        .map_err(|e| e.to_string())
}

/// An in-test eth peer listening on loopback, with its raw gossip stream.
struct Peer {
    net: NetworkHandle,
    gossip: mpsc::Receiver<IncomingMessage>,
    events: broadcast::Receiver<NetworkEvent>,
    enode: String,
}

impl Peer {
    async fn start(key: u8) -> Self {
        let sk = SecretKey::from_byte_array([key; 32]).unwrap();
        let mut config = NetworkConfig::new(sk, ChainSpec::mainnet());
        config.listen_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.client_id = format!("tx-flags-peer-{key}/v1");
        let mut manager = NetworkManager::new(config).await.unwrap();
        let net = manager.handle();
        let gossip = manager.take_transaction_messages().unwrap();
        let events = net.event_listener();
        tokio::spawn(manager.run());
        let enode = NodeRecord::new(net.local_id(), net.local_addr().unwrap()).to_string();
        Self {
            net,
            gossip,
            events,
            enode,
        }
    }

    /// Waits for the node's session; returns the node's id.
    async fn connected(&mut self) -> PeerId {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(NetworkEvent::SessionEstablished { peer_id, .. }) =
                    self.events.recv().await
                {
                    return peer_id;
                }
            }
        })
        .await
        .expect("the node connects")
    }

    async fn send(&self, to: PeerId, msg: EthMessage) {
        self.net.send_message(to, msg).await.unwrap().unwrap();
    }

    async fn broadcast(&self, to: PeerId, raws: &[&[u8]]) {
        let items: Vec<Vec<u8>> = raws.iter().map(|r| item(r)).collect();
        self.send(
            to,
            EthMessage::Transactions(RawList::from_encoded_items(&items).unwrap()),
        )
        .await;
    }

    /// Announces `n` made-up type-2 hashes of 100 bytes each.
    async fn announce_fake(&self, to: PeerId, n: u64, salt: u64) -> Vec<B256> {
        let hashes: Vec<B256> = (0..n)
            .map(|i| keccak256([salt.to_be_bytes(), i.to_be_bytes()].concat()))
            .collect();
        self.send(
            to,
            EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth68(
                NewPooledTransactionHashes68 {
                    types: vec![2; hashes.len()].into(),
                    sizes: vec![100; hashes.len()],
                    hashes: hashes.clone(),
                },
            )),
        )
        .await;
        hashes
    }

    /// Asks the node for `hashes`; the items of its answer.
    async fn ask(&self, to: PeerId, hashes: Vec<B256>) -> Vec<Vec<u8>> {
        let answer = self
            .net
            .send_request(
                to,
                EthMessage::GetPooledTransactions(RequestPair {
                    request_id: 0,
                    message: hashes,
                }),
            )
            .await
            .unwrap()
            .expect("answered");
        let EthMessage::PooledTransactions(p) = answer else {
            panic!("answer {answer:?}");
        };
        p.message.iter().map(<[u8]>::to_vec).collect()
    }

    /// The next `GetPooledTransactions` from the node within `wait`.
    async fn next_request(&mut self, wait: Duration) -> Option<(Vec<B256>, EthResponder)> {
        tokio::time::timeout(wait, async {
            loop {
                let msg = self.gossip.recv().await?;
                if let PeerMessage::EthRequest {
                    request: EthMessage::GetPooledTransactions(req),
                    responder,
                } = msg.message
                {
                    return Some((req.message, responder));
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// The items of the next `Transactions` broadcast within `wait`.
    async fn next_broadcast(&mut self, wait: Duration) -> Option<Vec<Vec<u8>>> {
        tokio::time::timeout(wait, async {
            loop {
                let msg = self.gossip.recv().await?;
                if let PeerMessage::Eth(EthMessage::Transactions(list)) = msg.message {
                    return Some(list.iter().map(<[u8]>::to_vec).collect());
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}

/// A node with `flags` and one in-test peer it dials as `--peer` (or as
/// `--trusted-peer` when `trusted`); returns both and the node's id.
async fn node_and_peer(dir: &Path, flags: &[&str], trusted: bool) -> (Node, Peer, PeerId) {
    let how = if trusted { "--trusted-peer" } else { "--peer" };
    let (node, [(peer, id)]) = node_and_peers(dir, flags, [(0x41, how)]).await;
    (node, peer, id)
}

/// A node with `flags` and in-test peers (`(key, how)`: the peer's key
/// byte, and `--peer` or `--trusted-peer`) it dials; returns the node and
/// each peer with the node's id, once every session is up.
async fn node_and_peers<const N: usize>(
    dir: &Path,
    flags: &[&str],
    dials: [(u8, &str); N],
) -> (Node, [(Peer, PeerId); N]) {
    let mut peers = Vec::with_capacity(N);
    for (key, _) in dials {
        peers.push(Peer::start(key).await);
    }
    let mut args = flags.to_vec();
    for ((_, how), peer) in dials.iter().zip(&peers) {
        args.extend([*how, peer.enode.as_str()]);
    }
    let node = start(dir, &args).await;
    let mut connected = Vec::with_capacity(N);
    for mut peer in peers {
        let id = peer.connected().await;
        connected.push((peer, id));
    }
    let Ok(connected) = connected.try_into() else {
        unreachable!("one entry per dial")
    };
    (node, connected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_node_takes_in_fetches_and_serves_gossip() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) = node_and_peer(dir.path(), &[], false).await;
    // A broadcast is taken in and served back.
    let (t, u) = (signed_tx(1, 0), signed_tx(1, 1));
    peer.broadcast(id, &[&t, &u]).await;
    assert_eq!(peer.ask(id, vec![keccak256(&t)]).await, vec![item(&t)]);
    // Five announced hashes are all asked for, in one request.
    let hashes = peer.announce_fake(id, 5, 1).await;
    let (asked, _r) = peer.next_request(WAIT).await.expect("a request");
    assert_eq!(asked, hashes);
    // What the peer sent is never relayed back to it.
    assert!(peer.next_broadcast(SILENCE).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_tx_gossip_neither_takes_in_nor_fetches_but_still_propagates() {
    let dir = tempfile::tempdir().unwrap();
    let (node, mut peer, id) = node_and_peer(dir.path(), &["--disable-tx-gossip"], false).await;
    peer.announce_fake(id, 3, 2).await;
    let t = signed_tx(2, 0);
    peer.broadcast(id, &[&t]).await;
    assert!(peer.ask(id, vec![keccak256(&t)]).await.is_empty());
    assert!(
        peer.next_request(SILENCE).await.is_none(),
        "an announced hash was fetched with gossip off"
    );
    // Local submissions still go out.
    let mine = signed_tx(3, 0);
    assert_eq!(send_raw(&node, &mine).await, Ok(keccak256(&mine)));
    let got = peer.next_broadcast(WAIT).await.expect("the submitted body");
    assert_eq!(got, vec![item(&mine)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_ingress_policy_none_ignores_every_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) =
        node_and_peer(dir.path(), &["--tx-ingress-policy", "none"], true).await;
    let t = signed_tx(4, 0);
    peer.broadcast(id, &[&t]).await;
    assert!(peer.ask(id, vec![keccak256(&t)]).await.is_empty());
    peer.announce_fake(id, 2, 3).await;
    assert!(peer.next_request(SILENCE).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_ingress_policy_trusted_takes_in_only_trusted_peers() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, [(trusted, tid), (plain, pid)]) = node_and_peers(
        dir.path(),
        &["--tx-ingress-policy", "trusted"],
        [(0x51, "--trusted-peer"), (0x52, "--peer")],
    )
    .await;
    let (t1, t2) = (signed_tx(5, 0), signed_tx(6, 0));
    trusted.broadcast(tid, &[&t1]).await;
    assert_eq!(
        trusted.ask(tid, vec![keccak256(&t1)]).await,
        vec![item(&t1)]
    );
    plain.broadcast(pid, &[&t2]).await;
    assert!(plain.ask(pid, vec![keccak256(&t2)]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_propagation_policy_none_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _peer, _id) =
        node_and_peer(dir.path(), &["--tx-propagation-policy", "none"], true).await;
    let e = send_raw(&node, &signed_tx(7, 0)).await.unwrap_err();
    assert!(e.contains("no peer to propagate to"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_propagation_policy_trusted_sends_to_trusted_peers_only() {
    let dir = tempfile::tempdir().unwrap();
    let (node, [(mut trusted, _), (mut plain, _)]) = node_and_peers(
        dir.path(),
        &["--tx-propagation-policy", "trusted"],
        [(0x61, "--trusted-peer"), (0x62, "--peer")],
    )
    .await;
    let mine = signed_tx(8, 0);
    assert_eq!(send_raw(&node, &mine).await, Ok(keccak256(&mine)));
    let got = trusted
        .next_broadcast(WAIT)
        .await
        .expect("the trusted peer gets it");
    assert_eq!(got, vec![item(&mine)]);
    assert!(
        plain.next_broadcast(SILENCE).await.is_none(),
        "an untrusted peer got it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_tx_relay_keeps_what_a_peer_sends_but_passes_nothing_on() {
    let dir = tempfile::tempdir().unwrap();
    let (node, [(from, fid), (mut other, oid)]) = node_and_peers(
        dir.path(),
        &["--disable-tx-relay"],
        [(0x81, "--peer"), (0x82, "--peer")],
    )
    .await;
    let t = signed_tx(0x83, 0);
    from.broadcast(fid, &[&t]).await;
    // Taken in (served on request) ...
    assert_eq!(from.ask(fid, vec![keccak256(&t)]).await, vec![item(&t)]);
    // ... but neither its body nor its hash goes to the other peer; what
    // the node submits itself still does.
    let mine = signed_tx(0x84, 0);
    assert_eq!(send_raw(&node, &mine).await, Ok(keccak256(&mine)));
    // The link is ordered: once the submission arrived, a relay of the
    // peer's transaction (sent before it) would have too.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while !got.contains(&keccak256(&mine)) {
        let msg = tokio::time::timeout_at(deadline, other.gossip.recv())
            .await
            .expect("the submission reaches the other peer")
            .expect("gossip stream");
        match msg.message {
            PeerMessage::Eth(EthMessage::Transactions(list)) => {
                got.extend(list.iter().map(keccak_of_item));
            }
            PeerMessage::Eth(EthMessage::NewPooledTransactionHashes(ann)) => {
                got.extend(ann.hashes().iter().copied());
            }
            _ => {}
        }
    }
    assert!(
        !got.contains(&keccak256(&t)),
        "the peer's transaction was relayed"
    );
    let _ = oid;
}

/// The hash of a typed transaction's list item (its bytes in an RLP string).
fn keccak_of_item(item: &[u8]) -> B256 {
    let mut buf = item;
    let h = alloy_rlp::Header::decode(&mut buf).unwrap();
    assert!(!h.list);
    keccak256(buf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_skip_initial_ignores_a_new_peers_first_gossip() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) =
        node_and_peer(dir.path(), &["--tx-skip-initial", "600"], false).await;
    let t = signed_tx(9, 0);
    peer.broadcast(id, &[&t]).await;
    assert!(peer.ask(id, vec![keccak256(&t)]).await.is_empty());
    peer.announce_fake(id, 2, 4).await;
    assert!(peer.next_request(SILENCE).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tx_announces_caps_the_hashes_tracked_per_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) =
        node_and_peer(dir.path(), &["--max-tx-announces", "2"], false).await;
    let hashes = peer.announce_fake(id, 5, 5).await;
    let (asked, _r) = peer.next_request(WAIT).await.expect("a request");
    assert_eq!(asked, hashes[..2].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tx_pending_fetch_caps_the_hashes_tracked_overall() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) =
        node_and_peer(dir.path(), &["--max-tx-pending-fetch", "3"], false).await;
    let hashes = peer.announce_fake(id, 5, 6).await;
    let (asked, _r) = peer.next_request(WAIT).await.expect("a request");
    assert_eq!(asked, hashes[..3].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_seen_tx_history_forgets_what_a_peer_had() {
    // With one entry per peer, the peer's first broadcast transaction is
    // forgotten as soon as its second is recorded, so relaying sends it back
    // to the peer it came from (with the default history relay never does).
    let dir = tempfile::tempdir().unwrap();
    let (_node, mut peer, id) =
        node_and_peer(dir.path(), &["--max-seen-tx-history", "1"], false).await;
    let (t1, t2) = (signed_tx(10, 0), signed_tx(11, 0));
    peer.broadcast(id, &[&t1, &t2]).await;
    let got = peer.next_broadcast(WAIT).await.expect("relayed back");
    assert!(got.contains(&item(&t1)), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tx_gossip_flags_fail_with_one_line_naming_the_flag() {
    for (args, flag) in [
        (&["--tx-ingress-policy", "some"][..], "--tx-ingress-policy"),
        (
            &["--tx-propagation-policy", "x"][..],
            "--tx-propagation-policy",
        ),
        (&["--max-tx-announces", "0"][..], "--max-tx-announces"),
        (
            &["--max-tx-pending-fetch", "lots"][..],
            "--max-tx-pending-fetch",
        ),
        (
            &["--max-seen-tx-history", "99999999999"][..],
            "--max-seen-tx-history",
        ),
        (&["--tx-skip-initial=-1"][..], "--tx-skip-initial"),
    ] {
        let mut cli = vec!["node", "--no-bootnodes"];
        cli.extend(args);
        let (code, _, err) = run_cli(&cli).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    // --help documents every flag with its default.
    let (_, help, _) = run_cli(&["node", "--help"]).await;
    for needle in [
        "--disable-tx-gossip",
        "--disable-tx-relay",
        "--tx-ingress-policy",
        "--tx-propagation-policy",
        "--tx-skip-initial",
        "[default: 4096]",
        "[default: 262144]",
        "[default: 32768]",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}

/// The next notification of `sub`, within [`WAIT`].
async fn next(sub: &mut Subscription<Value>) -> Value {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a notification in time")
        .expect("subscription open")
        .expect("valid JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transaction_subscriptions_show_hashes_full_objects_and_records() {
    // EIP-155's worked example, whose fields and sender the EIP states.
    let raw = hex::decode("f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83").unwrap();
    let hash = keccak256(&raw);
    let dir = tempfile::tempdir().unwrap();
    let (node, peer, id) = node_and_peer(dir.path(), &[], false).await;
    let (_w1, mut hashes) = node
        .subscribe(
            "eth_subscribe",
            rpc_params!["newPendingTransactions"],
            "eth_unsubscribe",
        )
        .await;
    let (_w2, mut full) = node
        .subscribe(
            "eth_subscribe",
            rpc_params!["newPendingTransactions", true],
            "eth_unsubscribe",
        )
        .await;
    let (_w3, mut records) = node
        .subscribe(
            "ethp2p_subscribe",
            rpc_params!["transactions"],
            "ethp2p_unsubscribe",
        )
        .await;
    // A legacy transaction is its own list item.
    peer.send(
        id,
        EthMessage::Transactions(RawList::from_encoded_items([&raw]).unwrap()),
    )
    .await;
    assert_eq!(next(&mut hashes).await, Value::String(hash.to_string()));
    let tx = next(&mut full).await;
    for (k, v) in [
        ("hash", hash.to_string()),
        ("from", "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f".into()),
        ("to", "0x3535353535353535353535353535353535353535".into()),
        ("nonce", "0x9".into()),
        ("gas", "0x5208".into()),
        ("gasPrice", "0x4a817c800".into()),
        ("value", "0xde0b6b3a7640000".into()),
        ("input", "0x".into()),
        ("type", "0x0".into()),
        ("chainId", "0x1".into()),
        ("v", "0x25".into()),
    ] {
        assert_eq!(tx[k], v, "{k} in {tx}");
    }
    for k in ["blockHash", "blockNumber", "transactionIndex"] {
        assert_eq!(tx[k], Value::Null, "{k} in {tx}");
    }
    let rec = next(&mut records).await;
    assert_eq!(rec["hash"], hash.to_string());
    assert_eq!(rec["via"], "broadcast");
    assert_eq!(rec["client"], "tx-flags-peer-65/v1");
}

// ----- interop with the @ethereumjs/devp2p peer (interop/peer.mjs) -----

/// The JS peer dialing `node` on mainnet at genesis (as the node is), and
/// the node's view of it once its Status has arrived.
async fn js_peer_dialing(enode: &str) -> ethp2p_testing::jspeer::JsPeer {
    let chain = ChainSpec::mainnet();
    let fork = chain.fork_filter(chain.genesis_head()).current();
    let mut js = ethp2p_testing::jspeer::JsPeer::spawn(
        [
            "--mode",
            "dial",
            "--remote",
            enode,
            "--network-id",
            "1",
            "--genesis",
            &chain.genesis_hash.to_string(),
            "--fork-hash",
            &fork.hash.to_string(),
            "--fork-next",
            &fork.next.to_string(),
            "--client-id",
            "ethereumjs-interop/tx",
        ]
        .map(String::from)
        .to_vec(),
    );
    js.expect("status", |_| true).await;
    js
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereumjs_peer_announces_and_serves_and_the_node_streams_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), &[]).await;
    let (_ws, mut records) = node
        .subscribe(
            "ethp2p_subscribe",
            rpc_params!["transactions"],
            "ethp2p_unsubscribe",
        )
        .await;
    let mut js = js_peer_dialing(&node.enode).await;
    js.expect("peer", |_| true).await;
    let js_id = format!(
        "0x{}",
        js.expect("ready", |_| true).await["id"].as_str().unwrap()
    );
    // Its pool: a signed EIP-1559 transaction and EIP-155's legacy example;
    // the hashes it computes are alloy's.
    let typed = signed_tx(0x71, 4);
    let legacy = hex::decode("f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83").unwrap();
    let want = [
        keccak256(&typed).to_string(),
        keccak256(&legacy).to_string(),
    ];
    js.cmd(serde_json::json!({"cmd": "addTxs", "txs": [
        format!("0x{}", hex::encode(&typed)),
        format!("0x{}", hex::encode(&legacy)),
    ]}))
    .await;
    let pooled = js.expect("pooled", |_| true).await;
    assert_eq!(pooled["hashes"], serde_json::json!(want));
    js.cmd(serde_json::json!({"cmd": "announceTxs"})).await;
    // The node asks for both (one request after geth's 500 ms wait) and
    // the JS peer serves them.
    let asked = js
        .expect("message", |m| m["name"] == "GetPooledTransactions")
        .await;
    assert_eq!(asked["decoded"], serde_json::json!(want), "{asked}");
    let served = js.expect("served", |_| true).await;
    assert_eq!(served["hashes"], serde_json::json!(want));
    // The node's stream: both, fetched after the announcement, first
    // announced by the JS peer.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = next(&mut records).await;
        assert_eq!(r["via"], "announcement", "{r}");
        assert_eq!(r["peer"], js_id, "{r}");
        assert_eq!(r["client"], "ethereumjs-interop/tx", "{r}");
        assert_eq!(r["announcers"], 1, "{r}");
        seen.push((r["hash"].as_str().unwrap().to_string(), r.clone()));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (want[0].clone(), 2u64, typed.clone()),
        (want[1].clone(), 0u64, legacy.clone()),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    for ((hash, r), (h, ty, raw)) in seen.iter().zip(&expected) {
        assert_eq!(hash, h);
        assert_eq!(r["type"], *ty, "{r}");
        assert_eq!(r["size"], raw.len(), "{r}");
        assert_eq!(r["raw"], format!("0x{}", hex::encode(raw)), "{r}");
    }
    assert!(js.errors().is_empty(), "{:?}", js.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_raw_transaction_over_http_reaches_the_ethereumjs_peer() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), &[]).await;
    let mut js = js_peer_dialing(&node.enode).await;
    js.expect("peer", |_| true).await;
    // The node lists it before it may propagate to it.
    for _ in 0..300 {
        let n: String = node
            .rpc()
            .request("net_peerCount", rpc_params![])
            .await
            .unwrap();
        if n == "0x1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let raw = signed_tx(0x72, 0);
    let hash = keccak256(&raw);
    assert_eq!(send_raw(&node, &raw).await, Ok(hash));
    // One peer: ⌈√1⌉ = 1 gets the body, in a Transactions message whose
    // item the JS peer hashes to the same value.
    let msg = js.expect("message", |m| m["name"] == "Transactions").await;
    assert_eq!(
        msg["txs"],
        serde_json::json!([{"hash": hash.to_string(), "raw": format!("0x{}", hex::encode(&raw))}]),
        "{msg}"
    );
    assert!(js.errors().is_empty(), "{:?}", js.errors());
}
