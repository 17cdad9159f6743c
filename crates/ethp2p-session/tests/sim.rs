//! Sessions on an in-memory network and a paused clock: every timer rule
//! tested in virtual time, replays from a seed, and the back-pressure rule
//! against peers that pipeline requests without reading or read too slowly.

use ethp2p_eth::{
    chain::ChainSpec,
    message::{EthMessage, RawList, RequestPair},
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use ethp2p_session::{
    ActiveSessionError, PeerMessage, RequestError, SessionEvent, SessionManager,
    SessionManagerParams, SessionsConfig,
};
use ethp2p_testing::{
    attacker::{established, headers_request, queue_eth},
    keys::secret_key,
    sim::Sim,
};
use ethp2p_wire::{P2PError, P2PStream};
use futures::{future::poll_fn, StreamExt};
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf},
    time::{Instant, Sleep},
};

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn manager(seed: u64, config: SessionsConfig) -> SessionManager {
    let chain = ChainSpec::mainnet();
    let head = chain.genesis_head();
    SessionManager::new(SessionManagerParams {
        secret_key: secret_key(seed),
        config,
        status: chain.status(&head),
        client_id: "sim-hub".into(),
        listen_port: 30303,
        fork_filter: chain.fork_filter(head),
        eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
        extra_protocols: vec![],
        spawner: None,
        dialer: None,
        rng_seed: Some(seed),
    })
}

fn addr(i: u16) -> SocketAddr {
    SocketAddr::from(([10, 9, 0, 1], 40000 + i))
}

/// Connects a raw attacker to `mgr` over a duplex pipe of `pipe` bytes and
/// drives the manager until the session is established; returns the
/// attacker's stream and id.
async fn attach<Io>(
    mgr: &mut SessionManager,
    i: u16,
    pipe: usize,
    wrap: impl FnOnce(DuplexStream) -> Io,
) -> (P2PStream<Io>, PeerId)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (ours, theirs) = tokio::io::duplex(pipe);
    mgr.on_incoming(ours, addr(i), None).unwrap();
    let to = mgr.local_id();
    let io = wrap(theirs);
    let task = tokio::spawn(async move { established(io, to, &ChainSpec::mainnet()).await });
    let id = match mgr.next().await {
        Some(SessionEvent::SessionEstablished { peer_id, .. }) => peer_id,
        other => panic!("while establishing: {other:?}"),
    };
    (task.await.unwrap(), id)
}

/// Keeps an attacker's stream alive: reads everything (answering Pings) and
/// forwards the eth message ids it sees; never answers a request.
fn reader<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut p2p: P2PStream<Io>,
) -> tokio::sync::mpsc::UnboundedReceiver<u8> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let next = poll_fn(|cx| {
                let _ = p2p.poll_flush(cx);
                p2p.poll_next_message(cx)
            })
            .await;
            match next {
                Some(Ok(m)) => {
                    let _ = tx.send(m.id);
                }
                _ => return,
            }
        }
    });
    rx
}

async fn next_close(mgr: &mut SessionManager) -> (Vec<SessionEvent>, SessionEvent) {
    let mut before = Vec::new();
    loop {
        match mgr.next().await {
            Some(
                ev @ (SessionEvent::SessionClosedOnConnectionError { .. }
                | SessionEvent::Disconnected { .. }),
            ) => return (before, ev),
            Some(ev) => before.push(ev),
            None => unreachable!(),
        }
    }
}

#[test]
fn a_full_session_over_in_memory_pipes() {
    paused_runtime().block_on(async {
        let sim = Sim::start(2, 1, SessionsConfig::default());
        sim.nodes[0].send(ethp2p_testing::sim::Command::Dial(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        sim.nodes[0].send(ethp2p_testing::sim::Command::Request(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let trace = sim.trace().join("\n");
        assert!(
            trace.contains("n0 established n1 outbound eth/69"),
            "{trace}"
        );
        assert!(
            trace.contains("n1 established n0 inbound eth/69"),
            "{trace}"
        );
        assert!(trace.contains("n1 message n0 GetBlockHeaders"), "{trace}");
        assert!(trace.contains("n0 request n1: ok BlockHeaders"), "{trace}");
    });
}

fn walk(seed: u64) -> Vec<String> {
    paused_runtime().block_on(async {
        let sim = Sim::start(8, seed, SessionsConfig::default());
        sim.random_walk(80, seed).await;
        sim.trace()
    })
}

/// The randomized walk replays exactly from its seed: keys, ECIES
/// randomness, scheduling and virtual time are all determined by it.
#[test]
fn one_seed_one_trace() {
    let seed: u64 = std::env::var("ETHP2P_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let first = walk(seed);
    let again = walk(seed);
    assert!(
        first.iter().filter(|l| l.contains(" established ")).count() >= 4,
        "seed {seed}: the walk established too little to prove anything:\n{}",
        first.join("\n")
    );
    assert!(
        first
            .iter()
            .any(|l| l.contains("request") && l.contains(": ok")),
        "seed {seed}: no request answered"
    );
    assert!(
        first.iter().any(|l| l.contains(" disconnected ")),
        "seed {seed}: nothing disconnected"
    );
    if first != again {
        let at = first.iter().zip(&again).position(|(a, b)| a != b);
        panic!(
            "seed {seed} (rerun with ETHP2P_SIM_SEED={seed}): traces differ at line {at:?}\nfirst: {:?}\nagain: {:?}",
            at.and_then(|i| first.get(i)),
            at.and_then(|i| again.get(i))
        );
    }
    assert_ne!(first, walk(seed + 1), "another seed, another walk");
}

/// A request's deadline fires exactly at the adaptive timeout, and a request
/// left unanswered past the breach timeout disconnects the peer with
/// ProtocolBreach: both in virtual time, to the millisecond.
#[test]
fn request_deadline_is_exact_and_silence_is_a_breach() {
    paused_runtime().block_on(async {
        let config = SessionsConfig::default();
        let (timeout, breach) = (
            config.initial_request_timeout,
            config.protocol_breach_request_timeout,
        );
        let mut mgr = manager(2, config);
        let (p2p, pid) = attach(&mut mgr, 1, 64 * 1024, |s| s).await;
        let mut seen = reader(p2p);
        let sent = Instant::now();
        let rx = mgr.send_request(&pid, headers_request(0));
        assert_eq!(rx.await.unwrap(), Err(RequestError::Timeout));
        assert_eq!(sent.elapsed().as_millis(), timeout.as_millis());
        assert!(seen.recv().await.is_some(), "the request went out");
        let (before, closed) = next_close(&mut mgr).await;
        let at = sent.elapsed();
        assert!(
            at >= breach && at < breach + Duration::from_millis(5),
            "closed at {at:?}"
        );
        assert!(
            before
                .iter()
                .any(|e| matches!(e, SessionEvent::ProtocolBreach { peer_id } if *peer_id == pid)),
            "{before:?}"
        );
        assert!(matches!(
            closed,
            SessionEvent::SessionClosedOnConnectionError {
                error: ActiveSessionError::RequestBreach,
                ..
            }
        ));
        assert_eq!(mgr.counts(), Default::default());
    });
}

/// A peer silent for the ping interval gets a Ping; without a Pong it is
/// closed with PingTimeout exactly `ping_timeout` later.
#[test]
fn silence_brings_a_ping_and_no_pong_a_ping_timeout() {
    paused_runtime().block_on(async {
        let config = SessionsConfig::default();
        let expected = config.p2p.ping_interval + config.p2p.ping_timeout;
        let mut mgr = manager(3, config);
        let (p2p, _pid) = attach(&mut mgr, 1, 64 * 1024, |s| s).await;
        let established = Instant::now();
        let (_, closed) = next_close(&mut mgr).await;
        assert_eq!(established.elapsed().as_millis(), expected.as_millis());
        assert!(
            matches!(
                closed,
                SessionEvent::SessionClosedOnConnectionError {
                    error: ActiveSessionError::P2P(P2PError::PingTimeout),
                    ..
                }
            ),
            "{closed:?}"
        );
        drop(p2p);
    });
}

const HWM: usize = 256 * 1024;
const PIPE: usize = 64 * 1024;
/// The most a session buffers from the socket (RLPx read chunk, doubled).
const READ_BUFFER_MAX: usize = 2 * 64 * 1024;
const ANSWER: usize = 100 * 1024;

fn pressure_config() -> SessionsConfig {
    SessionsConfig {
        max_queued_outgoing_bytes: HWM,
        write_stall_timeout: Duration::from_secs(10),
        ..SessionsConfig::default()
    }
}

/// ~100 KiB of pooled transactions, answering a GetPooledTransactions.
fn big_answer() -> EthMessage {
    // Incompressible (xorshift), so snappy does not shrink it.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let tx: Vec<u8> = (0..ANSWER)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut item = Vec::new();
    alloy_rlp::Encodable::encode(&tx[..], &mut item);
    EthMessage::PooledTransactions(RequestPair {
        request_id: 0,
        message: RawList::from_encoded_items([item]).unwrap(),
    })
}

fn pooled_request(id: u64) -> EthMessage {
    EthMessage::GetPooledTransactions(RequestPair {
        request_id: id,
        message: vec![Default::default(); 4],
    })
}

/// Drives `mgr`, answering every request with [`big_answer`], until every
/// one of `n` sessions closed; returns how each closed.
async fn serve_until_closed(mgr: &mut SessionManager, n: usize) -> Vec<SessionEvent> {
    let mut closed = Vec::new();
    while closed.len() < n {
        match mgr.next().await {
            Some(SessionEvent::ValidMessage {
                message: PeerMessage::EthRequest { responder, .. },
                ..
            }) => responder.respond(big_answer()),
            Some(
                ev @ (SessionEvent::SessionClosedOnConnectionError { .. }
                | SessionEvent::Disconnected { .. }),
            ) => closed.push(ev),
            Some(_) => {}
            None => unreachable!(),
        }
    }
    closed
}

/// Pipelines requests without ever reading; returns how many bytes it wrote
/// before its writes blocked (TCP flow control, here the pipe's buffer).
async fn pipeline_until_blocked(
    mut p2p: P2PStream<DuplexStream>,
) -> (u64, P2PStream<DuplexStream>) {
    for n in 0..100_000u64 {
        queue_eth(&mut p2p, &pooled_request(n)).unwrap();
        let flushed =
            tokio::time::timeout(Duration::from_secs(1), poll_fn(|cx| p2p.poll_flush(cx))).await;
        if flushed.is_err() {
            return (p2p.bytes_written(), p2p);
        }
    }
    panic!("100,000 pipelined requests were all read: no flow control reached the attacker");
}

fn assert_pipelining_is_held(attackers: u16) {
    paused_runtime().block_on(async {
        let mut mgr = manager(4, pressure_config());
        let mut peers = Vec::new();
        for i in 0..attackers {
            peers.push(attach(&mut mgr, i, 64 * 1024, |s| s).await);
        }
        let handles: Vec<_> = peers
            .iter()
            .map(|(_, id)| mgr.session(id).unwrap().clone_gauges())
            .collect();
        let tasks: Vec<_> = peers
            .into_iter()
            .map(|(p2p, _)| tokio::spawn(pipeline_until_blocked(p2p)))
            .collect();
        let closed = serve_until_closed(&mut mgr, attackers as usize).await;
        for (t, gauge) in tasks.into_iter().zip(&handles) {
            let (written, p2p) = t.await.unwrap();
            let peak = gauge();
            eprintln!("attacker wrote {written} bytes of requests before its writes blocked; peak queued {peak} bytes");
            // What it got rid of fits in the pipe plus the session's read buffer.
            assert!(
                written < (PIPE + READ_BUFFER_MAX) as u64,
                "{written} bytes of requests taken from a peer that never reads"
            );
            assert!(
                peak < (HWM + ANSWER + 1024) as u64,
                "queued {peak} bytes, high-water mark {HWM}"
            );
            drop(p2p);
        }
        for c in closed {
            assert!(
                matches!(
                    c,
                    SessionEvent::SessionClosedOnConnectionError {
                        error: ActiveSessionError::WriteStalled,
                        ..
                    }
                ),
                "{c:?}"
            );
        }
        assert_eq!(mgr.counts(), Default::default());
        // An honest peer is still served.
        let (p2p, pid) = attach(&mut mgr, 99, 64 * 1024, |s| s).await;
        let _seen = reader_answering(p2p);
        let rx = mgr.send_request(&pid, headers_request(0));
        let answer = async {
            loop {
                mgr.next().await;
            }
        };
        tokio::select! {
            r = rx => assert!(matches!(r.unwrap(), Ok(EthMessage::BlockHeaders(_)))),
            _ = answer => {}
        }
    });
}

/// An honest peer: answers GetBlockHeaders with no headers.
fn reader_answering(mut p2p: P2PStream<DuplexStream>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(m)) = p2p.next().await {
            if let Ok(EthMessage::GetBlockHeaders(req)) =
                EthMessage::decode_bytes(EthVersion::Eth69, m.id, m.payload.freeze())
            {
                let resp = EthMessage::BlockHeaders(RequestPair {
                    request_id: req.request_id,
                    message: Default::default(),
                });
                let _ = queue_eth(&mut p2p, &resp);
                let _ = poll_fn(|cx| p2p.poll_flush(cx)).await;
            }
        }
    })
}

/// One peer pipelines requests and never reads: the session stops reading
/// at the high-water mark, the attacker's writes block, and the session is
/// closed as stalled; the queue never passes the mark by more than a message.
#[test]
fn one_pipelining_peer_that_never_reads_is_held() {
    assert_pipelining_is_held(1);
}

/// The same with four at once.
#[test]
fn four_pipelining_peers_that_never_read_are_held() {
    assert_pipelining_is_held(4);
}

/// A stream whose reads, once `slow` is set, return at most 1 KiB every 2 s.
struct SlowReader {
    inner: DuplexStream,
    slow: Arc<AtomicBool>,
    pause: Pin<Box<Sleep>>,
    paused: bool,
}

impl AsyncRead for SlowReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.slow.load(Ordering::Relaxed) {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        if self.paused {
            futures::ready!(self.pause.as_mut().poll(cx));
            self.paused = false;
        }
        let mut small = [0u8; 1024];
        let n = buf.remaining().min(small.len());
        let mut rb = ReadBuf::new(&mut small[..n]);
        futures::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut rb))?;
        buf.put_slice(rb.filled());
        let next = Instant::now() + Duration::from_secs(2);
        self.pause.as_mut().reset(next);
        self.paused = true;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SlowReader {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

use std::future::Future;

fn assert_slow_readers_are_closed(n: u16) {
    paused_runtime().block_on(async {
        let config = pressure_config();
        let window = config.write_stall_timeout;
        let mut mgr = manager(5, config);
        let mut gauges = Vec::new();
        let mut readers = Vec::new();
        for i in 0..n {
            let slow = Arc::new(AtomicBool::new(false));
            let flag = slow.clone();
            let (p2p, pid) = attach(&mut mgr, i, 64 * 1024, move |inner| SlowReader {
                inner,
                slow: flag,
                pause: Box::pin(tokio::time::sleep(Duration::ZERO)),
                paused: false,
            })
            .await;
            slow.store(true, Ordering::Relaxed);
            gauges.push(mgr.session(&pid).unwrap().clone_gauges());
            readers.push(reader(p2p));
            // The owner keeps the peer's queue full of broadcasts.
            for _ in 0..8 {
                let _ = mgr.send_message(&pid, big_answer_broadcast());
            }
        }
        let start = Instant::now();
        let closed = serve_until_closed(&mut mgr, n as usize).await;
        let at = start.elapsed();
        for c in &closed {
            assert!(
                matches!(
                    c,
                    SessionEvent::SessionClosedOnConnectionError {
                        error: ActiveSessionError::WriteStalled,
                        ..
                    }
                ),
                "{c:?}"
            );
        }
        assert!(
            at <= window * 2 + Duration::from_secs(2),
            "closed after {at:?}"
        );
        for g in gauges {
            let peak = g();
            assert!(peak < (HWM + ANSWER + 1024) as u64, "queued {peak}");
        }
        assert_eq!(mgr.counts(), Default::default());
    });
}

fn big_answer_broadcast() -> EthMessage {
    match big_answer() {
        EthMessage::PooledTransactions(p) => EthMessage::Transactions(p.message),
        other => other,
    }
}

/// A peer that reads 1 KiB every 2 s (0.5 KiB/s, under the 2 KiB/s floor)
/// is closed as stalled within two windows, its queue bounded throughout.
#[test]
fn a_slow_reader_is_closed_as_stalled() {
    assert_slow_readers_are_closed(1);
}

/// The same with four at once.
#[test]
fn four_slow_readers_are_closed_as_stalled() {
    assert_slow_readers_are_closed(4);
}

/// The owner's answer to a remote request is checked like any outgoing
/// message: one of the wrong type goes out as the empty answer of the right
/// type, with the request's id.
#[test]
fn a_wrong_answer_from_the_owner_is_replaced_by_the_empty_one() {
    paused_runtime().block_on(async {
        let mut mgr = manager(6, SessionsConfig::default());
        let (mut p2p, _pid) = attach(&mut mgr, 1, 64 * 1024, |s| s).await;
        queue_eth(&mut p2p, &headers_request(77)).unwrap();
        poll_fn(|cx| p2p.poll_flush(cx)).await.unwrap();
        match mgr.next().await {
            Some(SessionEvent::ValidMessage {
                message: PeerMessage::EthRequest { responder, .. },
                ..
            }) => responder.respond(big_answer()),
            other => panic!("{other:?}"),
        }
        let m = p2p.next().await.unwrap().unwrap();
        let got = EthMessage::decode_bytes(EthVersion::Eth69, m.id, m.payload.freeze()).unwrap();
        match got {
            EthMessage::BlockHeaders(p) => {
                assert_eq!(p.request_id, 77);
                assert!(p.message.is_empty());
            }
            other => panic!("the wrong answer went out: {other:?}"),
        }
    });
}

/// A goodbye whose task is dropped before it runs still gives its slot
/// back: the limit on concurrent goodbyes cannot leak shut.
#[test]
fn goodbye_slots_come_back_when_their_task_is_dropped() {
    paused_runtime().block_on(async {
        let chain = ChainSpec::mainnet();
        let head = chain.genesis_head();
        let dropping: ethp2p_session::Spawner = Arc::new(drop);
        let mgr = SessionManager::new(SessionManagerParams {
            secret_key: secret_key(7),
            config: SessionsConfig::default(),
            status: chain.status(&head),
            client_id: "sim-hub".into(),
            listen_port: 30303,
            fork_filter: chain.fork_filter(head),
            eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
            extra_protocols: vec![],
            spawner: Some(dropping),
            dialer: None,
            rng_seed: Some(7),
        });
        for _ in 0..(3 * ethp2p_session::MAX_CONCURRENT_GOODBYES) {
            let (ours, _theirs) = tokio::io::duplex(1024);
            assert!(mgr.try_disconnect_incoming(ours, ethp2p_wire::DisconnectReason::TooManyPeers));
            assert_eq!(mgr.goodbyes_in_progress(), 0);
        }
    });
}
