//! The benchmark's result: the JSON that `--json` prints (PRODUCT.md names
//! its fields) and the table printed otherwise.

use std::fmt::Write;

use serde::Serialize;

use super::latency::Latency;

/// What went wrong with decisions taken while lists were swapped in: each
/// kind says something different (a stalled thread past the decide
/// deadline answers fail-safe; the other two are swap bugs).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SwapFailures {
    /// Answered fail-safe (the guest trapped or missed its deadline).
    pub fail_safe: u64,
    /// Decided by an older list than the decision before it.
    pub older_list: u64,
    /// Recorded a registered number.
    pub registered_recorded: u64,
}

/// Decision latency on [`Warm::calls`] calls decided over and over, each
/// path in its own loop, so the list's lines for them stay in cache.
#[derive(Clone, Debug, Serialize)]
pub struct Warm {
    /// Distinct calls in the working set.
    pub calls: usize,
    /// Through the engine into the wasm guest.
    pub wasm: Latency,
    /// The guest call alone.
    pub guest: Latency,
    /// The same decision code compiled natively.
    pub native: Latency,
}

/// Cold latency of one kind of call, through the host path and natively.
#[derive(Clone, Debug, Serialize)]
pub struct KindLatency {
    /// `"registered"`, `"not-registered"` or `"prearranged"`.
    pub kind: &'static str,
    /// Calls of this kind among the samples.
    pub calls: usize,
    /// Through the engine into the wasm guest.
    pub wasm: Latency,
    /// The same decision code compiled natively.
    pub native: Latency,
}

/// The result (PRODUCT.md names the JSON fields).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Numbers in the list.
    pub numbers: usize,
    /// Prearranged windows in the list.
    pub windows: usize,
    /// Timed decisions per path.
    pub samples: usize,
    /// Through the engine into the wasm guest: what a PBX integration
    /// gets (list lookup, instance slot, guest call, host decision).
    pub wasm: Latency,
    /// The guest call alone (`GuestInstance::decide`): the
    /// same decision code compiled to wasm, behind the wasm boundary.
    pub guest: Latency,
    /// The same decision code compiled natively.
    pub native: Latency,
    /// [`Report::wasm`] and [`Report::native`] split by kind of call:
    /// which calls make the tail.
    pub cold_by_kind: Vec<KindLatency>,
    /// The same paths on a small set of calls repeated ([`Warm`]).
    pub warm: Warm,
    /// `wasm.p50_ns / native.p50_ns`, from the same run.
    pub wasm_native_ratio: f64,
    /// `guest.p50_ns / native.p50_ns`, from the same run.
    pub guest_native_ratio: f64,
    /// Host-path decisions taken on one thread while another swaps
    /// [`Report::swaps_under_load`] new lists in: the warm working set
    /// ([`Warm::calls`] calls) over and over, so compare with
    /// [`Report::native_during_swaps`] and [`Warm`], not with the cold
    /// figures.
    pub during_swaps: Latency,
    /// Native decisions interleaved with [`Report::during_swaps`], on the
    /// same thread: what the machine itself does to latency meanwhile.
    pub native_during_swaps: Latency,
    /// Swaps applied while [`Report::during_swaps`] is timed.
    pub swaps_under_load: usize,
    /// Decisions during those swaps that failed (fail-safe), went back to
    /// an older list or recorded a registered number: must be 0.
    pub failed_during_swaps: u64,
    /// [`Report::failed_during_swaps`] by kind (a decision may count in
    /// more than one).
    pub failures_during_swaps: SwapFailures,
    /// Guest set bytes per registered number.
    pub bytes_per_number: f64,
    /// Verify + load + canaries + swap of the list while an older list is
    /// live ([`Engine::apply_timed`](privcall::Engine::apply_timed)), in
    /// milliseconds, until every guest instance has it
    /// (`ApplyTimings::total`).
    pub swap_ms: f64,
    /// Of which: until the new list decided calls (the other instances are
    /// loaded after the swap; `ApplyTimings::live`).
    pub live_ms: f64,
    /// Of which: signature check and header (`VerifiedList::open`).
    pub verify_ms: f64,
    /// Of which: decoding and validating the body in one guest instance.
    pub load_ms: f64,
    /// The signed bundle's size in bytes.
    pub bundle_bytes: usize,
    /// Resident memory one live list adds to an engine with none (every
    /// guest instance's copy and the host's), in bytes; `None` where the
    /// OS does not report it (Linux `/proc` only).
    pub list_resident_bytes: Option<u64>,
    /// The most resident memory the engine held above its list-free state
    /// while swapping in a second list over the first, in bytes.
    pub swap_peak_resident_bytes: Option<u64>,
    /// `swap_peak_resident_bytes / list_resident_bytes`.
    pub swap_peak_ratio: Option<f64>,
    /// Nanoseconds subtracted from each sample: the cost of reading the
    /// clock twice.
    pub timer_overhead_ns: u64,
    /// Whether the run asked for huge pages
    /// ([`Options::huge_pages`](super::Options::huge_pages)).
    pub huge_pages: bool,
    /// Bytes of the timed guest instance's memory the kernel backed with
    /// huge pages; `None` where it does not say.
    pub guest_huge_page_bytes: Option<u64>,
    /// Bytes of the process's heap (with the native baseline's list) moved
    /// onto huge pages before any guest exists, so the native baseline
    /// reads its list through the same kind of pages as the guest.
    pub heap_collapsed_bytes: u64,
}

/// Row labels of the three paths in the latency table.
const HOST_PATH: &str = "  wasm: engine → guest (host path)";
const GUEST_ALONE: &str = "  wasm: guest call alone";
const NATIVE: &str = "  native: same code, no wasm";

/// Writes one latency row: percentiles and the median over `native`'s.
fn latency_row(o: &mut String, name: &str, l: &Latency, native: &Latency) {
    let _ = writeln!(
        o,
        "{:<34} {:>9} {:>9} {:>9} {:>9.2}",
        name,
        l.p50_ns,
        l.p99_ns,
        l.max_ns,
        l.times(native)
    );
}

/// Writes the rows of the three paths, each against `native`.
fn path_rows(o: &mut String, wasm: &Latency, guest: &Latency, native: &Latency) {
    for (name, l) in [(HOST_PATH, wasm), (GUEST_ALONE, guest), (NATIVE, native)] {
        latency_row(o, name, l, native);
    }
}

/// Bytes in MiB, for display.
fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

impl Report {
    /// A readable table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        self.write_heading(&mut o);
        self.write_cold(&mut o);
        self.write_warm(&mut o);
        self.write_during_swaps(&mut o);
        let _ = writeln!(o);
        self.write_list_costs(&mut o);
        self.write_memory(&mut o);
        let _ = writeln!(
            o,
            "(clock overhead of {} ns subtracted from each sample)",
            self.timer_overhead_ns
        );
        o
    }

    /// Writes what was run and the latency table's column heads.
    fn write_heading(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "privcall bench: {} random North American numbers, {} prearranged windows, {} decisions per path",
            self.numbers, self.windows, self.samples
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<34} {:>9} {:>9} {:>9} {:>9}",
            "decision (dialed as a string)", "p50 ns", "p99 ns", "max ns", "× native"
        );
    }

    /// Writes the cold latencies, overall and by kind of call.
    fn write_cold(&self, o: &mut String) {
        let _ = writeln!(o, "cold: every call a different number");
        path_rows(o, &self.wasm, &self.guest, &self.native);
        let _ = writeln!(o, "cold, by kind of call (share of the calls)");
        for k in &self.cold_by_kind {
            let share = 100.0 * k.calls as f64 / self.samples.max(1) as f64;
            let host = format!("  {} ({share:.0} %): host path", k.kind);
            latency_row(o, &host, &k.wasm, &k.native);
            latency_row(o, &format!("  {}: native", k.kind), &k.native, &k.native);
        }
    }

    /// Writes the warm latencies.
    fn write_warm(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "warm: {} calls repeated, each path in its own loop",
            self.warm.calls
        );
        let w = &self.warm;
        path_rows(o, &w.wasm, &w.guest, &w.native);
    }

    /// Writes the latencies while lists are swapped in, and the failures.
    fn write_during_swaps(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "during {} list swaps: the warm calls again, both paths in one loop",
            self.swaps_under_load
        );
        let native = &self.native_during_swaps;
        latency_row(o, HOST_PATH, &self.during_swaps, native);
        latency_row(o, NATIVE, native, native);
        let f = &self.failures_during_swaps;
        let _ = writeln!(
            o,
            "  (failed or out-of-order decisions: {}; fail-safe {}, older list {}, registered recorded {})",
            self.failed_during_swaps, f.fail_safe, f.older_list, f.registered_recorded
        );
    }

    /// Writes the list's size and what verifying, loading and swapping it
    /// take.
    fn write_list_costs(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "bytes per number (guest set)     {:>9.3}",
            self.bytes_per_number
        );
        let _ = writeln!(
            o,
            "swap: verify+load+canaries+swap  {:>9.1} ms (every instance loaded)",
            self.swap_ms
        );
        let _ = writeln!(
            o,
            "  until the new list decides     {:>9.1} ms",
            self.live_ms
        );
        let _ = writeln!(
            o,
            "  verify (signature, header)     {:>9.1} ms",
            self.verify_ms
        );
        let _ = writeln!(
            o,
            "  load (one guest instance)      {:>9.1} ms",
            self.load_ms
        );
        let _ = writeln!(
            o,
            "bundle size                      {:>9} bytes",
            self.bundle_bytes
        );
    }

    /// Writes resident memory (where the OS reports it) and huge pages.
    fn write_memory(&self, o: &mut String) {
        if let (Some(one), Some(peak), Some(ratio)) = (
            self.list_resident_bytes,
            self.swap_peak_resident_bytes,
            self.swap_peak_ratio,
        ) {
            let _ = writeln!(o, "resident: one live list          {:>9.1} MiB", mib(one));
            let _ = writeln!(
                o,
                "  peak while swapping            {:>9.1} MiB ({ratio:.3}× one list)",
                mib(peak)
            );
        }
        if self.huge_pages {
            let guest = self
                .guest_huge_page_bytes
                .map_or("unknown".to_string(), |b| format!("{:.1} MiB", mib(b)));
            let _ = writeln!(
                o,
                "huge pages: guest memory {guest}; native heap moved {:.1} MiB",
                mib(self.heap_collapsed_bytes)
            );
        } else {
            let _ = writeln!(o, "huge pages: off (--small-pages)");
        }
    }
}
