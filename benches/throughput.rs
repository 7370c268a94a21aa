//! Throughput: decisions from 1 and 2 threads through one shared
//! `Arc<Engine>` (the wasm path), beside the native core on the same calls.
//! Each benchmark iteration is one decision on *every* thread, and the
//! throughput is reported per decision, so with perfect scaling the
//! 2-thread figure shows twice the elements per second of the 1-thread one
//! (the engine takes no shared lock on the decision path: each thread finds
//! its own guest instance). `wasm-guest-per-thread` drives one guest
//! instance per thread directly, without the engine, to show what the
//! engine's shared state costs when threads meet.
//!
//! `cargo bench --bench throughput` uses 1M numbers (`PRIVCALL_BENCH_SIZES`
//! to change); under `cargo test --benches` (CI) it runs once on 10k.
//! On a 2-core machine shared with other work, compare the two thread
//! counts within one run.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use privcall::fixtures::{
    sample_calls, sign_list, synthetic_list, throwaway_trust, SampleCall, NOW,
};
use privcall::guest::GuestRuntime;
use privcall::{Engine, EngineConfig, UpdateSource};
use privcall_core::decide::Decider;

fn sizes() -> Vec<usize> {
    privcall::fixtures::bench_sizes(&[1_000_000])
}

/// Runs `iters` decisions on each of `threads` threads at once and returns
/// the wall time from the common start to the last thread's end. Each
/// thread first makes its decision function with `make` (untimed: a thread
/// may set up state of its own, such as a guest instance).
fn run_threads<M, D>(threads: usize, iters: u64, calls: &[SampleCall], make: M) -> Duration
where
    M: Fn() -> D + Sync,
    D: FnMut(&SampleCall) -> bool,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, make) = (&barrier, &make);
                s.spawn(move || {
                    let mut decide = make();
                    barrier.wait();
                    let mut i = t * 997;
                    for _ in 0..iters {
                        i = (i + 1) % calls.len();
                        black_box(decide(&calls[i]));
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("thread");
        }
        start.elapsed()
    })
}

fn bench_throughput(c: &mut Criterion) {
    for n in sizes() {
        let synthetic = synthetic_list(n, n / 50, 42);
        let engine = Engine::new(EngineConfig::new(throwaway_trust()), NOW).expect("engine");
        engine
            .apply(&sign_list(&synthetic.list, 1), NOW, UpdateSource::File)
            .expect("list");
        let engine = Arc::new(engine);
        let native = Decider::new(synthetic.list.clone());
        let runtime = GuestRuntime::builtin().expect("guest");
        let body = synthetic.list.to_bytes();
        let calls = sample_calls(&synthetic, 4096, 11);

        let mut group = c.benchmark_group(format!("throughput/{n}"));
        for threads in [1usize, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            group.bench_with_input(
                BenchmarkId::new("wasm-engine", threads),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        run_threads(threads, iters, &calls, || {
                            |c: &SampleCall| engine.decide(&c.call(NOW), NOW).record
                        })
                    })
                },
            );
            // The guest alone, one instance per thread (what the engine
            // adds on top: list lookup, slot, metrics, the host decision).
            group.bench_with_input(
                BenchmarkId::new("wasm-guest-per-thread", threads),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        run_threads(threads, iters, &calls, || {
                            let mut guest = runtime.instantiate().expect("instance");
                            guest.load(&body).expect("load");
                            move |c: &SampleCall| guest.decide(&c.call(NOW)).expect("guest").record
                        })
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("native", threads),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        run_threads(threads, iters, &calls, || {
                            |c: &SampleCall| native.decide(&c.call(NOW)).record
                        })
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, bench_throughput);
criterion_main!(benches);
