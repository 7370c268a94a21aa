//! Every decision rule of PRODUCT.md, through the wasm guest, on the
//! sample lists (examples/), with window edges to the second.

use privcall::text::E164Text;
use privcall::{Decision, Reason};
use privcall_core::types::Call;

use crate::common::{call, samples, t, wasm_decide};

fn decide(c: &Call<'_>) -> Decision {
    let s = samples();
    let mut d = s.wasm();
    let wasm = wasm_decide(&mut d, c);
    // The native core must say the same thing.
    let native = s.native().decide(c);
    assert_eq!(wasm.record, native.record);
    assert_eq!(
        wasm.reason == Reason::Registered,
        native.reason == privcall_core::types::Reason::Registered
    );
    wasm
}

fn assert_private(d: &Decision) {
    assert!(!d.record, "{d:?}");
    assert!(!d.monitor, "{d:?}");
    assert!(d.redact_metadata, "{d:?}");
}

fn assert_recorded(d: &Decision) {
    assert!(d.record, "{d:?}");
    assert!(d.monitor, "{d:?}");
    assert_eq!(d.reason, Reason::NotPrivileged, "{d:?}");
    assert!(!d.redact_metadata, "{d:?}");
}

#[test]
fn registered_attorney_is_not_recorded() {
    let d = decide(&call(
        "JCCC",
        "A1001",
        "9-1-573-555-0142",
        "2026-12-01T09:00:00Z",
    ));
    assert_private(&d);
    assert_eq!(d.reason, Reason::Registered);
    assert_eq!(d.category.as_deref(), Some("attorney"));
    assert_eq!(
        d.normalized.map(E164Text::text).as_deref(),
        Some("+15735550142")
    );
    assert_eq!(d.private_until, None);
    let list = d.list.expect("list identity");
    assert_eq!(list.sequence, 1);
    assert_eq!(list.digest.len(), 64);
}

#[test]
fn seven_digit_local_dialing_uses_the_home_area_code() {
    let d = decide(&call("JCCC", "A1001", "9 555 0142", "2026-12-01T09:00:00Z"));
    assert_eq!(d.reason, Reason::Registered);
    assert_eq!(
        d.normalized.map(E164Text::text).as_deref(),
        Some("+15735550142")
    );
    // WERDCC's home area code is 636: the same 7 digits are another number.
    let d = decide(&call("WERDCC", "B2002", "555 0142", "2026-12-01T09:00:00Z"));
    assert_eq!(
        d.normalized.map(E164Text::text).as_deref(),
        Some("+16365550142")
    );
    assert_recorded(&d);
}

#[test]
fn prefix_block_covers_its_numbers_only() {
    for last in 0..10 {
        let dialed = format!("573-555-018{last}");
        let d = decide(&call("JCCC", "A1001", &dialed, "2026-12-01T09:00:00Z"));
        assert_eq!(d.reason, Reason::Registered, "{dialed}");
        assert_eq!(d.category.as_deref(), Some("public-defender"));
    }
    assert_recorded(&decide(&call(
        "JCCC",
        "A1001",
        "573-555-0190",
        "2026-12-01T09:00:00Z",
    )));
    assert_recorded(&decide(&call(
        "JCCC",
        "A1001",
        "573-555-0179",
        "2026-12-01T09:00:00Z",
    )));
}

#[test]
fn facility_scope_limits_a_registration() {
    // The defender's cell is registered for JCCC and WERDCC only.
    let at = "2026-12-01T09:00:00Z";
    assert_eq!(
        decide(&call("JCCC", "A1", "314 555 0199", at)).reason,
        Reason::Registered
    );
    assert_eq!(
        decide(&call("WERDCC", "A1", "314 555 0199", at)).reason,
        Reason::Registered
    );
    let other = decide(&call("ACCC", "A1", "314 555 0199", at));
    assert_recorded(&other);
    assert!(other.default_policy);
}

#[test]
fn validity_dates_bound_a_registration() {
    // Valid from 2026-01-01 (inclusive, start of day UTC).
    assert_recorded(&decide(&call(
        "JCCC",
        "A1",
        "314 555 0199",
        "2025-12-31T23:59:59Z",
    )));
    assert_eq!(
        decide(&call("JCCC", "A1", "314 555 0199", "2026-01-01T00:00:00Z")).reason,
        Reason::Registered
    );
    // Valid until 2025-12-31 inclusive: through 23:59:59 of that day.
    assert_eq!(
        decide(&call("JCCC", "A1", "314 555 0111", "2025-12-31T23:59:59Z")).reason,
        Reason::Registered
    );
    assert_recorded(&decide(&call(
        "JCCC",
        "A1",
        "314 555 0111",
        "2026-01-01T00:00:00Z",
    )));
    assert_eq!(
        decide(&call("JCCC", "A1", "314 555 0111", "2025-01-01T00:00:00Z")).reason,
        Reason::Registered
    );
    assert_recorded(&decide(&call(
        "JCCC",
        "A1",
        "314 555 0111",
        "2024-12-31T23:59:59Z",
    )));
}

#[test]
fn exemption_is_per_facility_policy() {
    let at = "2026-12-01T09:00:00Z";
    let d = decide(&call("JCCC", "A1", "573 555 0177", at));
    assert_eq!(d.reason, Reason::Registered);
    assert_eq!(d.category.as_deref(), Some("clergy"));
    // Clergy is not exempt at WERDCC nor under [default].
    assert_recorded(&decide(&call("WERDCC", "B1", "573 555 0177", at)));
    assert_recorded(&decide(&call("ACCC", "B1", "573 555 0177", at)));
}

#[test]
fn international_and_vanity_numbers() {
    let at = "2026-12-01T09:00:00Z";
    let d = decide(&call("JCCC", "A1", "9 011 52 55 5555 0100", at));
    assert_eq!(d.category.as_deref(), Some("consulate"));
    assert_eq!(
        d.normalized.map(E164Text::text).as_deref(),
        Some("+525555550100")
    );
    let d = decide(&call("WERDCC", "A1", "+52 55 5555 0100", at));
    assert_eq!(d.category.as_deref(), Some("consulate"));
    let d = decide(&call("JCCC", "A1", "9-1-800-LAW-HELP", at));
    assert_eq!(d.category.as_deref(), Some("legal-aid"));
    assert_eq!(
        d.normalized.map(E164Text::text).as_deref(),
        Some("+18005294357")
    );
    let d = decide(&call("WERDCC", "A1", "1 (800) 529-4357", at));
    assert_eq!(d.category.as_deref(), Some("legal-aid"));
}

#[test]
fn prearranged_window_edges_to_the_second() {
    // JCCC window 14:00-14:30, grace 5 minutes: private from 13:55:00.
    let dialed = "9 573 555 0163";
    assert_recorded(&decide(&call(
        "JCCC",
        "A1001",
        dialed,
        "2026-12-01T13:54:59Z",
    )));
    for at in [
        "2026-12-01T13:55:00Z",
        "2026-12-01T14:00:00Z",
        "2026-12-01T14:29:59Z",
    ] {
        let d = decide(&call("JCCC", "A1001", dialed, at));
        assert_private(&d);
        assert_eq!(d.reason, Reason::Prearranged, "{at}");
        assert_eq!(
            d.private_until.map(|t| t.to_string()).as_deref(),
            Some("2026-12-01T14:30:00Z")
        );
        assert_eq!(d.on_expiry.as_deref(), Some("stay-private"));
    }
    // Half-open: a call set up at the end is not privileged by the window.
    assert_recorded(&decide(&call(
        "JCCC",
        "A1001",
        dialed,
        "2026-12-01T14:30:00Z",
    )));
    // WERDCC: grace 2 minutes.
    assert_recorded(&decide(&call(
        "WERDCC",
        "B2002",
        "636 555 0164",
        "2026-12-01T14:57:59Z",
    )));
    assert_eq!(
        decide(&call(
            "WERDCC",
            "B2002",
            "636 555 0164",
            "2026-12-01T14:58:00Z"
        ))
        .reason,
        Reason::Prearranged
    );
}

#[test]
fn prearranged_window_is_bound_to_facility_inmate_and_number() {
    let at = "2026-12-01T14:10:00Z";
    assert_eq!(
        decide(&call("JCCC", "A1001", "573 555 0163", at)).reason,
        Reason::Prearranged
    );
    assert_recorded(&decide(&call("JCCC", "C3003", "573 555 0163", at)));
    assert_recorded(&decide(&call("WERDCC", "A1001", "573 555 0163", at)));
    assert_recorded(&decide(&call("JCCC", "A1001", "573 555 0164", at)));
}

fn reask(facility: &str, inmate: &str, dialed: &str, started: &str, at: &str) -> Decision {
    let c = Call {
        facility,
        inmate,
        dialed,
        at: t(at),
        started: Some(t(started)),
    };
    decide(&c)
}

#[test]
fn overrun_stay_private() {
    let d = reask(
        "JCCC",
        "A1001",
        "573 555 0163",
        "2026-12-01T14:05:00Z",
        "2026-12-01T14:30:00Z",
    );
    assert_eq!(d.reason, Reason::PrearrangedOverrun);
    assert!(!d.record && !d.monitor && d.redact_metadata);
    assert_eq!(d.on_expiry.as_deref(), Some("stay-private"));
    assert_eq!(d.notice.as_deref(), Some("private-window-ended-private"));
    // Re-asked one second before the end: still plainly prearranged.
    let d = reask(
        "JCCC",
        "A1001",
        "573 555 0163",
        "2026-12-01T14:05:00Z",
        "2026-12-01T14:29:59Z",
    );
    assert_eq!(d.reason, Reason::Prearranged);
}

#[test]
fn overrun_disconnect_with_notice() {
    let d = reask(
        "WERDCC",
        "B2002",
        "636-555-0164",
        "2026-12-01T15:01:00Z",
        "2026-12-01T15:20:00Z",
    );
    assert_eq!(d.reason, Reason::PrearrangedOverrun);
    assert!(!d.record);
    assert_eq!(d.on_expiry.as_deref(), Some("disconnect-with-notice"));
    assert_eq!(d.notice.as_deref(), Some("private-window-ended-disconnect"));
    assert_eq!(
        d.private_until.map(|t| t.to_string()).as_deref(),
        Some("2026-12-01T15:20:00Z")
    );
}

#[test]
fn overrun_record_with_notice_under_default_policy() {
    let s = crate::common::from_text(
        "number,category,facilities,valid_from,valid_until,label\n",
        "facility,inmate,number,start,end,ref\nACCC,Z9,+1 417 555 0101,2026-12-01T10:00:00Z,2026-12-01T10:20:00Z,R\n",
        "[default]\noverrun = \"record-with-notice\"\n",
    );
    let mut w = s.wasm();
    let c = Call {
        facility: "ACCC",
        inmate: "Z9",
        dialed: "417 555 0101",
        at: t("2026-12-01T10:20:00Z"),
        started: Some(t("2026-12-01T10:00:00Z")),
    };
    let d = wasm_decide(&mut w, &c);
    assert_eq!(d.reason, Reason::PrearrangedOverrun);
    assert!(d.record && d.monitor);
    assert_eq!(d.notice.as_deref(), Some("private-window-ended-recording"));
    // A call set up after the window is not privileged by it, even with
    // --started.
    let c = Call {
        started: Some(t("2026-12-01T10:20:00Z")),
        at: t("2026-12-01T10:25:00Z"),
        ..c
    };
    let d = wasm_decide(&mut w, &c);
    assert_eq!(d.reason, Reason::NotPrivileged);
    assert!(d.record);
}

#[test]
fn back_to_back_windows_chain() {
    let s = crate::common::from_text(
        "number,category,facilities,valid_from,valid_until,label\n",
        "facility,inmate,number,start,end,ref\n\
         F1,I1,+1 417 555 0101,2026-12-01T10:00:00Z,2026-12-01T10:20:00Z,R1\n\
         F1,I1,+1 417 555 0101,2026-12-01T10:22:00Z,2026-12-01T10:40:00Z,R2\n",
        "[default]\nearly_grace_minutes = 5\n",
    );
    let mut w = s.wasm();
    let d = wasm_decide(
        &mut w,
        &call("F1", "I1", "417 555 0101", "2026-12-01T10:05:00Z"),
    );
    assert_eq!(d.reason, Reason::Prearranged);
    // The second window opens (with grace) before the first ends.
    assert_eq!(
        d.private_until.map(|t| t.to_string()).as_deref(),
        Some("2026-12-01T10:40:00Z")
    );
}

/// A string that is no number says so (`unreadable`), and is recorded
/// under the default policy; its digits alone are still read, so one
/// around a registered number is private.
#[test]
fn an_unreadable_string_says_so_and_its_digits_still_count() {
    let d = decide(&call("JCCC", "A1", "hello?", "2026-12-01T09:00:00Z"));
    assert!(d.record && d.monitor);
    assert_eq!(d.normalized, None);
    assert_eq!(d.reason, Reason::Unreadable);
    let d = decide(&call(
        "JCCC",
        "A1",
        "573-555-0142 ?!",
        "2026-12-01T09:00:00Z",
    ));
    assert_eq!((d.reason, d.record), (Reason::Registered, false));
}

#[test]
fn ordinary_call_is_recorded() {
    let d = decide(&call(
        "JCCC",
        "A1001",
        "9 573 555 0100",
        "2026-12-01T09:00:00Z",
    ));
    assert_recorded(&d);
    assert_eq!(d.category, None);
    assert_eq!(d.notice, None);
}
