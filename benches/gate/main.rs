//! The instruction-count gate's benchmarks (`cargo xtask bench-gate`).
//!
//! One binary, one benchmark per run: `gate <name>` does all the setup
//! (building the 100k-number list, or the 1M one of
//! `wasm_decide_registered_1m`, signing bundles, compiling and loading the
//! guest) and then calls one `#[inline(never)]`, unmangled function,
//! `gate_measure_<name>`, that runs the measured operation `iterations`
//! times. The xtask runs it under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=gate_measure_<name>`,
//! so callgrind counts the instructions of that function and everything it
//! calls (host code, wasmtime, the JIT-compiled guest) and nothing else.
//!
//! - `gate --list` prints `name iterations`, one benchmark a line (the xtask
//!   takes the set of benchmarks from here).
//! - `gate <name>` sets up and measures one benchmark.
//! - `gate` without arguments (what `cargo test --all-targets` does), with
//!   `--bench`, or with anything else starting with `-`, runs every
//!   benchmark once natively, as a smoke test, asserting nothing about time.
//!
//! Every input is deterministic (fixed seeds, a fixed signing key, fixed
//! times) so two runs count the same instructions.

mod fixture;

use std::hint::black_box;

use privcall::fixtures::{self, sign_list, throwaway_trust, GuestInstance};
use privcall::guest::{GuestRuntime, ListDecider};
use privcall::{Engine, EngineConfig, TrustStore, UpdateSource, VerifiedList};
use privcall_core::decide::Decider;
use privcall_core::list::CompiledList;
use privcall_core::normalize::normalize;
use privcall_core::types::{Call, Decision, Reason};

use fixture::{Fixture, Scenario, NOW};

/// Guest instances per list in the swap benchmark.
const SWAP_INSTANCES: usize = 2;

/// What one benchmark measures (see [`BENCHES`]).
#[derive(Clone, Copy)]
enum Kind {
    /// One decision through the wasm guest (`GuestInstance::decide`).
    Wasm(Scenario),
    /// The same decision in the native core (`Decider::decide`).
    Native(Scenario),
    /// One decision through the engine (`Engine::decide`: list pointer,
    /// instance slot, guest, decision JSON contract, metrics).
    Engine(Scenario),
    /// `normalize` alone.
    Normalize(&'static str),
    /// `VerifiedList::open` + a fresh instance loading the body.
    VerifyLoad,
    /// `Engine::apply`: verify, load into fresh instances, canaries, swap.
    Swap,
    /// A registered number through the wasm guest against a list of
    /// [`LARGE`] numbers: the set layout of large lists (16-bit low parts;
    /// the 100k fixture's is 32-bit).
    WasmLarge,
}

/// Numbers in the list of [`Kind::WasmLarge`].
const LARGE: usize = 1_000_000;

/// One benchmark: its name (the measured function is `gate_measure_<name>`),
/// how many times the measured function runs the operation, and what it is.
struct Bench {
    name: &'static str,
    iterations: u32,
    kind: Kind,
    measure: fn(u32, &mut dyn FnMut()),
}

/// Decisions and normalizations are repeated so one measurement is not a
/// handful of instructions; the gate reports the total over the iterations.
const REPS: u32 = 100;

/// A benchmark and its measured function, `gate_measure_<name>`: unmangled
/// so callgrind can be told its exact name, never inlined, and each body
/// names itself so the linker cannot fold two of them into one address
/// (which would hide one name from callgrind).
macro_rules! bench {
    ($f:ident, $iterations:expr, $kind:expr) => {{
        #[inline(never)]
        #[expect(
            unsafe_code,
            reason = "callgrind finds the measured function by its unmangled name"
        )]
        #[no_mangle]
        fn $f(iterations: u32, body: &mut dyn FnMut()) {
            black_box(stringify!($f));
            for _ in 0..iterations {
                body();
            }
        }
        Bench {
            name: &stringify!($f)["gate_measure_".len()..],
            iterations: $iterations,
            kind: $kind,
            measure: $f,
        }
    }};
}

/// Every benchmark of the gate, in report order.
fn benches() -> Vec<Bench> {
    use Kind::*;
    use Scenario::*;
    vec![
        bench!(gate_measure_wasm_decide_registered, REPS, Wasm(Registered)),
        bench!(
            gate_measure_wasm_decide_registered_e164,
            REPS,
            Wasm(RegisteredE164)
        ),
        bench!(
            gate_measure_wasm_decide_unregistered,
            REPS,
            Wasm(Unregistered)
        ),
        bench!(
            gate_measure_wasm_decide_prefix_block,
            REPS,
            Wasm(PrefixBlock)
        ),
        bench!(
            gate_measure_wasm_decide_window_inside,
            REPS,
            Wasm(WindowInside)
        ),
        bench!(
            gate_measure_wasm_decide_window_after_end,
            REPS,
            Wasm(WindowAfterEnd)
        ),
        bench!(
            gate_measure_wasm_decide_window_overrun,
            REPS,
            Wasm(WindowOverrun)
        ),
        bench!(
            gate_measure_native_decide_registered,
            REPS,
            Native(Registered)
        ),
        bench!(
            gate_measure_native_decide_registered_e164,
            REPS,
            Native(RegisteredE164)
        ),
        bench!(
            gate_measure_native_decide_unregistered,
            REPS,
            Native(Unregistered)
        ),
        bench!(
            gate_measure_native_decide_prefix_block,
            REPS,
            Native(PrefixBlock)
        ),
        bench!(
            gate_measure_native_decide_window_inside,
            REPS,
            Native(WindowInside)
        ),
        bench!(
            gate_measure_native_decide_window_after_end,
            REPS,
            Native(WindowAfterEnd)
        ),
        bench!(
            gate_measure_native_decide_window_overrun,
            REPS,
            Native(WindowOverrun)
        ),
        bench!(
            gate_measure_engine_decide_registered,
            REPS,
            Engine(Registered)
        ),
        bench!(
            gate_measure_engine_decide_window_inside,
            REPS,
            Engine(WindowInside)
        ),
        bench!(
            gate_measure_normalize_punctuated,
            REPS,
            Normalize(PUNCTUATED)
        ),
        bench!(
            gate_measure_normalize_vanity_extension,
            REPS,
            Normalize(VANITY)
        ),
        bench!(gate_measure_wasm_decide_registered_1m, REPS, WasmLarge),
        bench!(gate_measure_verify_load_100k, 1, VerifyLoad),
        bench!(gate_measure_swap_100k, 1, Swap),
    ]
}

/// Outside line, trunk, parentheses, spaces and dashes.
const PUNCTUATED: &str = "9-1 (417) 555-0142";
/// Keypad letters and an extension.
const VANITY: &str = "9 1-800-LAW-HELP ext. 12";

/// Asserts that a benchmark's call decided as it claims.
fn check(bench: &Bench, decision: &Decision, expected: Reason) {
    assert_eq!(
        decision.reason, expected,
        "{}: the call decided {:?}, the benchmark expects {:?}",
        bench.name, decision.reason, expected
    );
}

/// Sets up `bench` and runs its measured function once (with its
/// iterations). Checks outside the measured region that the operation does
/// what the benchmark claims.
fn run(bench: &Bench, fixture: &mut Option<Fixture>) {
    match bench.kind {
        Kind::Normalize(dialed) => run_normalize(bench, dialed),
        Kind::WasmLarge => run_wasm_large(bench),
        Kind::Native(scenario) => {
            let fixture = fixture.get_or_insert_with(Fixture::new);
            let decider = Decider::new(fixture.list.clone());
            let (call, expected) = fixture.call(scenario);
            check(bench, &decider.decide(&call), expected);
            (bench.measure)(bench.iterations, &mut || {
                black_box(decider.decide(black_box(&call)));
            });
        }
        Kind::Wasm(scenario) => {
            let fixture = fixture.get_or_insert_with(Fixture::new);
            let mut guest = instance(&fixture.list);
            let (call, expected) = fixture.call(scenario);
            // Warm-up, outside the measured region: the first call grows
            // the guest's heap.
            check(bench, &guest.decide(&call).expect("decision"), expected);
            (bench.measure)(bench.iterations, &mut || {
                black_box(guest.decide(black_box(&call)).expect("decision"));
            });
        }
        Kind::Engine(scenario) => {
            run_engine(bench, fixture.get_or_insert_with(Fixture::new), scenario)
        }
        Kind::VerifyLoad => run_verify_load(bench, fixture.get_or_insert_with(Fixture::new)),
        Kind::Swap => run_swap(bench, fixture.get_or_insert_with(Fixture::new)),
    }
}

/// `normalize` alone, with the fixture's dial plan.
fn run_normalize(bench: &Bench, dialed: &'static str) {
    let plan = fixtures::dial_plan();
    normalize(dialed, &plan).expect("normalizes");
    (bench.measure)(bench.iterations, &mut || {
        black_box(normalize(black_box(dialed), black_box(&plan)).ok());
    });
}

/// A registered number through the guest, against the large list.
fn run_wasm_large(bench: &Bench) {
    let synthetic = fixtures::synthetic_list(LARGE, 0, 42);
    let set = &synthetic.list.nanp;
    assert!(
        set.heap_bytes() < 3 * set.len(),
        "{}: the large list does not use the 16-bit layout",
        bench.name
    );
    let national = synthetic.numbers[synthetic.numbers.len() / 2];
    let dialed = fixtures::format_dialed(national, 0);
    let mut guest = instance(&synthetic.list);
    drop(synthetic);
    let call = Call {
        facility: fixtures::FACILITY,
        inmate: "",
        dialed: &dialed,
        at: NOW,
        started: None,
    };
    check(
        bench,
        &guest.decide(&call).expect("decision"),
        Reason::Registered,
    );
    (bench.measure)(bench.iterations, &mut || {
        black_box(guest.decide(black_box(&call)).expect("decision"));
    });
}

/// One decision through an engine holding the fixture's list.
fn run_engine(bench: &Bench, fixture: &Fixture, scenario: Scenario) {
    let engine = engine(throwaway_trust());
    engine
        .apply(&sign_list(&fixture.list, 1), NOW, UpdateSource::File)
        .expect("applies");
    let (call, expected) = fixture.call(scenario);
    let d = engine.decide(&call, NOW);
    assert!(!d.record, "{}: the engine decided {d:?}", bench.name);
    // The engine's reasons are the core's, by name.
    assert_eq!(
        format!("{:?}", d.reason),
        format!("{expected:?}"),
        "{}: the engine decided {d:?}",
        bench.name
    );
    (bench.measure)(bench.iterations, &mut || {
        black_box(engine.decide(black_box(&call), black_box(NOW)));
    });
}

/// Verifying a bundle and loading it into a fresh instance.
fn run_verify_load(bench: &Bench, fixture: &Fixture) {
    let trust = throwaway_trust();
    let bytes = sign_list(&fixture.list, 1);
    let runtime = GuestRuntime::builtin().expect("guest");
    // Warm-up: the first instance pays for one-time set-up.
    let warm = ListDecider::new(&runtime, VerifiedList::open(&bytes, &trust).expect("v"));
    let numbers = warm.expect("loads").stats().numbers;
    assert_eq!(numbers as usize, fixture.list.number_count());
    (bench.measure)(bench.iterations, &mut || {
        let list = VerifiedList::open(black_box(&bytes), &trust).expect("verifies");
        black_box(ListDecider::new(&runtime, list).expect("loads"));
    });
}

/// `Engine::apply` of one newer bundle per iteration.
fn run_swap(bench: &Bench, fixture: &Fixture) {
    let n = bench.iterations;
    let engine = engine(throwaway_trust());
    engine
        .apply(&sign_list(&fixture.list, 1), NOW, UpdateSource::File)
        .expect("applies");
    let updates: Vec<Vec<u8>> = (0..n)
        .map(|i| sign_list(&fixture.list, 2 + u64::from(i)))
        .collect();
    let mut next = updates.iter();
    (bench.measure)(n, &mut || {
        let bytes = next.next().expect("one update per iteration");
        black_box(
            engine
                .apply(black_box(bytes), NOW, UpdateSource::Push)
                .expect("swaps"),
        );
    });
    assert_eq!(
        engine.status(NOW).sequence,
        Some(1 + u64::from(n)),
        "swap: the last update is live"
    );
}

/// A fresh guest instance with `list` loaded.
fn instance(list: &CompiledList) -> GuestInstance {
    let runtime = GuestRuntime::builtin().expect("guest");
    let mut guest = runtime.instantiate().expect("instance");
    guest.load(&list.to_bytes()).expect("load");
    guest
}

/// An engine with the swap benchmark's instances.
fn engine(trust: TrustStore) -> Engine {
    let mut config = EngineConfig::new(trust);
    config.instances = SWAP_INSTANCES;
    Engine::new(config, NOW).expect("engine")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = benches();
    match args.first().map(String::as_str) {
        Some("--list") => {
            for b in &all {
                println!("{} {}", b.name, b.iterations);
            }
        }
        Some(name) if !name.starts_with('-') => {
            let Some(bench) = all.iter().find(|b| b.name == name) else {
                eprintln!("gate: no benchmark named {name:?} (see `gate --list`)");
                std::process::exit(2);
            };
            run(bench, &mut None);
        }
        // No arguments (`cargo test --all-targets`), `--bench`
        // (`cargo bench`) or a test harness flag: a quick native smoke run.
        _ => {
            let mut fixture = None;
            for bench in &all {
                let started = std::time::Instant::now();
                run(bench, &mut fixture);
                println!(
                    "gate: {} ran ({} iteration(s), {:?})",
                    bench.name,
                    bench.iterations,
                    started.elapsed()
                );
            }
        }
    }
}
