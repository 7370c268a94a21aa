//! Fault injection: guests that trap, loop forever or eat memory end in the
//! facility's fail mode, never a crash or a hang; a guest that refuses the
//! list is refused cleanly; a guest with the wrong exports never runs.

use privcall::fixtures::error_chain;
use privcall::guest::ListDecider;
use privcall::guest::{GuestError, GuestRuntime};
use privcall::{Decision, Reason};
use privcall::{OpenError, VerifiedList};

use crate::common::{call, examples, from_text, samples, wasm_decide, Signed};
use crate::wat_guests::{fault_component, fault_module, fault_wat, Fault, GROW_LIMIT};

/// A call the sample list decides `registered` (the sample attorney).
fn attorney() -> privcall_core::types::Call<'static> {
    call("JCCC", "A1", "573 555 0142", "2026-12-01T09:00:00Z")
}

fn runtime(kind: Fault) -> GuestRuntime {
    GuestRuntime::from_module(&fault_module(kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

fn open(s: &Signed) -> VerifiedList {
    VerifiedList::open(&s.bytes, &s.trust()).unwrap()
}

/// The sample bundle loaded into a fault guest (whose `load` accepts it).
fn loaded(s: &Signed, rt: &GuestRuntime) -> ListDecider {
    ListDecider::new(rt, open(s)).unwrap_or_else(|e| panic!("{e}"))
}

/// The sample policy's fail mode is do-not-record; the decision names the
/// bundle it came from.
fn assert_fail_safe(d: &Decision, list: &VerifiedList) {
    assert_eq!(d.reason, Reason::FailSafe, "{d:?}");
    assert!(!d.record, "{d:?}");
    assert!(!d.monitor, "{d:?}");
    assert!(d.redact_metadata, "{d:?}");
    assert_eq!(d.normalized, None);
    assert_eq!(d.category, None);
    let id = d
        .list
        .as_ref()
        .expect("a fail-safe decision names its list");
    assert_eq!(id.sequence, list.header.sequence);
    assert_eq!(id.sequence, 1);
    assert_eq!(id.digest, list.digest);
    assert!(!id.stale);
}

/// The built-in guest still decides correctly in this process.
fn assert_process_fine() {
    let mut d = samples().wasm();
    let answer = wasm_decide(&mut d, &attorney());
    assert_eq!(answer.reason, Reason::Registered, "{answer:?}");
    assert!(!answer.record);
}

/// Runs `kind`'s decide twice through a `ListDecider`: both answers are the
/// fail-safe decision (the second from the poisoned instance).
fn decide_fails_safe(rt: &GuestRuntime) {
    let s = samples();
    let mut d = loaded(&s, rt);
    assert_eq!(d.stats().numbers, 0, "the fault guests report zero stats");
    let first = wasm_decide(&mut d, &attorney());
    assert_fail_safe(&first, d.list());
    let second = wasm_decide(
        &mut d,
        &call("WERDCC", "B2", "314 555 0100", "2026-12-01T10:00:00Z"),
    );
    assert_fail_safe(&second, d.list());
    assert_process_fine();
}

/// Loads the sample body into a bare instance of `rt`, decides once and
/// returns the error; checks the instance is poisoned afterwards.
fn trap_of(rt: &GuestRuntime) -> String {
    let s = samples();
    let mut g = rt.instantiate().unwrap();
    let stats = g.load(&open(&s).body).unwrap();
    assert_eq!(stats.set_bytes, 0);
    assert!(!g.is_poisoned());
    let message = match g.decide(&attorney()) {
        Err(e @ GuestError::Trap(_)) => error_chain(&e),
        other => panic!("expected a trap, got {other:?}"),
    };
    assert!(g.is_poisoned());
    // The poisoned instance is never entered again, not even for `load`.
    match g.decide(&attorney()) {
        Err(e @ GuestError::Poisoned) => assert!(e.to_string().contains("unusable"), "{e}"),
        other => panic!("expected the poisoned-instance error, got {other:?}"),
    }
    assert!(matches!(g.load(&open(&s).body), Err(GuestError::Poisoned)));
    message
}

#[test]
fn trapping_guest_fails_safe() {
    let rt = runtime(Fault::Trap);
    decide_fails_safe(&rt);
    let m = trap_of(&rt);
    assert!(m.contains("unreachable"), "{m}");
}

#[test]
fn looping_guest_is_stopped_by_the_deadline() {
    let rt = runtime(Fault::Loop);
    // Only returning matters here: without the epoch deadline this hangs.
    decide_fails_safe(&rt);
    let m = trap_of(&rt);
    assert!(m.contains("interrupt"), "{m}");
}

#[test]
fn memory_eating_guest_is_held_to_its_limit() {
    let rt = runtime(Fault::GrowMemory).with_memory_limit(GROW_LIMIT);
    decide_fails_safe(&rt);
    // `unreachable`, not a divide by zero: memory.grow failed at the limit,
    // not at the 4 GiB end of a 32-bit memory.
    let m = trap_of(&rt);
    assert!(m.contains("unreachable"), "{m}");
    assert!(!m.contains("divide"), "{m}");
}

#[test]
fn fail_safe_follows_the_facility_fail_mode() {
    let ex = examples();
    let read = |name: &str| std::fs::read_to_string(ex.join(name)).unwrap();
    let policy = read("policy.toml");
    let recording = policy.replace(
        "[facility.JCCC]\n",
        "[facility.JCCC]\nfail_mode = \"record\"\n",
    );
    assert_ne!(recording, policy, "the sample policy has a JCCC table");
    let s = from_text(&read("registry.csv"), &read("prearranged.csv"), &recording);
    let mut d = loaded(&s, &runtime(Fault::Trap));
    // JCCC fails to record (even for its registered attorney: the guest
    // could not say so); WERDCC keeps the default, do-not-record.
    let jccc = wasm_decide(&mut d, &attorney());
    assert_eq!(jccc.reason, Reason::FailSafe);
    assert!(jccc.record && jccc.monitor, "{jccc:?}");
    assert_eq!(jccc.list.as_ref().map(|l| l.sequence), Some(1));
    let werdcc = wasm_decide(
        &mut d,
        &call("WERDCC", "B2", "314 555 0100", "2026-12-01T10:00:00Z"),
    );
    assert_eq!(werdcc.reason, Reason::FailSafe);
    assert!(!werdcc.record && !werdcc.monitor, "{werdcc:?}");
}

#[test]
fn refused_load_is_an_error_not_a_trap() {
    let rt = runtime(Fault::RefuseLoad);
    let s = samples();
    match ListDecider::new(&rt, open(&s)).err() {
        Some(OpenError::Guest(GuestError::Refused(m))) => assert_eq!(m, "refused"),
        Some(other) => panic!("expected a refusal, got {other:?}"),
        None => panic!("the refusing guest loaded the list"),
    }
    // The instance survives a refusal: it is not poisoned and still
    // answers (that no list is loaded).
    let mut g = rt.instantiate().unwrap();
    match g.load(&open(&s).body) {
        Err(GuestError::Refused(m)) => assert_eq!(m, "refused"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!g.is_poisoned());
    assert!(matches!(g.decide(&attorney()), Err(GuestError::NoList)));
    assert!(!g.is_poisoned());
    assert_process_fine();
}

/// A guest whose packed answer points outside its memory, or at an area
/// not aligned as the canonical ABI requires (wasmtime's own lifting
/// refuses it too), has broken the contract: an error (the facility's fail
/// mode upstream) and a poisoned instance, never a panic or a guess.
#[test]
fn answer_outside_memory_or_misaligned_is_an_error() {
    let s = samples();
    for at in [u32::MAX - 7, 1_028] {
        let mut g = runtime(Fault::BadAnswer(at)).instantiate().unwrap();
        g.load(&open(&s).body).unwrap();
        match g.decide(&attorney()) {
            Err(e @ GuestError::Malformed(_)) => {
                assert!(e.to_string().contains("the guest answered"), "{e}")
            }
            other => panic!("answer at {at}: expected an error, got {other:?}"),
        }
        assert!(g.is_poisoned(), "answer at {at}");
    }
    assert_process_fine();
}

#[test]
fn guest_without_decide_is_a_setup_error() {
    match GuestRuntime::from_module(&fault_module(Fault::MissingDecide)) {
        Err(GuestError::Setup { what: m, .. }) => assert!(m.contains("decide"), "{m}"),
        Err(other) => panic!("expected a setup error, got {other}"),
        Ok(_) => panic!("a guest without decide was accepted"),
    }
    // An empty module lacks everything, starting with its memory.
    let empty = wat::parse_str("(module)").unwrap();
    match GuestRuntime::from_module(&empty) {
        Err(GuestError::Setup { what: m, .. }) => assert!(m.contains("memory"), "{m}"),
        Err(other) => panic!("expected a setup error, got {other}"),
        Ok(_) => panic!("an empty module was accepted"),
    }
    // A component is not what the host runs.
    assert!(matches!(
        GuestRuntime::from_module(&fault_component(Fault::Trap)),
        Err(GuestError::Setup { .. })
    ));
    // An export of the wrong type is named.
    // (`decide-packed` answering its decision word itself, as it did
    // before the answer moved to a result area.)
    let wrong = fault_wat(Fault::Trap).replace(
        "(param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i32)",
        "(param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i64)",
    );
    assert_ne!(wrong, fault_wat(Fault::Trap));
    match GuestRuntime::from_module(&wat::parse_str(&wrong).unwrap()) {
        Err(GuestError::Setup { what: m, .. }) => assert!(m.contains("decide-packed"), "{m}"),
        Err(other) => panic!("expected a setup error, got {other}"),
        Ok(_) => panic!("a mistyped export was accepted"),
    }
}

/// The fault guests implement the contract's canonical ABI: `wit-component`
/// accepts each against `wit/privcall.wit`, as the build does the real one.
#[test]
fn fault_guests_implement_the_contract() {
    for kind in [
        Fault::Trap,
        Fault::Loop,
        Fault::GrowMemory,
        Fault::RefuseLoad,
        Fault::BadAnswer(1_028),
    ] {
        // wasmtime compiles it, and it exports the contract's interface
        // and nothing else, as the real guest does.
        let engine = privcall::fixtures::wasm_engine();
        let component = wasmtime::component::Component::new(engine, fault_component(kind))
            .unwrap_or_else(|e| panic!("{kind:?}: {e:#}"));
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        assert_eq!(exports, ["privcall:decider/decider@0.1.0"], "{kind:?}");
    }
}
