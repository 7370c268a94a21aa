//! `privcall bench`: decision latency through the wasm guest and natively,
//! bytes per number and swap time for a synthetic list, on the user's own
//! hardware (like `opa bench`).
//!
//! The synthetic list is deterministic: `numbers` distinct random North
//! American numbers (area code and exchange in 200–999) from a fixed seed,
//! all registered as attorneys at every facility, plus `numbers / 50`
//! prearranged windows (100,000 at 5 million numbers). It is compiled
//! with `privcall::core::list::build`, sealed with a
//! throwaway Ed25519 key derived from a fixed seed, and applied to a fresh
//! [`Engine`] exactly as a pushed update would be.
//!
//! # How decisions are timed
//!
//! Every decision is timed on its own with [`Instant`] (two `clock_gettime`
//! reads through the vDSO, roughly 20–40 ns together). That overhead is
//! measured the same way with nothing between the reads and its median is
//! subtracted from every sample, so p50 is the decision's own cost, while
//! p99 and max still show the real tail (a batch average would hide it).
//! The paths are measured in interleaved rounds — a block of native
//! decisions, then the same calls through the guest, then through the
//! engine — so noise from other processes on the machine hits all of them
//! alike and their ratio stays meaningful even when absolute figures move.
//!
//! The calls are a fixed mix: 45% registered numbers, 45% numbers not on
//! the list, 10% prearranged windows, each dialed as a string in one of
//! several everyday formats (`(573) 555-0142`, `9 1 573 555 0142`,
//! `+1-573-555-0142`, ...), precomputed before timing starts.

use std::hint::black_box;
use std::time::Instant;

use privcall::core::decide::Decider;
use privcall::fixtures::{
    pages, sample_calls, sign_list, synthetic_list, throwaway_trust, SampleCall, NOW,
};
use privcall::{Engine, EngineConfig, GuestRuntime, Reason, UpdateSource, VerifiedList};
use serde::Serialize;

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

/// Calls in the warm working set: a busy PBX's recent numbers.
const WARM_CALLS: usize = 1000;

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
    /// Host-path decisions taken on one thread while another swapped
    /// [`Report::swaps_under_load`] new lists in: the warm working set
    /// ([`Warm::calls`] calls) over and over, so compare with
    /// [`Report::native_during_swaps`] and [`Warm`], not with the cold
    /// figures.
    pub during_swaps: Latency,
    /// Native decisions interleaved with [`Report::during_swaps`], on the
    /// same thread: what the machine itself did to latency meanwhile.
    pub native_during_swaps: Latency,
    /// Swaps applied while [`Report::during_swaps`] was measured.
    pub swaps_under_load: usize,
    /// Decisions during those swaps that failed (fail-safe), went back to
    /// an older list or recorded a registered number: must be 0.
    pub failed_during_swaps: u64,
    /// Guest set bytes per registered number.
    pub bytes_per_number: f64,
    /// Verify + load + canaries + swap of the list while an older list is
    /// live ([`Engine::apply_timed`]), in milliseconds, until every guest
    /// instance has it (`ApplyTimings::total`).
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
    /// Whether the run asked for huge pages ([`Options::huge_pages`]).
    pub huge_pages: bool,
    /// Bytes of the timed guest instance's memory the kernel backed with
    /// huge pages; `None` where it does not say.
    pub guest_huge_page_bytes: Option<u64>,
    /// Bytes of the process's heap (with the native baseline's list) moved
    /// onto huge pages before any guest was made, so the native baseline
    /// reads its list through the same kind of pages as the guest.
    pub heap_collapsed_bytes: u64,
}

/// The median cost of two back-to-back clock reads.
fn timer_overhead() -> u64 {
    let mut v: Vec<u64> = (0..20_001)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    v[v.len() / 2]
}

fn latency(mut samples: Vec<u64>) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Latency {
        p50_ns: at(0.5),
        p99_ns: at(0.99),
        max_ns: *samples.last().expect("at least one sample"),
    }
}

/// The process's resident memory, from Linux's `/proc/self`.
mod resident {
    fn status_kib(field: &str) -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// Resident bytes now.
    pub fn current() -> Option<u64> {
        status_kib("VmRSS:").map(|k| k * 1024)
    }

    /// The most resident bytes since start or the last [`reset_peak`].
    pub fn peak() -> Option<u64> {
        status_kib("VmHWM:").map(|k| k * 1024)
    }

    /// Restarts the peak from the current size (`clear_refs` value 5).
    pub fn reset_peak() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Runs the benchmark.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(options.numbers >= 1, "--numbers must be at least 1");
    let samples = options.samples.max(100);
    let windows = options.numbers / 50;
    let synthetic = synthetic_list(options.numbers, windows, 42);
    // Two bundles: the first goes live, the second is swapped in over it.
    let first = sign_list(&synthetic.list, 1);
    let bytes = sign_list(&synthetic.list, 2);
    let trust = throwaway_trust();

    // The native baseline first, its heap then moved onto huge pages: the
    // guests made below ask for them for their memory, as in `serve`, and
    // a comparison on different pages would be of page sizes. Done before
    // any guest exists, so their memory is left as the advice alone makes
    // it. Best effort: without /proc the native baseline keeps its pages.
    let decider = Decider::new(synthetic.list.clone());
    let heap_collapsed_bytes = if options.huge_pages {
        pages::collapse_anonymous(pages::huge_page_bytes()).unwrap_or(0)
    } else {
        0
    };

    let t = Instant::now();
    let verified = VerifiedList::open(&bytes, &trust)?;
    let verify_ms = ms(t);
    let body = verified.body;
    let runtime = GuestRuntime::builtin()?.with_huge_pages(options.huge_pages);
    let mut guest = runtime.instantiate()?;
    let t = Instant::now();
    guest.load(&body)?;
    let load_ms = ms(t);
    drop(body);

    let config = EngineConfig {
        runtime: Some(runtime),
        ..EngineConfig::new(trust)
    };
    let engine = std::sync::Arc::new(Engine::new(config, NOW)?);
    let empty = resident::current();
    engine.apply(&first, NOW, UpdateSource::File)?;
    let one_list = resident::current();
    resident::reset_peak();
    let (_, timings) = engine.apply_timed(&bytes, NOW, UpdateSource::File)?;
    let swap_ms = timings.total.as_secs_f64() * 1e3;
    let live_ms = timings.live.as_secs_f64() * 1e3;
    let (list_resident_bytes, swap_peak_resident_bytes) = match (empty, one_list, resident::peak())
    {
        (Some(empty), Some(one), Some(peak)) if one > empty => {
            (Some(one - empty), Some(peak.saturating_sub(empty)))
        }
        _ => (None, None),
    };
    let set_bytes = engine.status(NOW).list.map_or(0, |l| l.set_bytes as usize);
    drop(first);

    let calls = sample_calls(&synthetic, samples, 7);
    // Agreement first: the three paths must give the same answer, and no
    // registered number may come out "record".
    for c in &calls {
        let call = c.call(NOW);
        let n = decider.decide(&call);
        let g = guest.decide(&call)?;
        let e = engine.decide(&call, NOW);
        anyhow::ensure!(
            n == g && n.record == e.record,
            "wasm and native disagree on a synthetic call"
        );
        anyhow::ensure!(
            c.kind != "hit" || !n.record,
            "a registered synthetic number came out record"
        );
    }

    let guest_huge_page_bytes = guest.memory_backing().map(|b| b.huge_bytes);

    let overhead = timer_overhead();
    /// Runs `f`, pushes its time (less the clock's own cost), returns its value.
    #[inline(always)]
    fn time<T>(out: &mut Vec<u64>, overhead: u64, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let value = f();
        out.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
        value
    }
    // The three paths' samples: native, guest alone, engine.
    let mut samples_of = |rounds: &mut dyn Iterator<Item = &[SampleCall]>| {
        let mut ns: [Vec<u64>; 3] = Default::default();
        for block in rounds {
            for c in block {
                let call = c.call(NOW);
                time(&mut ns[0], overhead, || {
                    black_box(decider.decide(black_box(&call)));
                });
            }
            for c in block {
                let call = c.call(NOW);
                time(&mut ns[1], overhead, || {
                    black_box(guest.decide(black_box(&call)).ok());
                });
            }
            for c in block {
                let call = c.call(NOW);
                time(&mut ns[2], overhead, || {
                    black_box(engine.decide(black_box(&call), NOW));
                });
            }
        }
        ns
    };
    // Cold: every call once, the paths in interleaved blocks.
    let [native, guest_alone, wasm] = samples_of(&mut calls.chunks(1000));
    // Sample `i` of each cold path is `calls[i]`'s.
    let cold_by_kind = [
        ("hit", "registered"),
        ("miss", "not-registered"),
        ("window", "prearranged"),
    ]
    .into_iter()
    .filter_map(|(kind, name)| {
        let of_kind = |samples: &[u64]| -> Vec<u64> {
            samples
                .iter()
                .zip(&calls)
                .filter(|(_, c)| c.kind == kind)
                .map(|(&ns, _)| ns)
                .collect()
        };
        let native = of_kind(&native);
        (!native.is_empty()).then(|| KindLatency {
            kind: name,
            calls: native.len(),
            wasm: latency(of_kind(&wasm)),
            native: latency(native),
        })
    })
    .collect();
    let [native, guest_alone, wasm] = [native, guest_alone, wasm].map(latency);
    // Warm: the same few calls over and over, each path in its own loop
    // (the recent numbers of a busy PBX, their lines of the list in cache).
    // Above, nearly every lookup misses the cache; here the decision's own
    // cost shows, with the same mix of formats and answers.
    let warm_calls = &calls[..calls.len().min(WARM_CALLS)];
    let rounds = samples.div_ceil(warm_calls.len().max(1));
    let [warm_native, warm_guest, warm_wasm] =
        samples_of(&mut std::iter::repeat_n(warm_calls, rounds)).map(latency);
    let warm = Warm {
        calls: warm_calls.len(),
        wasm: warm_wasm,
        guest: warm_guest,
        native: warm_native,
    };

    // Decisions while another thread swaps lists in: the worst latency a
    // PBX sees during an update, and proof that none fails. The warm calls
    // go round until the swaps are done (each new list's lines start
    // cold).
    const SWAPS: u64 = 4;
    let bundles: Vec<Vec<u8>> = (3..3 + SWAPS)
        .map(|seq| sign_list(&synthetic.list, seq))
        .collect();
    let swapper = {
        let engine = std::sync::Arc::clone(&engine);
        std::thread::spawn(move || {
            for b in &bundles {
                engine.apply(b, NOW, UpdateSource::File)?;
            }
            anyhow::Ok(())
        })
    };
    let mut during_ns = Vec::new();
    // Native decisions interleaved with them: a stall both paths see is
    // the machine (a core taken by the loading thread), not the swap.
    let mut native_during_ns = Vec::new();
    let mut failed = 0u64;
    let mut last_sequence = 0;
    while !swapper.is_finished() {
        for c in warm_calls {
            let call = c.call(NOW);
            let d = time(&mut during_ns, overhead, || engine.decide(&call, NOW));
            let sequence = d.list.as_ref().map_or(0, |l| l.sequence);
            if d.reason == Reason::FailSafe
                || sequence < last_sequence
                || (c.kind == "hit" && d.record)
            {
                failed += 1;
            }
            last_sequence = sequence;
            time(&mut native_during_ns, overhead, || {
                black_box(decider.decide(black_box(&call)));
            });
        }
    }
    swapper
        .join()
        .map_err(|_| anyhow::anyhow!("the swapping thread panicked"))??;
    let during_swaps = latency(during_ns);
    let native_during_swaps = latency(native_during_ns);
    let ratio = |a: &Latency| a.p50_ns as f64 / native.p50_ns.max(1) as f64;
    Ok(Report {
        numbers: options.numbers,
        windows: synthetic.windows.len(),
        samples,
        wasm_native_ratio: ratio(&wasm),
        guest_native_ratio: ratio(&guest_alone),
        wasm,
        guest: guest_alone,
        native,
        cold_by_kind,
        warm,
        during_swaps,
        native_during_swaps,
        swaps_under_load: SWAPS as usize,
        failed_during_swaps: failed,
        bytes_per_number: set_bytes as f64 / options.numbers as f64,
        swap_ms,
        live_ms,
        verify_ms,
        load_ms,
        bundle_bytes: bytes.len(),
        list_resident_bytes,
        swap_peak_resident_bytes,
        swap_peak_ratio: list_resident_bytes
            .zip(swap_peak_resident_bytes)
            .map(|(one, peak)| peak as f64 / one as f64),
        timer_overhead_ns: overhead,
        huge_pages: options.huge_pages,
        guest_huge_page_bytes,
        heap_collapsed_bytes,
    })
}

impl Report {
    /// A readable table.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
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
        let row = |o: &mut String, name: &str, l: &Latency, native: &Latency| {
            let _ = writeln!(
                o,
                "{:<34} {:>9} {:>9} {:>9} {:>9.2}",
                name,
                l.p50_ns,
                l.p99_ns,
                l.max_ns,
                l.p50_ns as f64 / native.p50_ns.max(1) as f64
            );
        };
        let _ = writeln!(o, "cold: every call a different number");
        for (name, l) in [
            ("  wasm: engine → guest (host path)", &self.wasm),
            ("  wasm: guest call alone", &self.guest),
            ("  native: same code, no wasm", &self.native),
        ] {
            row(&mut o, name, l, &self.native);
        }
        let _ = writeln!(o, "cold, by kind of call (share of the calls)");
        for k in &self.cold_by_kind {
            let share = 100.0 * k.calls as f64 / self.samples.max(1) as f64;
            let host = format!("  {} ({share:.0} %): host path", k.kind);
            row(&mut o, &host, &k.wasm, &k.native);
            row(
                &mut o,
                &format!("  {}: native", k.kind),
                &k.native,
                &k.native,
            );
        }
        let _ = writeln!(
            o,
            "warm: {} calls repeated, each path in its own loop",
            self.warm.calls
        );
        for (name, l) in [
            ("  wasm: engine → guest (host path)", &self.warm.wasm),
            ("  wasm: guest call alone", &self.warm.guest),
            ("  native: same code, no wasm", &self.warm.native),
        ] {
            row(&mut o, name, l, &self.warm.native);
        }
        let _ = writeln!(
            o,
            "during {} list swaps: the warm calls again, both paths in one loop",
            self.swaps_under_load
        );
        for (name, l) in [
            ("  wasm: engine → guest (host path)", &self.during_swaps),
            ("  native: same code, no wasm", &self.native_during_swaps),
        ] {
            row(&mut o, name, l, &self.native_during_swaps);
        }
        let _ = writeln!(
            o,
            "  (failed or out-of-order decisions: {})",
            self.failed_during_swaps
        );
        let _ = writeln!(o);
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
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
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
        let _ = writeln!(
            o,
            "(clock overhead of {} ns subtracted from each sample)",
            self.timer_overhead_ns
        );
        o
    }
}
