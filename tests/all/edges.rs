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
