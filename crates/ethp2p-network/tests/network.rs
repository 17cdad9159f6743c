//! The network manager on an in-memory network and a paused clock: slots
//! filled from discovery candidates, bans on breach, rotation when full,
//! requests routed by block range.

use ethp2p_eth::{
    chain::ChainSpec,
    forkid::Head,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders},
};
use ethp2p_network::{
    fetch::{FetchError, FetchRequest, Priority},
    peers::{CandidateEvent, PeersConfig, RotationConfig},
    FetchClientError, IncomingMessage, IncomingStream, NetworkConfig, NetworkEvent, NetworkHandle,
    NetworkManager,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord};
use ethp2p_session::PeerMessage;
use ethp2p_testing::{attacker, keys::secret_key, memnet::MemoryNetwork, sim::node_addr};
use futures::future::poll_fn;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

fn paused() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

struct Node {
    handle: NetworkHandle,
    record: NodeRecord,
    events: broadcast::Receiver<NetworkEvent>,
    messages: Option<mpsc::Receiver<IncomingMessage>>,
}

async fn node(net: &MemoryNetwork, i: usize, tweak: impl FnOnce(&mut NetworkConfig)) -> Node {
    let key = secret_key(1000 + i as u64);
    let addr = node_addr(i);
    let mut cfg = NetworkConfig::new(key, ChainSpec::mainnet());
    cfg.listen_addr = None;
    cfg.dialer = Some(net.dialer(addr));
    cfg.rng_seed = Some(i as u64);
    tweak(&mut cfg);
    let mut mgr = NetworkManager::new(cfg).await.unwrap();
    let handle = mgr.handle();
    let events = handle.event_listener();
    let messages = mgr.take_messages();
    tokio::spawn(mgr.run());
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
        handle,
        record: NodeRecord::new(peer_id_from_secret_key(&key), addr),
        events,
        messages,
    }
}

fn found(record: NodeRecord) -> CandidateEvent {
    let chain = ChainSpec::mainnet();
    CandidateEvent::NodeFound {
        record,
        fork_id: Some(chain.fork_filter(chain.genesis_head()).current()),
    }
}

/// A node given six candidates by discovery fills exactly its outbound
/// slots, and no more.
#[test]
fn fills_its_outbound_slots_from_candidates() {
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let a = node(&net, 0, |c| {
            c.peers = PeersConfig {
                max_outbound: 3,
                ..PeersConfig::default()
            }
        })
        .await;
        let mut others = Vec::new();
        for i in 1..=6 {
            others.push(node(&net, i, |_| {}).await);
        }
        for o in &others {
            a.handle.discovered(found(o.record)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(a.handle.num_connected_peers(), 3);
        let peers = a.handle.peers().await.unwrap();
        assert!(peers
            .iter()
            .all(|p| p.info.direction == ethp2p_session::Direction::Outgoing));
    });
}

/// A candidate whose record announces another chain's fork id is never dialed.
#[test]
fn candidates_of_another_chain_are_not_dialed() {
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let a = node(&net, 0, |_| {}).await;
        let b = node(&net, 1, |_| {}).await;
        let sepolia = ChainSpec::sepolia();
        a.handle
            .discovered(CandidateEvent::NodeFound {
                record: b.record,
                fork_id: Some(sepolia.fork_filter(sepolia.genesis_head()).current()),
            })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(a.handle.num_connected_peers(), 0);
    });
}

/// A peer that breaks the protocol (an invalid BlockRangeUpdate) is
/// disconnected and banned.
#[test]
fn a_peer_that_breaches_is_banned() {
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let mut a = node(&net, 0, |_| {}).await;
        let io = net.connect(node_addr(50), node_addr(0)).unwrap();
        let mut p2p = attacker::established(io, a.record.id, &ChainSpec::mainnet()).await;
        let bad = EthMessage::BlockRangeUpdate(ethp2p_eth::message::BlockRangeUpdate {
            earliest: 10,
            latest: 8,
            latest_hash: Default::default(),
        });
        attacker::queue_eth(&mut p2p, &bad).unwrap();
        poll_fn(|cx| p2p.poll_flush(cx)).await.unwrap();
        let banned = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(NetworkEvent::PeerBanned(id)) = a.events.recv().await {
                    return id;
                }
            }
        })
        .await
        .expect("no ban");
        let rep = a.handle.reputation(banned).await.unwrap();
        assert!(
            rep.is_none_or(|r| r < ethp2p_network::peers::BANNED_REPUTATION),
            "{rep:?}"
        );
        assert_eq!(a.handle.num_connected_peers(), 0);
    });
}

/// With its outbound slots full for long enough, the node evicts one basic
/// peer (UselessPeer) and dials another.
#[test]
fn rotates_a_peer_when_full() {
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let mut a = node(&net, 0, |c| {
            c.peers = PeersConfig {
                max_outbound: 2,
                rotation: Some(RotationConfig::default()),
                ..PeersConfig::default()
            }
        })
        .await;
        let mut others = Vec::new();
        for i in 1..=4 {
            others.push(node(&net, i, |_| {}).await);
        }
        for o in &others {
            a.handle.discovered(found(o.record)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(a.handle.num_connected_peers(), 2);
        let (mut rotated, mut added) = (false, 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30 * 60);
        while tokio::time::Instant::now() < deadline && !(rotated && added > 2) {
            let ev = tokio::time::timeout_at(deadline, a.events.recv()).await;
            match ev {
                Ok(Ok(NetworkEvent::SessionClosed {
                    reason: Some(ethp2p_wire::DisconnectReason::UselessPeer),
                    by_us: true,
                    ..
                })) => rotated = true,
                Ok(Ok(NetworkEvent::SessionEstablished { .. })) => added += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert!(rotated, "no rotation within 30 minutes");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(a.handle.num_connected_peers(), 2, "the slot was refilled");
    });
}

fn head(number: u64) -> Head {
    let chain = ChainSpec::mainnet();
    Head {
        number,
        ..chain.genesis_head()
    }
}

/// A header request goes to the peer whose eth/69 block range covers it;
/// one that no peer covers fails at once.
#[test]
fn requests_go_to_the_peer_whose_range_covers_them() {
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let a = node(&net, 0, |_| {}).await;
        let mut low = node(&net, 1, |c| c.head = Some(head(100))).await;
        let mut high = node(&net, 2, |c| c.head = Some(head(1000))).await;
        for o in [&low, &high] {
            a.handle
                .add_peer(o.record, ethp2p_network::peers::PeerKind::Static)
                .await
                .unwrap()
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(a.handle.num_connected_peers(), 2);
        let fetch = a.handle.fetch_client();
        let req = |n| GetBlockHeaders {
            start: BlockHashOrNumber::Number(n),
            limit: 1,
            skip: 0,
            reverse: false,
        };
        let f = fetch.clone();
        let pending = tokio::spawn(async move { f.get_headers(req(500)).await });
        let mut high_rx = high.messages.take().unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), high_rx.recv())
            .await
            .expect("the covering peer got nothing")
            .unwrap();
        assert!(matches!(
            got.message,
            PeerMessage::EthRequest {
                request: EthMessage::GetBlockHeaders(_),
                ..
            }
        ));
        drop(got);
        let mut low_rx = low.messages.take().unwrap();
        assert!(low_rx.try_recv().is_err(), "the other peer was asked");
        let _ = pending.await;
        let none = fetch.get_headers(req(5000)).await;
        assert!(
            matches!(
                none,
                Err(FetchClientError::Fetch(FetchError::NoCapablePeer))
            ),
            "{none:?}"
        );
        let _ = fetch
            .fetch(FetchRequest::Headers(req(50)), Priority::High)
            .await;
    });
}

/// With snap on both sides, the embedder's snap requests go through the
/// handle to the peer's owner and back; a dropped responder answers with the
/// chain-less answer; a peer without snap is refused at once.
#[test]
fn snap_requests_from_the_handle() {
    use ethp2p_eth::snap::{ByteCodes, GetAccountRange, GetByteCodes, SnapMessage, SnapVersion};
    use ethp2p_session::RequestError;
    paused().block_on(async {
        let net = MemoryNetwork::default();
        let snap = |c: &mut NetworkConfig| c.snap_versions = SnapVersion::ALL.to_vec();
        let a = node(&net, 0, snap).await;
        let mut b = node(&net, 1, snap).await;
        let plain = node(&net, 2, |_| {}).await;
        for o in [&b, &plain] {
            a.handle
                .add_peer(o.record, ethp2p_network::peers::PeerKind::Static)
                .await
                .unwrap()
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(a.handle.num_connected_peers(), 2);
        let peers = a.handle.peers().await.unwrap();
        let version = |id| {
            peers
                .iter()
                .find(|p| p.info.remote_id == id)
                .and_then(|p| p.info.snap_version())
        };
        assert_eq!(version(b.record.id), Some(SnapVersion::Snap2));
        assert_eq!(version(plain.record.id), None);

        // b's owner answers with one code.
        let mut b_rx = b.messages.take().unwrap();
        let code = bytes::Bytes::from_static(&[0x60, 0x01]);
        let served = code.clone();
        let owner = tokio::spawn(async move {
            let m = b_rx.recv().await.unwrap();
            match m.message {
                PeerMessage::SnapRequest {
                    request: SnapMessage::GetByteCodes(r),
                    responder,
                } => {
                    assert_eq!(r.message.hashes.len(), 2);
                    responder.respond(SnapMessage::ByteCodes(
                        ethp2p_eth::message::RequestPair::new(
                            0,
                            ByteCodes {
                                codes: vec![served],
                            },
                        ),
                    ));
                }
                other => panic!("{other:?}"),
            }
            // The next request's responder is dropped: chain-less answer.
            let m = b_rx.recv().await.unwrap();
            assert!(matches!(m.message, PeerMessage::SnapRequest { .. }));
            b_rx
        });
        let req = GetByteCodes {
            hashes: vec![Default::default(), [1u8; 32].into()],
            bytes: 1 << 20,
        };
        let got = a
            .handle
            .get_byte_codes(b.record.id, req.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.codes, vec![code]);
        let range = a
            .handle
            .get_account_range(b.record.id, GetAccountRange::default())
            .await
            .unwrap()
            .unwrap();
        assert!(range.is_empty(), "unknown root: empty range, no proof");
        drop(owner.await.unwrap());

        let refused = a.handle.get_byte_codes(plain.record.id, req).await.unwrap();
        assert!(
            matches!(refused, Err(RequestError::Unsupported(_))),
            "{refused:?}"
        );
    });
}
