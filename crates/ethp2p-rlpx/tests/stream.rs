//! The handshake and frames over real transports, and bad input over them.

use bytes::Bytes;
use ethp2p_rlpx::{
    accept, accept_unflushed, connect, generate_secret_key, handshake::legacy_auth_for_tests,
    key::peer_id_from_secret_key, FrameError, HandshakeError, RlpxError,
};
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn unflushed_ack_leaves_with_the_first_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
    let b_id = peer_id_from_secret_key(&b_key);
    let server = tokio::spawn(async move {
        let (io, _) = listener.accept().await.unwrap();
        let mut b = accept_unflushed(io, &b_key, T).await.unwrap();
        // The ack waits in the write queue (an EIP-8 ack is well over 200 bytes).
        assert!(b.pending_write_bytes() > 200, "{}", b.pending_write_bytes());
        b.send(Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(b.pending_write_bytes(), 0);
        b
    });
    let io = TcpStream::connect(addr).await.unwrap();
    let mut a = connect(io, &a_key, b_id, T).await.unwrap();
    assert_eq!(&a.next().await.unwrap().unwrap()[..], b"hello");
    let _b = server.await.unwrap();
}

#[test]
fn initiator_with_a_given_id_matches_and_a_wrong_one_is_refused() {
    use ethp2p_rlpx::{Initiator, Recipient};
    let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
    let (a_id, b_id) = (
        peer_id_from_secret_key(&a_key),
        peer_id_from_secret_key(&b_key),
    );
    for (given, ok) in [(a_id, true), (b_id, false)] {
        let a = Initiator::with_id(&a_key, given, b_id).unwrap();
        let b = Recipient::new(&b_key);
        let mut buf = bytes::BytesMut::from(a.auth_message());
        // The auth itself is not signed by the static key: a wrong id shows
        // as an ack the initiator cannot open (it is sealed to that id).
        let done = b
            .read_auth(&mut buf)
            .ok()
            .flatten()
            .and_then(|(ack, secrets)| {
                let mut buf = bytes::BytesMut::from(&ack[..]);
                let mine = a.read_ack(&mut buf).ok().flatten()?;
                Some((secrets.remote_id, mine.remote_id))
            });
        if ok {
            assert_eq!(done, Some((a_id, b_id)));
        } else {
            assert_eq!(done, None, "a handshake with a wrong local id completed");
        }
    }
}

#[test]
fn a_stream_is_cheap_to_move() {
    // The cipher and MAC states live behind a Box: futures that carry a
    // stream between the handshake and the session stay small.
    let size = std::mem::size_of::<ethp2p_rlpx::RlpxStream<TcpStream>>();
    assert!(size <= 512, "RlpxStream is {size} bytes");
}

#[tokio::test]
async fn handshake_and_frames_over_duplex() {
    let (a_io, b_io) = tokio::io::duplex(64 * 1024);
    let a_key = generate_secret_key();
    let b_key = generate_secret_key();
    let b_id = peer_id_from_secret_key(&b_key);
    let server = tokio::spawn(async move { accept(b_io, &b_key, T).await });
    let mut a = connect(a_io, &a_key, b_id, T).await.unwrap();
    let mut b = server.await.unwrap().unwrap();
    assert_eq!(a.remote_id(), b_id);
    assert_eq!(b.remote_id(), peer_id_from_secret_key(&a_key));

    // b echoes every frame back; a sends and checks, so large frames never
    // deadlock on the duplex buffer.
    let echo = tokio::spawn(async move {
        let mut n = 0;
        while let Some(frame) = b.next().await {
            b.send(frame.unwrap().freeze()).await.unwrap();
            n += 1;
        }
        n
    });
    let sizes = [1usize, 100, 4096, 1 << 20];
    for size in sizes {
        let msg = Bytes::from(vec![size as u8; size]);
        a.send(msg.clone()).await.unwrap();
        assert_eq!(a.next().await.unwrap().unwrap(), msg);
    }
    drop(a);
    // Clean EOF ends b's stream.
    assert_eq!(echo.await.unwrap(), sizes.len());
}

#[tokio::test]
async fn handshake_and_frames_over_tcp_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let b_key = generate_secret_key();
    let b_id = peer_id_from_secret_key(&b_key);
    let server = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut b = accept(s, &b_key, T).await.unwrap();
        while let Some(frame) = b.next().await {
            let frame = frame.unwrap();
            b.send(frame.freeze()).await.unwrap();
        }
    });
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut a = connect(s, &generate_secret_key(), b_id, T).await.unwrap();
    for i in 0..50u32 {
        let msg = Bytes::from(i.to_be_bytes().repeat(i as usize + 1));
        a.send(msg.clone()).await.unwrap();
        assert_eq!(a.next().await.unwrap().unwrap(), msg);
    }
    drop(a);
    server.await.unwrap();
}

#[tokio::test]
async fn dialing_the_wrong_key_fails_cleanly_on_both_sides() {
    let (a_io, b_io) = tokio::io::duplex(64 * 1024);
    let b_key = generate_secret_key();
    let wrong_id = peer_id_from_secret_key(&generate_secret_key());
    let server = tokio::spawn(async move { accept(b_io, &b_key, T).await });
    let client = connect(a_io, &generate_secret_key(), wrong_id, T).await;
    let server = server.await.unwrap();
    assert!(matches!(
        server,
        Err(RlpxError::Handshake(HandshakeError::Ecies(
            ethp2p_rlpx::EciesError::MacMismatch
        )))
    ));
    // The recipient dropped the connection: the initiator sees EOF, not a hang.
    assert!(
        matches!(
            client,
            Err(RlpxError::Handshake(HandshakeError::UnexpectedEof))
        ),
        "{client:?}"
    );
}

async fn accept_bytes(bytes: Vec<u8>, close: bool, timeout: Duration) -> RlpxError {
    let (mut a_io, b_io) = tokio::io::duplex(64 * 1024);
    let key = generate_secret_key();
    let server = tokio::spawn(async move { accept(b_io, &key, timeout).await });
    a_io.write_all(&bytes).await.unwrap();
    if close {
        drop(a_io);
        server.await.unwrap().unwrap_err()
    } else {
        let r = server.await.unwrap().unwrap_err();
        drop(a_io);
        r
    }
}

#[tokio::test]
async fn garbage_auth_is_rejected() {
    let garbage: Vec<u8> = (0..600u32).map(|i| (i * 7919 % 251) as u8).collect();
    // First two bytes 0x00 0x07 announce 7 bytes: too short for ECIES.
    let err = accept_bytes(garbage, false, T).await;
    assert!(
        matches!(err, RlpxError::Handshake(HandshakeError::Ecies(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_size_prefix_is_rejected_before_reading_it() {
    let err = accept_bytes(vec![0xff, 0xff, 1, 2, 3], false, T).await;
    assert!(
        matches!(
            err,
            RlpxError::Handshake(HandshakeError::MessageTooLarge {
                size: 65535,
                max: 2048
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn truncated_auth_then_close_is_eof() {
    let b_id = peer_id_from_secret_key(&generate_secret_key());
    let auth = ethp2p_rlpx::Initiator::new(&generate_secret_key(), b_id).unwrap();
    let half = auth.auth_message()[..100].to_vec();
    let err = accept_bytes(half, true, T).await;
    assert!(
        matches!(err, RlpxError::Handshake(HandshakeError::UnexpectedEof)),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn silent_peer_hits_the_timeout() {
    let err = accept_bytes(vec![0x01], false, Duration::from_secs(3)).await;
    assert!(matches!(err, RlpxError::Timeout), "{err:?}");
}

#[tokio::test]
async fn legacy_auth_is_accepted_over_the_stream() {
    let (mut a_io, b_io) = tokio::io::duplex(64 * 1024);
    let b_key = generate_secret_key();
    let b_id = peer_id_from_secret_key(&b_key);
    let a_key = generate_secret_key();
    let server = tokio::spawn(async move { accept(b_io, &b_key, T).await });
    let auth =
        legacy_auth_for_tests(&a_key, b_id, &generate_secret_key(), Default::default()).unwrap();
    a_io.write_all(&auth).await.unwrap();
    let b = server.await.unwrap().unwrap();
    assert_eq!(b.remote_id(), peer_id_from_secret_key(&a_key));
    let mut ack = vec![0u8; ethp2p_rlpx::handshake::LEGACY_ACK_LEN];
    a_io.read_exact(&mut ack).await.unwrap();
}

#[tokio::test]
async fn garbage_after_the_handshake_is_a_header_mac_error() {
    let (a_io, b_io) = tokio::io::duplex(64 * 1024);
    let b_key = generate_secret_key();
    let b_id = peer_id_from_secret_key(&b_key);
    let server = tokio::spawn(async move { accept(b_io, &b_key, T).await });
    let mut a = connect(a_io, &generate_secret_key(), b_id, T)
        .await
        .unwrap();
    let mut b = server.await.unwrap().unwrap();
    a.get_mut().write_all(&[0x5a; 48]).await.unwrap();
    let err = b.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, RlpxError::Frame(FrameError::HeaderMacMismatch)),
        "{err:?}"
    );
}

#[tokio::test]
async fn close_mid_frame_is_an_unexpected_eof() {
    use ethp2p_rlpx::{FrameCodec, Initiator, Recipient, RlpxStream};
    // Run the handshake sans-IO to get both sides' secrets.
    let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
    let init = Initiator::new(&a_key, peer_id_from_secret_key(&b_key)).unwrap();
    let mut buf = bytes::BytesMut::from(init.auth_message());
    let (ack, b_secrets) = Recipient::new(&b_key).read_auth(&mut buf).unwrap().unwrap();
    let mut buf = bytes::BytesMut::from(&ack[..]);
    let a_secrets = init.read_ack(&mut buf).unwrap().unwrap();

    let (mut a_io, b_io) = tokio::io::duplex(64 * 1024);
    let mut b = RlpxStream::new(b_io, &b_secrets, bytes::BytesMut::new());
    let mut a_codec = FrameCodec::new(&a_secrets);
    let mut wire = bytes::BytesMut::new();
    a_codec.encode_parts(&[&[1u8; 100]], &mut wire).unwrap();
    a_codec.encode_parts(&[&[2u8; 100]], &mut wire).unwrap();
    let one = FrameCodec::encoded_len(100);
    a_io.write_all(&wire[..one + 40]).await.unwrap();
    drop(a_io);
    assert_eq!(b.next().await.unwrap().unwrap().len(), 100);
    let err = b.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&err, RlpxError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
        "{err:?}"
    );
    assert!(b.next().await.is_none());
}

#[tokio::test]
async fn frame_errors_are_typed() {
    let e: RlpxError = FrameError::BodyMacMismatch.into();
    assert!(e.is_protocol_error());
}

#[tokio::test]
async fn an_idle_stream_holds_no_read_buffer() {
    let (a_io, b_io) = tokio::io::duplex(64 * 1024);
    let (a_key, b_key) = (generate_secret_key(), generate_secret_key());
    let b_id = peer_id_from_secret_key(&b_key);
    let server = tokio::spawn(async move { accept(b_io, &b_key, T).await });
    let mut a = connect(a_io, &a_key, b_id, T).await.unwrap();
    let mut b = server.await.unwrap().unwrap();
    a.send(Bytes::from(vec![7u8; 3000])).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap().len(), 3000);
    // Nothing more arrives: the read that finds nothing gives the buffer back.
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(b.poll_next_frame(&mut cx).is_pending());
    assert_eq!(b.buffer_capacity(), 0);
    // A partial frame is kept while the rest is awaited.
    let mut wire = bytes::BytesMut::new();
    a.codec_mut()
        .encode_parts(&[&[9u8; 100]], &mut wire)
        .unwrap();
    a.get_mut().write_all(&wire[..50]).await.unwrap();
    while b.buffer_capacity() == 0 || b.poll_next_frame(&mut cx).is_ready() {
        tokio::task::yield_now().await;
        let _ = b.poll_next_frame(&mut cx);
    }
    assert!(b.buffer_capacity() > 0);
    a.get_mut().write_all(&wire[50..]).await.unwrap();
    assert_eq!(&b.next().await.unwrap().unwrap()[..], &[9u8; 100][..]);
}
