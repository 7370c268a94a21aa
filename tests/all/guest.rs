//! The guest itself: no imports, a refused body leaves the loaded list
//! deciding, and the host's direct core calls read `load`'s result as
//! wasmtime's canonical ABI does.

use privcall::fixtures::{wasm_engine as engine, GUEST_COMPONENT, GUEST_MODULE};
use privcall::guest::{GuestError, GuestRuntime};
use privcall_core::types::Reason;
use wasmtime::component::Component;

use crate::common::{call, samples};
use crate::reference::Reference;

#[test]
fn guest_component_has_zero_imports() {
    let engine = engine();
    let component = Component::new(engine, GUEST_COMPONENT).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert!(imports.is_empty(), "guest imports {imports:?}");
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(exports, ["privcall:decider/decider@0.1.0"]);
    // The core module the host runs imports nothing either.
    let module = wasmtime::Module::new(engine, GUEST_MODULE).unwrap();
    let imports: Vec<String> = module
        .imports()
        .map(|i| format!("{}/{}", i.module(), i.name()))
        .collect();
    assert!(imports.is_empty(), "guest module imports {imports:?}");
}

/// `load`'s result area (stats or refusal text) is read at the offsets the
/// canonical ABI gives: the same as wasmtime lifts from the component.
#[test]
fn load_results_match_the_component_model() {
    let s = samples();
    let body = s.list.to_bytes();
    let mut truncated = body.clone();
    truncated.truncate(body.len() - 3);
    let mut trailing = body.clone();
    trailing.push(0);
    let empty = privcall_core::list::build(s.list.default_policy.clone(), vec![], &[], &[])
        .unwrap()
        .to_bytes();
    for (what, bytes) in [
        ("samples", &body[..]),
        ("empty list", &empty[..]),
        ("truncated", &truncated[..]),
        ("trailing byte", &trailing[..]),
        ("garbage", b"garbage"),
        ("nothing", b""),
    ] {
        let mut core = GuestRuntime::builtin().unwrap().instantiate().unwrap();
        let mut reference = Reference::new();
        let got = core.load(bytes).map_err(|e| match e {
            GuestError::Refused(m) => m,
            other => panic!("{what}: {other}"),
        });
        assert_eq!(got, reference.load(bytes), "{what}");
    }
    let mut core = GuestRuntime::builtin().unwrap().instantiate().unwrap();
    let stats = core.load(&body).unwrap();
    assert!(stats.numbers > 0 && stats.windows > 0 && stats.set_bytes > 0);
}

#[test]
fn guest_without_a_list_refuses_to_decide() {
    let mut g = GuestRuntime::builtin().unwrap().instantiate().unwrap();
    let err = g
        .decide(&call("F", "I", "5735550142", "2026-12-01T09:00:00Z"))
        .unwrap_err();
    assert!(matches!(err, GuestError::NoList), "{err}");
}

#[test]
fn refused_body_keeps_the_last_good_list() {
    let s = samples();
    let mut g = GuestRuntime::builtin().unwrap().instantiate().unwrap();
    g.load(&s.list.to_bytes()).unwrap();
    let mut body = s.list.to_bytes();
    body.truncate(body.len() - 3);
    let err = g.load(&body).unwrap_err();
    assert!(matches!(err, GuestError::Refused(_)), "{err}");
    let mut trailing = s.list.to_bytes();
    trailing.push(0);
    assert!(matches!(
        g.load(&trailing).unwrap_err(),
        GuestError::Refused(_)
    ));
    assert!(matches!(
        g.load(b"garbage").unwrap_err(),
        GuestError::Refused(_)
    ));
    let d = g
        .decide(&call("JCCC", "A1", "573 555 0142", "2026-12-01T09:00:00Z"))
        .unwrap();
    assert_eq!(d.reason, Reason::Registered);
}

/// The guest's linear memory asks for huge pages by default (the list is
/// then read through a few TLB entries), and not when told not to; the
/// two decide every call alike.
#[test]
fn guest_memory_is_on_huge_pages_unless_told_otherwise() {
    use privcall::fixtures::pages::{self, Mode};
    use privcall::fixtures::{sample_calls, sign_list, synthetic_list, throwaway_trust, NOW};

    // 1.5M numbers: the body lowered into the guest is one allocation of
    // ~4.7 MB, so at least one whole 2 MiB block of it is written after it
    // became accessible (the advice gives huge pages only to such blocks).
    let synthetic = synthetic_list(1_500_000, 30_000, 42);
    let bundle = sign_list(&synthetic.list, 1);
    let verified = privcall::fixtures::verify(&bundle, &throwaway_trust()).unwrap();
    let runtime = GuestRuntime::builtin().unwrap();
    let mut huge = runtime.clone().instantiate().unwrap();
    let mut small = runtime.with_huge_pages(false).instantiate().unwrap();
    huge.load(verified.body).unwrap();
    small.load(verified.body).unwrap();
    for c in sample_calls(&synthetic, 5_000, 7) {
        let call = c.call(NOW);
        assert_eq!(huge.decide(&call).unwrap(), small.decide(&call).unwrap());
    }
    let on = huge.memory_backing().expect("smaps is readable on Linux");
    let off = small.memory_backing().expect("smaps is readable on Linux");
    assert!(!off.advised, "advice without asking for it: {off:?}");
    if pages::available() {
        assert!(on.advised, "the guest's memory is not advised: {on:?}");
        // Whether pages are granted depends on the machine (free memory,
        // cgroup and container settings); where they may be refused, say
        // so with PRIVCALL_TEST_HUGE_PAGES=advice-only.
        if std::env::var("PRIVCALL_TEST_HUGE_PAGES").as_deref() != Ok("advice-only") {
            let page = pages::huge_page_bytes() as u64;
            assert!(on.huge_bytes >= page, "no huge page granted: {on:?}");
        }
    }
    if pages::mode() == Some(Mode::Madvise) {
        assert_eq!(off.huge_bytes, 0, "huge pages without asking for them");
    }
}
