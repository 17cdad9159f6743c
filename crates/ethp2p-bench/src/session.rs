//! Full sessions through `SessionManager` (ECIES + Hello + eth Status), request
//! round trips, and the memory and CPU of idle sessions held by a second process.

use super::{
    stats::{round, Config, Runner},
    PeerCommand,
};
use ethp2p_eth::{
    chain::ChainSpec,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RequestPair},
    version::EthVersion,
};
use ethp2p_rlpx::{generate_secret_key, PeerId};
use ethp2p_session::{
    PeerMessage, SessionEvent, SessionManager, SessionManagerParams, SessionsConfig,
};
use ethp2p_wire::DisconnectReason;
use futures::{stream::FuturesUnordered, StreamExt};
use serde_json::Value;
use std::{
    cell::RefCell,
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    process::{Child, Stdio},
    rc::Rc,
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, runtime::Runtime};

/// A runtime: `workers == 0` is `current_thread`, otherwise a multi-thread
/// runtime with that many workers.
pub(super) fn runtime(workers: usize) -> Result<Runtime, String> {
    let mut b = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    b.enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

/// A session manager for mainnet at genesis, eth/69..66, as the tests build it.
fn manager(config: SessionsConfig, listen_port: u16) -> SessionManager {
    let chain = ChainSpec::mainnet();
    let head = chain.genesis_head();
    SessionManager::new(SessionManagerParams {
        secret_key: generate_secret_key(),
        config,
        status: chain.status(&head),
        client_id: "ethp2p-bench".into(),
        listen_port,
        fork_filter: chain.fork_filter(head),
        eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
        extra_protocols: vec![],
        spawner: None,
        dialer: None,
        rng_seed: None,
    })
}

async fn bind() -> Result<(TcpListener, SocketAddr), String> {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind 127.0.0.1: {e}"))?;
    let a = l.local_addr().map_err(|e| e.to_string())?;
    Ok((l, a))
}

/// Serves a listening manager until it ends: accepts every connection,
/// disconnects each session at once when `churn`, and shows every event to
/// `on_event`.
async fn serve_listener(
    mut mgr: SessionManager,
    listener: TcpListener,
    churn: bool,
    mut on_event: impl FnMut(&SessionEvent),
) {
    loop {
        tokio::select! {
            r = listener.accept() => {
                if let Ok((s, a)) = r {
                    let _ = s.set_nodelay(true);
                    let local = s.local_addr().ok();
                    let _ = mgr.on_incoming(s, a, local);
                }
            }
            ev = mgr.next() => match ev {
                Some(ev) => {
                    if let (true, SessionEvent::SessionEstablished { peer_id, .. }) = (churn, &ev) {
                        mgr.disconnect(peer_id, DisconnectReason::DisconnectRequested);
                    }
                    on_event(&ev);
                }
                None => return,
            },
        }
    }
}

/// Runs a listening manager forever in a task, counting established sessions.
fn spawn_listener(
    mgr: SessionManager,
    listener: TcpListener,
    established: Arc<AtomicU64>,
    churn: bool,
) {
    tokio::spawn(serve_listener(mgr, listener, churn, move |ev| {
        if matches!(ev, SessionEvent::SessionEstablished { .. }) {
            established.fetch_add(1, Ordering::Relaxed);
        }
    }));
}

/// Waits for the outcome of the dial just made: true if established (and
/// then asks for the disconnect). Older events of this manager are skipped.
async fn dial_outcome(m: &mut SessionManager) -> bool {
    while let Some(ev) = m.next().await {
        match ev {
            SessionEvent::SessionEstablished { peer_id, .. } => {
                m.disconnect(&peer_id, DisconnectReason::DisconnectRequested);
                return true;
            }
            SessionEvent::OutgoingPendingSessionClosed { .. }
            | SessionEvent::OutgoingConnectionError { .. }
            | SessionEvent::AlreadyConnected { .. } => return false,
            _ => {}
        }
    }
    false
}

/// Managers per dialer task, used in turn, so a dialer's previous session
/// with the listener is torn down before the same identity dials again.
const RING: usize = 4;

/// Dials from every ring of managers in its own task until `deadline`,
/// counting the sessions established; failures go to `failures`. The rings
/// are handed back for the next run.
async fn churn(
    rings: &mut Vec<Vec<SessionManager>>,
    addr: std::net::SocketAddr,
    id: ethp2p_rlpx::PeerId,
    deadline: Instant,
    failures: &Arc<AtomicU64>,
) -> Result<u64, String> {
    let tasks: Vec<_> = rings
        .drain(..)
        .map(|mut ring| {
            let failures = failures.clone();
            tokio::spawn(async move {
                let mut ok = 0u64;
                let mut i = 0;
                while Instant::now() < deadline {
                    let m = &mut ring[i % RING];
                    i += 1;
                    if m.dial_outbound(addr, id).is_err() || !dial_outcome(m).await {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    } else {
                        ok += 1;
                    }
                }
                (ok, ring)
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        let (ok, ring) = t.await.map_err(|e| e.to_string())?;
        total += ok;
        rings.push(ring);
    }
    Ok(total)
}

/// Sessions established per second through two `SessionManager`s over TCP
/// loopback: `dialers` tasks each dial, wait for the session, disconnect it
/// and dial again. Each run waits for every started dial and counts them all.
pub(super) fn established(cfg: &Config, workers: usize, dialers: usize) -> Result<Runner, String> {
    let rt = runtime(workers)?;
    let failures = Arc::new(AtomicU64::new(0));
    let (addr, id, mut rings) = rt.block_on(async {
        let (listener, addr) = bind().await?;
        let mgr = manager(SessionsConfig::default(), addr.port());
        let id = mgr.local_id();
        spawn_listener(mgr, listener, Arc::new(AtomicU64::new(0)), true);
        let rings: Vec<Vec<SessionManager>> = (0..dialers)
            .map(|_| {
                (0..RING)
                    .map(|_| manager(SessionsConfig::default(), 0))
                    .collect()
            })
            .collect();
        Ok::<_, String>((addr, id, rings))
    })?;
    let mut run = move |run: Duration| -> Result<f64, String> {
        let failures = failures.clone();
        rt.block_on(async {
            let start = Instant::now();
            let deadline = start + run;
            let total = churn(&mut rings, addr, id, deadline, &failures).await?;
            let rate = total as f64 / start.elapsed().as_secs_f64();
            let failed = failures.swap(0, Ordering::Relaxed);
            if failed > total / 10 + 1 {
                return Err(format!("{failed} dials failed beside {total} sessions"));
            }
            Ok(rate)
        })
    };
    run(cfg.run_time() / 3)?;
    let run_time = cfg.run_time();
    Ok(Box::new(move || run(run_time)))
}

/// Exactly `per_dialer` sessions from each of `dialers` dialer tasks through a
/// fresh listening manager on a runtime with `workers` workers (0 =
/// current_thread): a fixed amount of work for instruction counting
/// (`examples/drive.rs`). Returns the sessions established.
pub(crate) fn fixed_sessions(
    workers: usize,
    dialers: usize,
    per_dialer: usize,
) -> Result<u64, String> {
    let rt = runtime(workers)?;
    rt.block_on(async move {
        let (listener, addr) = bind().await?;
        let mgr = manager(SessionsConfig::default(), addr.port());
        let id = mgr.local_id();
        spawn_listener(mgr, listener, Arc::new(AtomicU64::new(0)), true);
        let tasks: Vec<_> = (0..dialers)
            .map(|_| {
                let mut ring: Vec<SessionManager> = (0..RING)
                    .map(|_| manager(SessionsConfig::default(), 0))
                    .collect();
                tokio::spawn(async move {
                    let mut ok = 0u64;
                    for i in 0..per_dialer {
                        let m = &mut ring[i % RING];
                        if m.dial_outbound(addr, id).is_ok() && dial_outcome(m).await {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.map_err(|e| e.to_string())?;
        }
        Ok(total)
    })
}

/// Round-trip percentiles of one run, shared by the runners of one measurement group.
#[derive(Default, Clone, Copy)]
pub(super) struct RttRun {
    pub p50_us: f64,
    pub p99_us: f64,
    pub per_sec: f64,
}

/// GetBlockHeaders round trips through two managers with `in_flight` requests
/// always outstanding; the responder drops every responder, which answers an
/// empty BlockHeaders. Returns three runners sharing one run: p50 (µs), p99
/// (µs) and requests per second, in that order; the first one does the work.
pub(super) fn request_rtt(
    cfg: &Config,
    workers: usize,
    in_flight: usize,
) -> Result<(Runner, Runner, Runner), String> {
    let rt = runtime(workers)?;
    let config = SessionsConfig {
        session_command_buffer: in_flight * 2,
        max_inflight_requests: in_flight,
        ..SessionsConfig::default()
    };
    let (mut requester, peer) = rt.block_on(async {
        let (listener, addr) = bind().await?;
        let mut responder = manager(config.clone(), addr.port());
        let responder_id = responder.local_id();
        let mut requester = manager(config.clone(), 0);
        requester
            .dial_outbound(addr, responder_id)
            .map_err(|e| format!("dial: {e:?}"))?;
        let (s, a) = listener.accept().await.map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        let local = s.local_addr().ok();
        responder
            .on_incoming(s, a, local)
            .map_err(|e| format!("incoming: {e:?}"))?;
        tokio::spawn(async move {
            while let Some(ev) = responder.next().await {
                if let SessionEvent::ValidMessage {
                    message: PeerMessage::EthRequest { responder, .. },
                    ..
                } = ev
                {
                    drop(responder);
                }
            }
        });
        let peer = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match requester.next().await {
                    Some(SessionEvent::SessionEstablished { peer_id, .. }) => return Ok(peer_id),
                    Some(SessionEvent::OutgoingPendingSessionClosed { error, .. }) => {
                        return Err(format!("session failed: {error:?}"))
                    }
                    Some(_) => {}
                    None => return Err("manager ended".to_string()),
                }
            }
        })
        .await
        .map_err(|_| "session set-up timed out".to_string())??;
        Ok::<_, String>((requester, peer))
    })?;
    let shared = Rc::new(RefCell::new(RttRun::default()));
    let run_time = cfg.run_time();
    let mut one = move |run: Duration| -> Result<RttRun, String> {
        let peer: PeerId = peer;
        rt.block_on(async {
            let mut pending = FuturesUnordered::new();
            let mut next_id = 0u64;
            let mut issue = |m: &SessionManager| {
                next_id += 1;
                let req = EthMessage::GetBlockHeaders(RequestPair {
                    request_id: next_id,
                    message: GetBlockHeaders {
                        start: BlockHashOrNumber::Number(next_id),
                        limit: 1,
                        skip: 0,
                        reverse: false,
                    },
                });
                let sent = Instant::now();
                let rx = m.send_request(&peer, req);
                async move { (sent, rx.await) }
            };
            for _ in 0..in_flight {
                pending.push(issue(&requester));
            }
            let start = Instant::now();
            let deadline = start + run;
            let mut lat = Vec::new();
            loop {
                let next = tokio::select! {
                    r = pending.next() => r,
                    _ = requester.next() => continue,
                };
                let Some((sent, r)) = next else { break };
                match r {
                    Ok(Ok(_)) => lat.push(sent.elapsed().as_secs_f64() * 1e6),
                    Ok(Err(e)) => return Err(format!("request failed: {e:?}")),
                    Err(_) => return Err("request dropped".into()),
                }
                if Instant::now() < deadline {
                    pending.push(issue(&requester));
                }
            }
            let elapsed = start.elapsed().as_secs_f64();
            lat.sort_by(f64::total_cmp);
            let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
            Ok(RttRun {
                p50_us: at(0.50),
                p99_us: at(0.99),
                per_sec: lat.len() as f64 / elapsed,
            })
        })
    };
    one(run_time / 3)?;
    let s = shared.clone();
    let p50: Runner = Box::new(move || {
        let r = one(run_time)?;
        *s.borrow_mut() = r;
        Ok(r.p50_us)
    });
    let s = shared.clone();
    let p99: Runner = Box::new(move || Ok(s.borrow().p99_us));
    let rate: Runner = Box::new(move || Ok(shared.borrow().per_sec));
    Ok((p50, p99, rate))
}

// ---------------------------------------------------------------------------
// Idle sessions in two processes.

/// `ethp2p bench --peer listen`: a manager that accepts every session and holds
/// it. Prints `listening <addr> <id>`, then `established <n>` whenever the
/// count reaches a multiple of `report_every` (and at `report_every`... ).
pub(super) fn peer_listen(report_at: u64, churn: bool) -> Result<(), String> {
    let rt = runtime(0)?;
    rt.block_on(async {
        let (listener, addr) = bind().await?;
        let mgr = manager(SessionsConfig::default(), addr.port());
        println!("listening {addr} {}", mgr.local_id());
        std::io::stdout().flush().ok();
        let mut n = 0u64;
        serve_listener(mgr, listener, churn, |ev| {
            // With churn every session ends at once: nothing to report.
            if churn {
                return;
            }
            match ev {
                SessionEvent::SessionEstablished { .. } => {
                    n += 1;
                    if n == report_at {
                        println!("established {n}");
                    }
                }
                SessionEvent::Disconnected { reason, by_us, .. } => {
                    println!("disconnected {reason:?} by_us={by_us}");
                }
                SessionEvent::SessionClosedOnConnectionError { error, .. } => {
                    println!("disconnected closed_on_error {error}");
                }
                _ => return,
            }
            std::io::stdout().flush().ok();
        })
        .await;
        Ok(())
    })
}

/// `ethp2p bench --peer dial`: `sessions` managers, each holding one session
/// to the listener, dialed at most 64 at a time, then kept polled (they answer
/// the listener's Pings). Prints `dialed <ok> <failed>`.
pub(super) fn peer_dial(addr: &str, id: &str, sessions: usize) -> Result<(), String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("--peer-addr: {e}"))?;
    let id = PeerId::from_str(id).map_err(|e| format!("--peer-id: {e}"))?;
    let rt = runtime(0)?;
    rt.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(64));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        for _ in 0..sessions {
            let (permits, ok, failed, done) =
                (permits.clone(), ok.clone(), failed.clone(), done_tx.clone());
            tokio::spawn(async move {
                let permit = permits.acquire_owned().await.expect("open semaphore");
                let mut m = manager(SessionsConfig::default(), 0);
                let mut up = false;
                if m.dial_outbound(addr, id).is_ok() {
                    while let Some(ev) = m.next().await {
                        match ev {
                            SessionEvent::SessionEstablished { .. } => {
                                up = true;
                                break;
                            }
                            SessionEvent::OutgoingPendingSessionClosed { .. }
                            | SessionEvent::OutgoingConnectionError { .. } => break,
                            _ => {}
                        }
                    }
                }
                if up { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
                drop(permit);
                let _ = done.send(());
                // Keep the manager polled: its session must stay alive.
                while m.next().await.is_some() {}
                std::future::pending::<()>().await;
            });
        }
        drop(done_tx);
        for _ in 0..sessions {
            done_rx.recv().await;
        }
        println!(
            "dialed {} {}",
            ok.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
        std::io::stdout().flush().ok();
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// A child process whose stdout lines arrive on a channel; killed on drop.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(children: &PeerCommand, args: &[String]) -> Result<Self, String> {
        Self::spawn_with(children, args, Stdio::null())
    }

    /// A peer whose stdin we write to (see [`Peer::send_line`]).
    fn spawn_paced(children: &PeerCommand, args: &[String]) -> Result<Self, String> {
        Self::spawn_with(children, args, Stdio::piped())
    }

    fn spawn_with(children: &PeerCommand, args: &[String], stdin: Stdio) -> Result<Self, String> {
        let mut child = children
            .command(args)?
            .stdout(Stdio::piped())
            .stdin(stdin)
            .spawn()
            .map_err(|e| format!("spawn bench peer: {e}"))?;
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Peer { child, lines })
    }

    fn send_line(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.child.stdin.as_mut().ok_or("bench peer has no stdin")?;
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("bench peer stdin: {e}"))
    }

    fn expect(&self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return Ok(l),
                Ok(_) => {}
                Err(_) => return Err(format!("bench peer: no `{prefix}` line in {timeout:?}")),
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> Result<u64, String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS".into())
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &s[s.rfind(')').ok_or("bad stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f[11].parse().map_err(|_| "bad utime")?;
    let stime: u64 = f[12].parse().map_err(|_| "bad stime")?;
    Ok(utime + stime)
}

/// Linux reports process CPU time in USER_HZ ticks, 100 per second on x86-64.
const TICKS_PER_SEC: f64 = 100.0;

/// What one idle-session experiment found.
pub(super) struct Idle {
    pub kib_per_session: f64,
    pub cpu_percent: f64,
    pub params: Vec<(&'static str, Value)>,
}

/// Starts a listener process and a dialer process, establishes `sessions`
/// sessions between them, and watches the listener's RSS and CPU for `hold`.
pub(super) fn idle(
    children: &PeerCommand,
    sessions: usize,
    hold: Duration,
) -> Result<Idle, String> {
    let listener = Peer::spawn(
        children,
        &[
            "--peer".into(),
            "listen".into(),
            "--peer-sessions".into(),
            sessions.to_string(),
        ],
    )?;
    let line = listener.expect("listening ", Duration::from_secs(20))?;
    let mut parts = line.split_whitespace().skip(1);
    let (addr, id) = (
        parts.next().ok_or("no addr")?.to_string(),
        parts.next().ok_or("no id")?.to_string(),
    );
    let pid = listener.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = rss_kib(pid)?;
    let setup = Instant::now();
    let dialer = Peer::spawn(
        children,
        &[
            "--peer".into(),
            "dial".into(),
            "--peer-addr".into(),
            addr,
            "--peer-id".into(),
            id,
            "--peer-sessions".into(),
            sessions.to_string(),
        ],
    )?;
    let limit = Duration::from_secs(60 + sessions as u64 / 50);
    listener.expect("established ", limit)?;
    let setup_s = setup.elapsed().as_secs_f64();
    let dialed = dialer.expect("dialed ", Duration::from_secs(30))?;
    // Let the last sessions' set-up buffers settle.
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib(pid)?;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid)?);
    let mut samples = vec![rss_after];
    let step = (hold / 20).max(Duration::from_millis(100));
    while t0.elapsed() < hold {
        std::thread::sleep(step.min(hold.saturating_sub(t0.elapsed())));
        samples.push(rss_kib(pid)?);
    }
    let (c1, held) = (cpu_ticks(pid)?, t0.elapsed().as_secs_f64());
    let alive = std::fs::metadata(format!("/proc/{pid}")).is_ok();
    // Sessions the listener lost during set-up and hold (before any process is stopped).
    let lost = listener
        .lines
        .try_iter()
        .filter(|l| l.starts_with("disconnected"))
        .count() as u64;
    // The listener goes first, so the dialers' end does not show up as disconnects.
    drop(listener);
    drop(dialer);
    if !alive {
        return Err("the listener died during the hold".into());
    }
    let cpu_percent = (c1 - c0) as f64 / TICKS_PER_SEC / held * 100.0;
    let last = *samples.last().expect("a sample");
    let max = *samples.iter().max().expect("a sample");
    let kib_per_session = (rss_after as f64 - rss_before as f64) / sessions as f64;
    Ok(Idle {
        kib_per_session,
        cpu_percent,
        params: vec![
            ("sessions", (sessions as u64).into()),
            (
                "processes",
                "listener and dialers in two processes (current_thread runtimes)".into(),
            ),
            ("rss_before_kib", rss_before.into()),
            ("rss_after_kib", rss_after.into()),
            ("rss_first_kib", rss_after.into()),
            ("rss_last_kib", last.into()),
            ("rss_max_kib", max.into()),
            ("rss_samples", (samples.len() as u64).into()),
            ("hold_seconds", round(held, 4).into()),
            ("setup_seconds", round(setup_s, 4).into()),
            ("dialer_report", dialed.into()),
            ("cpu_ticks_over_hold", (c1 - c0).into()),
            ("sessions_lost_during_hold", lost.into()),
        ],
    })
}

/// `ethp2p bench --peer dial-churn`: `dialers` dialer tasks (rings of
/// managers, as in [`established`]) against a `--peer listen --peer-churn`
/// process, for `runs` runs of `seconds`; prints `rate <sessions/s>` per run.
pub(super) fn peer_dial_churn(
    addr: &str,
    id: &str,
    dialers: usize,
    runs: usize,
    seconds: f64,
) -> Result<(), String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("--peer-addr: {e}"))?;
    let id = PeerId::from_str(id).map_err(|e| format!("--peer-id: {e}"))?;
    let rt = runtime(0)?;
    let failures = Arc::new(AtomicU64::new(0));
    let mut rings: Vec<Vec<SessionManager>> = rt.block_on(async {
        (0..dialers)
            .map(|_| {
                (0..RING)
                    .map(|_| manager(SessionsConfig::default(), 0))
                    .collect()
            })
            .collect()
    });
    // One warm-up run, then the measured ones, each when the parent says
    // `go` on stdin (it measures the primitives in between, both of us idle).
    let mut stdin = std::io::stdin().lock();
    for run in 0..=runs {
        let secs = if run == 0 { seconds / 3.0 } else { seconds };
        if run > 0 {
            let mut line = String::new();
            match stdin.read_line(&mut line) {
                Ok(n) if n > 0 && line.trim() == "go" => {}
                _ => return Err("--peer dial-churn: expected `go` on stdin".into()),
            }
        }
        let rate = rt.block_on(async {
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(secs);
            let total = churn(&mut rings, addr, id, deadline, &failures).await?;
            Ok::<_, String>(total as f64 / start.elapsed().as_secs_f64())
        })?;
        if run > 0 {
            println!("rate {rate}");
            std::io::stdout().flush().ok();
        }
    }
    println!("failures {}", failures.load(Ordering::Relaxed));
    std::io::stdout().flush().ok();
    Ok(())
}

/// Sessions/s with the listener and the 64 dialers in two processes (each a
/// `current_thread` runtime): one value per run, plus the failed dials.
/// `before_run` is called before each run while both processes are idle (the
/// caller measures the primitives there, so each run has its own limit).
pub(super) fn established_processes(
    cfg: &Config,
    children: &PeerCommand,
    dialers: usize,
    mut before_run: impl FnMut() -> Result<(), String>,
) -> Result<(Vec<f64>, u64), String> {
    let listener = Peer::spawn(
        children,
        &["--peer".into(), "listen".into(), "--peer-churn".into()],
    )?;
    let line = listener.expect("listening ", Duration::from_secs(20))?;
    let mut parts = line.split_whitespace().skip(1);
    let (addr, id) = (
        parts.next().ok_or("no addr")?.to_string(),
        parts.next().ok_or("no id")?.to_string(),
    );
    let mut dialer = Peer::spawn_paced(
        children,
        &[
            "--peer".into(),
            "dial-churn".into(),
            "--peer-addr".into(),
            addr,
            "--peer-id".into(),
            id,
            "--peer-sessions".into(),
            dialers.to_string(),
            "--runs".into(),
            cfg.runs.to_string(),
            "--seconds".into(),
            cfg.seconds.to_string(),
        ],
    )?;
    let per_run = Duration::from_secs_f64(cfg.seconds * 3.0 + 30.0);
    let mut rates = Vec::new();
    for _ in 0..cfg.runs {
        before_run()?;
        dialer.send_line("go")?;
        let l = dialer.expect("rate ", per_run)?;
        rates.push(l[5..].trim().parse::<f64>().map_err(|e| e.to_string())?);
    }
    let failures = dialer
        .expect("failures ", per_run)?
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    drop(listener);
    drop(dialer);
    Ok((rates, failures))
}
