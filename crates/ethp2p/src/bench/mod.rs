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
use stats::{Config, Record};
use std::process::ExitCode;

/// Arguments of `ethp2p bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Short runs: a smoke test that finishes in a few seconds.
    #[arg(long)]
    pub quick: bool,

    /// Run only these measurements: a full name, or a prefix ending at a dot
    /// (`handshake`, `frame.tcp`). The primitives a limit needs run too.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub only: Vec<String>,

    /// Runs per measurement; the median is reported [default: 5, quick: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: Option<u32>,

    /// Seconds per run [default: 1, quick: 0.05].
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
const HANDSHAKES: [&str; 4] = [HS_RECIPIENT, HS_INITIATOR, HS_TCP_SEQUENTIAL, HS_TCP_CONCURRENT];

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
        runs: args.runs.map_or(if args.quick { 3 } else { 5 }, |n| n as usize),
        seconds: args.seconds.unwrap_or(if args.quick { 0.05 } else { 1.0 }),
        quick: args.quick,
    };
    if !(cfg.seconds.is_finite() && cfg.seconds > 0.0 && cfg.seconds <= 3600.0) {
        return Err(format!("--seconds must be in (0, 3600], got {}", cfg.seconds));
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
    let started = std::time::Instant::now();
    let mut emit = |r: Record| println!("{}", r.to_json());

    // Primitives first: the selected ones, plus those a selected limit needs.
    let need_asym = HANDSHAKES.iter().any(|n| sel.wants(n));
    let need_sym = FRAMES.iter().any(|(n, _, _)| sel.wants(n));
    let wanted = |name: &str| {
        sel.wants(name)
            || (need_asym && primitives::ASYMMETRIC.contains(&name))
            || (need_sym && primitives::SYMMETRIC.contains(&name))
    };
    let costs = primitives::measure(&cfg, &wanted, &mut emit);

    // Handshakes.
    let recipient_cost = need_asym.then(|| rlpx::RECIPIENT_OPS.cost(&costs));
    let initiator_cost = need_asym.then(|| rlpx::INITIATOR_OPS.cost(&costs));
    let handshake_record = |name: &str, s, per_core_cost: f64, ops: String| {
        Record::new(name, "handshakes/s", s)
            .limit(1.0 / per_core_cost)
            .param("limit_us_per_handshake", stats::round(per_core_cost * 1e6, 4))
            .param("limit_ops", ops)
            .param("run_seconds", cfg.seconds)
    };
    if sel.wants(HS_RECIPIENT) {
        let s = rlpx::recipient(&cfg)?;
        let cost = recipient_cost.unwrap_or_default();
        emit(handshake_record(HS_RECIPIENT, s, cost, rlpx::RECIPIENT_OPS.describe())
            .param("timed", "Recipient::new + read_auth on pre-built EIP-8 auths"));
    }
    if sel.wants(HS_INITIATOR) {
        let s = rlpx::initiator(&cfg)?;
        let cost = initiator_cost.unwrap_or_default();
        emit(handshake_record(HS_INITIATOR, s, cost, rlpx::INITIATOR_OPS.describe())
            .param("timed", "Initiator::new + read_ack; acks built off the clock"));
    }
    let both = format!(
        "initiator ({}) + recipient ({})",
        rlpx::INITIATOR_OPS.describe(),
        rlpx::RECIPIENT_OPS.describe()
    );
    for (name, dialers) in [(HS_TCP_SEQUENTIAL, 1), (HS_TCP_CONCURRENT, CONCURRENT_DIALERS)] {
        if !sel.wants(name) {
            continue;
        }
        let (s, server_errors) = rlpx::tcp(&cfg, dialers)?;
        let cost = initiator_cost.unwrap_or_default() + recipient_cost.unwrap_or_default();
        emit(handshake_record(name, s, cost, both.clone())
            .param("dialers", dialers as u64)
            .param("runtime", "tokio current_thread, both ends")
            .param("server_errors", server_errors));
    }

    // Frames.
    for (name, transport, len) in FRAMES {
        if !sel.wants(name) {
            continue;
        }
        let s = match transport {
            "memory" => rlpx::frames_in_memory(&cfg, len)?,
            _ => rlpx::frames_over_tcp(&cfg, len)?,
        };
        let side = rlpx::frame_side_cost(&costs, len);
        emit(Record::new(name, "MB/s", s)
            .limit(rlpx::frame_limit(&costs, len))
            .param("payload_bytes", len as u64)
            .param("wire_bytes_per_frame", FrameCodec::encoded_len(len) as u64)
            .param("transport", transport)
            .param("limit_ns_per_frame_per_side", stats::round(side * 1e9, 4))
            .param("run_seconds", cfg.seconds));
    }

    eprintln!(
        "ethp2p bench: done in {:.1} s ({} runs of {} s each)",
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
