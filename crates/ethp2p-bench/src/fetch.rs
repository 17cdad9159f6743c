//! Request routing through the network's `FetchClient` to 50 peers, against
//! direct `NetworkHandle::send_request` on one session (issue 12).

use super::session::runtime;
use super::stats::{Config, Runner};
use ethp2p_eth::{
    chain::ChainSpec,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RequestPair},
};
use ethp2p_network::{peers::PeerKind, NetworkConfig, NetworkHandle, NetworkManager};
use ethp2p_rlpx::{NodeRecord, PeerId};
use futures::{stream::FuturesUnordered, StreamExt};
use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    rc::Rc,
    time::{Duration, Instant},
};
use tokio::runtime::Runtime;

pub(super) const ROUTED: &str = "fetch.routed_per_sec";
pub(super) const ROUTED_P50: &str = "fetch.routed_latency_p50";
pub(super) const ROUTED_P99: &str = "fetch.routed_latency_p99";
pub(super) const DIRECT: &str = "fetch.direct_per_sec";
pub(super) const DIRECT_P50: &str = "fetch.direct_latency_p50";
pub(super) const DIRECT_P99: &str = "fetch.direct_latency_p99";
/// Routed with only `PEERS` requests outstanding: the router's queue stays
/// empty and each peer has its one request on the wire.
pub(super) const ROUTED_EQ: &str = "fetch.routed_per_sec.in_flight50";
/// Routed p50 latency at `PEERS` outstanding.
pub(super) const ROUTED_EQ_P50: &str = "fetch.routed_latency_p50.in_flight50";
/// `send_request` directly, `PEERS` callers each pinned to its own peer: the
/// router's wire pattern (one request per session in flight) without the
/// router.
pub(super) const SPREAD_EQ: &str = "fetch.direct_per_sec.spread50";
/// p50 latency of the spread direct row.
pub(super) const SPREAD_EQ_P50: &str = "fetch.direct_latency_p50.spread50";
/// Peers answering the router.
pub(super) const PEERS: usize = 50;
/// Requests kept outstanding.
pub(super) const IN_FLIGHT: usize = 1000;

/// The request: zero headers from block 0, which every peer answers with an
/// empty (and, for zero asked, valid) `BlockHeaders`, so no answer is retried.
fn request() -> GetBlockHeaders {
    GetBlockHeaders {
        start: BlockHashOrNumber::Number(0),
        limit: 0,
        skip: 0,
        reverse: false,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Run {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// One row's work: a run of the given length.
type Work = Box<dyn FnMut(Duration) -> Result<Run, String>>;

type Pending = Pin<Box<dyn Future<Output = (usize, Instant, Result<(), String>)>>>;

/// Keeps `in_flight` requests outstanding for `run`. `issue(slot)` makes a
/// request for caller `slot` (`0..in_flight`); when a request finishes, its
/// caller issues the next.
async fn keep_busy(
    run: Duration,
    in_flight: usize,
    mut issue: impl FnMut(usize) -> Pending,
) -> Result<Run, String> {
    let mut pending: FuturesUnordered<Pending> = (0..in_flight).map(&mut issue).collect();
    let start = Instant::now();
    let deadline = start + run;
    let mut lat = Vec::new();
    while let Some((slot, sent, r)) = pending.next().await {
        r?;
        lat.push(sent.elapsed().as_secs_f64() * 1e6);
        if Instant::now() < deadline {
            pending.push(issue(slot));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Ok(Run {
        per_sec: lat.len() as f64 / elapsed,
        p50_us: at(0.50),
        p99_us: at(0.99),
    })
}

async fn manager(
    i: u64,
    listen: bool,
) -> Result<(NetworkHandle, tokio::task::JoinHandle<()>), String> {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(i + 1).to_be_bytes());
    b[31] = 1;
    let key = ethp2p_rlpx::SecretKey::from_byte_array(b).map_err(|e| e.to_string())?;
    let mut cfg = NetworkConfig::new(key, ChainSpec::mainnet());
    cfg.listen_addr = listen.then(|| ([127, 0, 0, 1], 0).into());
    cfg.inbound_throttle = Duration::ZERO;
    cfg.peers.max_inbound = PEERS * 2;
    // All 50 peers dial at once: none is turned away while authenticating.
    cfg.peers.max_pending_inbound = PEERS * 2;
    cfg.peers.refill_interval = Duration::from_millis(50);
    cfg.sessions.max_inflight_requests = IN_FLIGHT * 2;
    cfg.sessions.session_command_buffer = IN_FLIGHT * 2;
    cfg.rng_seed = Some(i);
    let mgr = NetworkManager::new(cfg).await.map_err(|e| e.to_string())?;
    let handle = mgr.handle();
    Ok((handle, tokio::spawn(mgr.run())))
}

/// Sets up a router and `PEERS` peers over TCP loopback (each peer's
/// manager answers requests empty: nobody takes its messages), then
/// returns ten runners: routed rate, p50, p99, direct rate, p50, p99 (at
/// `IN_FLIGHT`), then routed rate, p50 and spread direct rate, p50 (at
/// `PEERS` in flight); the rate runners do the work, the others read their
/// run.
pub(super) fn routing(cfg: &Config) -> Result<[Runner; 10], String> {
    let rt: Rc<Runtime> = Rc::new(runtime(2)?);
    let (router, ids, _tasks) = rt.block_on(async {
        let (router, t) = manager(0, true).await?;
        let addr = router.local_addr().ok_or("router not listening")?;
        let record = NodeRecord::new(router.local_id(), addr);
        let mut tasks = vec![t];
        let mut peers = Vec::new();
        for i in 1..=PEERS as u64 {
            let (h, t) = manager(i, false).await?;
            h.add_peer(record, PeerKind::Static)
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("add_peer: {e:?}"))?;
            tasks.push(t);
            peers.push(h);
        }
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(30);
        while router.num_connected_peers() < PEERS {
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {PEERS} peers connected",
                    router.num_connected_peers()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "ethp2p bench: {PEERS} peers connected to the router in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        let ids: Vec<PeerId> = peers.iter().map(|p| p.local_id()).collect();
        Ok::<_, String>((router, ids, (tasks, peers)))
    })?;
    let run_time = cfg.run_time();

    let fetch = router.fetch_client();
    let routed_at = |in_flight: usize| {
        let f = fetch.clone();
        let rt = rt.clone();
        move |run: Duration| -> Result<Run, String> {
            let f = f.clone();
            rt.block_on(keep_busy(run, in_flight, move |slot| {
                let f = f.clone();
                Box::pin(async move {
                    let sent = Instant::now();
                    let r = f.get_headers(request()).await;
                    (
                        slot,
                        sent,
                        r.map(|_| ()).map_err(|e| format!("routed: {e}")),
                    )
                })
            }))
        }
    };
    // Caller `slot` asks `pick(slot)`'s session directly.
    let direct_at = |in_flight: usize, spread: bool| {
        let h = router.clone();
        let rt = rt.clone();
        let ids = ids.clone();
        move |run: Duration| -> Result<Run, String> {
            let h = h.clone();
            let ids = ids.clone();
            rt.block_on(keep_busy(run, in_flight, move |slot| {
                let h = h.clone();
                let peer = if spread {
                    ids[slot % ids.len()]
                } else {
                    ids[0]
                };
                Box::pin(async move {
                    let sent = Instant::now();
                    let req = EthMessage::GetBlockHeaders(RequestPair {
                        request_id: 0,
                        message: request(),
                    });
                    let r = match h.send_request(peer, req).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(format!("direct: {e:?}")),
                        Err(e) => Err(format!("direct: {e}")),
                    };
                    (slot, sent, r)
                })
            }))
        }
    };
    let routed = routed_at(IN_FLIGHT);
    let direct = direct_at(IN_FLIGHT, false);
    let routed_eq = routed_at(PEERS);
    let spread_eq = direct_at(PEERS, true);
    // Warm-up, and a check that both paths work.
    routed(run_time / 3)?;
    direct(run_time / 3)?;
    routed_eq(run_time / 3)?;
    spread_eq(run_time / 3)?;
    let keep = Rc::new(RefCell::new((rt, _tasks)));

    let mut out: Vec<Runner> = Vec::with_capacity(10);
    let works: [(Work, bool); 4] = [
        (Box::new(routed), true),
        (Box::new(direct), true),
        (Box::new(routed_eq), false),
        (Box::new(spread_eq), false),
    ];
    for (work, with_p99) in works {
        let shared = Rc::new(RefCell::new(Run::default()));
        let s = shared.clone();
        let k = keep.clone();
        let mut work = work;
        out.push(Box::new(move || {
            let _alive = &k;
            let r = work(run_time)?;
            *s.borrow_mut() = r;
            Ok(r.per_sec)
        }));
        let s = shared.clone();
        out.push(Box::new(move || Ok(s.borrow().p50_us)));
        if with_p99 {
            out.push(Box::new(move || Ok(shared.borrow().p99_us)));
        }
    }
    out.try_into()
        .map_err(|_| "ten runners expected".to_string())
}
