//! `ethp2p bench`: the benchmark of the whole stack.
//!
//! Measures the primitives on one core (secp256k1, AES, Keccak, snappy,
//! memcpy, ...), then the RLPx handshake and frame paths, devp2p messages, eth
//! and snap messages, transaction gossip and full sessions, and sets every
//! figure beside the limit those primitives, measured in the same process,
//! allow. Prints one JSON object per line (see `BENCHMARKS.md`).
//!
//! The `ethp2p` binary mounts [`BenchArgs`] as its `bench` subcommand and
//! calls [`run`]; the two-process experiments start that same subcommand
//! again as their children (see [`PeerCommand`]).
//!
//! # Example
//!
//! Mount the benchmark as a subcommand of your own binary (as `ethp2p bench`
//! does), parsed here from a command line; `run` would then print the JSON
//! lines (a quick run takes about 15 seconds, so it is not run here):
//!
//! ```rust
//! use clap::Parser;
//!
//! #[derive(Parser)]
//! struct MyTool {
//!     #[command(flatten)]
//!     bench: ethp2p_bench::BenchArgs,
//! }
//!
//! let tool = MyTool::parse_from(["mytool", "--quick", "--only", "handshake", "frame.tcp"]);
//! assert!(tool.bench.quick);
//! assert_eq!(tool.bench.only, ["handshake", "frame.tcp"]);
//! // The two-process measurements start `mytool bench --peer …` again:
//! let _children = ethp2p_bench::PeerCommand::current_exe(["bench"]);
//! // ethp2p_bench::run(tool.bench, &_children);
//! ```
#![warn(missing_docs)]

mod discv4;
mod eth;
mod fetch;
mod p2p;
mod primitives;
mod rlpx;
mod session;
mod snap_messages;
mod stats;
mod transactions;

/// Fixed amounts of work for instruction counting (`valgrind --tool=callgrind`),
/// where the timed rows cannot be used: run two counts and subtract.
pub mod drive {
    /// Sends `count` messages of `len` bytes through a `P2PStream` pair over TCP
    /// loopback on `workers` workers (0 = current_thread), flushing every
    /// `flush_every`; returns the messages received.
    pub fn p2p_messages(
        workers: usize,
        len: usize,
        count: usize,
        flush_every: usize,
    ) -> Result<u64, String> {
        super::p2p::fixed_count(workers, len, count, flush_every)
    }

    /// `per_dialer` full sessions from each of `dialers` dialers through two
    /// `SessionManager`s on `workers` workers; returns the sessions established.
    pub fn sessions(workers: usize, dialers: usize, per_dialer: usize) -> Result<u64, String> {
        super::session::fixed_sessions(workers, dialers, per_dialer)
    }
}

use clap::Args;
use ethp2p_rlpx::FrameCodec;
use rlpx::{Exchange, Limit, INITIATOR_OPS, RECIPIENT_OPS};
use serde_json::Value;
use stats::{median, Config, Record, Runner, Summary};
use std::{path::PathBuf, process::ExitCode, time::Instant};

/// Arguments of `ethp2p bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Short runs: a smoke test that finishes in about 20 seconds (a full run takes about 6 minutes).
    #[arg(long)]
    pub quick: bool,

    /// Run only these measurements: a full name, or its leading dot-separated
    /// parts (`handshake`, `frame.tcp`). The primitives a limit needs run too.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub only: Vec<String>,

    /// Runs per measurement; the median is reported. The runs of all
    /// measurements are interleaved round by round [default: 15, quick: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: Option<u32>,

    /// Seconds per run [default: 0.3, quick: 0.05].
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,

    /// Internal: run as one end of the idle-session measurement (`listen` or `dial`).
    #[arg(long, hide = true)]
    pub peer: Option<String>,

    /// Internal: the listener's address, for `--peer dial`.
    #[arg(long, hide = true)]
    pub peer_addr: Option<String>,

    /// Internal: the listener's node id, for `--peer dial`.
    #[arg(long, hide = true)]
    pub peer_id: Option<String>,

    /// Internal: sessions to dial (`dial`) or to report once established (`listen`); tables to fill (`table-memory`).
    #[arg(long, hide = true)]
    pub peer_sessions: Option<usize>,

    /// Internal: the listener disconnects every session once established.
    #[arg(long, hide = true)]
    pub peer_churn: bool,
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const CONCURRENT_DIALERS: usize = 64;

const HS_RECIPIENT: &str = "handshake.recipient";
const HS_INITIATOR: &str = "handshake.initiator";
const HS_TCP_SEQUENTIAL: &str = "handshake.tcp.sequential";
const HS_TCP_CONCURRENT: &str = "handshake.tcp.concurrent64";
const HS_TCP_2W_SEQUENTIAL: &str = "handshake.tcp.2workers.sequential";
const HS_TCP_2W_CONCURRENT: &str = "handshake.tcp.2workers.concurrent64";
const HANDSHAKES: [&str; 6] = [
    HS_RECIPIENT,
    HS_INITIATOR,
    HS_TCP_SEQUENTIAL,
    HS_TCP_CONCURRENT,
    HS_TCP_2W_SEQUENTIAL,
    HS_TCP_2W_CONCURRENT,
];

/// Handshakes over TCP loopback: name, runtime workers (0 = current_thread),
/// dialers, and the plain-TCP baseline measured beside it (one core only).
const TCP_HANDSHAKES: [(&str, usize, usize, Option<&str>); 4] = [
    (
        HS_TCP_SEQUENTIAL,
        0,
        1,
        Some("baseline.tcp_exchange.sequential"),
    ),
    (
        HS_TCP_CONCURRENT,
        0,
        CONCURRENT_DIALERS,
        Some("baseline.tcp_exchange.concurrent64"),
    ),
    (HS_TCP_2W_SEQUENTIAL, 2, 1, None),
    (HS_TCP_2W_CONCURRENT, 2, CONCURRENT_DIALERS, None),
];

const ETH_ROUNDTRIP: &str = "eth.encode_decode.1MiB";
const ETH_ENCODE: &str = "eth.encode.1MiB";
const ETH_DECODE: &str = "eth.decode.1MiB";
const ETH: [&str; 3] = [ETH_ROUNDTRIP, ETH_ENCODE, ETH_DECODE];
const ETH_PRIMITIVES: [&str; 4] = [
    eth::SNAP_ROUNDTRIP,
    eth::SNAP_COMPRESS,
    eth::SNAP_DECOMPRESS,
    eth::MEMCPY,
];

/// Transaction decoding: the fixture, then the keccak and walk primitives and
/// the figure (see [`transactions::decode_measurements`]).
type TxDecode = (
    fn() -> transactions::TxFixture,
    (&'static str, &'static str, &'static str),
    &'static str,
);
const TX_DECODES: [TxDecode; 2] = [
    (
        transactions::eip1559,
        (
            transactions::KECCAK_1559,
            transactions::WALK_1559,
            transactions::DECODE_1559,
        ),
        "EIP-1559, 228-byte calldata, no access list",
    ),
    (
        transactions::legacy,
        (
            transactions::KECCAK_LEGACY,
            transactions::WALK_LEGACY,
            transactions::DECODE_LEGACY,
        ),
        "legacy (EIP-155), the same call",
    ),
];
/// What bounds each decode figure: one keccak and one header walk of its bytes.
static TX_1559_LIMIT: [&str; 2] = [transactions::KECCAK_1559, transactions::WALK_1559];
static TX_LEGACY_LIMIT: [&str; 2] = [transactions::KECCAK_LEGACY, transactions::WALK_LEGACY];

/// snap messages: memcpy primitive, figure.
const SNAP: [(&str, &str); 2] = [
    (snap_messages::MEMCPY_RANGE, snap_messages::RANGE),
    (snap_messages::MEMCPY_REQUEST, snap_messages::REQUEST),
];

/// Full sessions through two managers: name, runtime workers (0 =
/// current_thread), dialer tasks.
const SESSIONS: [(&str, usize, usize); 4] = [
    (
        "session.established_per_sec.current_thread.sequential",
        0,
        1,
    ),
    (
        "session.established_per_sec.current_thread.concurrent64",
        0,
        CONCURRENT_DIALERS,
    ),
    ("session.established_per_sec.2workers.sequential", 2, 1),
    (
        "session.established_per_sec.2workers.concurrent64",
        2,
        CONCURRENT_DIALERS,
    ),
];

/// Full sessions with the dialers and the listener in two processes.
const SESSIONS_PROCESSES: &str = "session.established_per_sec.processes.concurrent64";

const RTT_P50: &str = "request.rtt.p50";
const RTT_P99: &str = "request.rtt.p99";
const RTT_RATE: &str = "request.rtt.requests_per_sec";
const RTT_IN_FLIGHT: usize = 1000;

/// discv4 packet rows: name, limit (the primitives per packet handled).
const DISCV4_PACKETS: [&str; 2] = [discv4::PING_PONG, discv4::FINDNODE];
/// Ping→Pong: one recover (the Ping) + one sign (the Pong) + a keccak per packet.
static PING_PONG_LIMIT: [&str; 4] = [
    primitives::RECOVER,
    primitives::SIGN,
    primitives::KECCAK_DIGEST,
    primitives::KECCAK_DIGEST,
];
/// FindNode→Neighbours (16 nodes: two packets): one recover + two signs + a
/// keccak per packet.
static FINDNODE_LIMIT: [&str; 6] = [
    primitives::RECOVER,
    primitives::SIGN,
    primitives::SIGN,
    primitives::KECCAK_DIGEST,
    primitives::KECCAK_DIGEST,
    primitives::KECCAK_DIGEST,
];
/// What the discv4 packet limits are computed from.
const DISCV4_PRIMITIVES: [&str; 3] = [
    primitives::RECOVER,
    primitives::SIGN,
    primitives::KECCAK_DIGEST,
];
/// Lookup convergence: rounds row, packets row, network size, lookups
/// (full run; --quick runs one lookup, and only in the 1,000-node network).
const LOOKUPS: [(&str, &str, usize, usize); 2] = [
    (discv4::LOOKUP_ROUNDS_1K, discv4::LOOKUP_PACKETS_1K, 1000, 5),
    (
        discv4::LOOKUP_ROUNDS_10K,
        discv4::LOOKUP_PACKETS_10K,
        10_000,
        5,
    ),
];

/// Request routing rows, in the order `fetch::routing` returns their runners.
const FETCH: [&str; 10] = [
    fetch::ROUTED,
    fetch::ROUTED_P50,
    fetch::ROUTED_P99,
    fetch::DIRECT,
    fetch::DIRECT_P50,
    fetch::DIRECT_P99,
    fetch::ROUTED_EQ,
    fetch::ROUTED_EQ_P50,
    fetch::SPREAD_EQ,
    fetch::SPREAD_EQ_P50,
];
/// Issue 12's target: routing adds less than 10 % at 1,000 requests in flight.
const FETCH_OVERHEAD_TARGET: f64 = 0.10;

/// Idle sessions in two processes: RSS name, CPU name, sessions, hold (full
/// run; never shorter than the default ping interval, so that every
/// session's keepalive falls inside the CPU window).
const IDLE: [(&str, &str, usize, f64); 2] = [
    (
        "session.idle_rss_per_session.1000",
        "session.idle_cpu.1000",
        1000,
        60.0,
    ),
    (
        "session.idle_rss_per_session.10000",
        "session.idle_cpu.10000",
        10_000,
        60.0,
    ),
];
/// Issue targets: KiB of RSS per idle session, and % of a core idle.
const IDLE_RSS_TARGET_KIB: f64 = 32.0;
const IDLE_CPU_TARGET_PERCENT: f64 = 1.0;

/// Messages through `P2PStream`s over TCP loopback: name, payload size,
/// runtime workers (0 = current_thread), flush every N messages, snappy,
/// messages/s (else MB/s).
const P2P_FRAMES: [(&str, usize, usize, usize, bool, bool); 9] = [
    ("frame.p2p.1KiB.snappy_on", KIB, 0, 1, true, false),
    ("frame.p2p.64KiB.snappy_on", 64 * KIB, 0, 1, true, false),
    ("frame.p2p.1MiB.snappy_on", MIB, 0, 1, true, false),
    ("frame.p2p.1KiB.snappy_off", KIB, 0, 1, false, false),
    ("frame.p2p.64KiB.snappy_off", 64 * KIB, 0, 1, false, false),
    ("frame.p2p.1MiB.snappy_off", MIB, 0, 1, false, false),
    ("frame.p2p.1KiB.2workers.flush_each", KIB, 2, 1, true, true),
    ("frame.p2p.1KiB.2workers.flush_64", KIB, 2, 64, true, true),
    ("frame.p2p.1MiB.2workers.snappy_on", MIB, 2, 1, true, false),
];
/// Raw snappy at the P2P rows' payload sizes (the 1 MiB ones are the eth rows').
const P2P_SNAP_PRIMITIVES: [&str; 4] = [
    eth::SNAP_ROUNDTRIP_1K,
    eth::SNAP_COMPRESS_1K,
    eth::SNAP_DECOMPRESS_1K,
    eth::SNAP_ROUNDTRIP_64K,
];
/// Issue 7's target for 1 KiB messages on two cores, messages/s.
const MSGS_1KIB_TARGET: f64 = 240_000.0;

/// Frame measurements: name, transport, payload size.
const FRAMES: [(&str, &str, usize); 4] = [
    ("frame.memory.1KiB", "memory", KIB),
    ("frame.memory.1MiB", "memory", MIB),
    ("frame.tcp.1KiB", "tcp", KIB),
    ("frame.tcp.1MiB", "tcp", MIB),
];

/// The handshake limit of a loopback figure with both ends in one process:
/// one core's, unless several dialers can keep `workers` cores busy. One
/// dialer at a time is serial work (each side waits for the other), so a
/// second worker cannot raise its limit.
fn serial_or_parallel(dialers: usize, workers: usize) -> Limit {
    if workers <= 1 || dialers <= 1 {
        Limit::Handshake(&[INITIATOR_OPS, RECIPIENT_OPS])
    } else {
        Limit::HandshakeOn(&[INITIATOR_OPS, RECIPIENT_OPS], workers as u32)
    }
}

fn all_names() -> Vec<&'static str> {
    primitives::ASYMMETRIC
        .iter()
        .chain(&primitives::SYMMETRIC)
        .chain(&HANDSHAKES)
        .chain(TCP_HANDSHAKES.iter().filter_map(|(_, _, _, b)| b.as_ref()))
        .chain(FRAMES.iter().map(|(name, _, _)| name))
        .chain(P2P_FRAMES.iter().map(|f| &f.0))
        .chain(&P2P_SNAP_PRIMITIVES)
        .chain(&ETH_PRIMITIVES)
        .chain(&ETH)
        .chain(&[transactions::ANNOUNCE, transactions::BYTES_PER_HASH])
        .chain(TX_DECODES.iter().flat_map(|(_, (a, b, c), _)| [a, b, c]))
        .chain(SNAP.iter().flat_map(|(a, b)| [a, b]))
        .chain(SESSIONS.iter().map(|(name, _, _)| name))
        .chain(&[SESSIONS_PROCESSES])
        .chain(&[RTT_P50, RTT_P99, RTT_RATE])
        .chain(IDLE.iter().flat_map(|(rss, cpu, _, _)| [rss, cpu]))
        .chain(&DISCV4_PACKETS)
        .chain(LOOKUPS.iter().flat_map(|(r, p, _, _)| [r, p]))
        .chain(&[discv4::TABLE_ENTRY])
        .chain(&FETCH)
        .copied()
        .collect()
}

/// Which measurements `--only` selected.
struct Selection(Vec<String>);

impl Selection {
    fn matches(pattern: &str, name: &str) -> bool {
        name == pattern
            || (name.starts_with(pattern) && name[pattern.len()..].starts_with('.'))
            || (pattern.ends_with('.') && name.starts_with(pattern))
    }

    fn wants(&self, name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| Self::matches(p, name))
    }
}

/// One measurement: set up and warmed up, then run once per round.
pub(crate) struct Measurement {
    name: &'static str,
    unit: &'static str,
    params: Vec<(&'static str, Value)>,
    limit: Option<Limit>,
    /// A measurement of the same work without the cryptography.
    baseline: Option<&'static str>,
    runner: Runner,
    values: Vec<f64>,
}

impl Measurement {
    fn new(name: &'static str, unit: &'static str, runner: Runner) -> Self {
        Measurement {
            name,
            unit,
            params: Vec::new(),
            limit: None,
            baseline: None,
            runner,
            values: Vec::new(),
        }
    }

    fn param(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.params.push((key, value.into()));
        self
    }

    fn limit(mut self, limit: Limit) -> Self {
        self.limit = Some(limit);
        self
    }

    fn baseline(mut self, name: &'static str) -> Self {
        self.baseline = Some(name);
        self
    }

    fn is_primitive(&self) -> bool {
        self.name.starts_with("primitive.")
    }
}

/// How to start the child processes of the two-process experiments: a
/// program and the arguments that lead to the flags of [`BenchArgs`]; the
/// children get `--peer ...` after them.
#[derive(Debug, Clone)]
pub struct PeerCommand {
    /// `None`: the running executable, looked up when a child is spawned.
    program: Option<PathBuf>,
    leading: Vec<String>,
}

impl PeerCommand {
    /// The running executable (`std::env::current_exe`) followed by
    /// `leading`: the `ethp2p` binary passes `["bench"]`, so its children
    /// are `ethp2p bench --peer ...`.
    pub fn current_exe<I, S>(leading: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PeerCommand {
            program: None,
            leading: leading.into_iter().map(Into::into).collect(),
        }
    }

    /// `program` followed by `leading`.
    pub fn new<I, S>(program: impl Into<PathBuf>, leading: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PeerCommand {
            program: Some(program.into()),
            leading: leading.into_iter().map(Into::into).collect(),
        }
    }

    /// A command for a child that gets `args` after the leading ones.
    fn command(&self, args: &[String]) -> Result<std::process::Command, String> {
        let program = match &self.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| format!("current executable: {e}"))?,
        };
        let mut c = std::process::Command::new(program);
        c.args(&self.leading).args(args);
        Ok(c)
    }
}

/// Runs the benchmark (or, with `--peer`, one end of a two-process
/// experiment), printing JSON lines on stdout; every error is one line on
/// stderr. `children` starts the child processes.
pub fn run(args: BenchArgs, children: &PeerCommand) -> ExitCode {
    match run_inner(args, children) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ethp2p bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: BenchArgs, children: &PeerCommand) -> Result<(), String> {
    match args.peer.as_deref() {
        None => {}
        Some("listen") => {
            return session::peer_listen(args.peer_sessions.unwrap_or(0) as u64, args.peer_churn)
        }
        Some("dial-churn") => {
            return session::peer_dial_churn(
                args.peer_addr.as_deref().ok_or("--peer-addr missing")?,
                args.peer_id.as_deref().ok_or("--peer-id missing")?,
                args.peer_sessions.ok_or("--peer-sessions missing")?,
                args.runs.unwrap_or(15) as usize,
                args.seconds.unwrap_or(0.3),
            )
        }
        Some("dial") => {
            return session::peer_dial(
                args.peer_addr.as_deref().ok_or("--peer-addr missing")?,
                args.peer_id.as_deref().ok_or("--peer-id missing")?,
                args.peer_sessions.ok_or("--peer-sessions missing")?,
            )
        }
        Some("table-memory") => {
            return discv4::peer_table_memory(args.peer_sessions.unwrap_or(1000))
        }
        Some(other) => return Err(format!("--peer {other}: expected listen or dial")),
    }
    let cfg = Config {
        runs: args
            .runs
            .map_or(if args.quick { 3 } else { 15 }, |n| n as usize),
        seconds: args.seconds.unwrap_or(if args.quick { 0.05 } else { 0.3 }),
        quick: args.quick,
    };
    if !(cfg.seconds.is_finite() && cfg.seconds > 0.0 && cfg.seconds <= 3600.0) {
        return Err(format!(
            "--seconds must be in (0, 3600], got {}",
            cfg.seconds
        ));
    }
    let names = all_names();
    for pattern in &args.only {
        if !names.iter().any(|n| Selection::matches(pattern, n)) {
            return Err(format!(
                "--only {pattern} matches no measurement; the names are: {}",
                names.join(", ")
            ));
        }
    }
    let sel = Selection(args.only);
    let started = Instant::now();

    // Set up and warm up everything selected, plus the primitives a selected
    // limit is computed from.
    let need_asym = HANDSHAKES.iter().any(|n| sel.wants(n))
        || SESSIONS.iter().any(|(n, _, _)| sel.wants(n))
        || sel.wants(SESSIONS_PROCESSES);
    let need_sym =
        FRAMES.iter().any(|(n, _, _)| sel.wants(n)) || P2P_FRAMES.iter().any(|f| sel.wants(f.0));
    let wanted = |name: &str| {
        sel.wants(name)
            || (need_asym && primitives::ASYMMETRIC.contains(&name))
            || (need_sym && primitives::SYMMETRIC.contains(&name))
            || (DISCV4_PACKETS.iter().any(|n| sel.wants(n)) && DISCV4_PRIMITIVES.contains(&name))
    };
    let mut all = primitives::setup(&cfg, &wanted);
    let secs = cfg.seconds;
    if sel.wants(HS_RECIPIENT) {
        all.push(
            Measurement::new(HS_RECIPIENT, "handshakes/s", rlpx::recipient(&cfg)?)
                .limit(Limit::Handshake(&[RECIPIENT_OPS]))
                .param(
                    "timed",
                    "Recipient::new + read_auth on pre-built EIP-8 auths",
                ),
        );
    }
    if sel.wants(HS_INITIATOR) {
        all.push(
            Measurement::new(HS_INITIATOR, "handshakes/s", rlpx::initiator(&cfg)?)
                .limit(Limit::Handshake(&[INITIATOR_OPS]))
                .param(
                    "timed",
                    "Initiator::new + read_ack; acks built off the clock",
                ),
        );
    }
    for (name, workers, dialers, baseline) in TCP_HANDSHAKES {
        if sel.wants(name) {
            let runtime = if workers == 0 {
                "tokio current_thread, both ends, fresh TCP connection each".to_string()
            } else {
                format!(
                    "tokio multi_thread, {workers} workers, both ends, fresh TCP connection each"
                )
            };
            let m = Measurement::new(
                name,
                "handshakes/s",
                rlpx::tcp(&cfg, workers, dialers, Exchange::Rlpx)?,
            )
            .limit(serial_or_parallel(dialers, workers))
            .param("dialers", dialers as u64)
            .param("runtime", runtime);
            all.push(match baseline {
                Some(b) => m.baseline(b),
                None => m,
            });
        }
        let Some(baseline) = baseline else { continue };
        if sel.wants(name) || sel.wants(baseline) {
            all.push(
                Measurement::new(
                    baseline,
                    "connections/s",
                    rlpx::tcp(&cfg, workers, dialers, Exchange::Plain)?,
                )
                .param("dialers", dialers as u64)
                .param(
                    "exchange",
                    "fresh TCP connection, auth-sized write, ack-sized reply, close; no crypto",
                ),
            );
        }
    }
    for (name, transport, len) in FRAMES {
        if sel.wants(name) {
            let runner = match transport {
                "memory" => rlpx::frames_in_memory(&cfg, len)?,
                _ => rlpx::frames_over_tcp(&cfg, len)?,
            };
            all.push(
                Measurement::new(name, "MB/s", runner)
                    .limit(Limit::Frame(len))
                    .param("transport", transport)
                    .param("payload_bytes", len as u64)
                    .param("wire_bytes_per_frame", FrameCodec::encoded_len(len) as u64),
            );
        }
    }

    if P2P_FRAMES.iter().any(|f| sel.wants(f.0)) {
        let content = eth::Fixture::new(MIB).encoded;
        for (name, len, workers, flush_every, snappy, per_msg) in P2P_FRAMES {
            if !sel.wants(name) {
                continue;
            }
            let runtime = if workers == 0 {
                "tokio current_thread, both ends".to_string()
            } else {
                format!("tokio multi_thread, {workers} workers, both ends")
            };
            let m = if snappy {
                let figure = if per_msg {
                    p2p::Figure::MessagesPerSec
                } else {
                    p2p::Figure::MegabytesPerSec
                };
                let runner =
                    p2p::messages(&cfg, workers, content[..len].to_vec(), flush_every, figure)?;
                Measurement::new(name, if per_msg { "messages/s" } else { "MB/s" }, runner)
                    .param(
                        "path",
                        "P2PStream::send (snappy) + poll_flush -> P2PStream::next (snappy)",
                    )
                    .param(
                        "content",
                        "slice of the eth BlockBodies fixture (snappy ~0.71)",
                    )
            } else {
                Measurement::new(name, "MB/s", rlpx::frames_over_tcp(&cfg, len)?).param(
                    "path",
                    "RlpxStream frames (no snappy, no message id), Sink::feed -> Stream",
                )
            };
            // The frame body on the wire: message id + compressed payload.
            let wire = 1 + snap::raw::Encoder::new()
                .compress_vec(&content[..len])
                .map_err(|e| e.to_string())?
                .len();
            let cores = if workers == 0 { 1 } else { 2 };
            let m = if per_msg {
                m.limit(Limit::Fixed(MSGS_1KIB_TARGET))
                    .param("limit_is", "issue 7 target: 1 KiB messages/s on two cores")
                    .param("wire_body_bytes", wire as u64)
            } else if snappy {
                m.limit(Limit::P2P { len, wire, cores }).param(
                    "limit_is",
                    if cores == 1 {
                        "one core both ends: RLPx crypto on the wire bytes (id + compressed payload) + raw snappy compress and decompress of the payload"
                    } else {
                        "each end on its own core: RLPx crypto on the wire bytes + raw snappy compress (sender) or decompress (receiver); the slower end"
                    },
                )
            } else {
                m.limit(Limit::Frame(len)).param(
                    "limit_is",
                    "RLPx crypto on the payload, one core both ends (no snappy on this path)",
                )
            };
            all.push(
                m.param("payload_bytes", len as u64)
                    .param("runtime", runtime)
                    .param("flush_every", flush_every as u64)
                    .param("snappy", snappy),
            );
        }
    }
    // The snappy P2P rows' limits count raw snappy at their payload size.
    let need_snap = P2P_FRAMES.iter().any(|f| f.4 && sel.wants(f.0));
    if need_snap || P2P_SNAP_PRIMITIVES.iter().any(|n| sel.wants(n)) {
        let fixture = eth::Fixture::new(MIB);
        for (name, runner) in eth::small_primitives(&cfg, &fixture) {
            all.push(
                Measurement::new(name, "MB/s", runner)
                    .param("content", "first bytes of the eth BlockBodies fixture"),
            );
        }
    }
    let want_eth = ETH.iter().chain(&ETH_PRIMITIVES).any(|n| sel.wants(n));
    if want_eth || need_snap {
        let fixture = eth::Fixture::new(MIB);
        eth::check(&fixture)?;
        let len = fixture.encoded.len() as u64;
        let ratio = stats::round(fixture.compression_ratio(), 4);
        for (name, runner) in eth::primitives(&cfg, &fixture) {
            if !want_eth && name == eth::MEMCPY {
                continue;
            }
            all.push(
                Measurement::new(name, "MB/s", runner)
                    .param("message_bytes", len)
                    .param("snappy_ratio", ratio),
            );
        }
    }
    if want_eth {
        let fixture = eth::Fixture::new(MIB);
        let len = fixture.encoded.len() as u64;
        let ratio = stats::round(fixture.compression_ratio(), 4);
        for (name, part, limit, timed) in [
            (ETH_ROUNDTRIP, eth::Part::RoundTrip, eth::SNAP_ROUNDTRIP, "EthMessage::encode + snappy compress + decompress (fresh zeroed BytesMut) + EthMessage::decode_bytes"),
            (ETH_ENCODE, eth::Part::Encode, eth::SNAP_COMPRESS, "EthMessage::encode into a reused Vec + snappy compress into a reused scratch"),
            (ETH_DECODE, eth::Part::Decode, eth::SNAP_DECOMPRESS, "snappy decompress into a fresh zeroed BytesMut + EthMessage::decode_bytes"),
        ] {
            all.push(
                Measurement::new(name, "MB/s", eth::path(&cfg, &fixture, part))
                    .limit(Limit::Rate(limit))
                    .param("message", "BlockBodies, eth/69, bodies of 150 EIP-1559 txs + 16 withdrawals")
                    .param("message_bytes", len)
                    .param("snappy_ratio", ratio)
                    .param("timed", timed),
            );
        }
    }
    push_transactions(&cfg, &sel, &mut all)?;
    for (name, runner, limit, timed) in [
        (
            discv4::PING_PONG,
            discv4::ping_pong as fn(&Config) -> Result<stats::Runner, String>,
            &PING_PONG_LIMIT[..],
            "Discv4::handle_packet(Ping from a bonded peer in the table) + drain: decode, recover, checks, Pong encoded and signed",
        ),
        (
            discv4::FINDNODE,
            discv4::findnode,
            &FINDNODE_LIMIT[..],
            "Discv4::handle_packet(FindNode from a bonded peer, random target) + drain: decode, recover, 16 closest of a 48-entry table, two Neighbours packets (12 + 4) encoded and signed",
        ),
    ] {
        if sel.wants(name) {
            all.push(
                Measurement::new(name, "packets/s", runner(&cfg)?)
                    .limit(Limit::PerOp(limit))
                    .param("timed", timed)
                    .param("runtime", "one thread, sans-IO engine, frozen clock, no sockets")
                    .param("limit_is", "the secp256k1 and keccak work per request on one core: recover + sign per reply packet + one keccak digest per packet"),
            );
        }
    }
    push_snap(&cfg, &sel, &mut all)?;
    for (name, workers, dialers) in SESSIONS {
        if sel.wants(name) {
            let runtime = if workers == 0 {
                "tokio current_thread, both managers in one process".to_string()
            } else {
                format!("tokio multi_thread, {workers} workers, both managers in one process")
            };
            let m = Measurement::new(
                name,
                "sessions/s",
                session::established(&cfg, workers, dialers)?,
            );
            // One thread runs both ends, as in the plain-TCP baseline: the
            // fresh connection per session is then counted beside the EC work.
            let m = match (workers, dialers) {
                (0, 1) => m.baseline("baseline.tcp_exchange.sequential"),
                (0, _) => m.baseline("baseline.tcp_exchange.concurrent64"),
                _ => m,
            };
            all.push(
                m.limit(serial_or_parallel(dialers, workers))
                .param("dialers", dialers as u64)
                .param("runtime", runtime)
                .param("workers", workers.max(1) as u64)
                .param(
                    "timed",
                    "SessionManager::dial_outbound to SessionEstablished (ECIES + Hello + eth/69 Status), then disconnect; fresh TCP each",
                ),
            );
        }
    }
    if [RTT_P50, RTT_P99, RTT_RATE].iter().any(|n| sel.wants(n)) {
        let (p50, p99, rate) = session::request_rtt(&cfg, 2, RTT_IN_FLIGHT)?;
        for (name, unit, runner) in [
            (RTT_P50, "us", p50),
            (RTT_P99, "us", p99),
            (RTT_RATE, "requests/s", rate),
        ] {
            all.push(
                Measurement::new(name, unit, runner)
                    .param("in_flight", RTT_IN_FLIGHT as u64)
                    .param("runtime", "tokio multi_thread, 2 workers, both managers in one process")
                    .param("request", "GetBlockHeaders via SessionManager::send_request; the responder drops the responder (empty BlockHeaders)"),
            );
        }
    }

    if FETCH.iter().any(|n| sel.wants(n)) {
        let runners = fetch::routing(&cfg)?;
        for (name, runner) in FETCH.into_iter().zip(runners) {
            let unit = if name.contains("_per_sec") {
                "requests/s"
            } else {
                "us"
            };
            let routed = name.starts_with("fetch.routed");
            let spread = name.ends_with(".spread50");
            let path = if routed {
                "FetchClient::get_headers (router: best idle capable peer, one in flight per peer and kind, structural checks)"
            } else if spread {
                "NetworkHandle::send_request, caller i always to peer i (one request per session in flight, as the router sends)"
            } else {
                "NetworkHandle::send_request to one peer's session"
            };
            let in_flight = if name.ends_with(".in_flight50") || spread {
                fetch::PEERS
            } else {
                fetch::IN_FLIGHT
            };
            all.push(
                Measurement::new(name, unit, runner)
                    .param("in_flight", in_flight as u64)
                    .param("peers", if routed || spread { fetch::PEERS as u64 } else { 1 })
                    .param("path", path)
                    .param("request", "GetBlockHeaders from block 0, limit 0; each peer's manager answers empty BlockHeaders (valid for zero asked: nothing is retried)")
                    .param("transport", "TCP loopback, 51 NetworkManagers in one process")
                    .param("runtime", "tokio multi_thread, 2 workers"),
            );
        }
    }

    // Interleave the runs: every round runs each measurement once, so slow
    // and fast stretches of a shared machine touch the primitives and the
    // figures compared with them alike.
    // Within a round, each group of primitives runs just before the figures
    // whose limit it sets.
    let group = |m: &Measurement| {
        if primitives::ASYMMETRIC.contains(&m.name) {
            0
        } else if HANDSHAKES.contains(&m.name)
            || m.name.starts_with("baseline.")
            || m.name.starts_with("session.")
        {
            1
        } else if primitives::SYMMETRIC.contains(&m.name)
            || P2P_SNAP_PRIMITIVES.contains(&m.name)
            || (need_snap && ETH_PRIMITIVES.contains(&m.name))
        {
            2
        } else if m.name.starts_with("frame.") {
            3
        } else if ETH_PRIMITIVES.contains(&m.name) || ETH.contains(&m.name) {
            4
        } else {
            5
        }
    };
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| group(&all[i]));
    for round in 1..=cfg.runs {
        for &i in &order {
            let m = &mut all[i];
            let value = (m.runner)().map_err(|e| format!("{}: {e}", m.name))?;
            m.values.push(value);
        }
        eprintln!(
            "ethp2p bench: round {round}/{} done after {:.1} s",
            cfg.runs,
            started.elapsed().as_secs_f64()
        );
    }

    // Limits from the primitives' medians; two cross-checks for a noisy
    // machine: the median of per-round ratios, and best run against the
    // limit of the best primitive runs.
    let costs_of = |pick: &dyn Fn(&Measurement) -> f64| {
        let mut costs = primitives::Costs::default();
        for m in all.iter().filter(|m| m.is_primitive()) {
            costs.insert(m.name, m.unit, pick(m));
        }
        costs
    };
    let costs = costs_of(&|m| median(&m.values));
    let round_costs: Vec<_> = (0..cfg.runs).map(|r| costs_of(&|m| m.values[r])).collect();
    let best = |m: &Measurement| {
        let s = Summary::of(&m.values);
        if m.unit.ends_with("/op") {
            s.min
        } else {
            s.max
        }
    };
    let best_costs = costs_of(&best);

    for m in &all {
        let mut record = Record::new(m.name, m.unit, Summary::of(&m.values));
        for (key, value) in &m.params {
            record = record.param(key, value.clone());
        }
        if let Some(limit) = m.limit {
            record.limit = Some(limit.value(&costs));
            for (key, value) in limit.params(&costs) {
                record = record.param(key, value);
            }
            let paired: Vec<f64> = m
                .values
                .iter()
                .zip(&round_costs)
                .map(|(v, c)| v / limit.value(c))
                .collect();
            record = record
                .param("ratio_median_of_rounds", stats::round(median(&paired), 4))
                .param(
                    "ratio_best_runs",
                    stats::round(best(m) / limit.value(&best_costs), 4),
                );
        }
        // The limit once the plain TCP work the primitives leave out is added.
        let baseline = m.baseline.and_then(|b| all.iter().find(|o| o.name == b));
        if let (Some(limit), Some(base)) = (m.limit, baseline) {
            let crypto = 1.0 / limit.value(&costs);
            let with_tcp = 1.0 / (crypto + 1.0 / median(&base.values));
            let ratio = record.summary.median / with_tcp;
            record = record
                .param("limit_with_tcp_baseline", stats::round(with_tcp, 4))
                .param("ratio_with_tcp_baseline", stats::round(ratio, 4));
        }
        // Issue 3's target: no more than two copies of the bytes beside snappy.
        let fig = record.summary.median;
        if ETH.contains(&m.name) {
            let snap = record.limit.unwrap_or(f64::NAN);
            let copy = costs.get(eth::MEMCPY) / 1e6;
            let copies = if m.name == ETH_ROUNDTRIP { 2.0 } else { 1.0 };
            let two = 1.0 / (1.0 / snap + copies / copy);
            let extra = (1.0 / fig - 1.0 / snap) * copy;
            record = record
                .param("limit_snap_plus_copies", stats::round(two, 4))
                .param("copies_allowed", copies)
                .param("ratio_snap_plus_copies", stats::round(fig / two, 4))
                .param("extra_time_in_memcpys", stats::round(extra, 4));
        }
        // snap rows: how many memcpys of the message one encode + decode costs.
        if SNAP.iter().any(|(_, figure)| *figure == m.name) {
            let memcpy = record.limit.unwrap_or(f64::NAN);
            record = record.param("memcpys_worth_of_time", stats::round(memcpy / fig, 4));
        }
        // The 1 KiB two-core rows: what the RLPx crypto allows with each end
        // on a core of its own (snappy and the kernel not counted).
        if m.name.starts_with("frame.p2p.1KiB.2workers") {
            let two_cores = 1.0 / rlpx::frame_side_cost(&costs, KIB);
            record = record
                .param("limit_two_cores_rlpx_crypto", stats::round(two_cores, 4))
                .param(
                    "ratio_two_cores_rlpx_crypto",
                    stats::round(fig / two_cores, 4),
                );
            // The physical bound with snappy: each end on its own core, RLPx
            // on the wire bytes plus its half of snappy; the slower end.
            if let Some(Value::Number(wire)) = m
                .params
                .iter()
                .find(|(k, _)| *k == "wire_body_bytes")
                .map(|(_, v)| v.clone())
            {
                let wire = wire.as_u64().unwrap_or(KIB as u64) as usize;
                let with_snappy = 1.0 / rlpx::p2p_message_cost(&costs, KIB, wire, 2);
                let paired: Vec<f64> = m
                    .values
                    .iter()
                    .zip(&round_costs)
                    .map(|(v, c)| v * rlpx::p2p_message_cost(c, KIB, wire, 2))
                    .collect();
                record = record
                    .param("limit_two_cores_with_snappy", stats::round(with_snappy, 4))
                    .param(
                        "ratio_two_cores_with_snappy",
                        stats::round(fig / with_snappy, 4),
                    )
                    .param(
                        "ratio_two_cores_with_snappy_median_of_rounds",
                        stats::round(median(&paired), 4),
                    );
            }
        }
        // Issue 4's target: sessions/s against one core's inbound handshake limit.
        if m.name.starts_with("session.established") {
            let inbound = Limit::Handshake(&[RECIPIENT_OPS]).value(&costs);
            record = record
                .param("limit_inbound_one_core", stats::round(inbound, 4))
                .param("ratio_inbound_one_core", stats::round(fig / inbound, 4));
        }
        // Issue 12: the routed rate against the direct rate of the same rounds.
        // At 50 in flight the twin is the spread direct row: the same wire
        // pattern (one request per session), so the ratio is the router's own cost.
        let twin = match m.name {
            fetch::ROUTED => Some(fetch::DIRECT),
            fetch::ROUTED_P50 => Some(fetch::DIRECT_P50),
            fetch::ROUTED_P99 => Some(fetch::DIRECT_P99),
            fetch::ROUTED_EQ => Some(fetch::SPREAD_EQ),
            fetch::ROUTED_EQ_P50 => Some(fetch::SPREAD_EQ_P50),
            _ => None,
        };
        if let Some(twin) = twin {
            if let Some(d) = all.iter().find(|o| o.name == twin) {
                let direct = median(&d.values);
                record.limit = Some(direct);
                let paired: Vec<f64> = m.values.iter().zip(&d.values).map(|(r, d)| r / d).collect();
                record = record
                    .param("limit_from", twin)
                    .param("ratio_median_of_rounds", stats::round(median(&paired), 4));
                if m.name == fetch::ROUTED || m.name == fetch::ROUTED_EQ {
                    // Extra time per request that routing costs, against the target.
                    let overhead = direct / fig - 1.0;
                    record = record
                        .param("routing_overhead", stats::round(overhead, 4))
                        .param("routing_overhead_target", FETCH_OVERHEAD_TARGET)
                        .param("meets_target", overhead < FETCH_OVERHEAD_TARGET);
                }
            }
        }
        println!("{}", record.param("run_seconds", secs).to_json());
    }

    // Sessions across two processes: the dialer process runs its own rounds
    // (not interleaved with the primitives); limit: one core's inbound handshakes.
    if sel.wants(SESSIONS_PROCESSES) {
        eprintln!("ethp2p bench: sessions between two processes");
        // Interleaved like the rounds: before each run, with both child
        // processes idle, the asymmetric primitives run once more here, so
        // each run is compared with the machine as it was at that moment.
        let asym: Vec<usize> = (0..all.len())
            .filter(|&i| primitives::ASYMMETRIC.contains(&all[i].name))
            .collect();
        // Per primitive: its value before each run.
        let mut between: Vec<Vec<f64>> = vec![Vec::new(); asym.len()];
        let (rates, failures) =
            session::established_processes(&cfg, children, CONCURRENT_DIALERS, || {
                for (k, &i) in asym.iter().enumerate() {
                    let m = &mut all[i];
                    let v = (m.runner)().map_err(|e| format!("{}: {e}", m.name))?;
                    between[k].push(v);
                }
                Ok(())
            })?;
        let costs_between = |pick: &dyn Fn(&[f64]) -> f64| {
            let mut c = primitives::Costs::default();
            for (k, &i) in asym.iter().enumerate() {
                c.insert(all[i].name, all[i].unit, pick(&between[k]));
            }
            c
        };
        let run_costs: Vec<_> = (0..rates.len()).map(|r| costs_between(&|v| v[r])).collect();
        let median_between = costs_between(&|v| median(v));
        let limit = Limit::Handshake(&[RECIPIENT_OPS]);
        let per_run_limits: Vec<f64> = run_costs.iter().map(|c| limit.value(c)).collect();
        let paired: Vec<f64> = rates
            .iter()
            .zip(&per_run_limits)
            .map(|(r, l)| r / l)
            .collect();
        let mut record = Record::new(SESSIONS_PROCESSES, "sessions/s", Summary::of(&rates));
        // The limit from the primitives measured between these runs (not the
        // rounds' medians, minutes earlier).
        record.limit = Some(limit.value(&median_between));
        for (key, value) in limit.params(&median_between) {
            record = record.param(key, value);
        }
        let both = Limit::Handshake(&[INITIATOR_OPS, RECIPIENT_OPS]).value(&median_between);
        let fig = record.summary.median;
        record = record
            .param(
                "limit_from",
                "the asymmetric primitives measured between the runs",
            )
            .param("ratio_median_of_rounds", stats::round(median(&paired), 4))
            .param("limit_from_rounds", stats::round(limit.value(&costs), 4))
            .param(
                "ratio_against_rounds_limit",
                stats::round(fig / limit.value(&costs), 4),
            )
            .param(
                "limit_is",
                "one core's inbound (recipient) handshake limit: issue 4",
            )
            .param("ratio_both_ends_one_core", stats::round(fig / both, 4))
            .param("dialers", CONCURRENT_DIALERS as u64)
            .param("failed_dials", failures)
            .param(
                "runtime",
                "two processes (listener; 64 dialer tasks), each a tokio current_thread runtime",
            )
            .param("run_seconds", secs);
        println!("{}", record.to_json());
    }

    // Idle sessions: one experiment each, after the interleaved rounds.
    for (rss_name, cpu_name, sessions, hold) in IDLE {
        if !(sel.wants(rss_name) || sel.wants(cpu_name)) {
            continue;
        }
        // --quick: only the 1,000-session experiment, held 2 s.
        if cfg.quick && sessions > 1000 {
            continue;
        }
        let ping_interval = ethp2p_session::SessionsConfig::default()
            .p2p
            .ping_interval
            .as_secs_f64();
        let hold = if cfg.quick {
            2.0
        } else {
            hold.max(ping_interval)
        };
        eprintln!("ethp2p bench: {sessions} idle sessions, held {hold} s");
        let idle = session::idle(children, sessions, std::time::Duration::from_secs_f64(hold))?;
        for (name, unit, value, target) in [
            (
                rss_name,
                "KiB/session",
                idle.kib_per_session,
                IDLE_RSS_TARGET_KIB,
            ),
            (
                cpu_name,
                "% of a core",
                idle.cpu_percent,
                IDLE_CPU_TARGET_PERCENT,
            ),
        ] {
            let mut record = Record::new(name, unit, Summary::of(&[value]));
            record.limit = Some(target);
            record = record.param(
                "limit_is",
                "issue target (lower is better: ratio <= 1 meets it)",
            );
            for (key, v) in &idle.params {
                record = record.param(key, v.clone());
            }
            let record = record
                .param("ping_interval_seconds", ping_interval)
                .param("quick", cfg.quick);
            println!("{}", record.to_json());
        }
    }

    for (rounds_name, packets_name, n, count) in LOOKUPS {
        if !(sel.wants(rounds_name) || sel.wants(packets_name)) || (cfg.quick && n > 1000) {
            continue;
        }
        let count = if cfg.quick { 1 } else { count };
        eprintln!("ethp2p bench: {count} lookups in a simulated network of {n} discv4 nodes");
        let t = Instant::now();
        let runs = discv4::lookups(n, count, n as u64)?;
        let took = t.elapsed().as_secs_f64();
        let bound = discv4::round_bound(n);
        let found: Vec<f64> = runs.iter().map(|r| r.found as f64).collect();
        let totals: Vec<f64> = runs.iter().map(|r| r.rounds_total).collect();
        let packets_total: Vec<f64> = runs.iter().map(|r| r.packets_total).collect();
        let common = |r: Record| {
            r.param("nodes", n as u64)
                .param("lookups", count as u64)
                .param("alpha", discv4::ALPHA as u64)
                .param("closest_found_of_16_median", median(&found))
                .param("closest_found_of_16_min", Summary::of(&found).min)
                .param("rounds_to_lookup_end_median", median(&totals))
                .param("packets_to_lookup_end_median", median(&packets_total))
                .param("method", "sans-IO Discv4 engines, datagrams delivered in order without loss on a frozen clock; each node's table filled (by real Ping/Pong bonds, not counted) with what the Table code keeps of the whole population, just before it answers its first FindNode; one requester, random targets")
                .param("round", "FindNodes sent by the requester / alpha, until all 16 nodes closest to the target had been named to it")
                .param("wall_seconds", stats::round(took, 3))
                .param("quick", cfg.quick)
        };
        let rounds: Vec<f64> = runs.iter().map(|r| r.rounds_to_closest).collect();
        let mut record = Record::new(rounds_name, "rounds", Summary::of(&rounds));
        record.limit = Some(bound);
        let record = common(record).param(
            "limit_is",
            "issue bound 2 x ceil(log2 N / log2 16) rounds of alpha queries (lower is better: ratio <= 1 meets it)",
        );
        println!("{}", record.to_json());
        let packets: Vec<f64> = runs.iter().map(|r| r.packets_to_closest).collect();
        let record = common(Record::new(packets_name, "packets", Summary::of(&packets)))
            .param("packets_are", "every datagram of every node (requester, queried nodes, bonds, ENR requests) until then");
        println!("{}", record.to_json());
    }

    if sel.wants(discv4::TABLE_ENTRY) {
        let tables: usize = if cfg.quick { 100 } else { 1000 };
        eprintln!("ethp2p bench: discv4 table memory, {tables} tables in a child process");
        let out = children
            .command(&[
                "--peer".into(),
                "table-memory".into(),
                "--peer-sessions".into(),
                tables.to_string(),
            ])?
            .output()
            .map_err(|e| format!("table-memory child: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "table-memory child failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("table-memory child output: {e}"))?;
        let get = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let entries = get("entries");
        let per_entry = (get("rss_with_enr") - get("rss_before")) / entries;
        let no_enr = (get("rss_tables") - get("rss_before")) / entries;
        let size = get("size_of_entry");
        let mut record = Record::new(
            discv4::TABLE_ENTRY,
            "bytes/entry",
            Summary::of(&[per_entry]),
        );
        record.limit = Some(size);
        let record = record
            .param("limit_is", "size_of::<table::Entry>() (the struct alone: ratio = bytes held per byte of struct)")
            .param("bytes_per_entry_without_enr", stats::round(no_enr, 4))
            .param("enr_bytes_per_entry", stats::round(per_entry - no_enr, 4))
            .param(
                "bytes_per_entry_or_replacement_without_enr",
                stats::round((get("rss_tables") - get("rss_before")) / (entries + get("replacements")), 4),
            )
            .param("entries", entries)
            .param("tables", tables as u64)
            .param("replacements", get("replacements"))
            .param("method", "RSS delta (/proc/self/statm) in a fresh child process: tables filled from 2,000 random ids each (entries + replacement lists, as Table::add keeps them), then each entry given a clone of a signed ENR (ip, tcp, udp, eth)")
            .param("quick", cfg.quick);
        println!("{}", record.to_json());
    }

    eprintln!(
        "ethp2p bench: done in {:.1} s ({} rounds of {} s per measurement)",
        started.elapsed().as_secs_f64(),
        cfg.runs,
        cfg.seconds
    );
    Ok(())
}

/// The transaction rows: announcements (against the targets) and decoding
/// (against keccak + a header walk of the same bytes).
fn push_transactions(
    cfg: &Config,
    sel: &Selection,
    all: &mut Vec<Measurement>,
) -> Result<(), String> {
    use transactions as tx;
    if sel.wants(tx::ANNOUNCE) || sel.wants(tx::BYTES_PER_HASH) {
        let tx::Announcements {
            rate,
            bytes,
            seen_bytes_per_hash,
        } = tx::announcements()?;
        let workload = format!(
            "{} peers each announce {} distinct unknown hashes (eth/68, type 2, 200 bytes); \
             measure_announcements({}, {}, false), one call per run",
            tx::ANNOUNCE_PEERS,
            tx::ANNOUNCE_HASHES,
            tx::ANNOUNCE_PEERS,
            tx::ANNOUNCE_HASHES
        );
        // Both rows come from the same calls: the bytes row reads what the
        // rate row's call left, so it must stay right behind it.
        all.push(
            Measurement::new(tx::ANNOUNCE, "hashes/s", rate)
                .limit(Limit::Fixed(tx::ANNOUNCE_TARGET))
                .param("limit_is", "target: at least 100,000 announced hashes/s on one core (ratio >= 1 meets it)")
                .param("workload", workload.clone())
                .param("timed", "check_announcement + TxFetcher::on_checked_announcement + SeenByPeers::mark per message (wall clock inside measure_announcements)"),
        );
        all.push(
            Measurement::new(tx::BYTES_PER_HASH, "bytes/hash", bytes)
                .limit(Limit::Fixed(tx::BYTES_PER_HASH_TARGET))
                .param("limit_is", "target: at most 200 bytes per tracked hash (lower is better: ratio <= 1 meets it)")
                .param("figure", "TxFetcher::memory_bytes (table capacity) / hashes tracked")
                .param("seen_cache_bytes_per_hash", stats::round(seen_bytes_per_hash, 4))
                .param("tracked_hashes", (tx::ANNOUNCE_PEERS * tx::ANNOUNCE_HASHES) as u64)
                .param("workload", workload),
        );
    }
    let wants_decode = TX_DECODES
        .iter()
        .any(|(_, (a, b, c), _)| [a, b, c].iter().any(|n| sel.wants(n)));
    if wants_decode {
        tx::check()?;
    }
    for (fixture, names, what) in TX_DECODES {
        if ![names.0, names.1, names.2].iter().any(|n| sel.wants(n)) {
            continue;
        }
        let f = fixture();
        let limit: &'static [&'static str] = if names.2 == tx::DECODE_1559 {
            &TX_1559_LIMIT
        } else {
            &TX_LEGACY_LIMIT
        };
        for (name, unit, runner) in tx::decode_measurements(cfg, &f, names) {
            let m = Measurement::new(name, unit, runner)
                .param("transaction", what)
                .param("item_bytes", f.item.len() as u64)
                .param("eip2718_bytes", f.raw.len() as u64);
            all.push(if name == names.2 {
                m.limit(Limit::PerOp(limit)).param(
                    "timed",
                    "decode_pooled (bounds, envelope, every field) + hash() of the network item",
                )
            } else {
                m
            });
        }
    }
    Ok(())
}

/// The snap rows: encode + decode against memcpy of the same bytes.
fn push_snap(cfg: &Config, sel: &Selection, all: &mut Vec<Measurement>) -> Result<(), String> {
    if !SNAP.iter().any(|(p, f)| sel.wants(p) || sel.wants(f)) {
        return Ok(());
    }
    let range = snap_messages::account_range(MIB);
    let request = snap_messages::get_account_range();
    snap_messages::check(&[&range, &request])?;
    for ((memcpy, figure), message, what) in [
        (
            SNAP[0],
            &range,
            "AccountRange, snap/1: consecutive accounts (one in ten a contract) + 16 proof nodes",
        ),
        (
            SNAP[1],
            &request,
            "GetAccountRange, snap/1, response_bytes 512 KiB",
        ),
    ] {
        if !(sel.wants(memcpy) || sel.wants(figure)) {
            continue;
        }
        let len = message.length() as u64;
        for (name, runner) in snap_messages::measurements(cfg, message, (memcpy, figure)) {
            let m = Measurement::new(name, "MB/s", runner).param("message_bytes", len);
            all.push(if name == figure {
                m.limit(Limit::Rate(memcpy))
                    .param("message", what)
                    .param(
                        "timed",
                        "SnapMessage::encoded (fresh buffer) + SnapMessage::decode_bytes (slices of it)",
                    )
            } else {
                m
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_name_and_prefix() {
        let sel = Selection(vec!["frame.tcp".into(), "primitive.ecdh".into()]);
        assert!(sel.wants("frame.tcp.1KiB"));
        assert!(sel.wants("primitive.ecdh"));
        assert!(!sel.wants("frame.memory.1KiB"));
        assert!(!sel.wants("frame.tc"));
        assert!(!Selection::matches("frame.tc", "frame.tcp.1KiB"));
        assert!(Selection(vec![]).wants("anything"));
    }

    #[test]
    fn every_name_is_unique() {
        let mut names = all_names();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
