//! `privcall bench`: decision latency through the wasm guest and natively,
//! bytes per number and swap time for a synthetic list, on the user's own
//! hardware (like `opa bench`).

use serde::Serialize;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Random North American numbers in the synthetic registry.
    pub numbers: usize,
    /// Timed decisions per path.
    pub samples: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            numbers: 1_000_000,
            samples: 200_000,
        }
    }
}

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

/// The result (PRODUCT.md names the JSON fields).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Numbers in the list.
    pub numbers: usize,
    /// Through the engine into the wasm guest.
    pub wasm: Latency,
    /// The same decision code compiled natively.
    pub native: Latency,
    /// Guest set bytes per registered number.
    pub bytes_per_number: f64,
    /// Verify + load + swap of the list, in milliseconds.
    pub swap_ms: f64,
}

/// Runs the benchmark.
pub fn run(_options: &Options) -> anyhow::Result<Report> {
    anyhow::bail!("privcall bench is not implemented yet")
}

impl Report {
    /// A readable table.
    pub fn table(&self) -> String {
        String::new()
    }
}
