//! `privcall bench`: decision latency through the wasm guest and natively,
//! bytes per number and swap time for a synthetic list, on the user's own
//! hardware (like `opa bench`).
//!
//! The synthetic list is deterministic: `numbers` distinct random North
//! American numbers (area code and exchange in 200–999) from a fixed seed,
//! all registered as attorneys at every facility, plus `numbers / 50`
//! prearranged windows. It is compiled with `privcall::core::list::build`,
//! sealed with a throwaway Ed25519 key derived from a fixed seed, and
//! applied to a fresh [`Engine`](privcall::Engine) exactly as a pushed
//! update would be.
//!
//! # How decisions are timed
//!
//! Every decision is timed on its own with [`Instant`](std::time::Instant),
//! so p99 and max show the real tail (a batch average would hide it). The
//! median cost of two clock reads with nothing between them is subtracted
//! from every sample, so p50 is the decision's own cost. The paths are
//! timed in interleaved rounds — a block of native decisions, then the
//! same calls through the guest, then through the engine — so noise from
//! other processes on the machine hits all of them alike and their ratio
//! stays meaningful even when absolute figures move.
//!
//! The calls are the fixtures' fixed mix of registered numbers, numbers not
//! on the list and prearranged windows, each dialed as a string in one of
//! several everyday formats (`(573) 555-0142`, `9 1 573 555 0142`,
//! `+1-573-555-0142`, ...), precomputed before timing starts.
//!
//! The parts: `latency` (timing one decision), `resident` (memory),
//! `swap` (what putting a list in place costs), `workloads` (cold, warm,
//! during swaps) and `report` (the JSON and the table).

mod latency;
mod report;
mod resident;
mod swap;
mod workloads;

use anyhow::Result;
use privcall::core::decide::Decider;
use privcall::core::list::CompiledList;
use privcall::fixtures::{
    pages, sample_calls, sign_list, synthetic_list, throwaway_trust, timer_overhead,
};
use privcall::guest::GuestRuntime;

pub use report::Report;

use workloads::{during_swaps, Paths, SWAPS};

/// What to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Random North American numbers in the synthetic registry.
    pub numbers: usize,
    /// Timed decisions per path.
    pub samples: usize,
    /// Whether the guest's memory asks for huge pages (the default) and
    /// the native baseline's heap is moved onto them too; `false`
    /// measures both on ordinary pages.
    pub huge_pages: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            numbers: 1_000_000,
            samples: 200_000,
            huge_pages: true,
        }
    }
}

/// Calls in the warm working set: a busy PBX's recent numbers.
const WARM_CALLS: usize = 1000;

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<Report> {
    anyhow::ensure!(options.numbers >= 1, "--numbers must be at least 1");
    let samples = options.samples.max(100);
    let synthetic = synthetic_list(options.numbers, options.numbers / 50, 42);
    // Two bundles: the first goes live, the second is swapped in over it.
    let first = sign_list(&synthetic.list, 1);
    let bytes = sign_list(&synthetic.list, 2);
    let trust = throwaway_trust();

    let (decider, heap_collapsed_bytes) = native_baseline(&synthetic.list, options.huge_pages);
    let runtime = GuestRuntime::builtin()?.with_huge_pages(options.huge_pages);
    let mut loaded = swap::load_one_guest(&runtime, &bytes, &trust)?;
    let (engine, swap) = swap::swap_over_live(runtime, trust, &first, &bytes)?;
    drop(first);

    let calls = sample_calls(&synthetic, samples, 7);
    let overhead = timer_overhead();
    let mut paths = Paths {
        native: &decider,
        guest: &mut loaded.guest,
        engine: &engine,
        overhead,
    };
    paths.check_agreement(&calls)?;
    let guest_huge_page_bytes = paths.guest.memory_backing().map(|b| b.huge_bytes);
    let cold = paths.cold(&calls);
    let warm_calls = &calls[..calls.len().min(WARM_CALLS)];
    let warm = paths.warm(warm_calls, samples);
    let during = during_swaps(&engine, &decider, warm_calls, &synthetic.list, overhead)?;

    Ok(Report {
        numbers: options.numbers,
        windows: synthetic.windows.len(),
        samples,
        wasm_native_ratio: cold.wasm.times(&cold.native),
        guest_native_ratio: cold.guest.times(&cold.native),
        wasm: cold.wasm,
        guest: cold.guest,
        native: cold.native,
        cold_by_kind: cold.by_kind,
        warm,
        during_swaps: during.wasm,
        native_during_swaps: during.native,
        swaps_under_load: SWAPS as usize,
        failed_during_swaps: during.failed,
        failures_during_swaps: during.failures,
        bytes_per_number: swap.set_bytes as f64 / options.numbers as f64,
        swap_ms: swap.swap_ms,
        live_ms: swap.live_ms,
        verify_ms: loaded.verify_ms,
        load_ms: loaded.load_ms,
        bundle_bytes: bytes.len(),
        list_resident_bytes: swap.list_resident_bytes,
        swap_peak_resident_bytes: swap.swap_peak_resident_bytes,
        swap_peak_ratio: swap
            .list_resident_bytes
            .zip(swap.swap_peak_resident_bytes)
            .map(|(one, peak)| peak as f64 / one as f64),
        timer_overhead_ns: overhead,
        huge_pages: options.huge_pages,
        guest_huge_page_bytes,
        heap_collapsed_bytes,
    })
}

/// The native baseline's decider, its heap then moved onto huge pages when
/// `huge_pages` asks; returns the bytes moved.
///
/// The guests ask for huge pages for their memory, as in `serve`, and a
/// comparison on different pages would be of page sizes. This runs before
/// any guest exists, so their memory is left as the advice alone makes it.
/// Best effort: without `/proc` the native baseline keeps its pages.
fn native_baseline(list: &CompiledList, huge_pages: bool) -> (Decider, u64) {
    let decider = Decider::new(list.clone());
    let collapsed = if huge_pages {
        pages::collapse_anonymous(pages::huge_page_bytes()).unwrap_or(0)
    } else {
        0
    };
    (decider, collapsed)
}
