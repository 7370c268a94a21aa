//! Rules at their exact edges, each a test that a one-token change to the
//! rule would fail (issue 23's surviving mutants): a signature by an
//! untrusted key never counts toward the threshold, and a list is expired
//! from its `expires_at` second on, not a second later.

use privcall::{RefusalKind, UpdateSource};

use crate::common::t;
use crate::engine::{bundle_of, engine_with, header, with_header, Authority, NOW};

#[test]
fn an_untrusted_signature_never_counts_toward_the_threshold() {
    let (a, b, stranger) = (Authority::new(1), Authority::new(2), Authority::new(9));
    let engine = engine_with(Authority::trust(&[&a, &b], 2), None);
    // Two signatures, one trusted: below a threshold of 2.
    let err = engine
        .apply(&bundle_of(1, &[&a, &stranger]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::BelowThreshold, "{err}");
    let err = engine
        .apply(&bundle_of(1, &[&stranger, &a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::BelowThreshold, "{err}");
    // Both trusted keys, with a stranger's signature beside them: accepted
    // on the two that count.
    engine
        .apply(
            &bundle_of(1, &[&a, &stranger, &b]),
            t(NOW),
            UpdateSource::Push,
        )
        .unwrap();
    assert_eq!(engine.status(t(NOW)).sequence, Some(1));
}

#[test]
fn a_list_is_expired_from_its_expires_at_second_on() {
    let a = Authority::new(1);
    let expires = t(NOW) + 60;
    let bundle = |sequence| with_header(header(sequence, expires), &[&a]);
    // One second before: accepted and fresh.
    let engine = engine_with(Authority::trust(&[&a], 1), None);
    engine
        .apply(&bundle(1), expires - 1, UpdateSource::Push)
        .unwrap();
    assert!(!engine.status(expires - 1).stale);
    // At that second: stale, and an update expiring then is refused.
    assert!(engine.status(expires).stale);
    assert!(
        engine
            .decide(&crate::engine::attorney(expires), expires)
            .list
            .unwrap()
            .stale
    );
    let err = engine
        .apply(&bundle(2), expires, UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::Expired, "{err}");
}

/// The sources of `compile`, written to a temporary folder: its errors.
fn compile_errors(registry: &str, prearranged: &str, policy: &str) -> privcall::CompileErrors {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    privcall::compile(&privcall::Sources {
        registry: path("registry.csv", registry),
        prearranged: Some(path("prearranged.csv", prearranged)),
        policy: path("policy.toml", policy),
    })
    .expect_err("the sources are refused")
}

/// Fuzz finding (`normalize`): the plan the fuzzer made (country code 17,
/// outside line 1136, no trunk prefix) passed validation, and under it
/// `"\tHELPHELP"` read as +1743574357, a "+1" number of 10 digits that no
/// `+` form reads back as. ITU-T E.164 assigns no country code but 1 that
/// starts with 1, so such a plan is refused, in the core and in
/// `policy.toml`.
#[test]
fn a_country_code_that_starts_with_1_but_is_not_1_is_refused() {
    use privcall_core::normalize::DialPlan;
    let mut plan = DialPlan::nanp();
    plan.country_code = "17".into();
    plan.trunk_prefix = String::new();
    plan.outside_line_prefix = "1136".into();
    plan.international_prefix = DialPlan::itu_international_prefix("17").into();
    assert_eq!(
        plan.validate().unwrap_err().plan_field(),
        Some("country_code")
    );
    for cc in ["12", "17", "199"] {
        let registry = "number,category,facilities,valid_from,valid_until,label\n";
        let prearranged = "facility,inmate,number,start,end,ref\n";
        let policy = format!("[default]\ncountry_code = \"{cc}\"\n");
        let errs = compile_errors(registry, prearranged, &policy);
        assert!(
            errs.0.iter().any(|e| e
                .field
                .as_deref()
                .is_some_and(|f| f.contains("country_code"))),
            "{cc}: {errs}"
        );
    }
    plan.country_code = "1".into();
    plan.outside_line_prefix = String::new();
    plan.international_prefix = "011".into();
    assert!(plan.validate().is_ok());
}

/// Fuzz finding (`registry_csv`, `prearranged_csv`): an unknown column was
/// named by its text, so a file without its header line printed its first
/// row, numbers and inmate ids included, in the compile errors. Unknown
/// columns that are not lowercase words are named by position now; a
/// misspelt column name is still named.
#[test]
fn a_source_without_its_header_line_never_prints_its_first_row() {
    let registry = "+1 573 555 0142,attorney,,,,Sample Law Office\n";
    let prearranged =
        "JCCC,A1001,573-555-0163,2026-12-01T14:00:00Z,2026-12-01T14:30:00Z,REQ-0001\n";
    let errs = compile_errors(registry, prearranged, "[default]\n");
    let text = errs.to_string();
    for secret in ["555", "A1001", "REQ-0001", "Sample Law"] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    assert!(
        errs.0
            .iter()
            .any(|e| e.field.as_deref() == Some("column 1")),
        "{text}"
    );
    // The headers the fuzzer found, with runs of digits in them.
    let registry =
        "numbe8888888888888888r\u{1}co,category,facilities,valid_from,valid_until,label\n";
    let prearranged = "facility,inm2021061-2-T14:,number,start,end,ref\n";
    let errs = compile_errors(registry, prearranged, "[default]\n");
    let text = errs.to_string();
    assert!(
        !text.contains("8888") && !text.contains("2021061"),
        "{text}"
    );
    // A misspelt column is named as it is spelt.
    let registry = "numbr,category,facilities,valid_from,valid_until,label\n";
    let errs = compile_errors(
        registry,
        "facility,inmate,number,start,end,ref\n",
        "[default]\n",
    );
    assert!(
        errs.0.iter().any(|e| e.field.as_deref() == Some("numbr")),
        "{errs}"
    );
}
