//! `ethp2p bench`: the RLPx benchmark.
//!
//! Measures the cryptographic primitives on one core, then the RLPx handshake
//! and frame paths, and sets every figure beside the limit those primitives,
//! measured in the same process, allow. Prints one JSON object per line.

mod primitives;
mod rlpx;
mod stats;

use clap::Args;
use ethp2p_rlpx::FrameCodec;
use rlpx::{Exchange, Limit, INITIATOR_OPS, RECIPIENT_OPS};
use serde_json::Value;
use stats::{median, Config, Record, Runner, Summary};
use std::{process::ExitCode, time::Instant};

/// Arguments of `ethp2p bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Short runs: a smoke test that finishes in a few seconds.
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
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const CONCURRENT_DIALERS: usize = 64;

const HS_RECIPIENT: &str = "handshake.recipient";
const HS_INITIATOR: &str = "handshake.initiator";
const HS_TCP_SEQUENTIAL: &str = "handshake.tcp.sequential";
const HS_TCP_CONCURRENT: &str = "handshake.tcp.concurrent64";
const HANDSHAKES: [&str; 4] = [
    HS_RECIPIENT,
    HS_INITIATOR,
    HS_TCP_SEQUENTIAL,
    HS_TCP_CONCURRENT,
];

/// The plain-TCP baselines of the loopback handshakes: handshake, baseline, dialers.
const TCP_BASELINES: [(&str, &str, usize); 2] = [
    (HS_TCP_SEQUENTIAL, "baseline.tcp_exchange.sequential", 1),
    (
        HS_TCP_CONCURRENT,
        "baseline.tcp_exchange.concurrent64",
        CONCURRENT_DIALERS,
    ),
];

/// Frame measurements: name, transport, payload size.
const FRAMES: [(&str, &str, usize); 4] = [
    ("frame.memory.1KiB", "memory", KIB),
    ("frame.memory.1MiB", "memory", MIB),
    ("frame.tcp.1KiB", "tcp", KIB),
    ("frame.tcp.1MiB", "tcp", MIB),
];

fn all_names() -> Vec<&'static str> {
    primitives::ASYMMETRIC
        .iter()
        .chain(&primitives::SYMMETRIC)
        .chain(&HANDSHAKES)
        .chain(TCP_BASELINES.iter().map(|(_, name, _)| name))
        .chain(FRAMES.iter().map(|(name, _, _)| name))
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
pub struct Measurement {
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

/// Runs the benchmark; every error is one line on stderr.
pub fn run(args: BenchArgs) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ethp2p bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: BenchArgs) -> Result<(), String> {
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
    let need_asym = HANDSHAKES.iter().any(|n| sel.wants(n));
    let need_sym = FRAMES.iter().any(|(n, _, _)| sel.wants(n));
    let wanted = |name: &str| {
        sel.wants(name)
            || (need_asym && primitives::ASYMMETRIC.contains(&name))
            || (need_sym && primitives::SYMMETRIC.contains(&name))
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
    for (handshake, baseline, dialers) in TCP_BASELINES {
        if sel.wants(handshake) {
            all.push(
                Measurement::new(
                    handshake,
                    "handshakes/s",
                    rlpx::tcp(&cfg, dialers, Exchange::Rlpx)?,
                )
                .limit(Limit::Handshake(&[INITIATOR_OPS, RECIPIENT_OPS]))
                .baseline(baseline)
                .param("dialers", dialers as u64)
                .param(
                    "runtime",
                    "tokio current_thread, both ends, fresh TCP connection each",
                ),
            );
        }
        if sel.wants(handshake) || sel.wants(baseline) {
            all.push(
                Measurement::new(
                    baseline,
                    "connections/s",
                    rlpx::tcp(&cfg, dialers, Exchange::Plain)?,
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

    // Interleave the runs: every round runs each measurement once, so slow
    // and fast stretches of a shared machine touch the primitives and the
    // figures compared with them alike.
    // Within a round, each group of primitives runs just before the figures
    // whose limit it sets.
    let group = |m: &Measurement| {
        if primitives::ASYMMETRIC.contains(&m.name) {
            0
        } else if HANDSHAKES.contains(&m.name) || m.name.starts_with("baseline.") {
            1
        } else if primitives::SYMMETRIC.contains(&m.name) {
            2
        } else {
            3
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
        println!("{}", record.param("run_seconds", secs).to_json());
    }

    eprintln!(
        "ethp2p bench: done in {:.1} s ({} rounds of {} s per measurement)",
        started.elapsed().as_secs_f64(),
        cfg.runs,
        cfg.seconds
    );
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
