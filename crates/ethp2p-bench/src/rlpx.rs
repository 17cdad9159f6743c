//! RLPx handshakes and frames, and the limits the primitives put on them.

use super::{
    primitives::{self, Costs},
    stats::{round, timed_runner, Config, Runner},
};
use bytes::{Bytes, BytesMut};
use ethp2p_rlpx::{
    accept, connect, generate_secret_key, key::peer_id_from_secret_key, FrameCodec, Initiator,
    Recipient, RlpxError, RlpxStream, SecretKey,
};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::{
    hint::black_box,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    runtime::Runtime,
};

/// Handshake timeout for the loopback runs; never reached unless something is broken.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The primitive operations one side of a handshake performs, read off
/// `ethp2p_rlpx::handshake` and `ecies`.
#[derive(Debug, Clone, Copy)]
pub(super) struct HandshakeOps {
    pub ecdh: u32,
    pub sign: u32,
    pub recover: u32,
    pub keygen: u32,
    pub hmac: u32,
}

/// Recipient (`Recipient::read_auth`):
/// ECIES decrypt of auth (1 ECDH, 1 HMAC); static-static ECDH and recovery of
/// the initiator's ephemeral key from the signature (1 ECDH, 1 recover); the
/// public key of our ephemeral key for the ack body (1 keygen); ECIES encrypt
/// of ack (1 ECDH and 1 keygen for its ephemeral key, 1 HMAC); the
/// ephemeral-ephemeral ECDH for the secrets (1 ECDH).
pub(super) const RECIPIENT_OPS: HandshakeOps = HandshakeOps {
    ecdh: 4,
    sign: 0,
    recover: 1,
    keygen: 2,
    hmac: 2,
};

/// Initiator (`Initiator::new` + `read_ack`):
/// static-static ECDH and the signature with the ephemeral key (1 ECDH,
/// 1 sign); ECIES encrypt of auth (1 ECDH, 1 keygen, 1 HMAC); ECIES decrypt of
/// ack (1 ECDH, 1 HMAC); the ephemeral-ephemeral ECDH for the secrets
/// (1 ECDH). Our own static public key is derived once per key, not per dial.
pub(super) const INITIATOR_OPS: HandshakeOps = HandshakeOps {
    ecdh: 4,
    sign: 1,
    recover: 0,
    keygen: 1,
    hmac: 2,
};

impl HandshakeOps {
    /// Seconds of primitive work on one core.
    pub(super) fn cost(&self, c: &Costs) -> f64 {
        f64::from(self.ecdh) * c.get(primitives::ECDH)
            + f64::from(self.sign) * c.get(primitives::SIGN)
            + f64::from(self.recover) * c.get(primitives::RECOVER)
            + f64::from(self.keygen) * c.get(primitives::KEYGEN)
            + f64::from(self.hmac) * c.get(primitives::HMAC_400)
    }

    /// A short description for the JSON params, e.g. `(4 ecdh + 1 sign + 2 keygen + 2 hmac)`.
    pub(super) fn describe(&self) -> String {
        let terms: Vec<String> = [
            (self.ecdh, "ecdh"),
            (self.sign, "sign"),
            (self.recover, "recover"),
            (self.keygen, "keygen"),
            (self.hmac, "hmac_400B"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, op)| format!("{n} {op}"))
        .collect();
        format!("({})", terms.join(" + "))
    }
}

/// Seconds of primitive work per frame carrying `len` payload bytes, one side
/// (encoder or decoder), in the codec's order of work:
/// AES-CTR over the 16-byte header and over the padded body; Keccak absorb of
/// the padded body ciphertext plus the two 16-byte MAC seeds; three digest
/// peeks (the header seed's digest is the previous frame's body MAC, which
/// the MAC state keeps) and two AES block encryptions (one per MAC).
pub(super) fn frame_side_cost(c: &Costs, len: usize) -> f64 {
    let body = len.div_ceil(16) * 16;
    (body + 32) as f64 / c.keccak_rate(body)
        + body as f64 / c.aes_ctr_rate(body)
        + c.get(primitives::AES_CTR_16)
        + 3.0 * c.get(primitives::KECCAK_DIGEST)
        + 2.0 * c.get(primitives::AES_BLOCK)
}

/// The frame throughput (MB/s of payload) the primitives allow when one core
/// both encodes and decodes every frame.
pub(super) fn frame_limit(c: &Costs, len: usize) -> f64 {
    len as f64 / (2.0 * frame_side_cost(c, len)) / 1e6
}

/// Seconds of primitive work per snappy-compressed P2P message of `len`
/// payload bytes whose frame body is `wire` bytes (message id + compressed
/// payload): the RLPx work on the wire bytes plus raw snappy of the payload
/// (measured at the matching size). With `cores == 1` one core does both
/// ends (encode + compress + decode + decompress); with 2 each end has a
/// core of its own and the slower end bounds the rate.
pub(super) fn p2p_message_cost(c: &Costs, len: usize, wire: usize, cores: u32) -> f64 {
    let side = frame_side_cost(c, wire);
    let (roundtrip, halves) = super::eth::snap_names(len);
    let bytes = len as f64;
    match (cores, halves) {
        (2, Some((compress, decompress))) => {
            let sender = side + bytes / c.get(compress);
            let receiver = side + bytes / c.get(decompress);
            sender.max(receiver)
        }
        _ => 2.0 * side + bytes / c.get(roundtrip),
    }
}

/// What the primitives allow a figure to reach on one core.
#[derive(Debug, Clone, Copy)]
pub(super) enum Limit {
    /// One core doing the work of these handshake sides: handshakes/s.
    Handshake(&'static [HandshakeOps]),
    /// One core encoding and decoding every frame of `len` payload bytes: MB/s.
    Frame(usize),
    /// The handshake limit of one core times this many cores (the workers of
    /// a multi-thread runtime running both ends).
    HandshakeOn(&'static [HandshakeOps], u32),
    /// A throughput primitive measured in the same run (MB/s).
    Rate(&'static str),
    /// A fixed target, in the figure's unit.
    Fixed(f64),
    /// One core doing one of each of these per-op primitives per operation:
    /// operations/s.
    PerOp(&'static [&'static str]),
    /// Snappy-compressed P2P messages of `len` payload bytes in frames of
    /// `wire` body bytes, on `cores` cores (see [`p2p_message_cost`]): MB/s of
    /// uncompressed payload.
    P2P {
        /// Uncompressed payload bytes.
        len: usize,
        /// Frame body bytes: message id + compressed payload.
        wire: usize,
        /// 1: one core does both ends; 2: each end has its own.
        cores: u32,
    },
}

impl Limit {
    /// The limit, in the unit of the figure it bounds.
    pub(super) fn value(&self, c: &Costs) -> f64 {
        match *self {
            Limit::Handshake(sides) => 1.0 / sides.iter().map(|s| s.cost(c)).sum::<f64>(),
            Limit::Frame(len) => frame_limit(c, len),
            Limit::HandshakeOn(sides, cores) => Limit::Handshake(sides).value(c) * cores as f64,
            Limit::Rate(name) => c.get(name) / 1e6,
            Limit::Fixed(v) => v,
            Limit::PerOp(ops) => 1.0 / ops.iter().map(|op| c.get(op)).sum::<f64>(),
            Limit::P2P { len, wire, cores } => {
                len as f64 / p2p_message_cost(c, len, wire, cores) / 1e6
            }
        }
    }

    /// How the limit was computed, for the JSON params.
    pub(super) fn params(&self, c: &Costs) -> Vec<(&'static str, Value)> {
        match *self {
            Limit::Handshake(sides) => {
                let cost: f64 = sides.iter().map(|s| s.cost(c)).sum();
                let ops: Vec<String> = sides.iter().map(HandshakeOps::describe).collect();
                vec![
                    ("limit_ops", ops.join(" + ").into()),
                    ("limit_us_per_handshake", round(cost * 1e6, 4).into()),
                ]
            }
            Limit::HandshakeOn(sides, cores) => {
                let mut p = Limit::Handshake(sides).params(c);
                p.push(("limit_cores", cores.into()));
                p
            }
            Limit::Rate(name) => vec![("limit_from", name.into())],
            Limit::Fixed(_) => vec![],
            Limit::PerOp(ops) => vec![
                ("limit_from", ops.join(" + ").into()),
                (
                    "limit_ns_per_op",
                    round(ops.iter().map(|op| c.get(op)).sum::<f64>() * 1e9, 4).into(),
                ),
            ],
            Limit::Frame(len) => vec![(
                "limit_ns_per_frame_per_side",
                round(frame_side_cost(c, len) * 1e9, 4).into(),
            )],
            Limit::P2P { len, wire, cores } => {
                let (roundtrip, halves) = super::eth::snap_names(len);
                let snappy = match (cores, halves) {
                    (2, Some((a, b))) => format!("{a} (sender) / {b} (receiver)"),
                    _ => roundtrip.to_string(),
                };
                vec![
                    ("limit_wire_body_bytes", (wire as u64).into()),
                    ("limit_cores", cores.into()),
                    ("limit_snappy_from", snappy.into()),
                    (
                        "limit_ns_per_frame_per_side",
                        round(frame_side_cost(c, wire) * 1e9, 4).into(),
                    ),
                    (
                        "limit_ns_per_message",
                        round(p2p_message_cost(c, len, wire, cores) * 1e9, 4).into(),
                    ),
                ]
            }
        }
    }
}

fn pool_size(cfg: &Config) -> usize {
    if cfg.quick {
        8
    } else {
        32
    }
}

fn current_thread_runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

/// One completed handshake in memory: the secrets of both sides, checked to agree.
fn handshake_in_memory(
    initiator_key: &SecretKey,
    recipient_key: &SecretKey,
) -> Result<(ethp2p_rlpx::Secrets, ethp2p_rlpx::Secrets), RlpxError> {
    let initiator = Initiator::new(initiator_key, peer_id_from_secret_key(recipient_key))?;
    let mut auth = BytesMut::from(initiator.auth_message());
    let (ack, recipient_secrets) = Recipient::new(recipient_key)
        .read_auth(&mut auth)?
        .ok_or(ethp2p_rlpx::HandshakeError::UnexpectedEof)?;
    let mut ack = BytesMut::from(&ack[..]);
    let initiator_secrets = initiator
        .read_ack(&mut ack)?
        .ok_or(ethp2p_rlpx::HandshakeError::UnexpectedEof)?;
    if initiator_secrets.aes != recipient_secrets.aes
        || initiator_secrets.mac != recipient_secrets.mac
    {
        panic!("the two sides of an in-memory handshake derived different secrets");
    }
    Ok((initiator_secrets, recipient_secrets))
}

/// (a) The recipient's CPU cost alone: `Recipient::new` + `read_auth` on
/// auth messages built beforehand. Figure: handshakes per second.
pub(super) fn recipient(cfg: &Config) -> Result<Runner, String> {
    let key = generate_secret_key();
    let id = peer_id_from_secret_key(&key);
    let auths = (0..pool_size(cfg))
        .map(|_| Initiator::new(&generate_secret_key(), id).map(|i| i.auth_message().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let mut i = 0;
    let op = move || {
        // The copy into a fresh buffer (~500 bytes) stands in for the socket read.
        let mut buf = BytesMut::from(&auths[i % auths.len()][..]);
        let answer = Recipient::new(&key)
            .read_auth(&mut buf)
            .expect("a valid auth")
            .expect("a complete auth");
        black_box(answer);
        i += 1;
    };
    Ok(timed_runner(cfg, op, |s| 1.0 / s))
}

/// (b) The initiator's CPU cost alone: `Initiator::new` + `read_ack`. The
/// recipient's answers are computed between the two timed halves of each
/// batch, so every ack belongs to its own auth and only the initiator's work
/// is on the clock. Figure: handshakes per second.
pub(super) fn initiator(cfg: &Config) -> Result<Runner, String> {
    let key = generate_secret_key();
    let remote_key = generate_secret_key();
    let remote_id = peer_id_from_secret_key(&remote_key);
    let batch = pool_size(cfg);
    let run_time = cfg.run_time();

    // One batch; returns the time spent in the initiator's code.
    let one_batch = move || -> Result<Duration, RlpxError> {
        let start = Instant::now();
        let initiators = (0..batch)
            .map(|_| Initiator::new(&key, remote_id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut timed = start.elapsed();

        let mut acks = Vec::with_capacity(batch);
        for initiator in &initiators {
            let mut auth = BytesMut::from(initiator.auth_message());
            let (ack, _) = Recipient::new(&remote_key)
                .read_auth(&mut auth)?
                .ok_or(ethp2p_rlpx::HandshakeError::UnexpectedEof)?;
            acks.push(BytesMut::from(&ack[..]));
        }

        let start = Instant::now();
        for (initiator, ack) in initiators.iter().zip(acks.iter_mut()) {
            let secrets = initiator
                .read_ack(ack)?
                .ok_or(ethp2p_rlpx::HandshakeError::UnexpectedEof)?;
            black_box(secrets);
        }
        timed += start.elapsed();
        Ok(timed)
    };

    one_batch().map_err(|e| e.to_string())?; // warm-up
    Ok(Box::new(move || {
        let (mut timed, mut count) = (Duration::ZERO, 0u32);
        while timed < run_time {
            timed += one_batch().map_err(|e| e.to_string())?;
            count += batch as u32;
        }
        Ok(f64::from(count) / timed.as_secs_f64())
    }))
}

/// What each loopback connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exchange {
    /// A complete RLPx handshake (`connect` / `accept`).
    Rlpx,
    /// The baseline: the same TCP connection churn and one write of an
    /// average auth's size and one of an average ack's size, no cryptography.
    Plain,
}

/// Average EIP-8 auth on the wire: prefix, RLP body (168), padding (100..=250),
/// ECIES overhead (113).
const PLAIN_AUTH_BYTES: usize = 2 + 168 + 175 + 113;
/// Average EIP-8 ack on the wire: prefix, RLP body (102), padding, ECIES overhead.
const PLAIN_ACK_BYTES: usize = 2 + 102 + 175 + 113;

/// The listening side of one connection.
async fn serve(socket: TcpStream, key: SecretKey, exchange: Exchange) -> Result<(), String> {
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    match exchange {
        Exchange::Rlpx => accept(socket, &key, HANDSHAKE_TIMEOUT)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Exchange::Plain => {
            let mut socket = socket;
            let mut auth = [0u8; PLAIN_AUTH_BYTES];
            socket
                .read_exact(&mut auth)
                .await
                .map_err(|e| e.to_string())?;
            socket
                .write_all(&[0x5a; PLAIN_ACK_BYTES])
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// The dialing side of one connection.
async fn dial(
    addr: std::net::SocketAddr,
    key: SecretKey,
    remote: ethp2p_rlpx::PeerId,
    exchange: Exchange,
) -> Result<(), String> {
    let socket = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    match exchange {
        Exchange::Rlpx => connect(socket, &key, remote, HANDSHAKE_TIMEOUT)
            .await
            .map(drop)
            .map_err(|e| format!("handshake with {addr}: {e}")),
        Exchange::Plain => {
            let mut socket = socket;
            socket
                .write_all(&[0xa5; PLAIN_AUTH_BYTES])
                .await
                .map_err(|e| e.to_string())?;
            let mut ack = [0u8; PLAIN_ACK_BYTES];
            socket
                .read_exact(&mut ack)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }
}

/// (c) and (d), and their baseline: connections over TCP loopback with both
/// ends on one runtime. `dialers` tasks each open a fresh
/// connection and run the exchange, one after another, until the run time is
/// up; the listener serves each connection in its own task. Every started
/// exchange is finished and counted, and the clock stops when the last one
/// ends. Returns exchanges per second.
async fn tcp_exchanges(run: Duration, dialers: usize, exchange: Exchange) -> Result<f64, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server_key = generate_secret_key();
    let server_id = peer_id_from_secret_key(&server_key);
    let client_key = generate_secret_key();
    let server_errors = Arc::new(AtomicU64::new(0));

    let errors = server_errors.clone();
    let server = tokio::spawn(async move {
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            let errors = errors.clone();
            tokio::spawn(async move {
                if serve(socket, server_key, exchange).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });

    let start = Instant::now();
    let deadline = start + run;
    let tasks: Vec<_> = (0..dialers)
        .map(|_| {
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    dial(addr, client_key, server_id, exchange).await?;
                    done += 1;
                }
                Ok::<u64, String>(done)
            })
        })
        .collect();
    let mut total = 0u64;
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(done)) => total += done,
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(format!("dialer task failed: {e}")),
        }
    }
    let elapsed = start.elapsed();
    server.abort();
    if let Some(e) = failure {
        return Err(e);
    }
    match server_errors.load(Ordering::Relaxed) {
        0 => Ok(total as f64 / elapsed.as_secs_f64()),
        n => Err(format!("{n} connections failed on the listening side")),
    }
}

/// (c) and (d): handshakes per second over TCP loopback with `dialers`
/// concurrent dialers, both ends on one runtime (`workers` = 0: one
/// current-thread runtime; else a multi-thread runtime of that many
/// workers); or, for [`Exchange::Plain`], the baseline connections per second.
pub(super) fn tcp(
    cfg: &Config,
    workers: usize,
    dialers: usize,
    exchange: Exchange,
) -> Result<Runner, String> {
    let rt = super::session::runtime(workers)?;
    let run_time = cfg.run_time();
    // Warm-up: sockets, allocator, code paths.
    rt.block_on(tcp_exchanges(run_time / 5, dialers, exchange))?;
    Ok(Box::new(move || {
        rt.block_on(tcp_exchanges(run_time, dialers, exchange))
    }))
}

/// Frame encode + decode in memory through two `FrameCodec`s keyed by a real
/// handshake: MB/s of payload, one core doing both ends.
pub(super) fn frames_in_memory(cfg: &Config, len: usize) -> Result<Runner, String> {
    let (sender, receiver) = handshake_in_memory(&generate_secret_key(), &generate_secret_key())
        .map_err(|e| e.to_string())?;
    let mut tx = FrameCodec::new(&sender);
    let mut rx = FrameCodec::new(&receiver);
    let payload: Vec<u8> = (0..len).map(|i| (i * 31) as u8).collect();
    let mut wire = BytesMut::with_capacity(FrameCodec::encoded_len(len));

    // Check the round trip once before timing it.
    tx.encode_parts(&[&payload], &mut wire)
        .map_err(|e| e.to_string())?;
    let frame = rx.decode_frame(&mut wire).map_err(|e| e.to_string())?;
    if frame.as_deref() != Some(&payload[..]) {
        return Err("in-memory frame round trip returned different bytes".into());
    }
    drop(frame);

    let op = move || {
        tx.encode_parts(&[&payload], &mut wire)
            .expect("frame within limits");
        let frame = rx
            .decode_frame(&mut wire)
            .expect("a valid frame")
            .expect("a complete frame");
        black_box(frame);
    };
    Ok(timed_runner(cfg, op, move |s| len as f64 / s / 1e6))
}

/// Two ends of an RLPx connection over TCP loopback.
async fn tcp_pair() -> Result<(RlpxStream<TcpStream>, RlpxStream<TcpStream>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server_key = generate_secret_key();
    let server_id = peer_id_from_secret_key(&server_key);
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        accept(socket, &server_key, HANDSHAKE_TIMEOUT).await
    });
    let socket = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    let client = connect(socket, &generate_secret_key(), server_id, HANDSHAKE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let server = server
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok((client, server))
}

/// One run of one-direction frame throughput over TCP loopback: a sender
/// task queues frames through the `Sink` for `run`, then an empty frame as an
/// end marker; the receiver counts payload bytes until the marker. MB/s of
/// payload, from the first frame queued to the marker received.
async fn tcp_frames(run: Duration, len: usize) -> Result<f64, String> {
    let (mut sender, mut receiver) = tcp_pair().await?;
    let payload = Bytes::from((0..len).map(|i| (i * 31) as u8).collect::<Vec<u8>>());
    // Check the clock every ~256 KiB.
    let per_check = (256 * 1024 / len).max(1);
    let start = Instant::now();
    let deadline = start + run;
    let sending = tokio::spawn(async move {
        loop {
            for _ in 0..per_check {
                sender.feed(payload.clone()).await?;
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        sender.send(Bytes::new()).await?;
        Ok::<_, RlpxError>(sender)
    });
    let mut received = 0u64;
    loop {
        match receiver.next().await {
            Some(Ok(frame)) if frame.is_empty() => break,
            Some(Ok(frame)) => received += frame.len() as u64,
            Some(Err(e)) => return Err(format!("receiver: {e}")),
            None => return Err("receiver: connection closed before the end marker".into()),
        }
    }
    let elapsed = start.elapsed();
    let sender = sending
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("sender: {e}"))?;
    drop(sender);
    Ok(received as f64 / elapsed.as_secs_f64() / 1e6)
}

/// Frame throughput over TCP loopback, MB/s of payload.
pub(super) fn frames_over_tcp(cfg: &Config, len: usize) -> Result<Runner, String> {
    let rt = current_thread_runtime()?;
    let run_time = cfg.run_time();
    rt.block_on(tcp_frames(run_time / 5, len))?;
    Ok(Box::new(move || rt.block_on(tcp_frames(run_time, len))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Config {
        Config {
            runs: 1,
            seconds: 0.01,
            quick: true,
        }
    }

    fn synthetic_costs() -> Costs {
        let mut c = Costs::default();
        for (name, unit, figure) in [
            (primitives::ECDH, "us/op", 40.0),
            (primitives::SIGN, "us/op", 30.0),
            (primitives::RECOVER, "us/op", 50.0),
            (primitives::KEYGEN, "us/op", 20.0),
            (primitives::HMAC_400, "ns/op", 500.0),
            (primitives::AES_CTR_1K, "MB/s", 4000.0),
            (primitives::AES_CTR_1M, "MB/s", 4000.0),
            (primitives::KECCAK_1K, "MB/s", 400.0),
            (primitives::KECCAK_1M, "MB/s", 400.0),
            (primitives::AES_CTR_16, "ns/op", 20.0),
            (primitives::AES_BLOCK, "ns/op", 20.0),
            (primitives::KECCAK_DIGEST, "ns/op", 400.0),
        ] {
            c.insert(name, unit, figure);
        }
        c
    }

    #[test]
    fn handshake_limits_add_up_the_counted_operations() {
        let c = synthetic_costs();
        // 4 * 40 + 50 + 2 * 20 us + 2 * 0.5 us = 251 us.
        let recipient = Limit::Handshake(&[RECIPIENT_OPS]).value(&c);
        assert!((1.0 / recipient - 251e-6).abs() < 1e-9);
        // 4 * 40 + 30 + 20 + 1 = 211 us; both sides 462 us.
        let both = Limit::Handshake(&[INITIATOR_OPS, RECIPIENT_OPS]).value(&c);
        assert!((1.0 / both - 462e-6).abs() < 1e-9);
        assert_eq!(
            INITIATOR_OPS.describe(),
            "(4 ecdh + 1 sign + 1 keygen + 2 hmac_400B)"
        );
    }

    #[test]
    fn frame_limit_counts_both_sides() {
        let c = synthetic_costs();
        // Per side: 1056 B / 400 MB/s + 1024 B / 4000 MB/s + 20 + 3 * 400 + 2 * 20 ns.
        let side = 1056.0 / 400e6 + 1024.0 / 4000e6 + 20e-9 + 1200e-9 + 40e-9;
        assert!((frame_side_cost(&c, 1024) - side).abs() < 1e-12);
        let limit = frame_limit(&c, 1024);
        assert!((limit - 1024.0 / (2.0 * side) / 1e6).abs() < 1e-9);
        // Payloads are padded to 16 bytes.
        assert_eq!(frame_side_cost(&c, 1009), frame_side_cost(&c, 1024));
    }

    #[test]
    fn p2p_limit_counts_the_wire_frame_and_snappy() {
        let mut c = synthetic_costs();
        c.insert(super::super::eth::SNAP_ROUNDTRIP_1K, "MB/s", 1000.0);
        c.insert(super::super::eth::SNAP_COMPRESS_1K, "MB/s", 1500.0);
        c.insert(super::super::eth::SNAP_DECOMPRESS_1K, "MB/s", 3000.0);
        let side = frame_side_cost(&c, 730);
        // One core: both RLPx sides of the 730-byte wire frame + the round-trip of 1 KiB.
        let one = 2.0 * side + 1024.0 / 1000e6;
        assert!((p2p_message_cost(&c, 1024, 730, 1) - one).abs() < 1e-12);
        let limit = Limit::P2P {
            len: 1024,
            wire: 730,
            cores: 1,
        };
        assert!((limit.value(&c) - 1024.0 / one / 1e6).abs() < 1e-9);
        // Two cores: the slower end, here the sender (compression is slower).
        let two = side + 1024.0 / 1500e6;
        assert!((p2p_message_cost(&c, 1024, 730, 2) - two).abs() < 1e-12);
        // The wire frame, not the payload, pays the RLPx work.
        assert!(frame_side_cost(&c, 730) < frame_side_cost(&c, 1024));
    }

    #[test]
    fn per_op_limit_adds_the_named_costs() {
        let mut c = Costs::default();
        c.insert("primitive.a", "ns/op", 800.0);
        c.insert("primitive.b", "ns/op", 200.0);
        static OPS: [&str; 2] = ["primitive.a", "primitive.b"];
        // One microsecond per operation: a million per second.
        assert!((Limit::PerOp(&OPS).value(&c) - 1e6).abs() < 1e-3);
        assert!((Limit::PerOp(&OPS[..1]).value(&c) - 1.25e6).abs() < 1e-3);
    }

    #[test]
    fn every_runner_completes_a_short_run() {
        let cfg = quick();
        let runners = [
            recipient(&cfg).unwrap(),
            initiator(&cfg).unwrap(),
            tcp(&cfg, 0, 1, Exchange::Rlpx).unwrap(),
            tcp(&cfg, 2, 4, Exchange::Rlpx).unwrap(),
            tcp(&cfg, 0, 4, Exchange::Plain).unwrap(),
            frames_in_memory(&cfg, 1024).unwrap(),
            frames_over_tcp(&cfg, 64 * 1024).unwrap(),
        ];
        for mut run in runners {
            let figure = run().unwrap();
            assert!(figure.is_finite() && figure > 0.0, "{figure}");
        }
    }
}
