//! Messages through a pair of `P2PStream`s (snappy on, the real path) over TCP loopback.

use super::{
    session::runtime,
    stats::{Config, Runner},
};
use ethp2p_rlpx::{accept, connect, generate_secret_key, key::peer_id_from_secret_key};
use ethp2p_wire::{handshake, Capability, HelloMessage, P2PConfig, P2PStream, Protocol};
use futures::{future::poll_fn, StreamExt};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(10);
/// The bench protocol: message 0 carries the payload, message 1 ends a run.
const DATA: u8 = 0;
const END: u8 = 1;

fn hello(id: ethp2p_rlpx::PeerId) -> HelloMessage {
    HelloMessage {
        protocol_version: 5,
        client_id: "ethp2p-bench".into(),
        capabilities: vec![Capability::new("bench", 1)],
        port: 0,
        id,
    }
}

/// Pings off (an hour apart): between runs nobody reads the streams, and the
/// sending end never reads, so keepalive would fail a healthy pair.
fn config() -> P2PConfig {
    P2PConfig {
        ping_interval: Duration::from_secs(3600),
        ping_timeout: Duration::from_secs(3600),
        ..P2PConfig::default()
    }
}

type Pair = (P2PStream<TcpStream>, P2PStream<TcpStream>);

async fn pair() -> Result<Pair, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (skey, ckey) = (generate_secret_key(), generate_secret_key());
    let (sid, cid) = (
        peer_id_from_secret_key(&skey),
        peer_id_from_secret_key(&ckey),
    );
    let protocols = vec![Protocol::new("bench", 1, 2)];
    let p = protocols.clone();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.map_err(|e| e.to_string())?;
        socket.set_nodelay(true).map_err(|e| e.to_string())?;
        let rlpx = accept(socket, &skey, T).await.map_err(|e| e.to_string())?;
        handshake(rlpx, &hello(sid), &p, config())
            .await
            .map(|(s, _)| s)
            .map_err(|e| e.to_string())
    });
    let socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    let rlpx = connect(socket, &ckey, sid, T)
        .await
        .map_err(|e| e.to_string())?;
    let (client, _) = handshake(rlpx, &hello(cid), &protocols, config())
        .await
        .map_err(|e| e.to_string())?;
    let server = server.await.map_err(|e| e.to_string())??;
    Ok((client, server))
}

/// What one run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Figure {
    MegabytesPerSec,
    MessagesPerSec,
}

/// One run: the sender queues `payload` messages (flushing every `flush_every`)
/// for `run`, then an end message; the receiver counts until the end.
async fn one_run(
    pair: Pair,
    payload: Vec<u8>,
    flush_every: usize,
    run: Duration,
) -> Result<(Pair, u64, u64, Duration), String> {
    let (mut tx, mut rx) = pair;
    let start = Instant::now();
    let deadline = start + run;
    let check_every = (64 * 1024 / payload.len().max(1)).clamp(1, 64);
    let sending = tokio::spawn(async move {
        let mut sent = 0usize;
        loop {
            for _ in 0..flush_every {
                poll_fn(|cx| tx.poll_ready(cx))
                    .await
                    .map_err(|e| e.to_string())?;
                tx.send(0, DATA, &payload).map_err(|e| e.to_string())?;
                sent += 1;
            }
            poll_fn(|cx| tx.poll_flush(cx))
                .await
                .map_err(|e| e.to_string())?;
            // Read the clock every 64 KiB of payload (at most every 64 messages).
            if sent.is_multiple_of(check_every) && Instant::now() >= deadline {
                break;
            }
        }
        tx.send(0, END, &[]).map_err(|e| e.to_string())?;
        poll_fn(|cx| tx.poll_flush(cx))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(tx)
    });
    let (mut msgs, mut bytes) = (0u64, 0u64);
    loop {
        match rx.next().await {
            Some(Ok(m)) if m.id == END => break,
            Some(Ok(m)) => {
                msgs += 1;
                bytes += m.payload.len() as u64;
            }
            Some(Err(e)) => return Err(format!("receiver: {e}")),
            None => return Err("receiver: closed before the end".into()),
        }
    }
    let elapsed = start.elapsed();
    let tx = sending.await.map_err(|e| e.to_string())??;
    Ok(((tx, rx), msgs, bytes, elapsed))
}

/// Sends exactly `count` messages of `len` bytes of the fixture through a fresh
/// pair on a runtime with `workers` workers (0 = current_thread), flushing
/// every `flush_every`: a fixed amount of work for instruction counting
/// (`examples/drive.rs`). Returns the messages received.
pub(crate) fn fixed_count(
    workers: usize,
    len: usize,
    count: usize,
    flush_every: usize,
) -> Result<u64, String> {
    let content = super::eth::Fixture::new(super::MIB).encoded;
    let payload = content[..len].to_vec();
    let rt = runtime(workers)?;
    rt.block_on(async move {
        let (mut tx, mut rx) = pair().await?;
        let sending = tokio::spawn(async move {
            let mut sent = 0usize;
            while sent < count {
                for _ in 0..flush_every.min(count - sent) {
                    poll_fn(|cx| tx.poll_ready(cx))
                        .await
                        .map_err(|e| e.to_string())?;
                    tx.send(0, DATA, &payload).map_err(|e| e.to_string())?;
                    sent += 1;
                }
                poll_fn(|cx| tx.poll_flush(cx))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tx.send(0, END, &[]).map_err(|e| e.to_string())?;
            poll_fn(|cx| tx.poll_flush(cx))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(tx)
        });
        let mut msgs = 0u64;
        loop {
            match rx.next().await {
                Some(Ok(m)) if m.id == END => break,
                Some(Ok(_)) => msgs += 1,
                Some(Err(e)) => return Err(format!("receiver: {e}")),
                None => return Err("receiver: closed before the end".into()),
            }
        }
        let _tx = sending.await.map_err(|e| e.to_string())??;
        Ok(msgs)
    })
}

/// Messages of `payload` through a `P2PStream` pair on a runtime with
/// `workers` workers (0 = current_thread); MB/s of payload or messages/s.
pub(super) fn messages(
    cfg: &Config,
    workers: usize,
    payload: Vec<u8>,
    flush_every: usize,
    figure: Figure,
) -> Result<Runner, String> {
    let rt = runtime(workers)?;
    let mut state = Some(rt.block_on(pair())?);
    let run_time = cfg.run_time();
    let mut go = move |run: Duration| -> Result<f64, String> {
        let p = state.take().ok_or("a previous run failed")?;
        let (p, msgs, bytes, elapsed) =
            rt.block_on(one_run(p, payload.clone(), flush_every, run))?;
        state = Some(p);
        let s = elapsed.as_secs_f64();
        Ok(match figure {
            Figure::MegabytesPerSec => bytes as f64 / s / 1e6,
            Figure::MessagesPerSec => msgs as f64 / s,
        })
    };
    go(run_time / 5)?;
    Ok(Box::new(move || go(run_time)))
}
