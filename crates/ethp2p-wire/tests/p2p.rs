//! The base protocol between two in-process peers over a duplex pipe.

use ethp2p_rlpx::{
    accept, connect, generate_secret_key, key::peer_id_from_secret_key, RlpxStream, SecretKey,
};
use ethp2p_wire::{
    handshake, Capability, DisconnectReason, HelloMessage, P2PConfig, P2PError, P2PHandshakeError,
    P2PStream, Protocol,
};
use futures::{future::poll_fn, StreamExt};
use std::time::Duration;
use tokio::io::DuplexStream;

const T: Duration = Duration::from_secs(5);

async fn rlpx_pair() -> (
    RlpxStream<DuplexStream>,
    SecretKey,
    RlpxStream<DuplexStream>,
    SecretKey,
) {
    let (a_io, b_io) = tokio::io::duplex(1 << 20);
    let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
    let b_id = peer_id_from_secret_key(&b_key);
    let bk = b_key;
    let server = tokio::spawn(async move { accept(b_io, &bk, T).await.unwrap() });
    let a = connect(a_io, &a_key, b_id, T).await.unwrap();
    (a, a_key, server.await.unwrap(), b_key)
}

fn hello(key: &SecretKey, protocols: &[Protocol]) -> HelloMessage {
    HelloMessage {
        protocol_version: 5,
        client_id: "test".into(),
        capabilities: protocols.iter().map(|p| p.cap.clone()).collect(),
        port: 30303,
        id: peer_id_from_secret_key(key),
    }
}

type HsResult = Result<(P2PStream<DuplexStream>, HelloMessage), P2PHandshakeError>;

async fn run(
    a_hello: impl FnOnce(&SecretKey) -> HelloMessage,
    a_protos: Vec<Protocol>,
    b_protos: Vec<Protocol>,
    cfg: P2PConfig,
) -> (HsResult, HsResult) {
    let (a, a_key, b, b_key) = rlpx_pair().await;
    let ah = a_hello(&a_key);
    let bh = hello(&b_key, &b_protos);
    let c2 = cfg.clone();
    let bt = tokio::spawn(async move { handshake(b, &bh, &b_protos, c2).await });
    let ar = handshake(a, &ah, &a_protos, cfg).await;
    (ar, bt.await.unwrap())
}

fn eth(v: u32) -> Protocol {
    Protocol::new("eth", v, 18)
}

#[tokio::test]
async fn hello_exchange_and_messages_with_two_protocols() {
    let protos = vec![eth(68), eth(69), Protocol::new("test", 1, 2)];
    let (a, b) = run(
        |k| hello(k, &[eth(68), eth(69), Protocol::new("test", 1, 2)]),
        protos.clone(),
        protos,
        P2PConfig::default(),
    )
    .await;
    let (mut a, a_saw) = a.unwrap();
    let (mut b, b_saw) = b.unwrap();
    assert_eq!(a_saw.client_id, "test");
    assert_eq!(b_saw.capabilities.len(), 3);
    let shared: Vec<_> = a
        .shared_capabilities()
        .iter()
        .map(|c| (c.cap.to_string(), c.offset))
        .collect();
    assert_eq!(
        shared,
        vec![("eth/69".to_string(), 0x10), ("test/1".to_string(), 0x22)]
    );

    a.send(0, 3, b"\xc2\x01\x02").unwrap();
    a.send(1, 1, &vec![0xab; 100_000]).unwrap();
    poll_fn(|cx| a.poll_flush(cx)).await.unwrap();
    let m = b.next().await.unwrap().unwrap();
    assert_eq!(
        (m.protocol, m.id, &m.payload[..]),
        (0, 3, &b"\xc2\x01\x02"[..])
    );
    let m = b.next().await.unwrap().unwrap();
    assert_eq!((m.protocol, m.id, m.payload.len()), (1, 1, 100_000));
    assert!(matches!(
        a.send(1, 2, b""),
        Err(P2PError::IdOutOfRange { .. })
    ));
    assert!(matches!(a.send(5, 0, b""), Err(P2PError::NotShared(5))));

    a.disconnect(DisconnectReason::ClientQuitting)
        .await
        .unwrap();
    match b.next().await {
        Some(Err(P2PError::Disconnected(r))) => assert_eq!(r, DisconnectReason::ClientQuitting),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn deferred_hello_rides_with_the_next_message_or_before_the_first_read() {
    for send_first in [true, false] {
        let (a_io, b_io) = tokio::io::duplex(1 << 20);
        let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
        let b_id = peer_id_from_secret_key(&b_key);
        let protos = vec![eth(69)];
        let (bh, p) = (hello(&b_key, &protos), protos.clone());
        // b, the recipient, sends its Hello in the same write as the ack.
        let server = tokio::spawn(async move {
            let rlpx = ethp2p_rlpx::accept_unflushed(b_io, &b_key, T)
                .await
                .unwrap();
            let (mut b, _) = ethp2p_wire::handshake_unflushed(rlpx, &bh, &p, P2PConfig::default())
                .await
                .unwrap();
            if !send_first {
                b.send(0, 3, &[0xc0]).unwrap();
                poll_fn(|cx| b.poll_flush(cx)).await.unwrap();
            }
            b
        });
        let rlpx = connect(a_io, &a_key, b_id, T).await.unwrap();
        let (mut a, theirs) = ethp2p_wire::handshake_unflushed(
            rlpx,
            &hello(&a_key, &protos),
            &protos,
            P2PConfig::default(),
        )
        .await
        .unwrap();
        assert_eq!(theirs.id, b_id);
        // b's Hello came with the ack, so a's waits in the queue...
        assert!(a.pending_write_bytes() > 0);
        if send_first {
            // ...and leaves with a's first message,
            a.send(0, 5, &[0xc0]).unwrap();
            poll_fn(|cx| a.poll_flush(cx)).await.unwrap();
            let mut b = server.await.unwrap();
            let m = b.next().await.unwrap().unwrap();
            assert_eq!((m.protocol, m.id), (0, 5));
        } else {
            // ...or before a's first read, so b's handshake can finish.
            let m = a.next().await.unwrap().unwrap();
            assert_eq!((m.protocol, m.id), (0, 3));
            let _b = server.await.unwrap();
        }
    }
}

#[tokio::test]
async fn no_shared_capability_is_useless_peer() {
    let (a, b) = run(
        |k| hello(k, &[eth(68)]),
        vec![eth(68)],
        vec![eth(69)],
        P2PConfig::default(),
    )
    .await;
    assert!(matches!(a, Err(P2PHandshakeError::NoSharedCapabilities)));
    // b sees either our UselessPeer or finds none itself; both are UselessPeer.
    match b {
        Err(P2PHandshakeError::NoSharedCapabilities) => {}
        Err(P2PHandshakeError::Disconnected(r)) => assert_eq!(r, DisconnectReason::UselessPeer),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn spoofed_hello_identity_is_refused() {
    let other = peer_id_from_secret_key(&generate_secret_key());
    let (a, b) = run(
        move |k| HelloMessage {
            id: other,
            ..hello(k, &[eth(69)])
        },
        vec![eth(69)],
        vec![eth(69)],
        P2PConfig::default(),
    )
    .await;
    assert!(matches!(b, Err(P2PHandshakeError::UnexpectedIdentity(m)) if m.got == other));
    // a completed its side, then reads b's Disconnect.
    let (mut a, _) = a.unwrap();
    match a.next().await {
        Some(Err(P2PError::Disconnected(r))) => {
            assert_eq!(r, DisconnectReason::UnexpectedHandshakeIdentity)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn old_p2p_version_is_refused() {
    let (a, b) = run(
        |k| HelloMessage {
            protocol_version: 4,
            ..hello(k, &[eth(69)])
        },
        vec![eth(69)],
        vec![eth(69)],
        P2PConfig::default(),
    )
    .await;
    assert!(matches!(b, Err(P2PHandshakeError::IncompatibleVersion(4))));
    let (mut a, _) = a.unwrap();
    match a.next().await {
        Some(Err(P2PError::Disconnected(r))) => {
            assert_eq!(r, DisconnectReason::IncompatibleP2PProtocolVersion)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn higher_version_with_extra_fields_is_accepted() {
    let (a, b) = run(
        |k| HelloMessage {
            protocol_version: 22,
            ..hello(k, &[eth(69)])
        },
        vec![eth(69)],
        vec![eth(69)],
        P2PConfig::default(),
    )
    .await;
    assert!(a.is_ok());
    assert_eq!(b.unwrap().1.protocol_version, 22);
}

#[tokio::test(start_paused = true)]
async fn pings_are_answered_and_a_silent_peer_times_out() {
    let cfg = P2PConfig {
        ping_interval: Duration::from_secs(15),
        ping_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let (a, b) = run(|k| hello(k, &[eth(69)]), vec![eth(69)], vec![eth(69)], cfg).await;
    let (mut a, _) = a.unwrap();
    let (mut b, _) = b.unwrap();
    // Both sides poll: each pings and answers the other's pings, for a minute.
    let start = tokio::time::Instant::now();
    let drive = |s: &mut P2PStream<DuplexStream>, cx: &mut std::task::Context<'_>| {
        let r = s.poll_next_message(cx);
        let _ = s.poll_flush(cx);
        r
    };
    let mut both = poll_fn(|cx| {
        if let std::task::Poll::Ready(r) = drive(&mut a, cx) {
            return std::task::Poll::Ready(("a", r.map(|r| r.map(|_| ()))));
        }
        if let std::task::Poll::Ready(r) = drive(&mut b, cx) {
            return std::task::Poll::Ready(("b", r.map(|r| r.map(|_| ()))));
        }
        std::task::Poll::Pending
    });
    let res = tokio::time::timeout(Duration::from_secs(60), &mut both).await;
    assert!(
        res.is_err(),
        "healthy peers keep each other alive: {:?}",
        res.map(|r| r.0)
    );
    assert!(start.elapsed() >= Duration::from_secs(60));
    drop(both);
    // Now b stops reading: a must give up with PingTimeout within interval + timeout.
    let t0 = tokio::time::Instant::now();
    let err = match poll_fn(|cx| drive(&mut a, cx)).await {
        Some(Err(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(matches!(err, P2PError::PingTimeout), "{err:?}");
    assert!(t0.elapsed() <= Duration::from_secs(36));
    drop(b);
}

/// A raw peer: completes RLPx, sends a Hello, then whatever frames the test wants.
async fn raw_peer() -> (RlpxStream<DuplexStream>, P2PStream<DuplexStream>) {
    let (mut a, a_key, b, b_key) = rlpx_pair().await;
    let protos = vec![eth(69)];
    let bh = hello(&b_key, &protos);
    let bt = tokio::spawn(async move { handshake(b, &bh, &protos, P2PConfig::default()).await });
    let mut body = Vec::new();
    alloy_rlp::Encodable::encode(&hello(&a_key, &[eth(69)]), &mut body);
    a.queue_frame(&[&[0x80], &body]).unwrap();
    poll_fn(|cx| a.poll_write_queued(cx)).await.unwrap();
    let (p2p, _) = bt.await.unwrap().unwrap();
    // Drain b's Hello from a's side.
    let _ = a.next().await.unwrap().unwrap();
    (a, p2p)
}

async fn send_raw(a: &mut RlpxStream<DuplexStream>, parts: &[&[u8]]) {
    a.queue_frame(parts).unwrap();
    poll_fn(|cx| a.poll_write_queued(cx)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn only_a_silent_peer_is_pinged() {
    let (mut a, mut b) = raw_peer().await;
    let marker = snap::raw::Encoder::new().compress_vec(&[0xc0]).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            let r = poll_fn(|cx| {
                let r = b.poll_next_message(cx);
                let _ = b.poll_flush(cx);
                r
            })
            .await;
            let end = !matches!(r, Some(Ok(_)));
            let _ = tx.send(r.map(|r| r.map(|m| m.id)));
            if end {
                break;
            }
        }
    });
    // a speaks every 40 s for 200 s: b hears from it well within its 60 s
    // interval, so b never needs to Ping.
    let interval = P2PConfig::default().ping_interval;
    assert_eq!(interval, Duration::from_secs(60));
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(40)).await;
        send_raw(&mut a, &[&[0x10], &marker]).await;
        assert!(matches!(rx.recv().await, Some(Some(Ok(0)))));
    }
    // Now a falls silent: b's Ping comes one interval after a's last frame.
    let last = tokio::time::Instant::now();
    let quiet = tokio::time::timeout(Duration::from_millis(1), a.next()).await;
    assert!(quiet.is_err(), "b pinged a peer that talks: {quiet:?}");
    let frame = tokio::time::timeout(2 * interval, a.next())
        .await
        .expect("a Ping")
        .unwrap()
        .unwrap();
    assert_eq!(frame[0], 0x02, "{frame:x?}");
    let waited = last.elapsed();
    assert!(
        waited >= interval && waited < interval + Duration::from_secs(1),
        "{waited:?}"
    );
    // And a never answers: PingTimeout after the Pong timeout.
    match rx.recv().await {
        Some(Some(Err(P2PError::PingTimeout))) => {}
        other => panic!("{other:?}"),
    }
    let total = last.elapsed();
    assert!(
        total >= interval + P2PConfig::default().ping_timeout,
        "{total:?}"
    );
    driver.await.unwrap();
}

#[tokio::test]
async fn snappy_bomb_is_refused_before_decompressing() {
    let (mut a, mut b) = raw_peer().await;
    // Snappy preamble declaring 1 GiB (varint), then a little data.
    let bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x61];
    send_raw(&mut a, &[&[0x10], &bomb]).await;
    match b.next().await {
        Some(Err(P2PError::MessageTooBig { size, max })) => {
            assert_eq!(size, 1 << 30);
            assert_eq!(max, ethp2p_wire::MAX_PAYLOAD_SIZE);
        }
        other => panic!("{other:?}"),
    }
    assert!(b.buffer_capacity() < 1 << 20);
}

#[tokio::test]
async fn reserved_and_unknown_ids_and_bad_pings_are_breaches() {
    for (parts, check) in [
        (vec![vec![0x05u8], vec![0x00]], "reserved"),
        (vec![vec![0x7f], vec![0x00]], "unknown"),
        (vec![vec![0x02], vec![0x01, 0xc1]], "ping"),
        (vec![vec![0x80], vec![0xc0]], "hello"),
        (vec![], "empty"),
    ] {
        let (mut a, mut b) = raw_peer().await;
        let refs: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
        send_raw(&mut a, &refs).await;
        let err = b.next().await.unwrap().unwrap_err();
        assert!(err.is_protocol_breach(), "{check}: {err:?}");
        let ok = match check {
            "reserved" => matches!(err, P2PError::UnknownReservedId(5)),
            "unknown" => matches!(err, P2PError::UnknownMessageId(0x7f)),
            "ping" => matches!(err, P2PError::InvalidPingPong),
            "hello" => matches!(err, P2PError::HelloAfterHandshake),
            _ => matches!(err, P2PError::EmptyMessage),
        };
        assert!(ok, "{check}: {err:?}");
    }
}

#[tokio::test]
async fn disconnect_in_every_encoding_is_understood() {
    let mut snappy = snap::raw::Encoder::new();
    let compressed_list = snappy.compress_vec(&[0xc1, 0x04]).unwrap();
    let compressed_bare = snappy.compress_vec(&[0x04]).unwrap();
    for payload in [
        vec![0x04u8],
        vec![0xc1, 0x04],
        compressed_list,
        compressed_bare,
    ] {
        let (mut a, mut b) = raw_peer().await;
        send_raw(&mut a, &[&[0x01], &payload]).await;
        match b.next().await {
            Some(Err(P2PError::Disconnected(r))) => {
                assert_eq!(r, DisconnectReason::TooManyPeers, "{payload:x?}")
            }
            other => panic!("{payload:x?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn ping_flood_keeps_the_write_buffer_flat() {
    let (mut a, mut b) = raw_peer().await;
    let ping = snap::raw::Encoder::new().compress_vec(&[0xc0]).unwrap();
    let marker = snap::raw::Encoder::new().compress_vec(&[0xc0]).unwrap();
    // a floods 20k Pings, then one eth message as an end marker, and never reads.
    let writer = tokio::spawn(async move {
        for _ in 0..20_000 {
            a.queue_frame(&[&[0x02], &ping]).unwrap();
        }
        a.queue_frame(&[&[0x10], &marker]).unwrap();
        poll_fn(|cx| a.poll_write_queued(cx)).await.unwrap();
        a
    });
    // b reads everything without flushing: at most one Pong may wait.
    let mut max_pending = 0;
    loop {
        let m = b.next().await.unwrap().unwrap();
        max_pending = max_pending.max(b.pending_write_bytes());
        if m.protocol == 0 {
            break;
        }
    }
    assert!(max_pending <= 64, "pending {max_pending}");
    let _a = writer.await.unwrap();
}

#[test]
fn frame_body_decoder_never_panics_on_garbage() {
    use proptest::prelude::*;
    proptest!(|(body in proptest::collection::vec(any::<u8>(), 0..300))| {
        let _ = ethp2p_wire::p2p::decode_frame_body(&body, 1 << 20);
        let _ = <HelloMessage as alloy_rlp::Decodable>::decode(&mut &body[..]);
        let _ = DisconnectReason::decode_payload(&body);
        let _ = <Capability as alloy_rlp::Decodable>::decode(&mut &body[..]);
    });
}
