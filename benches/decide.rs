//! Decision benchmarks: the wasm guest beside the same core compiled
//! natively and a plain `HashSet<u64>` baseline, for hits and misses, with
//! setup outside the timed loop and deterministic data.
//!
//! `cargo bench --bench decide` measures 10k and 1M numbers (set
//! `PRIVCALL_BENCH_SIZES=10000,1000000,5000000` for more). Under
//! `cargo test --benches` (CI) each benchmark runs once on 10k numbers.

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use privcall::guest::GuestRuntime;
use privcall_core::decide::Decider;
use privcall_core::list::{build, RegistryRow, Target};
use privcall_core::normalize::{normalize, DialPlan, E164};
use privcall_core::types::{Call, Category, CategorySet, FailMode, Overrun, Policy};

/// splitmix64: deterministic, dependency-free data.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` distinct random North American numbers (NPA and NXX in 200-999).
fn numbers(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut set = HashSet::with_capacity(n);
    while set.len() < n {
        let r = splitmix(&mut state);
        let npa = 200 + r % 800;
        let nxx = 200 + (r >> 16) % 800;
        let line = (r >> 32) % 10_000;
        set.insert(npa * 10_000_000 + nxx * 10_000 + line);
    }
    let mut v: Vec<u64> = set.into_iter().collect();
    v.sort_unstable();
    v
}

fn policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 300,
        fail_mode: FailMode::DoNotRecord,
        dial_plan: DialPlan::nanp(),
    }
}

fn sizes() -> Vec<usize> {
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        return vec![10_000];
    }
    std::env::var("PRIVCALL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 1_000_000])
}

fn formatted(national: u64) -> String {
    let s = national.to_string();
    format!("({}) {}-{}", &s[..3], &s[3..6], &s[6..])
}

fn bench_decide(c: &mut Criterion) {
    let runtime = GuestRuntime::builtin().expect("guest");
    for n in sizes() {
        let keys = numbers(n, 42);
        let rows: Vec<RegistryRow> = keys
            .iter()
            .map(|&k| RegistryRow {
                target: Target::Number(E164(10_000_000_000 + k)),
                category: Category::Attorney,
                facilities: None,
                valid_from: None,
                valid_until: None,
            })
            .collect();
        let list = build(policy(), vec![], &rows, &[]).expect("list");
        let body = list.to_bytes();
        let native = Decider::new(list);
        let mut guest = runtime.instantiate().expect("instance");
        guest.load(&body).expect("load");
        let baseline: HashSet<u64> = keys.iter().map(|&k| 10_000_000_000 + k).collect();
        let plan = DialPlan::nanp();

        let hit = formatted(keys[keys.len() / 2]);
        let miss = formatted(numbers(1, 7)[0]);
        let mut group = c.benchmark_group(format!("decide/{n}"));
        for (label, dialed) in [("hit", &hit), ("miss", &miss)] {
            let call = Call {
                facility: "JCCC",
                inmate: "A1001",
                dialed,
                at: 1_790_000_000,
                started: None,
            };
            group.bench_with_input(
                BenchmarkId::new("hashset-baseline", label),
                &call,
                |b, call| {
                    b.iter(|| {
                        let n = normalize(black_box(call.dialed), &plan).ok();
                        black_box(n.is_some_and(|n| baseline.contains(&n.0)))
                    })
                },
            );
            group.bench_with_input(BenchmarkId::new("native", label), &call, |b, call| {
                b.iter(|| black_box(native.decide(black_box(call))))
            });
            group.bench_with_input(BenchmarkId::new("wasm", label), &call, |b, call| {
                b.iter(|| black_box(guest.decide(black_box(call)).expect("decision")))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
