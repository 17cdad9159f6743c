//! The transactions manager on the in-memory network, on a paused clock.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Signature, TxKind, B256, U256};
use bytes::Bytes;
use ethp2p_eth::{
    chain::ChainSpec,
    message::{EthMessage, NewPooledTransactionHashes, NewPooledTransactionHashes68, RawList},
};
use ethp2p_network::{
    peers::PeerKind,
    transactions::{
        manager::{
            SubmitError, TransactionsConfig, TransactionsHandle, TransactionsManager,
            TransactionsStats,
        },
        stream::{FirstSeenRecord, Via},
    },
    IncomingMessage, IncomingStream, NetworkConfig, NetworkEvent, NetworkHandle, NetworkManager,
};
use ethp2p_rlpx::NodeRecord;
use ethp2p_session::{EthResponder, PeerMessage};
use ethp2p_testing::memnet::MemoryNetwork;
use secp256k1::{Message, SecretKey, SECP256K1};
use tokio::sync::{broadcast, mpsc};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// The signature of `hash` by the key `[key; 32]`.
fn sign(key: u8, hash: B256) -> Signature {
    let sk = SecretKey::from_byte_array([key; 32]).expect("key");
    let (recid, compact) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), &sk)
        .serialize_compact();
    Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(recid) == 1,
    )
}

/// A signed EIP-1559 transfer from the key `[key; 32]`, with `input` bytes of
/// call data, as its EIP-2718 bytes.
fn signed_tx(key: u8, nonce: u64, input: usize) -> Bytes {
    let tx = TxEip1559 {
        chain_id: 1,
        nonce,
        gas_limit: 50_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x11)),
        value: U256::from(1),
        input: vec![0xab; input].into(),
        access_list: Default::default(),
    };
    let sig = sign(key, tx.signature_hash());
    Bytes::from(TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718())
}

/// A typed transaction's network item: its 2718 bytes in an RLP string.
fn network_item(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::Header {
        list: false,
        payload_length: raw.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(raw);
    out
}

struct Node {
    net: NetworkHandle,
    txs: Option<TransactionsHandle>,
    gossip: Option<mpsc::Receiver<IncomingMessage>>,
    record: NodeRecord,
}

impl Node {
    /// The transactions manager (not on a scripted peer).
    fn txs(&self) -> &TransactionsHandle {
        self.txs.as_ref().expect("manager")
    }

    /// The transactions manager's statistics.
    async fn stats(&self) -> TransactionsStats {
        self.txs().stats().await.expect("running")
    }
}

/// Starts node `i` on `net`: with a transactions manager when `config` is
/// given, else with its raw gossip stream (a scripted peer).
async fn start_node(net: &MemoryNetwork, i: u8, config: Option<TransactionsConfig>) -> Node {
    let addr = SocketAddr::from(([127, 0, 0, i + 1], 30303));
    let sk = SecretKey::from_byte_array([i + 1; 32]).expect("key");
    let mut cfg = NetworkConfig::new(sk, ChainSpec::mainnet());
    cfg.listen_addr = None;
    cfg.dialer = Some(net.dialer(addr));
    cfg.rng_seed = Some(u64::from(i));
    let mut manager = NetworkManager::new(cfg).await.expect("network");
    let handle = manager.handle();
    let gossip = manager.take_transaction_messages().expect("gossip stream");
    let (txs, gossip) = match config {
        Some(c) => {
            let c = TransactionsConfig {
                seed: Some(1000 + u64::from(i)),
                ..c
            };
            let m = TransactionsManager::new(handle.clone(), gossip, c);
            let h = m.handle();
            tokio::spawn(m.run());
            (Some(h), None)
        }
        None => (None, Some(gossip)),
    };
    tokio::spawn(manager.run());
    let h = handle.clone();
    net.listen(addr).spawn_forward(move |a| {
        let h = h.clone();
        async move {
            let inc = IncomingStream {
                stream: Box::new(a.stream),
                remote_addr: a.remote_addr,
                local_addr: Some(a.local_addr),
            };
            h.incoming(inc).await.is_ok()
        }
    });
    Node {
        record: NodeRecord::new(handle.local_id(), addr),
        net: handle,
        txs,
        gossip,
    }
}

/// Waits (on the paused clock, bounded) until `events` reports `n` sessions.
async fn sessions(events: &mut broadcast::Receiver<NetworkEvent>, n: usize) {
    let mut up = 0;
    tokio::time::timeout(Duration::from_secs(60), async {
        while up < n {
            if let Ok(NetworkEvent::SessionEstablished { .. }) = events.recv().await {
                up += 1;
            }
        }
    })
    .await
    .expect("sessions established");
}

/// Connects `a` to `b` and waits for both sides.
async fn connect(a: &Node, b: &Node) {
    connect_as(a, b, PeerKind::Static).await
}

/// Has `a` add `b` as a `kind` peer and waits for both sides.
async fn connect_as(a: &Node, b: &Node, kind: PeerKind) {
    let (mut ea, mut eb) = (a.net.event_listener(), b.net.event_listener());
    a.net
        .add_peer(b.record, kind)
        .await
        .expect("running")
        .expect("added");
    sessions(&mut ea, 1).await;
    sessions(&mut eb, 1).await;
}

/// The next record on `rx` within a minute of synthetic time.
async fn next_record(rx: &mut broadcast::Receiver<FirstSeenRecord>) -> FirstSeenRecord {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("a record in time")
        .expect("stream open")
}

/// Sends `msg` from `from` to `to`.
async fn send(from: &Node, to: &Node, msg: EthMessage) {
    from.net
        .send_message(to.net.local_id(), msg)
        .await
        .expect("running")
        .expect("sent");
}

/// An eth/68 announcement of `hashes` with their `types` and `sizes`.
fn announcement(types: Vec<u8>, sizes: Vec<u64>, hashes: Vec<B256>) -> EthMessage {
    EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth68(
        NewPooledTransactionHashes68 {
            types: types.into(),
            sizes,
            hashes,
        },
    ))
}

/// The mesh: 20 nodes, node `i` linked to `i+1`, `i+5` and `i+8` (mod 20):
/// 60 links, degree 6, diameter 3.
fn mesh_links() -> BTreeSet<(u8, u8)> {
    let mut links = BTreeSet::new();
    for i in 0..20u8 {
        for d in [1, 5, 8] {
            let j = (i + d) % 20;
            links.insert((i.min(j), i.max(j)));
        }
    }
    links
}

#[test]
fn submitted_tx_reaches_every_node_of_a_mesh_once() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let mut nodes = Vec::new();
        for i in 0..20 {
            nodes.push(start_node(&net, i, Some(TransactionsConfig::default())).await);
        }
        let links = mesh_links();
        assert_eq!(links.len(), 60);
        let mut events: Vec<_> = nodes.iter().map(|n| n.net.event_listener()).collect();
        for &(a, b) in &links {
            nodes[a as usize]
                .net
                .add_peer(nodes[b as usize].record, PeerKind::Static)
                .await
                .expect("running")
                .expect("added");
        }
        for ev in &mut events {
            sessions(ev, 6).await;
        }
        let mut streams: Vec<_> = nodes.iter().map(|n| n.txs().subscribe()).collect();
        for n in &nodes {
            let stats = n.stats().await;
            assert_eq!(stats.peers, 6);
        }

        let raw = signed_tx(0x42, 0, 100);
        let hash = keccak256(&raw);
        let submitted = nodes[0]
            .txs()
            .submit_raw(raw.clone())
            .await
            .expect("submitted");
        assert_eq!(submitted, hash);

        for (i, rx) in streams.iter_mut().enumerate().skip(1) {
            let r = next_record(rx).await;
            assert_eq!(r.hash, hash, "node {i}");
            assert_eq!(r.ty, Some(2));
            assert_eq!(r.size, Some(raw.len() as u32));
            assert_eq!(
                r.raw.as_ref().map(|b| &b[..]),
                Some(&raw[..]),
                "node {i} has the body"
            );
            assert!(r.announcers >= 1);
        }
        // Long after every window and fetch timeout: nothing more.
        tokio::time::sleep(Duration::from_secs(30)).await;
        for (i, rx) in streams.iter_mut().enumerate() {
            assert!(
                matches!(rx.try_recv(), Err(broadcast::error::TryRecvError::Empty)),
                "node {i} streamed the transaction twice, or the origin streamed its own"
            );
        }

        let mut bodies_in = 0;
        let mut hashes_in = 0;
        for (i, n) in nodes.iter().enumerate() {
            let s = n.stats().await;
            assert_eq!(s.repeated, 0, "node {i}: a peer link carried it twice");
            assert!(s.fetched <= 1, "node {i} fetched it {} times", s.fetched);
            if i > 0 {
                assert!(s.broadcast + s.fetched >= 1, "node {i} has the body");
            }
            bodies_in += s.broadcast;
            hashes_in += s.announced;
        }
        // Every directed link carries it at most once (as a body or a hash);
        // bodies went directly to ⌈√6⌉ = 3 peers of each relaying node at most.
        assert!(bodies_in + hashes_in <= 2 * links.len() as u64);
        assert!(bodies_in >= 3, "the origin sent bodies to ⌈√6⌉ peers");
        assert!(hashes_in >= 3, "the origin announced to the rest");
    });
}

#[test]
fn submit_raw_rejects_garbage_and_oversized_and_needs_peers() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let a = start_node(&net, 0, Some(TransactionsConfig::default())).await;
        let txs = a.txs();
        assert!(matches!(
            txs.submit_raw(vec![0x02, 0xc0]).await,
            Err(SubmitError::Undecodable(_))
        ));
        assert!(matches!(
            txs.submit_raw(Bytes::new()).await,
            Err(SubmitError::Undecodable(_))
        ));
        let big = signed_tx(1, 0, 200 * 1024);
        assert!(matches!(
            txs.submit_raw(big).await,
            Err(SubmitError::Oversized { max, .. }) if max == 128 * 1024
        ));
        assert_eq!(
            txs.submit_raw(signed_tx(1, 0, 10)).await,
            Err(SubmitError::NoPeers)
        );
    });
}

/// A scripted peer announces a transaction with `(announced type, announced
/// size)` and serves the real one when asked; returns whether our node
/// disconnected it, and the record our node streamed.
fn lying_announcer(announced_type: u8, size_delta: i64) -> (bool, Option<FirstSeenRecord>) {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let ours = start_node(&net, 0, Some(TransactionsConfig::default())).await;
        let mut liar = start_node(&net, 1, None).await;
        connect(&liar, &ours).await;
        let mut stream = ours.txs().subscribe();
        let mut liar_events = liar.net.event_listener();

        let raw = signed_tx(7, 3, 50);
        let hash = keccak256(&raw);
        let size = (raw.len() as i64 + size_delta) as u64;
        let ann = announcement(vec![announced_type], vec![size], vec![hash]);
        send(&liar, &ours, ann).await;
        let (request, responder) = next_request(&mut liar, Duration::from_secs(10))
            .await
            .expect("our node asks for the announced hash");
        assert_eq!(request, vec![hash]);
        serve(responder, &[&raw]);

        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(NetworkEvent::SessionClosed { .. }) = liar_events.recv().await {
                    return;
                }
            }
        })
        .await
        .is_ok();
        let record = tokio::time::timeout(Duration::from_secs(10), stream.recv())
            .await
            .ok()
            .and_then(Result::ok);
        (closed, record)
    })
}

fn serve(responder: EthResponder, raws: &[&[u8]]) {
    let items: Vec<Vec<u8>> = raws.iter().map(|r| network_item(r)).collect();
    responder.respond(EthMessage::PooledTransactions(
        ethp2p_eth::message::RequestPair {
            request_id: 0,
            message: RawList::from_encoded_items(&items).expect("items"),
        },
    ));
}

#[test]
fn announcer_delivering_another_type_is_disconnected() {
    let (closed, _) = lying_announcer(1, 0);
    assert!(closed);
}

#[test]
fn announcer_delivering_a_size_off_by_more_than_8_bytes_is_disconnected() {
    let (closed, _) = lying_announcer(2, 9);
    assert!(closed);
    let (closed, _) = lying_announcer(2, -9);
    assert!(closed);
}

#[test]
fn announcer_within_8_bytes_is_kept_and_streamed() {
    let (closed, record) = lying_announcer(2, 8);
    assert!(!closed);
    let r = record.expect("a record");
    assert_eq!(r.via, Via::Announcement);
    assert_eq!(r.announcers, 1);
    assert!(r.raw.is_some());
}

#[test]
fn announcement_flood_stays_bounded() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let mut config = TransactionsConfig::default();
        config.stream.max_entries = 8192;
        let ours = start_node(&net, 0, Some(config)).await;
        let mut flooder = start_node(&net, 1, None).await;
        connect(&flooder, &ours).await;
        let txs = ours.txs();
        let mut held: Vec<EthResponder> = Vec::new();
        let mut memory = Vec::new();
        for round in 0..20u64 {
            let hashes: Vec<B256> = (0..4096u64)
                .map(|i| keccak256((round * 4096 + i).to_be_bytes()))
                .collect();
            let ann = announcement(vec![2; 4096], vec![200; 4096], hashes);
            send(&flooder, &ours, ann).await;
            tokio::time::sleep(Duration::from_millis(700)).await;
            // Never answer: keep the responders so requests stay open.
            let gossip = flooder.gossip.as_mut().expect("raw peer");
            while let Ok(msg) = gossip.try_recv() {
                if let PeerMessage::EthRequest { responder, .. } = msg.message {
                    held.push(responder);
                }
            }
            let s = txs.stats().await.expect("running");
            assert!(s.fetcher.tracked <= 4096, "round {round}: {s:?}");
            assert!(s.first_seen_held <= 8192, "round {round}: {s:?}");
            memory.push(s.memory_bytes);
        }
        let s = txs.stats().await.expect("running");
        assert!(s.fetcher.overflowed >= 19 * 4096 - 256, "{s:?}");
        assert!(held.len() <= 20, "one request in flight at a time");
        // 81,920 hashes announced; held: ≤ 4,096 in the fetcher, ≤ 8,192 in
        // the first-seen tracker, ≤ 32,768 fingerprints per known-cache. Kept
        // unbounded they would take over 20 MiB; bounded they stay under 4 MiB
        // (hash tables and queues included at their capacity).
        let last = memory[19];
        assert!(last < 4 << 20, "memory {memory:?}");
    });
}

/// Our node with `config` and a scripted peer connected to it.
async fn pair(net: &MemoryNetwork, config: TransactionsConfig) -> (Node, Node) {
    let ours = start_node(net, 0, Some(config)).await;
    let scripted = start_node(net, 1, None).await;
    connect(&scripted, &ours).await;
    (ours, scripted)
}

/// `from` announces `raw` (a type-2 transaction, its true size) to `to`.
async fn announce(from: &Node, to: &Node, raw: &[u8]) {
    let ann = announcement(vec![2], vec![raw.len() as u64], vec![keccak256(raw)]);
    send(from, to, ann).await;
}

/// The next `GetPooledTransactions` the scripted peer receives within `wait`.
async fn next_request(node: &mut Node, wait: Duration) -> Option<(Vec<B256>, EthResponder)> {
    let gossip = node.gossip.as_mut().expect("scripted peer");
    tokio::time::timeout(wait, async {
        loop {
            let msg = gossip.recv().await?;
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

#[test]
fn listener_mode_skips_a_new_peers_initial_announcements() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let config = TransactionsConfig::listener(Duration::from_secs(10));
        let (ours, mut peer) = pair(&net, config).await;
        let mut stream = ours.txs().subscribe();
        let (old, new) = (signed_tx(3, 0, 10), signed_tx(3, 1, 10));
        announce(&peer, &ours, &old).await;
        assert!(
            next_request(&mut peer, Duration::from_secs(5))
                .await
                .is_none(),
            "the pool dump is not fetched"
        );
        let s = ours.stats().await;
        assert_eq!(s.skipped_initial, 1);
        tokio::time::sleep(Duration::from_secs(6)).await; // past the 10 s grace
        announce(&peer, &ours, &new).await;
        let (asked, responder) = next_request(&mut peer, Duration::from_secs(5))
            .await
            .expect("fetched after the grace");
        assert_eq!(asked, vec![keccak256(&new)]);
        serve(responder, &[&new]);
        let r = next_record(&mut stream).await;
        assert_eq!(r.hash, keccak256(&new));
        assert!(matches!(
            stream.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    });
}

#[test]
fn accept_from_none_and_gossip_off_ignore_announcements() {
    use ethp2p_network::transactions::manager::PeerFilter;
    for config in [
        TransactionsConfig {
            accept_from: PeerFilter::None,
            ..Default::default()
        },
        TransactionsConfig {
            accept_from: PeerFilter::Trusted,
            ..Default::default()
        },
        TransactionsConfig {
            gossip: false,
            ..Default::default()
        },
    ] {
        runtime().block_on(async {
            let net = MemoryNetwork::default();
            let (ours, mut peer) = pair(&net, config.clone()).await;
            announce(&peer, &ours, &signed_tx(4, 0, 10)).await;
            assert!(
                next_request(&mut peer, Duration::from_secs(5))
                    .await
                    .is_none(),
                "{config:?}"
            );
            let s = ours.stats().await;
            assert_eq!(s.announced, 0);
            assert_eq!(s.fetcher.tracked, 0);
        });
    }
}

#[test]
fn blob_transaction_in_a_broadcast_is_penalised() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, peer) = pair(&net, TransactionsConfig::default()).await;
        let before = reputation(&ours, &peer).await;
        // A type-3 item: refused on its type byte, before its fields.
        broadcast(&peer, &ours, &[&[3, 0xc0]]).await;
        // Then a good broadcast on the same link: once its record is out, the
        // bad one (before it in order) has been handled.
        let good = signed_tx(8, 0, 10);
        let mut stream = ours.txs().subscribe();
        broadcast(&peer, &ours, &[&good]).await;
        assert_eq!(next_record(&mut stream).await.hash, keccak256(&good));
        let s = ours.stats().await;
        assert_eq!(s.broadcast, 1, "only the good broadcast counted");
        let after = reputation(&ours, &peer).await;
        assert_eq!(after - before, -16_384);
    });
}

#[test]
fn broadcast_is_streamed_and_submitted_tx_is_served_on_request() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, peer) = pair(&net, TransactionsConfig::default()).await;
        let txs = ours.txs();
        let mut stream = txs.subscribe();

        // A broadcast from the peer: streamed, via broadcast, with its body.
        let raw = signed_tx(5, 0, 10);
        broadcast(&peer, &ours, &[&raw]).await;
        let r = next_record(&mut stream).await;
        assert_eq!((r.hash, r.via), (keccak256(&raw), Via::Broadcast));
        assert_eq!(r.peer, peer.net.local_id());

        // A submitted transaction is served to GetPooledTransactions; an
        // unknown hash is not.
        let mine = signed_tx(6, 0, 10);
        let hash = txs.submit_raw(mine.clone()).await.expect("submitted");
        let unknown = keccak256(b"unknown");
        let answer = peer
            .net
            .send_request(
                ours.net.local_id(),
                EthMessage::GetPooledTransactions(ethp2p_eth::message::RequestPair {
                    request_id: 0,
                    message: vec![unknown, hash],
                }),
            )
            .await
            .expect("running")
            .expect("answered");
        let EthMessage::PooledTransactions(p) = answer else {
            panic!("answer {answer:?}");
        };
        let items: Vec<&[u8]> = p.message.iter().collect();
        assert_eq!(items, vec![&network_item(&mine)[..]]);
        // Our own submission is not on our first-seen stream.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(matches!(
            stream.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    });
}

#[test]
fn trusted_filters_follow_the_peer_kind() {
    use ethp2p_network::transactions::manager::PeerFilter;
    let config = TransactionsConfig {
        accept_from: PeerFilter::Trusted,
        propagate_to: PeerFilter::Trusted,
        ..Default::default()
    };
    // An untrusted peer: nothing goes out.
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, _peer) = pair(&net, config.clone()).await;
        let txs = ours.txs();
        assert_eq!(
            txs.submit_raw(signed_tx(9, 0, 10)).await,
            Err(SubmitError::NoPeers)
        );
    });
    // The same peer added as trusted on our side: announcements are taken
    // in and submissions reach it.
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let ours = start_node(&net, 0, Some(config.clone())).await;
        let mut peer = start_node(&net, 1, None).await;
        connect_as(&ours, &peer, PeerKind::Trusted).await;
        let raw = signed_tx(9, 1, 10);
        announce(&peer, &ours, &raw).await;
        let (asked, _responder) = next_request(&mut peer, Duration::from_secs(5))
            .await
            .expect("a trusted peer's announcement is fetched");
        assert_eq!(asked, vec![keccak256(&raw)]);
        let txs = ours.txs();
        let mine = signed_tx(9, 2, 10);
        assert_eq!(txs.submit_raw(mine.clone()).await, Ok(keccak256(&mine)));
        // One peer: ⌈√1⌉ = 1 gets the body.
        let gossip = peer.gossip.as_mut().expect("scripted peer");
        let body = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(IncomingMessage {
                    message: PeerMessage::Eth(EthMessage::Transactions(list)),
                    ..
                }) = gossip.recv().await
                {
                    return list;
                }
            }
        })
        .await
        .expect("the body is sent");
        let items: Vec<&[u8]> = body.iter().collect();
        assert_eq!(items, vec![&network_item(&mine)[..]]);
    });
}

// ----- hostile peers -----

/// The reputation `ours` gives `peer`.
async fn reputation(ours: &Node, peer: &Node) -> i32 {
    ours.net
        .reputation(peer.net.local_id())
        .await
        .expect("running")
        .expect("known")
}

/// Waits (synthetic time, bounded) until `peer`'s reputation on `ours`
/// differs from `before`; returns the change.
async fn reputation_change(ours: &Node, peer: &Node, before: i32) -> i32 {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let now = reputation(ours, peer).await;
            if now != before {
                return now - before;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a reputation change")
}

/// Broadcasts `raws` (EIP-2718 bytes) from `from` to `to`.
async fn broadcast(from: &Node, to: &Node, raws: &[&[u8]]) {
    let items: Vec<Vec<u8>> = raws.iter().map(|r| network_item(r)).collect();
    let list = RawList::from_encoded_items(&items).expect("items");
    send(from, to, EthMessage::Transactions(list)).await;
}

/// A signed blob transaction with its EIP-4844 sidecar (one zero blob, a
/// commitment and a proof that are not checked here): its network-form
/// EIP-2718 bytes (about 131 KiB) and its hash.
fn blob_tx_with_sidecar(key: u8) -> (Bytes, B256) {
    use alloy_consensus::{
        BlobTransactionSidecar, BlobTransactionSidecarVariant, Bytes48, Signed, TxEip4844,
        TxEip4844WithSidecar,
    };
    use ethp2p_network::transactions::decode::PooledTx;
    let commitment = Bytes48::repeat_byte(0xc0);
    let tx = TxEip4844 {
        chain_id: 1,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: Address::repeat_byte(0x33),
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![alloy_eips::eip4844::kzg_to_versioned_hash(
            commitment.as_slice(),
        )],
        max_fee_per_blob_gas: 1_000_000_000,
        input: Default::default(),
    };
    let sig = sign(key, tx.signature_hash());
    let signed = tx.into_signed(sig);
    let hash = *signed.hash();
    let (tx, sig, _) = signed.into_parts();
    let sidecar = BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
        blobs: vec![Default::default()],
        commitments: vec![commitment],
        proofs: vec![Bytes48::repeat_byte(0xaa)],
    });
    let with = TxEip4844WithSidecar::from_tx_and_sidecar(tx, sidecar);
    let pooled = PooledTx::Eip4844(Signed::new_unchecked(with, sig, hash));
    (Bytes::from(pooled.encoded_2718()), hash)
}

#[test]
fn blob_transaction_broadcast_in_full_is_penalised_and_fetched_only_when_announced() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, mut peer) = pair(&net, TransactionsConfig::default()).await;
        let txs = ours.txs();
        let mut stream = txs.subscribe();
        let (blob, hash) = blob_tx_with_sidecar(0x44);
        assert_ne!(keccak256(&blob[..]), hash, "the hash ignores the sidecar");
        assert!(blob.len() > 128 * 1024);

        // In full, in a Transactions broadcast: refused and penalised.
        let before = reputation(&ours, &peer).await;
        broadcast(&peer, &ours, &[&blob]).await;
        assert_eq!(reputation_change(&ours, &peer, before).await, -16_384);
        let s = txs.stats().await.expect("running");
        assert_eq!((s.broadcast, s.served_cached, s.first_seen_held), (0, 0, 0));

        // The same transaction announced (type 3, true size) is fetched and
        // streamed: the refusal was for the broadcast, not the transaction.
        let ann = announcement(vec![3], vec![blob.len() as u64], vec![hash]);
        send(&peer, &ours, ann).await;
        let (asked, responder) = next_request(&mut peer, Duration::from_secs(5))
            .await
            .expect("the announced blob transaction is fetched");
        assert_eq!(asked, vec![hash]);
        serve(responder, &[&blob]);
        let r = next_record(&mut stream).await;
        assert_eq!(
            (r.hash, r.ty, r.size),
            (hash, Some(3), Some(blob.len() as u32))
        );
        assert_eq!(r.via, Via::Announcement);
    });
}

#[test]
fn huge_body_in_a_broadcast_is_penalised_and_nothing_is_kept() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, peer) = pair(&net, TransactionsConfig::default()).await;
        let txs = ours.txs();
        let mut stream = txs.subscribe();
        // 200 KiB of call data: over the 128 KiB bound of a non-blob
        // transaction, refused before its fields are decoded.
        let huge = signed_tx(0x45, 0, 200 * 1024);
        let before = reputation(&ours, &peer).await;
        broadcast(&peer, &ours, &[&huge]).await;
        // A good broadcast after it: once its record is out, the huge one
        // (before it on the link) has been handled.
        let good = signed_tx(0x45, 1, 10);
        broadcast(&peer, &ours, &[&good]).await;
        assert_eq!(next_record(&mut stream).await.hash, keccak256(&good));
        assert_eq!(reputation(&ours, &peer).await - before, -16_384);
        let s = txs.stats().await.expect("running");
        assert_eq!(s.broadcast, 1, "only the good one");
        assert_eq!(s.served_cached, 1);
        assert!(s.served_bytes < 1024, "{s:?}");
    });
}

#[test]
fn huge_body_in_an_answer_is_penalised_and_the_hash_is_let_go() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, mut peer) = pair(&net, TransactionsConfig::default()).await;
        let txs = ours.txs();
        let mut stream = txs.subscribe();
        // Announced as a small transaction, answered with a 200 KiB one.
        let small = signed_tx(0x46, 0, 10);
        announce(&peer, &ours, &small).await;
        let (asked, responder) = next_request(&mut peer, Duration::from_secs(5))
            .await
            .expect("fetched");
        assert_eq!(asked, vec![keccak256(&small)]);
        let before = reputation(&ours, &peer).await;
        serve(responder, &[&signed_tx(0x46, 1, 200 * 1024)]);
        assert!(reputation_change(&ours, &peer, before).await <= -16_384);
        // Nothing streamed; the hash is let go once its attempts are spent
        // (the only announcer is the liar), so the fetcher ends empty.
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let s = txs.stats().await.expect("running");
                if s.fetcher.tracked == 0 {
                    return;
                }
                // Answer any retry with nothing.
                if let Some((_, r)) = next_request(&mut peer, Duration::from_millis(100)).await {
                    serve(r, &[]);
                }
            }
        })
        .await
        .expect("the hash is let go");
        let s = txs.stats().await.expect("running");
        assert_eq!((s.served_cached, s.fetched), (0, 0), "{s:?}");
        assert!(matches!(
            stream.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    });
}

#[test]
fn announced_sizes_over_the_limits_are_never_fetched() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let (ours, mut peer) = pair(&net, TransactionsConfig::default()).await;
        let honest = signed_tx(0x47, 0, 10);
        let (big, bigger) = (keccak256(b"big"), keccak256(b"bigger"));
        // 10 MiB for a 1559 transaction, 2 MiB for a blob transaction: over
        // the 128 KiB and 1 MiB bounds; then an honest entry.
        let ann = announcement(
            vec![2, 3, 2],
            vec![10 << 20, 2 << 20, honest.len() as u64],
            vec![big, bigger, keccak256(&honest)],
        );
        send(&peer, &ours, ann).await;
        let (asked, _r) = next_request(&mut peer, Duration::from_secs(5))
            .await
            .expect("a request");
        assert_eq!(asked, vec![keccak256(&honest)]);
        let s = ours.stats().await;
        assert_eq!(s.fetcher.tracked, 1, "{s:?}");
    });
}

#[test]
fn floods_from_many_peers_stay_under_the_global_cap_and_drain_when_they_leave() {
    runtime().block_on(async {
        let net = MemoryNetwork::default();
        let mut config = TransactionsConfig::default();
        config.fetcher.max_tracked = 10_000;
        config.stream.max_entries = 12_000;
        config.known_per_peer = 4096;
        let ours = start_node(&net, 0, Some(config)).await;
        let txs = ours.txs();
        let mut flooders = Vec::new();
        for i in 1..=6u8 {
            let f = start_node(&net, i, None).await;
            connect(&f, &ours).await;
            flooders.push(f);
        }
        let mut held: Vec<EthResponder> = Vec::new();
        let mut peak = 0;
        for round in 0..3u64 {
            for (i, f) in flooders.iter().enumerate() {
                let base = (round * 6 + i as u64) * 4096;
                let hashes = (base..base + 4096)
                    .map(|n| keccak256(n.to_be_bytes()))
                    .collect();
                let ann = announcement(vec![2; 4096], vec![150; 4096], hashes);
                send(f, &ours, ann).await;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
            for f in &mut flooders {
                while let Ok(msg) = f.gossip.as_mut().expect("raw").try_recv() {
                    if let PeerMessage::EthRequest { responder, .. } = msg.message {
                        held.push(responder); // never answered
                    }
                }
            }
            let s = txs.stats().await.expect("running");
            assert!(s.fetcher.tracked <= 10_000, "round {round}: {s:?}");
            assert!(s.first_seen_held <= 12_000, "round {round}: {s:?}");
            assert_eq!(s.peers, 6);
            peak = peak.max(s.memory_bytes);
        }
        // 73,728 hashes announced. Held: ≤ 10,000 in the fetcher, ≤ 12,000
        // in the first-seen tracker, ≤ 4,096 fingerprints in each of the two
        // known-caches of each peer: about 5 MiB with the tables at their
        // capacity. Kept unbounded, the fetcher alone would hold 73,728 hashes
        // at ~200 bytes each (over 14 MiB).
        assert!(peak < 6 << 20, "peak {peak}");
        let s = txs.stats().await.expect("running");
        assert!(s.fetcher.overflowed >= 73_728 - 10_000, "{s:?}");

        // They leave: every per-peer map empties and the hashes only they
        // announced are let go.
        drop(held);
        let mut events = ours.net.event_listener();
        for f in &flooders {
            f.net
                .disconnect(
                    ours.net.local_id(),
                    ethp2p_wire::DisconnectReason::ClientQuitting,
                )
                .await
                .expect("running");
        }
        let mut closed = 0;
        tokio::time::timeout(Duration::from_secs(60), async {
            while closed < 6 {
                if let Ok(NetworkEvent::SessionClosed { .. }) = events.recv().await {
                    closed += 1;
                }
            }
        })
        .await
        .expect("sessions closed");
        let s = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let s = txs.stats().await.expect("running");
                if s.peers == 0 && s.fetcher.tracked == 0 {
                    return s;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the fetcher drains");
        assert_eq!((s.fetcher.peers, s.fetcher.requests), (0, 0), "{s:?}");
        // The per-peer known-caches are gone; what stays is the tracker's
        // dedup memory (≤ its cap, kept for its TTL) and the fetcher's empty
        // tables at their capacity.
        assert!(s.first_seen_held <= 12_000, "{s:?}");
        assert!(
            s.memory_bytes < peak,
            "{} after, {peak} at the peak",
            s.memory_bytes
        );
    });
}
