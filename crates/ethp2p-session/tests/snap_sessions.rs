//! snap inside sessions: the layout chosen by the shared capabilities,
//! requests and responses through the session's one request tracker, the
//! chain-less fallbacks, and hostile snap input.

use alloy_primitives::B256;
use bytes::Bytes;
use ethp2p_eth::{
    chain::ChainSpec,
    exchange::status_exchange,
    handshake::eth_protocols,
    message::RequestPair,
    snap::{
        snap_protocols, AccountRange, ByteCodes, GetAccountRange, GetBlockAccessLists,
        GetByteCodes, GetTrieNodes, SnapMessage, SnapVersion,
    },
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use ethp2p_session::{
    PeerMessage, PendingSessionError, RequestError, SessionEvent, SessionsConfig,
};
use ethp2p_testing::{
    attacker::{headers_request, honest_hello, honest_status, rlpx},
    tcp::*,
    wait_for,
};
use ethp2p_wire::{DisconnectReason, P2PConfig, P2PError, P2PStream, Protocol};
use futures::{future::poll_fn, StreamExt};
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpStream, sync::oneshot};

fn snap_opts(versions: &[SnapVersion]) -> Opts {
    Opts {
        extra: snap_protocols(versions),
        ..Default::default()
    }
}

async fn pair(a_snap: &[SnapVersion], b_snap: &[SnapVersion]) -> (Node, Node) {
    let mut a = Node::new(snap_opts(a_snap)).await;
    let mut b = Node::new(snap_opts(b_snap)).await;
    a.dial(&b);
    wait_for!(&mut [&mut a, &mut b], 0, SessionEvent::SessionEstablished { .. } => ());
    wait_for!(&mut [&mut a, &mut b], 1, SessionEvent::SessionEstablished { .. } => ());
    (a, b)
}

fn account_range_request() -> SnapMessage {
    SnapMessage::GetAccountRange(RequestPair::new(
        0,
        GetAccountRange {
            root_hash: B256::repeat_byte(0xaa),
            starting_hash: B256::ZERO,
            limit_hash: B256::repeat_byte(0xff),
            response_bytes: 512 * 1024,
        },
    ))
}

fn byte_codes_request(n: usize) -> SnapMessage {
    SnapMessage::GetByteCodes(RequestPair::new(
        0,
        GetByteCodes {
            hashes: (0..n).map(|i| B256::repeat_byte(i as u8)).collect(),
            bytes: 512 * 1024,
        },
    ))
}

fn bal_request(n: usize) -> SnapMessage {
    SnapMessage::GetBlockAccessLists(RequestPair::new(
        0,
        GetBlockAccessLists {
            hashes: (0..n).map(|i| B256::repeat_byte(i as u8)).collect(),
            bytes: 512 * 1024,
        },
    ))
}

fn trie_nodes_request() -> SnapMessage {
    SnapMessage::GetTrieNodes(RequestPair::new(
        0,
        GetTrieNodes {
            root_hash: B256::repeat_byte(1),
            paths: vec![vec![Bytes::from_static(&[0x12])]],
            bytes: 512 * 1024,
        },
    ))
}

/// Waits for `rx` while driving both nodes.
async fn answer<T>(
    nodes: &mut [&mut Node],
    rx: oneshot::Receiver<Result<T, RequestError>>,
) -> Result<T, RequestError> {
    tokio::time::timeout(T, async {
        tokio::select! {
            r = rx => r.unwrap(),
            _ = async { loop { let (i, ev) = next_any(nodes).await; nodes[i].backlog.push_back(ev); } } => unreachable!(),
        }
    })
    .await
    .expect("no answer in time")
}

#[tokio::test]
async fn snap2_requests_share_the_id_space_and_fall_back_to_chainless_answers() {
    let all = SnapVersion::ALL;
    let (mut a, mut b) = pair(&all, &all).await;
    for (n, peer) in [(&a, b.id), (&b, a.id)] {
        let info = n.mgr.session(&peer).unwrap().peer_info();
        assert_eq!(info.snap_version(), Some(SnapVersion::Snap2));
    }

    // An eth request takes id 0, the snap request after it id 1: one id space.
    let _eth = a.mgr.send_request(&b.id, headers_request(0));
    let rx = a.mgr.send_snap_request(&b.id, account_range_request());
    let eth_id = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::EthRequest { request, .. }, .. } => request.request_id());
    let (request, responder) = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { request, responder }, .. } => (request, responder));
    assert_eq!((eth_id, request.request_id()), (Some(0), 1));
    assert_eq!(request, {
        let mut r = account_range_request();
        r.set_request_id(1);
        r
    });
    // Dropped responder: the chain-less answer (empty range, no proof).
    drop(responder);
    match answer(&mut [&mut a, &mut b], rx).await.unwrap() {
        SnapMessage::AccountRange(p) => assert!(p.message.is_empty()),
        other => panic!("{other:?}"),
    }

    // The owner's real answer goes through, with the request's id.
    let rx = a.mgr.send_snap_request(&b.id, byte_codes_request(2));
    let responder = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { responder, .. }, .. } => responder);
    let code = Bytes::from_static(&[0x60, 0x00]);
    responder.respond(SnapMessage::ByteCodes(RequestPair::new(
        999,
        ByteCodes {
            codes: vec![code.clone()],
        },
    )));
    match answer(&mut [&mut a, &mut b], rx).await.unwrap() {
        SnapMessage::ByteCodes(p) => assert_eq!(p.message.codes, vec![code]),
        other => panic!("{other:?}"),
    }

    // An answer of the wrong type is replaced by the chain-less one.
    let rx = a.mgr.send_snap_request(&b.id, byte_codes_request(3));
    let responder = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { responder, .. }, .. } => responder);
    responder.respond(SnapMessage::AccountRange(RequestPair::new(
        0,
        AccountRange::default(),
    )));
    match answer(&mut [&mut a, &mut b], rx).await.unwrap() {
        SnapMessage::ByteCodes(p) => assert!(p.message.codes.is_empty(), "missing codes skipped"),
        other => panic!("{other:?}"),
    }

    // snap/2: block access lists, each unavailable one as 0x80, in position.
    let rx = a.mgr.send_snap_request(&b.id, bal_request(3));
    drop(wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { responder, .. }, .. } => responder));
    match answer(&mut [&mut a, &mut b], rx).await.unwrap() {
        SnapMessage::BlockAccessLists(p) => {
            assert_eq!(p.message.availability().collect::<Vec<_>>(), [false; 3]);
            assert_eq!(
                &p.message.bals.as_bytes()[..],
                &[0xc3, 0x80, 0x80, 0x80][..]
            );
        }
        other => panic!("{other:?}"),
    }

    // GetTrieNodes is not in snap/2: refused before anything is sent.
    let rx = a.mgr.send_snap_request(&b.id, trie_nodes_request());
    assert!(matches!(
        answer(&mut [&mut a, &mut b], rx).await,
        Err(RequestError::Unsupported(_))
    ));
    // A response is not a request.
    let rx = a.mgr.send_snap_request(
        &b.id,
        SnapMessage::ByteCodes(RequestPair::new(0, ByteCodes::default())),
    );
    assert!(matches!(
        answer(&mut [&mut a, &mut b], rx).await,
        Err(RequestError::Unsupported(_))
    ));
}

#[tokio::test]
async fn snap1_serves_trie_nodes_and_refuses_access_lists() {
    let (mut a, mut b) = pair(&[SnapVersion::Snap1], &SnapVersion::ALL).await;
    let info = b.mgr.session(&a.id).unwrap().peer_info();
    assert_eq!(info.snap_version(), Some(SnapVersion::Snap1));

    let rx = a.mgr.send_snap_request(&b.id, trie_nodes_request());
    drop(wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { responder, .. }, .. } => responder));
    match answer(&mut [&mut a, &mut b], rx).await.unwrap() {
        SnapMessage::TrieNodes(p) => assert!(p.message.nodes.is_empty()),
        other => panic!("{other:?}"),
    }
    let rx = a.mgr.send_snap_request(&b.id, bal_request(1));
    assert!(matches!(
        answer(&mut [&mut a, &mut b], rx).await,
        Err(RequestError::Unsupported(_))
    ));
}

#[tokio::test]
async fn without_shared_snap_snap_requests_are_unsupported() {
    // b does not advertise snap: eth alone.
    let (mut a, mut b) = pair(&SnapVersion::ALL, &[]).await;
    let info = a.mgr.session(&b.id).unwrap().peer_info();
    assert_eq!(info.snap_version(), None);
    assert_eq!(info.shared_capabilities.len(), 1);
    let rx = a.mgr.send_snap_request(&b.id, byte_codes_request(1));
    assert!(matches!(
        answer(&mut [&mut a, &mut b], rx).await,
        Err(RequestError::Unsupported(_))
    ));
}

// ---- a raw peer speaking eth/69 and snap by hand ----

fn chain() -> ChainSpec {
    ChainSpec::mainnet()
}

/// Hello with `caps`, then (if eth is among them) Status, towards `to`.
async fn raw_peer(addr: SocketAddr, to: PeerId, caps: &[Protocol]) -> P2PStream<TcpStream> {
    let io = TcpStream::connect(addr).await.unwrap();
    let (s, key) = rlpx(io, to).await;
    let mut hello = honest_hello(&key);
    hello.capabilities = caps.iter().map(|p| p.cap.clone()).collect();
    let (p2p, _) = ethp2p_wire::handshake(s, &hello, caps, P2PConfig::default())
        .await
        .expect("raw peer: Hello");
    p2p
}

async fn raw_session(hub: &mut Node, snap: SnapVersion) -> (P2PStream<TcpStream>, PeerId) {
    let mut caps = eth_protocols(&[EthVersion::Eth69]);
    caps.extend(snap_protocols(&[snap]));
    let (addr, id) = (hub.addr, hub.id);
    let atk = tokio::spawn(async move {
        let mut p2p = raw_peer(addr, id, &caps).await;
        let c = chain();
        let f = c.fork_filter(c.genesis_head());
        status_exchange(&mut p2p, &honest_status(&c), &f, T)
            .await
            .unwrap();
        p2p
    });
    let pid =
        wait_for!(&mut [&mut *hub], 0, SessionEvent::SessionEstablished { peer_id, .. } => peer_id);
    (atk.await.unwrap(), pid)
}

fn queue_snap(p2p: &mut P2PStream<TcpStream>, m: &SnapMessage) {
    p2p.send(1, m.id().as_u8(), &m.encoded()).unwrap();
}

async fn flush(p2p: &mut P2PStream<TcpStream>) {
    poll_fn(|cx| p2p.poll_flush(cx)).await.unwrap();
}

/// Next snap message (protocol 1) the raw peer reads.
async fn read_snap(p2p: &mut P2PStream<TcpStream>, v: SnapVersion) -> SnapMessage {
    loop {
        let m = tokio::time::timeout(T, p2p.next())
            .await
            .expect("read timed out")
            .expect("closed")
            .expect("error");
        if m.protocol == 1 {
            return SnapMessage::decode(v, m.id, &m.payload).unwrap();
        }
    }
}

#[tokio::test]
async fn the_node_answers_a_raw_peers_snap_requests() {
    let mut hub = Node::new(snap_opts(&SnapVersion::ALL)).await;
    let (mut p2p, _) = raw_session(&mut hub, SnapVersion::Snap2).await;
    let mut req = account_range_request();
    req.set_request_id(0xdead_beef);
    queue_snap(&mut p2p, &req);
    let mut req = bal_request(2);
    req.set_request_id(7);
    queue_snap(&mut p2p, &req);
    flush(&mut p2p).await;
    // The hub's owner drops both responders: the chain-less answers.
    for _ in 0..2 {
        drop(wait_for!(&mut [&mut hub], 0,
            SessionEvent::ValidMessage { message: PeerMessage::SnapRequest { responder, .. }, .. } => responder));
    }
    let hub_task = tokio::spawn(async move {
        loop {
            hub.next_event().await;
        }
    });
    let mut got = [
        read_snap(&mut p2p, SnapVersion::Snap2).await,
        read_snap(&mut p2p, SnapVersion::Snap2).await,
    ];
    got.sort_by_key(|m| m.request_id());
    match &got[..] {
        [SnapMessage::BlockAccessLists(b), SnapMessage::AccountRange(a)] => {
            assert_eq!((b.request_id, a.request_id), (7, 0xdead_beef));
            assert_eq!(b.message.availability().collect::<Vec<_>>(), [false, false]);
            assert!(a.message.accounts.is_empty() && a.message.proof.is_empty());
        }
        other => panic!("{other:?}"),
    }
    hub_task.abort();
}

#[tokio::test]
async fn unsolicited_snap_responses_are_bad_and_late_ones_are_not() {
    let config = SessionsConfig {
        initial_request_timeout: Duration::from_millis(300),
        min_request_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let mut hub = Node::new(Opts {
        config,
        ..snap_opts(&SnapVersion::ALL)
    })
    .await;
    let (mut p2p, pid) = raw_session(&mut hub, SnapVersion::Snap2).await;

    // Unsolicited: a BadMessage, the session stays.
    queue_snap(
        &mut p2p,
        &SnapMessage::ByteCodes(RequestPair::new(77, ByteCodes::default())),
    );
    flush(&mut p2p).await;
    let who = wait_for!(&mut [&mut hub], 0, SessionEvent::BadMessage { peer_id } => peer_id);
    assert_eq!(who, pid);

    // The hub asks; the raw peer lets it time out, then answers late.
    let rx = hub.mgr.send_snap_request(&pid, byte_codes_request(1));
    let mut nodes = [&mut hub];
    let (r, req) = tokio::join!(
        answer(&mut nodes, rx),
        read_snap(&mut p2p, SnapVersion::Snap2)
    );
    assert_eq!(r, Err(RequestError::Timeout));
    let late = SnapMessage::ByteCodes(RequestPair::new(req.request_id(), ByteCodes::default()));
    queue_snap(&mut p2p, &late);
    // Then a request: the next event must be it, no BadMessage before.
    let mut ask = byte_codes_request(1);
    ask.set_request_id(5);
    queue_snap(&mut p2p, &ask);
    flush(&mut p2p).await;
    let ev = tokio::time::timeout(T, hub.next_event()).await.unwrap();
    assert!(
        matches!(
            ev,
            SessionEvent::ValidMessage {
                message: PeerMessage::SnapRequest { .. },
                ..
            }
        ),
        "a late answer is consumed without penalty, got {ev:?}"
    );

    // A snap response to an eth request's id is the wrong type: bad.
    let rx = hub.mgr.send_request(&pid, headers_request(0));
    let (eth_id, wrong) = {
        let id = loop {
            let m = tokio::time::timeout(T, async {
                loop {
                    tokio::select! {
                        m = p2p.next() => return m,
                        ev = hub.next_event() => hub.backlog.push_back(ev),
                    }
                }
            })
            .await
            .unwrap()
            .unwrap()
            .unwrap();
            if m.protocol == 0 && m.id == 0x03 {
                break ethp2p_eth::message::EthMessage::decode(EthVersion::Eth69, m.id, &m.payload)
                    .unwrap()
                    .request_id()
                    .unwrap();
            }
        };
        (
            id,
            SnapMessage::ByteCodes(RequestPair::new(id, ByteCodes::default())),
        )
    };
    queue_snap(&mut p2p, &wrong);
    flush(&mut p2p).await;
    assert_eq!(
        answer(&mut [&mut hub], rx).await,
        Err(RequestError::BadResponse),
        "eth request {eth_id} answered by a snap message"
    );
    wait_for!(&mut [&mut hub], 0, SessionEvent::BadMessage { .. } => ());
}

#[tokio::test]
async fn an_id_outside_the_negotiated_snap_version_is_a_breach() {
    let mut hub = Node::new(snap_opts(&SnapVersion::ALL)).await;
    let (mut p2p, pid) = raw_session(&mut hub, SnapVersion::Snap2).await;
    // 0x06 (GetTrieNodes) is reserved in snap/2.
    let m = trie_nodes_request();
    p2p.send(1, 0x06, &m.encoded()).unwrap();
    flush(&mut p2p).await;
    let who = wait_for!(&mut [&mut hub], 0, SessionEvent::BadMessage { peer_id } => peer_id);
    assert_eq!(who, pid);
    wait_for!(&mut [&mut hub], 0, SessionEvent::SessionClosedOnConnectionError { .. } => ());
    let reason = loop {
        match tokio::time::timeout(T, p2p.next()).await.unwrap() {
            Some(Ok(_)) => continue,
            Some(Err(P2PError::Disconnected(r))) => break r,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(reason, DisconnectReason::ProtocolBreach);
}

#[tokio::test]
async fn a_malformed_snap_message_is_a_breach() {
    let mut hub = Node::new(snap_opts(&SnapVersion::ALL)).await;
    let (mut p2p, _) = raw_session(&mut hub, SnapVersion::Snap1).await;
    // GetByteCodes whose hash list is a string.
    p2p.send(1, 0x04, &[0xc4, 0x01, 0x81, 0xff, 0x01]).unwrap();
    flush(&mut p2p).await;
    let e = wait_for!(&mut [&mut hub], 0, SessionEvent::SessionClosedOnConnectionError { error, .. } => error);
    assert!(
        matches!(e, ethp2p_session::ActiveSessionError::Snap(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_peer_with_only_snap_is_useless() {
    let mut hub = Node::new(snap_opts(&SnapVersion::ALL)).await;
    let (addr, id) = (hub.addr, hub.id);
    let atk = tokio::spawn(async move {
        let mut p2p = raw_peer(addr, id, &snap_protocols(&[SnapVersion::Snap1])).await;
        loop {
            match tokio::time::timeout(T, p2p.next()).await.unwrap() {
                Some(Ok(_)) => continue,
                Some(Err(P2PError::Disconnected(r))) => return r,
                other => panic!("{other:?}"),
            }
        }
    });
    let error = wait_for!(&mut [&mut hub], 0,
        SessionEvent::IncomingPendingSessionClosed { error, .. } => error);
    assert_eq!(error.reason_sent(), Some(DisconnectReason::UselessPeer));
    assert!(matches!(error, PendingSessionError::Eth(_)), "{error:?}");
    assert_eq!(atk.await.unwrap(), DisconnectReason::UselessPeer);
}

#[tokio::test]
async fn a_snap_message_before_status_is_a_handshake_error() {
    let mut hub = Node::new(snap_opts(&SnapVersion::ALL)).await;
    let (addr, id) = (hub.addr, hub.id);
    let atk = tokio::spawn(async move {
        let mut caps = eth_protocols(&[EthVersion::Eth69]);
        caps.extend(snap_protocols(&[SnapVersion::Snap1]));
        let mut p2p = raw_peer(addr, id, &caps).await;
        queue_snap(&mut p2p, &byte_codes_request(1));
        flush(&mut p2p).await;
        loop {
            match tokio::time::timeout(T, p2p.next()).await.unwrap() {
                Some(Ok(_)) => continue,
                Some(Err(P2PError::Disconnected(r))) => return r,
                other => panic!("{other:?}"),
            }
        }
    });
    let error = wait_for!(&mut [&mut hub], 0,
        SessionEvent::IncomingPendingSessionClosed { error, .. } => error);
    assert_eq!(error.reason_sent(), Some(DisconnectReason::ProtocolBreach));
    assert_eq!(atk.await.unwrap(), DisconnectReason::ProtocolBreach);
}
