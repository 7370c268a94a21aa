//! Swap benchmarks: verifying a signed bundle, loading its body into a
//! guest instance, the whole `Engine::apply` (verify, load into every
//! instance, canaries, atomic swap), and decisions while another thread
//! keeps swapping lists in.
//!
//! `cargo bench --bench swap` measures 10k and 1M numbers (set
//! `PRIVCALL_BENCH_SIZES` for others, e.g. `1000000,5000000`). Under
//! `cargo test --benches` (CI) each benchmark runs once on 10k numbers.
//! Bundles are signed outside the timed loop; data is deterministic.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use privcall::fixtures as bundle;
use privcall::fixtures::{sample_calls, sign_list, synthetic_list, throwaway_trust, NOW};
use privcall::guest::GuestRuntime;
use privcall::Reason;
use privcall::{Engine, EngineConfig, UpdateSource};

fn sizes() -> Vec<usize> {
    privcall::fixtures::bench_sizes(&[10_000, 1_000_000])
}

fn bench_swap(c: &mut Criterion) {
    let trust = throwaway_trust();
    let runtime = GuestRuntime::builtin().expect("guest");
    for n in sizes() {
        let synthetic = synthetic_list(n, n / 50, 42);
        let bytes = sign_list(&synthetic.list, 1);
        let body = bundle::verify(&bytes, &trust)
            .expect("verifies")
            .body
            .to_vec();
        let mut group = c.benchmark_group(format!("swap/{n}"));
        group.sample_size(10);
        if n >= 1_000_000 {
            group.measurement_time(Duration::from_secs(15));
        }

        group.bench_function("verify", |b| {
            b.iter(|| black_box(bundle::verify(black_box(&bytes), &trust).expect("verifies")))
        });

        let mut instance = runtime.instantiate().expect("instance");
        group.bench_function("load-one-instance", |b| {
            b.iter(|| black_box(instance.load(black_box(&body)).expect("loads")))
        });
        drop(instance);

        // Each apply needs a higher sequence: sign it in the (untimed) setup.
        let engine = Engine::new(EngineConfig::new(trust.clone()), NOW).expect("engine");
        engine
            .apply(&bytes, NOW, UpdateSource::File)
            .expect("first list");
        let sequence = AtomicU64::new(1);
        group.bench_function("engine-apply", |b| {
            b.iter_batched(
                || {
                    sign_list(
                        &synthetic.list,
                        sequence.fetch_add(1, Ordering::Relaxed) + 1,
                    )
                },
                |next| {
                    black_box(
                        engine
                            .apply(&next, NOW, UpdateSource::Push)
                            .expect("applies"),
                    )
                },
                BatchSize::PerIteration,
            )
        });

        // Decisions while a second thread swaps lists in back to back:
        // none may fail or wait for a load.
        let engine = Arc::new(engine);
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (engine, stop, list) = (engine.clone(), stop.clone(), synthetic.list.clone());
            let mut next = sequence.load(Ordering::Relaxed) + 1;
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let bytes = sign_list(&list, next);
                    engine
                        .apply(&bytes, NOW, UpdateSource::Push)
                        .expect("applies");
                    next += 1;
                    swaps += 1;
                }
                swaps
            })
        };
        let calls = sample_calls(&synthetic, 1024, 9);
        let mut i = 0usize;
        let mut failed = 0u64;
        group.bench_function("decide-while-swapping", |b| {
            b.iter(|| {
                i = (i + 1) % calls.len();
                let d = engine.decide(&calls[i].call(NOW), NOW);
                failed += u64::from(d.reason == Reason::FailSafe);
                black_box(d)
            })
        });
        stop.store(true, Ordering::Relaxed);
        let swaps = swapper.join().expect("swapper");
        eprintln!(
            "swap/{n}: {swaps} swaps during decide-while-swapping, {failed} failed decisions"
        );
        assert_eq!(failed, 0, "a decision failed during a swap");
        group.finish();
    }
}

criterion_group!(benches, bench_swap);
criterion_main!(benches);
