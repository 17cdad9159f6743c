//! The three output formats of `ethp2p probe`.

use super::checks::{Record, Verdict};
use ethp2p_rlpx::NodeRecord;
use serde_json::json;
use std::time::Duration;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// Aligned human-readable lines.
    Text,
    /// One JSON object per check, then a summary object.
    Json,
    /// TAP version 13.
    Tap,
}

/// One finished check.
pub(super) struct CheckReport<'a> {
    /// 1-based position in this run.
    pub number: usize,
    /// The check's name.
    pub name: &'a str,
    /// Its outcome.
    pub verdict: Verdict,
    /// Why.
    pub why: String,
    /// What was sent, expected and received.
    pub record: Record,
    /// How long it took.
    pub elapsed: Duration,
}

/// Prints checks as they finish, and the summary.
pub(super) struct Printer {
    format: Format,
    counts: [usize; 3],
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn label(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "SKIP",
    }
}

/// A YAML double-quoted scalar (TAP diagnostics).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Printer {
    /// Prints the header for a run of `total` checks against `target`.
    pub(super) fn new(format: Format, target: NodeRecord, seed: u64, total: usize) -> Self {
        match format {
            Format::Text => println!("probing {target} ({total} checks, seed {seed})"),
            Format::Json => {}
            Format::Tap => {
                println!("TAP version 13");
                println!("1..{total}");
                println!("# target {target}, seed {seed}");
            }
        }
        Self {
            format,
            counts: [0; 3],
        }
    }

    /// Prints one check.
    pub(super) fn check(&mut self, c: &CheckReport<'_>) {
        self.counts[c.verdict as usize] += 1;
        let r = &c.record;
        match self.format {
            Format::Text => {
                println!(
                    "{} {:<36} {:>7.1} ms  {}",
                    label(c.verdict),
                    c.name,
                    ms(c.elapsed),
                    c.why
                );
                for (k, v) in [
                    ("sent", &r.sent),
                    ("expected", &r.expected),
                    ("got", &r.got),
                ] {
                    if !v.is_empty() {
                        println!("     {k:<9} {v}");
                    }
                }
            }
            Format::Json => println!(
                "{}",
                json!({
                    "check": c.name,
                    "result": c.verdict,
                    "why": c.why,
                    "sent": r.sent,
                    "expected": r.expected,
                    "got": r.got,
                    "elapsedMs": ms(c.elapsed),
                })
            ),
            Format::Tap => {
                let status = if c.verdict == Verdict::Fail {
                    "not ok"
                } else {
                    "ok"
                };
                let directive = if c.verdict == Verdict::Skip {
                    format!(" # SKIP {}", c.why)
                } else {
                    String::new()
                };
                println!("{status} {} - {}{directive}", c.number, c.name);
                println!("  ---");
                println!("  result: {}", label(c.verdict));
                println!("  why: {}", yaml(&c.why));
                println!("  sent: {}", yaml(&r.sent));
                println!("  expected: {}", yaml(&r.expected));
                println!("  got: {}", yaml(&r.got));
                println!("  duration_ms: {}", ms(c.elapsed));
                println!("  ...");
            }
        }
    }

    /// Prints the totals.
    pub(super) fn summary(&self, elapsed: Duration) {
        let [pass, fail, skip] = self.counts;
        match self.format {
            Format::Text => println!(
                "{pass} passed, {fail} failed, {skip} skipped in {:.1} s",
                elapsed.as_secs_f64()
            ),
            Format::Json => println!(
                "{}",
                json!({ "summary": { "pass": pass, "fail": fail, "skip": skip, "elapsedMs": ms(elapsed) } })
            ),
            Format::Tap => println!(
                "# {pass} passed, {fail} failed, {skip} skipped in {:.1} s",
                elapsed.as_secs_f64()
            ),
        }
    }
}
