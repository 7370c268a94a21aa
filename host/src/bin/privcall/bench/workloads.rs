//! The timed workloads. Each runs the same calls on every path, so their
//! figures compare: cold (every call once), warm (a small working set over
//! and over) and decisions while new lists are swapped in.

use std::hint::black_box;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Result;
use privcall::core::decide::Decider;
use privcall::core::list::CompiledList;
use privcall::fixtures::{samples_of_kind, sign_list, GuestInstance, SampleCall, NOW};
use privcall::{Engine, Reason, UpdateSource};

use super::latency::{time, Latency};
use super::report::{KindLatency, SwapFailures, Warm};

/// Calls per block of the cold workload: each path decides a block in
/// turn, so noise from the rest of the machine hits all paths alike.
const COLD_BLOCK: usize = 1000;

/// Lists swapped in while [`during_swaps`] times decisions.
pub const SWAPS: u64 = 4;

/// The kinds of sample call, as the fixtures and the report name them.
const KINDS: [(&str, &str); 3] = [
    ("hit", "registered"),
    ("miss", "not-registered"),
    ("window", "prearranged"),
];

/// The decision paths under test, and the clock's cost taken off each
/// sample.
pub struct Paths<'a> {
    /// The decision code compiled natively.
    pub native: &'a Decider,
    /// The guest call alone.
    pub guest: &'a mut GuestInstance,
    /// Through the engine into the wasm guest.
    pub engine: &'a Engine,
    /// Nanoseconds subtracted from each sample.
    pub overhead: u64,
}

/// The cold workload's latencies.
pub struct Cold {
    /// Through the engine into the wasm guest.
    pub wasm: Latency,
    /// The guest call alone.
    pub guest: Latency,
    /// Natively.
    pub native: Latency,
    /// The host path and native split by kind of call.
    pub by_kind: Vec<KindLatency>,
}

impl Paths<'_> {
    /// Checks that the three paths give the same answer for every call and
    /// that no registered number comes out "record".
    pub fn check_agreement(&mut self, calls: &[SampleCall]) -> Result<()> {
        for c in calls {
            let call = c.call(NOW);
            let n = self.native.decide(&call);
            let g = self.guest.decide(&call)?;
            let e = self.engine.decide(&call, NOW);
            anyhow::ensure!(
                n == g && n.record == e.record,
                "wasm and native disagree on a synthetic call"
            );
            anyhow::ensure!(
                c.kind != "hit" || !n.record,
                "a registered synthetic number came out record"
            );
        }
        Ok(())
    }

    /// Times every call of each block natively, then through the guest
    /// alone, then through the engine; returns the samples in that order.
    fn interleaved<'c>(&mut self, blocks: impl Iterator<Item = &'c [SampleCall]>) -> [Vec<u64>; 3] {
        let overhead = self.overhead;
        let mut samples: [Vec<u64>; 3] = Default::default();
        for block in blocks {
            for c in block {
                let call = c.call(NOW);
                time(&mut samples[0], overhead, || {
                    black_box(self.native.decide(black_box(&call)));
                });
            }
            for c in block {
                let call = c.call(NOW);
                time(&mut samples[1], overhead, || {
                    black_box(self.guest.decide(black_box(&call)).ok());
                });
            }
            for c in block {
                let call = c.call(NOW);
                time(&mut samples[2], overhead, || {
                    black_box(self.engine.decide(black_box(&call), NOW));
                });
            }
        }
        samples
    }

    /// Every call once, the paths in interleaved blocks: nearly every
    /// lookup misses the cache.
    pub fn cold(&mut self, calls: &[SampleCall]) -> Cold {
        let [native, guest, wasm] = self.interleaved(calls.chunks(COLD_BLOCK));
        let by_kind = by_kind(calls, &native, &wasm);
        Cold {
            wasm: Latency::of(wasm),
            guest: Latency::of(guest),
            native: Latency::of(native),
            by_kind,
        }
    }

    /// The same few calls over and over, each path in its own loop (the
    /// recent numbers of a busy PBX, their lines of the list in cache), so
    /// the decision's own cost shows with the cold mix of formats and
    /// answers.
    pub fn warm(&mut self, warm_calls: &[SampleCall], samples: usize) -> Warm {
        let rounds = samples.div_ceil(warm_calls.len().max(1));
        let [native, guest, wasm] = self
            .interleaved(std::iter::repeat_n(warm_calls, rounds))
            .map(Latency::of);
        Warm {
            calls: warm_calls.len(),
            wasm,
            guest,
            native,
        }
    }
}

/// The cold host-path and native samples split by kind of call; sample `i`
/// of each is `calls[i]`'s.
fn by_kind(calls: &[SampleCall], native: &[u64], wasm: &[u64]) -> Vec<KindLatency> {
    KINDS
        .into_iter()
        .filter_map(|(kind, name)| {
            let of_kind = |samples: &[u64]| samples_of_kind(samples, calls, kind);
            let native = of_kind(native);
            (!native.is_empty()).then(|| KindLatency {
                kind: name,
                calls: native.len(),
                wasm: Latency::of(of_kind(wasm)),
                native: Latency::of(native),
            })
        })
        .collect()
}

/// Latency while lists are swapped in, and the decisions that went wrong.
pub struct DuringSwaps {
    /// Through the engine into the wasm guest.
    pub wasm: Latency,
    /// Native decisions interleaved with them on the same thread.
    pub native: Latency,
    /// Decisions that failed, went back to an older list or recorded a
    /// registered number.
    pub failed: u64,
    /// The same, by kind.
    pub failures: SwapFailures,
}

/// Decisions while another thread swaps [`SWAPS`] lists in: the worst
/// latency a PBX sees during an update, and proof that none fails. The warm
/// calls go round until the swaps are done (each new list's lines start
/// cold). Native decisions are interleaved with them: a stall both paths
/// see is the machine (a core taken by the loading thread), not the swap.
pub fn during_swaps(
    engine: &Arc<Engine>,
    native: &Decider,
    warm_calls: &[SampleCall],
    list: &CompiledList,
    overhead: u64,
) -> Result<DuringSwaps> {
    let swapper = spawn_swapper(engine, list);
    let (mut wasm, mut native_ns) = (Vec::new(), Vec::new());
    let (mut failed, mut failures) = (0u64, SwapFailures::default());
    let mut last_sequence = 0;
    while !swapper.is_finished() {
        for c in warm_calls {
            let call = c.call(NOW);
            let d = time(&mut wasm, overhead, || engine.decide(&call, NOW));
            let sequence = d.list.as_ref().map_or(0, |l| l.sequence);
            let (fail_safe, older_list, registered_recorded) = (
                d.reason == Reason::FailSafe,
                sequence < last_sequence,
                c.kind == "hit" && d.record,
            );
            failures.fail_safe += u64::from(fail_safe);
            failures.older_list += u64::from(older_list);
            failures.registered_recorded += u64::from(registered_recorded);
            failed += u64::from(fail_safe || older_list || registered_recorded);
            last_sequence = sequence;
            time(&mut native_ns, overhead, || {
                black_box(native.decide(black_box(&call)));
            });
        }
    }
    swapper
        .join()
        .map_err(|_| anyhow::anyhow!("the swapping thread panicked"))??;
    Ok(DuringSwaps {
        wasm: Latency::of(wasm),
        native: Latency::of(native_ns),
        failed,
        failures,
    })
}

/// Signs [`SWAPS`] newer bundles of `list` and applies them to `engine`
/// one after another on a new thread.
fn spawn_swapper(engine: &Arc<Engine>, list: &CompiledList) -> JoinHandle<Result<()>> {
    let bundles: Vec<Vec<u8>> = (3..3 + SWAPS).map(|seq| sign_list(list, seq)).collect();
    let engine = Arc::clone(engine);
    std::thread::spawn(move || {
        for b in &bundles {
            engine.apply(b, NOW, UpdateSource::File)?;
        }
        Ok(())
    })
}
