//! The guest component itself: no imports, and a refused body leaves the
//! loaded list deciding.

use privcall::guest::{engine, GuestError, GuestRuntime, GUEST_COMPONENT};
use privcall_core::types::Reason;
use wasmtime::component::Component;

use crate::common::{call, samples};

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
