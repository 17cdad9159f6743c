//! `ethp2p probe <enode>`: a conformance probe that needs no chain.
//!
//! It dials the node, mirrors the remote's own Status back (which passes
//! geth's and reth's Status checks whatever chain the remote follows), and
//! runs the chain-less checks of geth's `ethtest` suite plus the behaviour
//! geth shows on bad input (reference `network-layer.md` §5). Each check runs
//! on its own connection(s), records what it sent, what is expected and
//! what came back, and ends PASS, FAIL or SKIP with the reason.
//!
//! Output: text (default), JSON lines (`--json`), or TAP version 13
//! (`--tap`, one test point per check, as hive reads it). Exit code 1 when
//! any check fails.

mod checks;
mod conn;
mod discv4;
mod report;

pub(crate) use checks::CHECKS;

use crate::cli::ProbeArgs;
use checks::{Ctx, Record, Verdict};
use rand::{rngs::StdRng, SeedableRng};
use report::{CheckReport, Format};
use std::{process::ExitCode, time::Duration};
use tokio::time::Instant;

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: ProbeArgs) -> ExitCode {
    let rt = match crate::runtime_or_exit(false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let format = if args.json {
        Format::Json
    } else if args.tap {
        Format::Tap
    } else {
        Format::Text
    };
    if !args.discv4 {
        for (flag, given) in [
            ("--udp-port", args.udp_port.is_some()),
            ("--discv4-wait", args.discv4_wait.is_some()),
        ] {
            if given {
                eprintln!("error: {flag} applies to the discv4 checks: add --discv4");
                return ExitCode::from(2);
            }
        }
    }
    // `--discv4` adds the discv4 checks after the others.
    let discv4_checks: &[&'static str] = if args.discv4 { discv4::CHECKS } else { &[] };
    let selected: Vec<&'static str> = CHECKS
        .iter()
        .chain(discv4_checks)
        .copied()
        .filter(|name| args.run.as_ref().is_none_or(|re| re.is_match(name)))
        .collect();
    if selected.is_empty() {
        let all: Vec<&str> = CHECKS.iter().chain(discv4_checks).copied().collect();
        eprintln!("error: --run matches no check (checks: {})", all.join(", "));
        return ExitCode::from(2);
    }
    let discv4_opts = discv4::Opts::new(
        &args.enode,
        args.udp_port,
        Duration::from_secs_f64(args.discv4_wait.unwrap_or(discv4::DEFAULT_WAIT)),
    );
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut ctx = Ctx {
        target: args.enode,
        timeout: Duration::from_secs_f64(args.timeout),
        rng: StdRng::seed_from_u64(seed),
    };
    let mut out = report::Printer::new(format, args.enode, seed, selected.len());
    let start = Instant::now();
    let mut failed = 0;
    rt.block_on(async {
        for (i, name) in selected.iter().enumerate() {
            let t = Instant::now();
            let mut record = Record::default();
            let (verdict, why) = if discv4_checks.contains(name) {
                discv4::run(name, &mut ctx, &discv4_opts, &mut record).await
            } else {
                checks::run(name, &mut ctx, &mut record).await
            };
            if verdict == Verdict::Fail {
                failed += 1;
            }
            out.check(&CheckReport {
                number: i + 1,
                name,
                verdict,
                why,
                record,
                elapsed: t.elapsed(),
            });
        }
    });
    out.summary(start.elapsed());
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
