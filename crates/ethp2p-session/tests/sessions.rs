//! Session manager scenarios over TCP loopback.

use ethp2p_eth::{
    message::{EthMessage, RawList, RequestPair},
    version::EthVersion,
};
use ethp2p_session::{
    ActiveSessionError, Direction, PeerMessage, PendingSessionError, RequestError, SessionEvent,
    SessionLimits, SessionsConfig,
};
use ethp2p_testing::{tcp::*, wait_for};
use ethp2p_wire::{DisconnectReason, Protocol};
use std::time::Duration;

async fn connect(a: &mut Node, b: &mut Node) {
    a.dial(b);
    let bid = b.id;
    let aid = a.id;
    let mut got_a = false;
    let mut got_b = false;
    while !(got_a && got_b) {
        let (i, ev) = tokio::time::timeout(T, next_any(&mut [a, b]))
            .await
            .unwrap();
        match (i, ev) {
            (0, SessionEvent::SessionEstablished { peer_id, info }) => {
                assert_eq!(peer_id, bid);
                assert_eq!(info.direction, Direction::Outgoing);
                assert_eq!(info.eth_version, EthVersion::Eth69);
                got_a = true;
            }
            (1, SessionEvent::SessionEstablished { peer_id, info }) => {
                assert_eq!(peer_id, aid);
                assert_eq!(info.direction, Direction::Incoming);
                assert_eq!(info.client_version, "ethp2p-test");
                got_b = true;
            }
            (i, ev) => panic!("unexpected event on {i}: {ev:?}"),
        }
    }
}

#[tokio::test]
async fn establish_request_response_and_disconnect() {
    let mut a = Node::default().await;
    let mut b = Node::default().await;
    connect(&mut a, &mut b).await;
    assert_eq!(a.mgr.counts().active_outbound, 1);
    assert_eq!(b.mgr.counts().active_inbound, 1);
    assert_eq!(
        b.mgr.session(&a.id).unwrap().peer_info().enode.tcp_port,
        a.addr.port()
    );

    // a asks b for headers; b's owner answers with two raw headers.
    let rx = a.mgr.send_request(&b.id, headers_request());
    let (request, responder) = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::EthRequest { request, responder }, .. } => (request, responder));
    assert!(matches!(request, EthMessage::GetBlockHeaders(_)));
    let headers = RawList::from_encoded_items([&[0xc1u8, 0x01][..], &[0xc1, 0x02][..]]).unwrap();
    responder.respond(EthMessage::BlockHeaders(RequestPair {
        request_id: 999,
        message: headers.clone(),
    }));
    let resp = tokio::select! {
        r = rx => r.unwrap().unwrap(),
        _ = async { loop { next_any(&mut [&mut a, &mut b]).await; } } => unreachable!(),
    };
    match resp {
        EthMessage::BlockHeaders(p) => assert_eq!(p.message, headers),
        other => panic!("{other:?}"),
    }

    // A dropped responder still answers: with an empty response.
    let rx = a.mgr.send_request(&b.id, headers_request());
    let responder = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::EthRequest { responder, .. }, .. } => responder);
    drop(responder);
    let resp = tokio::select! {
        r = rx => r.unwrap().unwrap(),
        _ = async { loop { next_any(&mut [&mut a, &mut b]).await; } } => unreachable!(),
    };
    assert!(matches!(resp, EthMessage::BlockHeaders(p) if p.message.is_empty()));

    // Requests not allowed in eth/69 fail at once.
    let rx = a.mgr.send_request(
        &b.id,
        EthMessage::GetNodeData(RequestPair {
            request_id: 0,
            message: vec![],
        }),
    );
    let r = tokio::select! {
        r = rx => r.unwrap(),
        _ = async { loop { next_any(&mut [&mut a, &mut b]).await; } } => unreachable!(),
    };
    assert!(matches!(r, Err(RequestError::Unsupported(_))));

    // a disconnects; both report it with the reason.
    assert!(a.mgr.disconnect(&b.id, DisconnectReason::ClientQuitting));
    let (r, by_us) = wait_for!(&mut [&mut a, &mut b], 1, SessionEvent::Disconnected { reason, by_us, .. } => (reason, by_us));
    assert_eq!((r, by_us), (DisconnectReason::ClientQuitting, false));
    wait_for!(&mut [&mut a, &mut b], 0, SessionEvent::Disconnected { reason: DisconnectReason::ClientQuitting, by_us: true, .. } => ());
    assert_eq!(a.mgr.counts(), Default::default());
    assert_eq!(b.mgr.counts(), Default::default());
}

#[tokio::test]
async fn duplicate_and_self_connections_are_refused() {
    let mut a = Node::default().await;
    let mut b = Node::default().await;
    connect(&mut a, &mut b).await;
    b.dial(&a);
    let aid0 = a.id;
    let got = wait_for!(&mut [&mut a, &mut b], 1, SessionEvent::AlreadyConnected { peer_id, direction: Direction::Outgoing, .. } => peer_id);
    assert_eq!(got, aid0);
    // Dialing our own id is refused up front; dialing our own address under
    // another id fails the ECIES handshake, and a self-connection under our
    // id is refused with ConnectedToSelf.
    let (aid, aaddr) = (a.id, a.addr);
    a.mgr.dial_outbound(aaddr, aid).unwrap();
    wait_for!(&mut [&mut a], 0, SessionEvent::OutgoingPendingSessionClosed { error: PendingSessionError::ConnectedToSelf, .. } => ());
    assert_eq!(a.mgr.counts().active_outbound, 1);
    assert_eq!(a.mgr.counts().pending_outbound, 0);
    assert_eq!(a.mgr.counts().pending_inbound, 0);
}

#[tokio::test]
async fn limits_refuse_and_release() {
    let limits = SessionLimits {
        max_established_inbound: Some(1),
        ..Default::default()
    };
    let mut hub = Node::new(Opts {
        config: SessionsConfig {
            limits,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut p1 = Node::default().await;
    let mut p2 = Node::default().await;
    connect(&mut p1, &mut hub).await;
    p2.dial(&hub);
    // p2 is refused with TooManyPeers after the handshake.
    // p2 completed its handshake, then hears TooManyPeers.
    let reason =
        wait_for!(&mut [&mut hub, &mut p2], 1, SessionEvent::Disconnected { reason, .. } => reason);
    assert_eq!(reason, DisconnectReason::TooManyPeers);
    wait_for!(&mut [&mut hub, &mut p2], 0, SessionEvent::IncomingPendingSessionClosed { error: PendingSessionError::TooManyPeers, .. } => ());
    assert_eq!(hub.mgr.counts().active_inbound, 1);
    // Pending limit: zero pending inbound allowed → ExceedsSessionLimit.
    let limits = SessionLimits {
        max_pending_inbound: Some(0),
        max_pending_outbound: Some(0),
        ..Default::default()
    };
    let mut closed = Node::new(Opts {
        config: SessionsConfig {
            limits,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let err = closed.mgr.dial_outbound(p1.addr, p1.id).unwrap_err();
    assert_eq!(err.0, 0);
    // Release: p1 leaves, p2 can join.
    hub.mgr
        .disconnect(&p1.id, DisconnectReason::DisconnectRequested);
    wait_for!(&mut [&mut hub, &mut p1], 0, SessionEvent::Disconnected { .. } => ());
    assert_eq!(hub.mgr.counts().active_inbound, 0);
    connect(&mut p2, &mut hub).await;
}

#[tokio::test]
async fn unanswered_requests_time_out_then_breach() {
    let config = SessionsConfig {
        initial_request_timeout: Duration::from_millis(300),
        min_request_timeout: Duration::from_millis(100),
        protocol_breach_request_timeout: Duration::from_millis(1200),
        ..Default::default()
    };
    let mut a = Node::new(Opts {
        config,
        ..Default::default()
    })
    .await;
    let mut b = Node::default().await;
    connect(&mut a, &mut b).await;
    assert_eq!(
        a.mgr.session(&b.id).unwrap().request_timeout(),
        Duration::from_millis(300)
    );
    let rx = a.mgr.send_request(&b.id, headers_request());
    // b's owner holds the responder and never answers.
    let held = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::EthRequest { responder, .. }, .. } => responder);
    let r = tokio::select! {
        r = rx => r.unwrap(),
        _ = async { loop { next_any(&mut [&mut a, &mut b]).await; } } => unreachable!(),
    };
    assert_eq!(r, Err(RequestError::Timeout));
    wait_for!(&mut [&mut a, &mut b], 0, SessionEvent::ProtocolBreach { .. } => ());
    let reason =
        wait_for!(&mut [&mut a, &mut b], 1, SessionEvent::Disconnected { reason, .. } => reason);
    assert_eq!(reason, DisconnectReason::ProtocolBreach);
    drop(held);
    assert_eq!(a.mgr.counts(), Default::default());
}

#[tokio::test]
async fn adaptive_timeout_follows_a_fast_responder() {
    let config = SessionsConfig {
        initial_request_timeout: Duration::from_secs(20),
        min_request_timeout: Duration::from_millis(50),
        ..Default::default()
    };
    let mut a = Node::new(Opts {
        config,
        ..Default::default()
    })
    .await;
    let mut b = Node::default().await;
    connect(&mut a, &mut b).await;
    let bid = b.id;
    for _ in 0..30 {
        let rx = a.mgr.send_request(&bid, headers_request());
        let responder = wait_for!(&mut [&mut a, &mut b], 1,
            SessionEvent::ValidMessage { message: PeerMessage::EthRequest { responder, .. }, .. } => responder);
        drop(responder);
        tokio::select! {
            r = rx => { r.unwrap().unwrap(); }
            _ = async { loop { next_any(&mut [&mut a, &mut b]).await; } } => unreachable!(),
        }
    }
    let t = a.mgr.session(&bid).unwrap().request_timeout();
    // 0.9^30 * 20 s ≈ 0.85 s plus a few RTTs: far below the initial 20 s.
    assert!(t < Duration::from_secs(2), "{t:?}");
    assert!(t >= Duration::from_millis(50));
}

/// One request from `a` to `b`, whose owner takes `delay` (of the paused
/// clock) to answer; both managers keep running meanwhile.
async fn answered_after(a: &mut Node, b: &mut Node, delay: Duration) -> Result<(), RequestError> {
    let rx = a.mgr.send_request(&b.id, headers_request());
    let responder = wait_for!(&mut [&mut *a, &mut *b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::EthRequest { responder, .. }, .. } => responder);
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = async { loop { next_any(&mut [&mut *a, &mut *b]).await; } } => unreachable!(),
    }
    drop(responder);
    tokio::select! {
        r = rx => r.expect("an answer or an error").map(drop),
        _ = async { loop { next_any(&mut [&mut *a, &mut *b]).await; } } => unreachable!(),
    }
}

#[tokio::test(start_paused = true)]
async fn adaptive_timeout_moves_with_a_slow_responder() {
    // Defaults: the timeout starts at 20 s and stays within [2 s, 20 s].
    let mut a = Node::default().await;
    let mut b = Node::default().await;
    connect(&mut a, &mut b).await;
    let bid = b.id;
    let timeout = |a: &Node| a.mgr.session(&bid).unwrap().request_timeout();
    assert_eq!(timeout(&a), Duration::from_secs(20));
    // Instant answers pull it down to the floor.
    for _ in 0..30 {
        answered_after(&mut a, &mut b, Duration::ZERO)
            .await
            .unwrap();
    }
    let fast = timeout(&a);
    assert!(fast <= Duration::from_millis(2100), "{fast:?}");
    // Answers that take 4 s push it towards 3 x 4 s = 12 s. The first ones
    // miss the 2 s timeout (their callers hear Timeout), but a late answer
    // still teaches the session its peer's pace.
    let mut timed_out = 0;
    for _ in 0..30 {
        match answered_after(&mut a, &mut b, Duration::from_secs(4)).await {
            Ok(()) => {}
            Err(RequestError::Timeout) => timed_out += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!((1..10).contains(&timed_out), "{timed_out} timed out");
    let slow = timeout(&a);
    assert!(
        slow > Duration::from_secs(10) && slow <= Duration::from_secs(12),
        "{slow:?}"
    );
    // An answer slower than the current timeout fails the caller with a
    // timeout, and the session stays (the breach timeout is 120 s).
    let late = answered_after(&mut a, &mut b, slow + Duration::from_secs(2)).await;
    assert!(matches!(late, Err(RequestError::Timeout)), "{late:?}");
    assert!(a.mgr.session(&bid).is_some());
}

#[tokio::test]
async fn extra_subprotocol_rides_beside_eth() {
    let proto = || vec![Protocol::new("tst", 1, 4)];
    let mut a = Node::new(Opts {
        extra: proto(),
        ..Default::default()
    })
    .await;
    let mut b = Node::new(Opts {
        extra: proto(),
        ..Default::default()
    })
    .await;
    connect(&mut a, &mut b).await;
    a.mgr
        .send_protocol_message(
            &b.id,
            "tst",
            3,
            bytes::Bytes::from_static(b"\xc3\x01\x02\x03"),
        )
        .unwrap();
    let (name, id, payload) = wait_for!(&mut [&mut a, &mut b], 1,
        SessionEvent::ValidMessage { message: PeerMessage::Protocol { name, id, payload }, .. } => (name, id, payload));
    assert_eq!(
        (name.as_str(), id, &payload[..]),
        ("tst", 3, &b"\xc3\x01\x02\x03"[..])
    );
}

#[tokio::test]
async fn incompatible_chain_is_refused_both_ways() {
    let mut a = Node::default().await;
    let mut b = Node::new(Opts {
        chain: ethp2p_eth::chain::ChainSpec::sepolia(),
        ..Default::default()
    })
    .await;
    a.dial(&b);
    let err = wait_for!(&mut [&mut a, &mut b], 0, SessionEvent::OutgoingPendingSessionClosed { error, .. } => error);
    assert!(
        err.reason_sent() == Some(DisconnectReason::SubprotocolSpecific)
            || err.reason_received() == Some(DisconnectReason::SubprotocolSpecific),
        "{err:?}"
    );
    let err = wait_for!(&mut [&mut a, &mut b], 1, SessionEvent::IncomingPendingSessionClosed { error, .. } => error);
    assert!(matches!(err, PendingSessionError::Eth(_)), "{err:?}");
    assert_eq!(a.mgr.counts(), Default::default());
    assert_eq!(b.mgr.counts(), Default::default());
}

#[tokio::test]
async fn garbage_inbound_is_closed_and_counted_back() {
    let mut a = Node::default().await;
    let mut s = tokio::net::TcpStream::connect(a.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut s, &[0x00, 0x90, 1, 2, 3].repeat(100))
        .await
        .unwrap();
    let err = wait_for!(&mut [&mut a], 0, SessionEvent::IncomingPendingSessionClosed { error, .. } => error);
    assert!(matches!(err, PendingSessionError::Ecies(_)), "{err:?}");
    assert_eq!(a.mgr.counts(), Default::default());
    let _ = ActiveSessionError::ConnectionClosed;
}

#[tokio::test]
async fn inbound_over_the_limit_hears_too_many_peers() {
    use futures::StreamExt as _;
    let limits = SessionLimits {
        max_pending_inbound: Some(0),
        ..Default::default()
    };
    let node = Node::new(Opts {
        config: SessionsConfig {
            limits,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert!(node.mgr.ensure_incoming().is_err());
    let (id, addr) = (node.id, node.addr);
    let client = tokio::spawn(async move {
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut rlpx = ethp2p_rlpx::connect(s, &ethp2p_rlpx::generate_secret_key(), id, T)
            .await
            .unwrap();
        let frame = rlpx.next().await.unwrap().unwrap();
        // Message id 0x01, then the reason, uncompressed.
        assert_eq!(frame[0], 0x01);
        DisconnectReason::decode_payload(&frame[1..]).unwrap()
    });
    let (stream, _) = node.listener.accept().await.unwrap();
    assert!(node
        .mgr
        .try_disconnect_incoming(stream, DisconnectReason::TooManyPeers));
    assert_eq!(
        tokio::time::timeout(T, client).await.unwrap().unwrap(),
        DisconnectReason::TooManyPeers
    );
    assert_eq!(node.mgr.counts(), Default::default());
}

#[tokio::test]
async fn idle_sessions_keep_each_other_alive() {
    // Short keepalive so several Ping/Pong rounds fit in the hold.
    let p2p = ethp2p_wire::P2PConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(300),
        ..SessionsConfig::default().p2p
    };
    let opts = || Opts {
        config: SessionsConfig {
            p2p: p2p.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut a = Node::new(opts()).await;
    let mut b = Node::new(opts()).await;
    connect(&mut a, &mut b).await;
    // Nothing is sent by the owners for 2 s (about 20 ping intervals): the
    // sessions must stay up, so no event at all may arrive.
    let quiet = tokio::time::timeout(Duration::from_secs(2), next_any(&mut [&mut a, &mut b])).await;
    assert!(
        quiet.is_err(),
        "an idle session ended: {:?}",
        quiet.map(|(i, ev)| (i, format!("{ev:?}")))
    );
    assert_eq!(a.mgr.counts().active_outbound, 1);
    assert_eq!(b.mgr.counts().active_inbound, 1);
}

/// A TCP stream that counts the writes the session makes on it.
struct CountingStream {
    inner: tokio::net::TcpStream,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl tokio::io::AsyncRead for CountingStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for CountingStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn queued_commands_leave_in_one_write() {
    let mut b = Node::default().await;
    // An inbound session on b over a counted stream, dialed by c.
    let mut c = Node::default().await;
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    c.mgr.dial_outbound(b.addr, b.id).unwrap();
    let (s, addr) = b.listener.accept().await.unwrap();
    let local = s.local_addr().ok();
    let counted = CountingStream {
        inner: s,
        writes: writes.clone(),
    };
    b.mgr.on_incoming(counted, addr, local).unwrap();
    let cid = c.id;
    wait_for!(&mut [&mut b, &mut c], 0, SessionEvent::SessionEstablished { .. } => ());
    wait_for!(&mut [&mut b, &mut c], 1, SessionEvent::SessionEstablished { .. } => ());
    let before = writes.load(std::sync::atomic::Ordering::Relaxed);
    // 20 broadcasts queued at once (the command buffer holds 32) reach the
    // session in one poll: they leave together, not one write each.
    let tx = EthMessage::Transactions(RawList::from_encoded_items([[0x83u8, 1, 2, 3]]).unwrap());
    for _ in 0..20 {
        b.mgr.send_message(&cid, tx.clone()).unwrap();
    }
    for _ in 0..20 {
        wait_for!(&mut [&mut b, &mut c], 1, SessionEvent::ValidMessage { message: PeerMessage::Eth(EthMessage::Transactions(_)), .. } => ());
    }
    let used = writes.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(used <= 2, "20 queued messages took {used} writes");
}
