//! Timing loops, run summaries and the JSON records the benchmark prints.

use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// How long and how often each measurement runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Runs per measurement; the median run is reported.
    pub runs: usize,
    /// Target duration of one run.
    pub seconds: f64,
    /// Smoke-test mode (fewer pooled inputs, shorter warm-up).
    pub quick: bool,
}

impl Config {
    /// One run's duration.
    pub fn run_time(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }

    /// A timed batch should last about this long: long enough to make the
    /// clock reads negligible, short enough to stop close to `seconds`.
    fn batch_time(&self) -> Duration {
        Duration::from_secs_f64((self.seconds / 20.0).clamp(0.000_2, 0.002))
    }
}

/// Median, minimum and maximum of the runs of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Summary {
    /// Summarizes per-run values (at least one).
    pub fn of(values: &[f64]) -> Self {
        assert!(!values.is_empty(), "a measurement needs at least one run");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        }
    }

    /// The same runs expressed in another unit by a monotonic map (min and max
    /// swap when the map is decreasing, e.g. cost per op to ops per second).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        let (a, b) = (f(self.min), f(self.max));
        Summary {
            median: f(self.median),
            min: a.min(b),
            max: a.max(b),
            runs: self.runs,
        }
    }
}

/// Runs `runs` times and summarizes what each run returned.
pub fn repeat(cfg: &Config, mut run: impl FnMut() -> f64) -> Summary {
    let values: Vec<f64> = (0..cfg.runs.max(1)).map(|_| run()).collect();
    Summary::of(&values)
}

/// Finds a batch size whose execution takes about [`Config::batch_time`];
/// doubles as the warm-up.
fn calibrate(cfg: &Config, op: &mut impl FnMut()) -> u64 {
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

/// Measures the cost of `op` in seconds per call: one warm-up and calibration,
/// then `cfg.runs` runs of about `cfg.seconds` each.
pub fn seconds_per_op(cfg: &Config, mut op: impl FnMut()) -> Summary {
    let batch = calibrate(cfg, &mut op);
    let run_time = cfg.run_time();
    repeat(cfg, || {
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
    })
}

/// Measures a throughput in MB/s (10^6 bytes per second) of an `op` that
/// processes `bytes` bytes per call.
pub fn megabytes_per_second(cfg: &Config, bytes: usize, op: impl FnMut()) -> Summary {
    seconds_per_op(cfg, op).map(|s| bytes as f64 / s / 1e6)
}

/// One printed measurement.
pub struct Record {
    pub name: String,
    pub unit: &'static str,
    pub summary: Summary,
    /// What the primitives measured in the same run allow, in `unit`.
    pub limit: Option<f64>,
    pub params: Map<String, Value>,
}

impl Record {
    pub fn new(name: impl Into<String>, unit: &'static str, summary: Summary) -> Self {
        Record {
            name: name.into(),
            unit,
            summary,
            limit: None,
            params: Map::new(),
        }
    }

    pub fn limit(mut self, limit: f64) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
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
pub fn round(x: f64, digits: i32) -> f64 {
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
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }

    #[test]
    fn decreasing_map_swaps_min_and_max() {
        let s = Summary::of(&[1.0, 2.0, 4.0]).map(|x| 1.0 / x);
        assert_eq!((s.median, s.min, s.max), (0.5, 0.25, 1.0));
    }

    #[test]
    fn rounding_keeps_significant_digits() {
        assert_eq!(round(123_456.0, 4), 123_500.0);
        assert_eq!(round(0.012_345_6, 3), 0.0123);
        assert_eq!(round(0.0, 3), 0.0);
    }
}
