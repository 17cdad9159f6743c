//! Timing loops, run summaries and the JSON records the benchmark prints.

use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// How long and how often each measurement runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Config {
    /// Runs per measurement; the median run is reported.
    pub runs: usize,
    /// Target duration of one run.
    pub seconds: f64,
    /// Smoke-test mode (smaller pools of inputs).
    pub quick: bool,
}

impl Config {
    /// One run's duration.
    pub(super) fn run_time(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }

    /// A timed batch should last about this long: long enough to make the
    /// clock reads negligible, short enough to stop close to `seconds`.
    fn batch_time(&self) -> Duration {
        Duration::from_secs_f64((self.seconds / 20.0).clamp(0.000_2, 0.002))
    }
}

/// One run of a measurement: returns its figure in the measurement's unit.
pub(super) type Runner = Box<dyn FnMut() -> Result<f64, String>>;

/// Median, minimum and maximum of the runs of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Summary {
    /// Summarizes per-run values (at least one).
    pub(super) fn of(values: &[f64]) -> Self {
        assert!(!values.is_empty(), "a measurement needs at least one run");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Summary {
            median: median_of_sorted(&v),
            min: v[0],
            max: v[v.len() - 1],
            runs: v.len(),
        }
    }
}

fn median_of_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of some values (at least one).
pub(super) fn median(values: &[f64]) -> f64 {
    Summary::of(values).median
}

/// Finds a batch size whose execution takes about [`Config::batch_time`];
/// doubles as the warm-up.
pub(super) fn calibrate(cfg: &Config, op: &mut impl FnMut()) -> u64 {
    let target = cfg.batch_time();
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            op();
        }
        let took = start.elapsed();
        if took >= target || batch >= 1 << 30 {
            return batch;
        }
        // Grow towards the target without overshooting it by much.
        let factor = if took.is_zero() {
            16.0
        } else {
            (target.as_secs_f64() / took.as_secs_f64()).clamp(1.5, 16.0)
        };
        batch = ((batch as f64) * factor).ceil() as u64;
    }
}

/// Calls `op` in batches of `batch` for at least `run_time`; seconds per call.
pub(super) fn time_batches(run_time: Duration, batch: u64, op: &mut impl FnMut()) -> f64 {
    let mut calls = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..batch {
            op();
        }
        calls += batch;
        let elapsed = start.elapsed();
        if elapsed >= run_time {
            return elapsed.as_secs_f64() / calls as f64;
        }
    }
}

/// A runner timing `op` (after calibrating, which warms it up) and turning
/// its seconds per call into the reported figure.
pub(super) fn timed_runner(
    cfg: &Config,
    mut op: impl FnMut() + 'static,
    figure: impl Fn(f64) -> f64 + 'static,
) -> Runner {
    let batch = calibrate(cfg, &mut op);
    let run_time = cfg.run_time();
    Box::new(move || Ok(figure(time_batches(run_time, batch, &mut op))))
}

/// One printed measurement.
pub(super) struct Record {
    pub name: String,
    pub unit: &'static str,
    pub summary: Summary,
    /// What the primitives measured in the same run allow, in `unit`.
    pub limit: Option<f64>,
    pub params: Map<String, Value>,
}

impl Record {
    pub(super) fn new(name: impl Into<String>, unit: &'static str, summary: Summary) -> Self {
        Record {
            name: name.into(),
            unit,
            summary,
            limit: None,
            params: Map::new(),
        }
    }

    pub(super) fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// The record as one line of JSON.
    pub(super) fn to_json(&self) -> String {
        let s = &self.summary;
        let ratio = self.limit.map(|l| round(s.median / l, 4));
        json!({
            "name": self.name,
            "unit": self.unit,
            "median": round(s.median, 4),
            "min": round(s.min, 4),
            "max": round(s.max, 4),
            "runs": s.runs,
            "limit": self.limit.map(|l| round(l, 4)),
            "ratio": ratio,
            "params": Value::Object(self.params.clone()),
        })
        .to_string()
    }
}

/// Rounds to `digits` significant digits so the JSON stays readable.
pub(super) fn round(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - magnitude);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_runs() {
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn rounding_keeps_significant_digits() {
        assert_eq!(round(123_456.0, 4), 123_500.0);
        assert_eq!(round(0.012_345_6, 3), 0.0123);
        assert_eq!(round(0.0, 3), 0.0);
    }

    #[test]
    fn timed_runner_reports_a_positive_figure() {
        let cfg = Config {
            runs: 1,
            seconds: 0.01,
            quick: true,
        };
        let mut x = 0u64;
        let mut run = timed_runner(
            &cfg,
            move || {
                x = std::hint::black_box(x.wrapping_add(1));
            },
            |s| 1.0 / s,
        );
        assert!(run().unwrap() > 0.0);
    }
}
