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

use std::collections::HashSet;
use std::hint::black_box;

use privcall::fixtures::GuestInstance;
use privcall::fixtures::{sign_list, throwaway_trust};
use privcall::GuestRuntime;
use privcall::TrustStore;
use privcall::{Engine, EngineConfig, UpdateSource};
use privcall::{ListDecider, VerifiedList};
use privcall_core::decide::Decider;
use privcall_core::list::{build, CompiledList, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize, normalize_prefix, DialPlan, E164};
use privcall_core::types::{
    Call, Category, CategorySet, Decision, FailMode, Overrun, Policy, Reason,
};

/// Numbers in the registry every benchmark decides against.
const NUMBERS: usize = 100_000;
/// Prearranged windows in the list (one of them is the benchmarks').
const WINDOWS: usize = 1_000;
/// 2026-12-01T09:00:00Z: when the calls are placed.
const NOW: i64 = 1_796_115_600;
/// The benchmarks' own window: 08:50 to 09:30 on that day.
const WINDOW_START: i64 = NOW - 600;
const WINDOW_END: i64 = NOW + 1_800;
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

/// The calls decided.
#[derive(Clone, Copy)]
enum Scenario {
    /// A registered number, dialed with outside line, trunk and punctuation.
    Registered,
    /// The same number dialed already in E.164 (`+15735550142`), as an SBC
    /// that normalized it upstream passes it.
    RegisteredE164,
    /// A number that is not registered (its neighbour is).
    Unregistered,
    /// A number inside a registered prefix block.
    PrefixBlock,
    /// Inside a prearranged window.
    WindowInside,
    /// Set up just after the window ended (not privileged).
    WindowAfterEnd,
    /// Re-asked just after the end of the window the call was set up in.
    WindowOverrun,
}

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

/// splitmix64: deterministic, dependency-free data.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` distinct random North American national numbers (NPA and NXX in
/// 200-999), sorted.
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

/// A national number dialed the way an inmate might: outside line, trunk,
/// parentheses, spaces and dashes.
fn punctuated(national: u64) -> String {
    let s = national.to_string();
    format!("9-1 ({}) {}-{}", &s[..3], &s[3..6], &s[6..])
}

fn policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 300,
        fail_mode: FailMode::DoNotRecord,
        dial_plan: DialPlan {
            outside_line_prefix: "9".into(),
            home_area_code: "573".into(),
            ..DialPlan::nanp()
        },
    }
}

/// The list every benchmark decides against, and the calls it decides.
struct Fixture {
    list: CompiledList,
    registered: String,
    registered_e164: String,
    unregistered: String,
    prefix_block: String,
    window_number: String,
}

impl Fixture {
    fn new() -> Fixture {
        let keys = numbers(NUMBERS, 42);
        let plan = policy().dial_plan;
        let block = normalize_prefix("+1 314 526*", &plan).expect("prefix block");
        let in_block = |national: u64| block.matches(E164::from_nanp_national(national));
        let keys: Vec<u64> = keys.into_iter().filter(|&k| !in_block(k)).collect();
        let set: HashSet<u64> = keys.iter().copied().collect();
        let mut registry: Vec<RegistryRow> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| RegistryRow {
                target: Target::Number(E164::from_nanp_national(k)),
                category: Category::ALL[i % Category::ALL.len()],
                facilities: None,
                valid_from: None,
                valid_until: None,
            })
            .collect();
        registry.push(RegistryRow {
            target: Target::Prefix(block),
            category: Category::PublicDefender,
            facilities: Some(vec!["JCCC".into()]),
            valid_from: None,
            valid_until: None,
        });
        let registered = keys[keys.len() / 2];
        let unregistered = (registered + 1..)
            .find(|n| !set.contains(n))
            .expect("a free neighbour");
        let prefix_block = 3_145_260_199; // (314) 526-0199
        assert!(in_block(prefix_block));
        // The benchmarks' window is one of many: others for the same
        // inmate, others for the same number, others elsewhere.
        let window_national = numbers(1, 7)[0];
        assert!(!set.contains(&window_national));
        let mut windows = vec![WindowRow {
            facility: "JCCC".into(),
            inmate: "A1001".into(),
            number: E164::from_nanp_national(window_national),
            start: WINDOW_START,
            end: WINDOW_END,
        }];
        let others = numbers(WINDOWS, 9);
        for (i, &n) in others.iter().enumerate().take(WINDOWS - 1) {
            let start = NOW - 86_400 + 3_600 * (i as i64 % 48);
            windows.push(WindowRow {
                facility: ["JCCC", "ERDCC", "WERDCC"][i % 3].into(),
                inmate: format!("A{}", 1000 + i % 97),
                number: E164::from_nanp_national(n),
                start,
                end: start + 1_800,
            });
        }
        let facilities = ["ERDCC", "JCCC", "WERDCC"]
            .iter()
            .map(|c| (c.to_string(), policy()))
            .collect();
        let list = build(policy(), facilities, &registry, &windows).expect("list");
        Fixture {
            list,
            registered: punctuated(registered),
            registered_e164: format!("+1{registered}"),
            unregistered: punctuated(unregistered),
            prefix_block: punctuated(prefix_block),
            window_number: punctuated(window_national),
        }
    }

    /// The call of a scenario and the reason it must be decided with.
    fn call(&self, scenario: Scenario) -> (Call<'_>, Reason) {
        let base = |dialed| Call {
            facility: "JCCC",
            inmate: "A1001",
            dialed,
            at: NOW,
            started: None,
        };
        match scenario {
            Scenario::Registered => (base(&self.registered), Reason::Registered),
            Scenario::RegisteredE164 => (base(&self.registered_e164), Reason::Registered),
            Scenario::Unregistered => (base(&self.unregistered), Reason::NotPrivileged),
            Scenario::PrefixBlock => (base(&self.prefix_block), Reason::Registered),
            Scenario::WindowInside => (base(&self.window_number), Reason::Prearranged),
            Scenario::WindowAfterEnd => (
                Call {
                    at: WINDOW_END,
                    ..base(&self.window_number)
                },
                Reason::NotPrivileged,
            ),
            Scenario::WindowOverrun => (
                Call {
                    at: WINDOW_END,
                    started: Some(WINDOW_END - 60),
                    ..base(&self.window_number)
                },
                Reason::PrearrangedOverrun,
            ),
        }
    }
}

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
    let measure = bench.measure;
    let n = bench.iterations;
    if let Kind::Normalize(dialed) = bench.kind {
        let plan = policy().dial_plan;
        normalize(dialed, &plan).expect("normalizes");
        measure(n, &mut || {
            black_box(normalize(black_box(dialed), black_box(&plan)).ok());
        });
        return;
    }
    if let Kind::WasmLarge = bench.kind {
        let synthetic = privcall::fixtures::synthetic_list(LARGE, 0, 42);
        let set = &synthetic.list.nanp;
        assert!(
            set.heap_bytes() < 3 * set.len(),
            "{}: the large list does not use the 16-bit layout",
            bench.name
        );
        let national = synthetic.numbers[synthetic.numbers.len() / 2];
        let dialed = privcall::fixtures::format_dialed(national, 0);
        let mut guest = instance(&synthetic.list);
        drop(synthetic);
        let call = Call {
            facility: privcall::fixtures::FACILITY,
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
        measure(n, &mut || {
            black_box(guest.decide(black_box(&call)).expect("decision"));
        });
        return;
    }
    let fixture = fixture.get_or_insert_with(Fixture::new);
    match bench.kind {
        Kind::Normalize(_) | Kind::WasmLarge => unreachable!("handled above"),
        Kind::Native(scenario) => {
            let decider = Decider::new(fixture.list.clone());
            let (call, expected) = fixture.call(scenario);
            check(bench, &decider.decide(&call), expected);
            measure(n, &mut || {
                black_box(decider.decide(black_box(&call)));
            });
        }
        Kind::Wasm(scenario) => {
            let mut guest = instance(&fixture.list);
            let (call, expected) = fixture.call(scenario);
            // Warm-up, outside the measured region: the first call grows
            // the guest's heap.
            check(bench, &guest.decide(&call).expect("decision"), expected);
            measure(n, &mut || {
                black_box(guest.decide(black_box(&call)).expect("decision"));
            });
        }
        Kind::Engine(scenario) => {
            let trust = throwaway_trust();
            let engine = engine(trust);
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
            measure(n, &mut || {
                black_box(engine.decide(black_box(&call), black_box(NOW)));
            });
        }
        Kind::VerifyLoad => {
            let trust = throwaway_trust();
            let bytes = sign_list(&fixture.list, 1);
            let runtime = GuestRuntime::builtin().expect("guest");
            // Warm-up: the first instance pays for one-time set-up.
            let warm = ListDecider::new(&runtime, VerifiedList::open(&bytes, &trust).expect("v"));
            let numbers = warm.expect("loads").stats().numbers;
            assert_eq!(numbers as usize, fixture.list.number_count());
            measure(n, &mut || {
                let list = VerifiedList::open(black_box(&bytes), &trust).expect("verifies");
                black_box(ListDecider::new(&runtime, list).expect("loads"));
            });
        }
        Kind::Swap => {
            let trust = throwaway_trust();
            let engine = engine(trust);
            engine
                .apply(&sign_list(&fixture.list, 1), NOW, UpdateSource::File)
                .expect("applies");
            let updates: Vec<Vec<u8>> = (0..n)
                .map(|i| sign_list(&fixture.list, 2 + u64::from(i)))
                .collect();
            let mut next = updates.iter();
            measure(n, &mut || {
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
    }
}

/// A fresh guest instance with `list` loaded.
fn instance(list: &CompiledList) -> GuestInstance {
    let runtime = GuestRuntime::builtin().expect("guest");
    let mut guest = runtime.instantiate().expect("instance");
    guest.load(&list.to_bytes()).expect("load");
    guest
}

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
