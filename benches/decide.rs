//! Decision benchmarks: the wasm guest beside the same core compiled
//! natively and a plain `HashSet<u64>` baseline, for hits and misses, with
//! the number dialed as a formatted string (`(573) 555-0142`) and already
//! normalized (`+15735550142`), plus the bare set lookup. Setup is outside
//! the timed loop and the data is deterministic
//! ([`privcall::fixtures::synthetic_list`], the list `privcall bench` uses: N
//! random North American numbers and N/50 prearranged windows).
//!
//! `cargo bench --bench decide` measures 10k and 1M numbers (set
//! `PRIVCALL_BENCH_SIZES=10000,1000000,5000000` for more). Under
//! `cargo test --benches` (CI) each benchmark runs once on 10k numbers.
//!
//! `boundary/*` calls a guest whose `decide` does nothing: the cost of the
//! call itself, to subtract from `wasm`. It is measured the way the host
//! calls (core typed functions) and, for comparison, through wasmtime's
//! component model, which the host used before.
//!
//! Read the figures as ratios within one run (`wasm` / `native`): the
//! machine is shared and absolute times move with its load.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use privcall::fixtures::{dial_plan, random_national, synthetic_list, FACILITY, NOW};
use privcall::guest::GuestRuntime;
use privcall_core::decide::Decider;
use privcall_core::normalize::{normalize, E164};
use privcall_core::types::Call;

/// Sizes to measure: 10k in CI's test mode, more when benchmarking.
fn sizes() -> Vec<usize> {
    privcall::fixtures::bench_sizes(&[10_000, 1_000_000])
}

fn formatted(national: u64) -> String {
    let s = national.to_string();
    format!("({}) {}-{}", &s[..3], &s[3..6], &s[6..])
}

fn bench_decide(c: &mut Criterion) {
    let runtime = GuestRuntime::builtin().expect("guest");
    let plan = dial_plan();
    for n in sizes() {
        let synthetic = synthetic_list(n, n / 50, 42);
        let keys = &synthetic.numbers;
        let mut guest = runtime.instantiate().expect("instance");
        guest.load(&synthetic.list.to_bytes()).expect("load");
        let native = Decider::new(synthetic.list.clone());
        let baseline: HashSet<u64> = keys
            .iter()
            .map(|&k| E164::from_nanp_national(k).0)
            .collect();

        let hit = keys[keys.len() / 2];
        let mut state = 7;
        let miss = loop {
            let m = random_national(&mut state);
            if keys.binary_search(&m).is_err() {
                break m;
            }
        };
        let mut group = c.benchmark_group(format!("decide/{n}"));
        for (label, national) in [("hit", hit), ("miss", miss)] {
            for (input, dialed) in [
                ("string", formatted(national)),
                ("e164", format!("+1{national}")),
            ] {
                let call = Call {
                    facility: FACILITY,
                    inmate: "A0000001",
                    dialed: &dialed,
                    at: NOW,
                    started: None,
                };
                // The decisions must be right before they are timed.
                let expected = label == "miss";
                assert_eq!(native.decide(&call).record, expected);
                assert_eq!(guest.decide(&call).expect("guest").record, expected);
                let id = format!("{label}-{input}");
                group.bench_with_input(
                    BenchmarkId::new("hashset-baseline", &id),
                    &call,
                    |b, call| {
                        b.iter(|| {
                            let n = normalize(black_box(call.dialed), &plan).ok();
                            black_box(n.is_some_and(|n| baseline.contains(&n.0)))
                        })
                    },
                );
                group.bench_with_input(BenchmarkId::new("native", &id), &call, |b, call| {
                    b.iter(|| black_box(native.decide(black_box(call))))
                });
                group.bench_with_input(BenchmarkId::new("wasm", &id), &call, |b, call| {
                    b.iter(|| black_box(guest.decide(black_box(call)).expect("decision")))
                });
            }
        }
        group.finish();

        // The set alone, for the number already normalized to an integer:
        // the radix set beside the hash set, on keys spread over the list
        // (so the caches see a realistic mix, not one hot key).
        let probes: Vec<u64> = (0..4096u64)
            .map(|i| {
                let k = keys[(i as usize * 7919) % keys.len()];
                if i % 2 == 0 {
                    k
                } else {
                    k + 1
                }
            })
            .collect();
        let mut group = c.benchmark_group(format!("lookup/{n}"));
        group.bench_function("radix-set", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % probes.len();
                black_box(native.list().nanp.rank(black_box(probes[i])))
            })
        });
        group.bench_function("hashset-baseline", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % probes.len();
                black_box(baseline.contains(&E164::from_nanp_national(black_box(probes[i])).0))
            })
        });
        group.finish();
    }
}

/// A guest that does nothing: `decide-packed` and `decide-strings` answer
/// "not privileged, record" (and `decide` an all-default record) without
/// reading their arguments, behind the same contract as the real guest.
/// Its time is the floor the call itself sets (packing or lowering the
/// strings, the call, unpacking the answer), whatever the decision code
/// costs.
const EMPTY_GUEST: &str = r#"
(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "cabi_realloc")
        (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
        (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $bump (i32.add (local.get $ptr) (local.get $new_size)))
    (local.get $ptr))
  (func (export "privcall:decider/decider@0.1.0#load") (param i32 i32) (result i32)
    (i32.const 64))
  (func (export "cabi_post_privcall:decider/decider@0.1.0#load") (param i32))
  (func (export "privcall:decider/decider@0.1.0#decide-strings")
        (param i32 i32 i32 i32 i32 i32 i64 i64 i32) (result i32)
    (global.set $bump (i32.const 1024))
    (i32.const 256))
  (func (export "privcall:decider/decider@0.1.0#decide")
        (param i32 i32 i32 i32 i32 i32 i64 i32 i64) (result i32)
    ;; The strings are not needed: hand their space out again next call.
    (global.set $bump (i32.const 1024))
    (i32.const 512))
  (func (export "privcall:decider/decider@0.1.0#decide-packed")
        (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i32)
    (i32.const 256))
  ;; The packed answer: "not privileged, record", no private-until.
  (data (i32.const 256) "\19\00\00\00\00\00\00\00\00\00\00\00\00\00\00\80"))
"#;

fn empty_guest_component() -> Vec<u8> {
    component(EMPTY_GUEST, include_str!("../wit/privcall.wit"), "guest")
}

/// A component from a core module in WAT and the WIT world it implements.
fn component(wat: &str, wit: &str, world: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("valid WAT");
    let mut resolve = wit_component::metadata::Bindgen::default().resolve;
    let package = resolve.push_str("bench.wit", wit).expect("the WIT parses");
    let world = resolve
        .select_world(&[package], Some(world))
        .expect("the world exists");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component")
}

fn bench_boundary(c: &mut Criterion) {
    let module = wat::parse_str(EMPTY_GUEST).expect("valid WAT");
    let runtime = GuestRuntime::from_module(&module).expect("empty guest");
    let mut guest = runtime.instantiate().expect("instance");
    let call = Call {
        facility: FACILITY,
        inmate: "A0000001",
        dialed: "(573) 555-0142",
        at: NOW,
        started: None,
    };
    guest.decide(&call).expect("the empty guest answers");
    let mut group = c.benchmark_group("boundary");
    // `decide` takes the contract's packed path for these short strings.
    group.bench_function("wasm-empty-guest", |b| {
        b.iter(|| black_box(guest.decide(black_box(&call)).expect("decision")))
    });
    group.bench_function("wasm-empty-guest-strings", |b| {
        b.iter(|| {
            black_box(
                guest
                    .decide_via_strings(black_box(&call))
                    .expect("decision"),
            )
        })
    });

    // The same empty guest as a component, `decide-packed` called through
    // wasmtime's component model: what the boundary cost before the host
    // called the core module directly.
    let engine = privcall::fixtures::wasm_engine();
    let component =
        wasmtime::component::Component::new(engine, empty_guest_component()).expect("component");
    let linker = wasmtime::component::Linker::<()>::new(engine);
    let mut store = wasmtime::Store::new(engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("instance");
    let interface = instance
        .get_export_index(&mut store, None, "privcall:decider/decider@0.1.0")
        .expect("interface");
    let index = instance
        .get_export_index(&mut store, Some(&interface), "decide-packed")
        .expect("decide-packed");
    let decide = instance
        .get_typed_func::<ComponentPacked, (PackedDecision,)>(&mut store, index)
        .expect("decide-packed");
    group.bench_function("component-model-empty-guest", |b| {
        b.iter(|| {
            let params = black_box((
                (1u64, 0u64),
                (2u64, 0u64),
                (3u64, 4u64, 0u64, 0u64),
                NOW,
                0i64,
                false,
            ));
            black_box(decide.call(&mut store, params).expect("call"));
        })
    });
    group.finish();
}

/// `decide-packed`'s parameters as the component model types them.
type ComponentPacked = ((u64, u64), (u64, u64), (u64, u64, u64, u64), i64, i64, bool);

/// `decide-packed`'s answer as the component model lifts it.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct PackedDecision {
    #[component(name = "word")]
    _word: u64,
    #[component(name = "private-until")]
    _private_until: i64,
}

criterion_group!(benches, bench_boundary, bench_decide);
criterion_main!(benches);
