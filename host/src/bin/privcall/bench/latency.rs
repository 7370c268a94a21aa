//! Timing one decision at a time: a timed call and the percentiles of a
//! set of samples.

use std::time::Instant;

use serde::Serialize;

/// Latency percentiles of one path, in nanoseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Worst seen.
    pub max_ns: u64,
}

impl Latency {
    /// The percentiles of `samples` (at least one).
    pub fn of(mut samples: Vec<u64>) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Latency {
            p50_ns: at(0.5),
            p99_ns: at(0.99),
            max_ns: *samples.last().expect("at least one sample"),
        }
    }

    /// This path's median over `native`'s: how many times the native cost.
    pub fn times(&self, native: &Latency) -> f64 {
        self.p50_ns as f64 / native.p50_ns.max(1) as f64
    }
}

/// Runs `f`, pushes its time (less the clock's own cost), returns its value.
#[inline(always)]
pub fn time<T>(out: &mut Vec<u64>, overhead: u64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let value = f();
    out.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
    value
}

/// Milliseconds since `since`.
pub fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
