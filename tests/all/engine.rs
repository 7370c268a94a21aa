//! The long-running engine: hot swaps, the trust model, restarts, faults.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use ed25519_dalek::SigningKey;
use privcall::bundle::{Header, Part, FORMAT_VERSION};
use privcall::edge::EdgeIdentity;
use privcall::fixtures::{self as bundle, Canary};
use privcall::guest::GuestRuntime;
use privcall::Reason;
use privcall::RefusalKind;
use privcall::{Engine, EngineConfig, UpdateSource};
use privcall::{KeyId, TrustStore};
use privcall_core::types::Call;

use crate::common::{samples, t};
use crate::wat_guests::{fault_module, Fault};

pub(crate) const NOW: &str = "2026-12-01T09:00:00Z";

/// A signing authority with its own key.
pub(crate) struct Authority {
    pub(crate) key: SigningKey,
}

impl Authority {
    pub(crate) fn new(seed: u8) -> Authority {
        Authority {
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// A store of `keys` on the test edge (it holds [`edge`]'s identity).
    pub(crate) fn trust(keys: &[&Authority], threshold: usize) -> TrustStore {
        TrustStore::new(
            keys.iter().map(|a| a.key.verifying_key()).collect(),
            threshold,
        )
        .unwrap()
        .with_identity(edge().clone())
    }
}

/// The test edge: every bundle these tests make is encrypted to it, so the
/// trust, swap, restart and fault tests run on encrypted bundles.
pub(crate) fn edge() -> &'static EdgeIdentity {
    static EDGE: OnceLock<EdgeIdentity> = OnceLock::new();
    EDGE.get_or_init(EdgeIdentity::generate)
}

pub(crate) fn header(sequence: u64, expires_at: i64) -> Header {
    Header {
        sequence,
        issued_at: t("2026-11-01T00:00:00Z"),
        expires_at,
        scope: "all".into(),
        issuer: [0; 8],
        recipients: Vec::new(),
        inmate_key: None,
        part: Part::Whole,
        canaries: Vec::new(),
    }
}

/// The sample list as a bundle with `sequence`, signed by `signers`.
pub(crate) fn bundle_of(sequence: u64, signers: &[&Authority]) -> Vec<u8> {
    with_header(header(sequence, t("2027-06-01T00:00:00Z")), signers)
}

/// The sample list under header `h`, encrypted to [`edge`] and signed by
/// `signers`.
pub(crate) fn with_header(h: Header, signers: &[&Authority]) -> Vec<u8> {
    sealed_to(h, signers, edge(), edge())
}

/// The sample list under header `h` naming `named` as its recipient, its
/// body encrypted to `sealed_for`, signed by `signers`.
pub(crate) fn sealed_to(
    mut h: Header,
    signers: &[&Authority],
    named: &EdgeIdentity,
    sealed_for: &EdgeIdentity,
) -> Vec<u8> {
    let s = samples();
    h.issuer = KeyId::of(&signers[0].key.verifying_key()).0;
    h.recipients = vec![named.id().0];
    let keys: Vec<SigningKey> = signers.iter().map(|a| a.key.clone()).collect();
    let sealed = bundle::encrypt(&s.list.to_bytes(), &[sealed_for.recipient()]).unwrap();
    bundle::sign(&h, &sealed, &keys).unwrap()
}

pub(crate) fn attorney(at: i64) -> Call<'static> {
    Call {
        facility: "JCCC",
        inmate: "A1001",
        dialed: "9-1-573-555-0142",
        at,
        started: None,
    }
}

pub(crate) fn engine_with(trust: TrustStore, state: Option<&std::path::Path>) -> Engine {
    let mut config = EngineConfig::new(trust);
    config.instances = 2;
    config.max_bundle_bytes = 1 << 20;
    config.state_dir = state.map(|p| p.to_path_buf());
    Engine::new(config, t(NOW)).unwrap()
}

/// Asserts the engine still decides the attorney privately with `sequence`,
/// on all the instances of [`engine_with`].
pub(crate) fn assert_live(engine: &Engine, sequence: u64) {
    assert_eq!(engine.instances_loaded(), 2);
    let status = engine.status(t(NOW));
    assert_eq!(status.list.map(|l| l.instances_loaded), Some(2));
    let d = engine.decide(&attorney(t(NOW)), t(NOW));
    assert_eq!(d.reason, Reason::Registered);
    assert!(!d.record);
    assert_eq!(d.list.as_ref().map(|l| l.sequence), Some(sequence));
}

#[test]
fn every_bad_update_is_refused_by_name_and_the_old_list_decides() {
    let a = Authority::new(1);
    let b = Authority::new(2);
    let stranger = Authority::new(9);
    let other = EdgeIdentity::generate();
    let good = bundle_of(5, &[&a, &b]);
    let tamper = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = bundle_of(6, &[&a, &b]);
        f(&mut v);
        v
    };
    let mut wrong_canary = header(6, t("2027-06-01T00:00:00Z"));
    wrong_canary.canaries.push(Canary {
        facility: "JCCC".into(),
        inmate: "A1001".into(),
        dialed: "+15735550142".into(),
        at: t(NOW),
        record: true,
        reason: "not-privileged".into(),
    });
    let unsigned = {
        // Strip the signatures and claim none.
        let v = bundle_of(6, &[&a]);
        let mut v = v[..v.len() - 2 - 72].to_vec();
        v.extend_from_slice(&0u16.to_le_bytes());
        v
    };
    let cases: Vec<(&str, Vec<u8>, RefusalKind, &str)> = vec![
        (
            "bad signature",
            tamper(&|v| {
                let i = v.len() / 2;
                v[i] ^= 1;
            }),
            RefusalKind::BadSignature,
            "does not verify",
        ),
        (
            "unknown key",
            bundle_of(6, &[&stranger]),
            RefusalKind::UnknownKey,
            "no signature is by a trusted key",
        ),
        (
            "below threshold",
            bundle_of(6, &[&a]),
            RefusalKind::BelowThreshold,
            "1 valid trusted signature(s); 2 required",
        ),
        (
            "replayed",
            bundle_of(5, &[&a, &b]),
            RefusalKind::Replayed,
            "not above the last accepted sequence 5",
        ),
        (
            "older sequence",
            bundle_of(3, &[&a, &b]),
            RefusalKind::Replayed,
            "sequence 3",
        ),
        (
            "expired",
            with_header(header(6, t("2026-11-30T00:00:00Z")), &[&a, &b]),
            RefusalKind::Expired,
            "expired at 2026-11-30T00:00:00Z",
        ),
        (
            "truncated",
            tamper(&|v| v.truncate(v.len() - 10)),
            RefusalKind::Truncated,
            "truncated",
        ),
        (
            "trailing bytes",
            tamper(&|v| v.extend_from_slice(b"xx")),
            RefusalKind::TrailingBytes,
            "2 trailing bytes",
        ),
        (
            "wrong format version",
            tamper(&|v| v[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes())),
            RefusalKind::FormatVersion,
            "format version 5 is not supported",
        ),
        (
            "oversized",
            vec![0u8; (1 << 20) + 1],
            RefusalKind::Oversized,
            "more than the 1048576 allowed",
        ),
        ("unsigned", unsigned, RefusalKind::Unsigned, "unsigned"),
        (
            "not a bundle",
            b"hello".to_vec(),
            RefusalKind::Malformed,
            "magic",
        ),
        (
            "canary mismatch",
            with_header(wrong_canary, &[&a, &b]),
            RefusalKind::CanaryMismatch,
            "canary call 0",
        ),
        (
            "for another edge",
            sealed_to(
                header(6, t("2027-06-01T00:00:00Z")),
                &[&a, &b],
                &other,
                &other,
            ),
            RefusalKind::NotForThisEdge,
            "not for this edge",
        ),
        (
            "names this edge, sealed for another",
            sealed_to(
                header(6, t("2027-06-01T00:00:00Z")),
                &[&a, &b],
                edge(),
                &other,
            ),
            RefusalKind::Malformed,
            "does not decrypt with its identity",
        ),
    ];
    let engine = engine_with(Authority::trust(&[&a, &b], 2), None);
    engine.apply(&good, t(NOW), UpdateSource::File).unwrap();
    for (name, bytes, kind, message) in cases {
        let before = engine.metrics().refused_count(kind);
        let err = engine
            .apply(&bytes, t(NOW), UpdateSource::Push)
            .expect_err(name);
        assert_eq!(err.kind(), kind, "{name}: {err}");
        assert!(err.to_string().contains(message), "{name}: {err}");
        assert!(
            !err.to_string().contains("555"),
            "{name}: error names a number: {err}"
        );
        assert_eq!(engine.metrics().refused_count(kind), before + 1, "{name}");
        let status = engine.status(t(NOW));
        assert_eq!(
            status.last_refusal.as_ref().and_then(|r| r.kind),
            Some(kind),
            "{name}"
        );
        assert_live(&engine, 5);
        // A refused list is not kept either.
        assert_eq!(engine.lists_in_memory(), 1, "{name}");
    }
    // And a good update still goes through afterwards.
    engine
        .apply(&bundle_of(6, &[&a, &b]), t(NOW), UpdateSource::Push)
        .unwrap();
    assert_live(&engine, 6);
}

#[test]
fn swaps_under_load_never_fail_a_decision_nor_go_back() {
    let a = Authority::new(1);
    let engine = Arc::new(engine_with(Authority::trust(&[&a], 1), None));
    engine
        .apply(&bundle_of(1, &[&a]), t(NOW), UpdateSource::File)
        .unwrap();
    let bundles: Vec<Vec<u8>> = (2..=31).map(|seq| bundle_of(seq, &[&a])).collect();
    let stop = Arc::new(AtomicBool::new(false));
    // Swaps start once every worker has decided on list 1, and workers go
    // on after the last: each sees the first list and the last one.
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let engine = Arc::clone(&engine);
            let stop = Arc::clone(&stop);
            let started = Arc::clone(&started);
            std::thread::spawn(move || {
                let mut last = 0;
                let mut count = 0u64;
                let mut seen = std::collections::BTreeSet::new();
                // Alternate a registered number and an ordinary one.
                let dialed = ["9-1-573-555-0142", "9 573 555 0100"];
                while !stop.load(Ordering::Relaxed) || count < 100 {
                    let call = Call {
                        dialed: dialed[(count as usize + i) % 2],
                        ..attorney(t(NOW))
                    };
                    let d = engine.decide(&call, t(NOW));
                    assert_ne!(
                        d.reason,
                        Reason::FailSafe,
                        "a decision failed during a swap"
                    );
                    let seq = d.list.as_ref().unwrap().sequence;
                    assert!(seq >= last, "list went back from {last} to {seq}");
                    last = seq;
                    if seen.insert(seq) && seen.len() == 1 {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                    if call.dialed.contains("0142") {
                        assert!(!d.record, "the attorney was recorded during a swap");
                    } else {
                        assert!(d.record);
                    }
                    count += 1;
                }
                // One more after the last swap.
                let after = engine.decide(&attorney(t(NOW)), t(NOW));
                seen.insert(after.list.as_ref().unwrap().sequence);
                (count, seen)
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < 4 {
        std::thread::yield_now();
    }
    for b in &bundles {
        engine.apply(b, t(NOW), UpdateSource::Poll).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut lists = std::collections::BTreeSet::new();
    for w in workers {
        let (count, seen) = w.join().unwrap();
        assert!(count >= 100);
        assert!(seen.contains(&1) && seen.contains(&31), "{seen:?}");
        lists.extend(seen);
    }
    // Every worker decided before and after the swaps: it met both ends.
    assert!(
        lists.len() >= 2,
        "every decision saw the same list: {lists:?}"
    );
    assert_eq!(engine.metrics().swaps(), 31);
    assert_eq!(engine.metrics().guest_failures(), 0);
    assert_live(&engine, 31);
    // Every old list was freed once its last decision finished, and the
    // live one has loaded all its instances again.
    assert_eq!(engine.lists_in_memory(), 1);
    assert_eq!(engine.instances_loaded(), 2);
}

#[test]
fn restart_decides_from_the_saved_list_and_cannot_be_rolled_back() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    {
        let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
        assert_eq!(
            engine.decide(&attorney(t(NOW)), t(NOW)).reason,
            Reason::FailSafe
        );
        engine
            .apply(&bundle_of(7, &[&a]), t(NOW), UpdateSource::File)
            .unwrap();
    }
    // A restart decides at once from the saved bundle, offline.
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    assert_live(&engine, 7);
    assert_eq!(engine.status(t(NOW)).high_water, 7);
    let err = engine
        .apply(&bundle_of(6, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::Replayed);
    drop(engine);

    // Someone edits the state file: the checksum catches it, and nothing
    // from it goes live; updates must still be above the mark it holds.
    let file = state.join("privcall/state");
    let mut saved = std::fs::read(&file).unwrap();
    let middle = saved.len() / 2;
    saved[middle] ^= 0xff;
    std::fs::write(&file, &saved).unwrap();
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    let status = engine.status(t(NOW));
    assert!(status.list.is_none(), "a damaged state went live");
    assert!(
        status
            .state_alarm
            .as_deref()
            .is_some_and(|a| a.contains("checksum")),
        "{:?}",
        status.state_alarm
    );
    assert!(engine
        .render_metrics(t(NOW))
        .contains("privcall_state_alarm 1"));
    let d = engine.decide(&attorney(t(NOW)), t(NOW));
    assert_eq!(d.reason, Reason::FailSafe);
    assert!(!d.record, "fail mode is do-not-record");
    let err = engine
        .apply(&bundle_of(6, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::Replayed);
    engine
        .apply(&bundle_of(8, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
    assert!(engine.status(t(NOW)).state_alarm.is_none());
    assert!(engine
        .render_metrics(t(NOW))
        .contains("privcall_state_alarm 0"));
}

#[test]
fn keys_rotate_without_downtime() {
    let old = Authority::new(1);
    let new = Authority::new(2);
    let engine = engine_with(Authority::trust(&[&old], 1), None);
    engine
        .apply(&bundle_of(1, &[&old]), t(NOW), UpdateSource::File)
        .unwrap();
    // Not trusted yet.
    assert_eq!(
        engine
            .apply(&bundle_of(2, &[&new]), t(NOW), UpdateSource::File)
            .unwrap_err()
            .kind(),
        RefusalKind::UnknownKey
    );
    engine.set_trust(Authority::trust(&[&old, &new], 1));
    engine
        .apply(&bundle_of(2, &[&new]), t(NOW), UpdateSource::File)
        .unwrap();
    engine.set_trust(Authority::trust(&[&new], 1));
    assert_live(&engine, 2);
    assert_eq!(
        engine
            .apply(&bundle_of(3, &[&old]), t(NOW), UpdateSource::File)
            .unwrap_err()
            .kind(),
        RefusalKind::UnknownKey
    );
}

#[test]
fn an_expired_live_list_keeps_deciding_and_raises_the_alarm() {
    let a = Authority::new(1);
    let engine = engine_with(Authority::trust(&[&a], 1), None);
    let expires = t("2026-12-02T00:00:00Z");
    engine
        .apply(
            &with_header(header(1, expires), &[&a]),
            t(NOW),
            UpdateSource::File,
        )
        .unwrap();
    let later = expires + 60;
    let d = engine.decide(&attorney(later), later);
    assert_eq!(d.reason, Reason::Registered);
    assert!(d.list.unwrap().stale);
    assert!(engine.status(later).list.unwrap().stale);
    let metrics = engine.render_metrics(later);
    assert!(metrics.contains("privcall_list_stale 1"), "{metrics}");
    assert!(
        metrics.contains("privcall_stale_decisions_total 1"),
        "{metrics}"
    );
}

#[test]
fn faulty_guests_end_in_the_fail_mode_and_the_alarm() {
    let a = Authority::new(1);
    for fault in [Fault::Trap, Fault::Loop, Fault::GrowMemory] {
        let runtime = GuestRuntime::from_module(&fault_module(fault))
            .unwrap()
            .with_memory_limit(16 << 20);
        let mut config = EngineConfig::new(Authority::trust(&[&a], 1));
        config.runtime = Some(runtime);
        config.instances = 1;
        let engine = Engine::new(config, t(NOW)).unwrap();
        engine
            .apply(&bundle_of(1, &[&a]), t(NOW), UpdateSource::File)
            .unwrap();
        for _ in 0..3 {
            let d = engine.decide(&attorney(t(NOW)), t(NOW));
            assert_eq!(d.reason, Reason::FailSafe, "{fault:?}");
            assert!(!d.record, "{fault:?}");
            assert_eq!(d.list.as_ref().map(|l| l.sequence), Some(1));
        }
        assert_eq!(engine.metrics().guest_failures(), 3, "{fault:?}");
        let metrics = engine.render_metrics(t(NOW));
        assert!(
            metrics.contains("privcall_guest_failures_total 3"),
            "{fault:?}"
        );
        assert!(metrics.contains("privcall_decisions_total{reason=\"fail-safe\"} 3"));
    }
}

#[test]
fn canaries_from_the_compiler_pass_on_the_real_guest() {
    let s = samples();
    let (header, _) = {
        let v = privcall::fixtures::verify(&s.bytes, &s.trust()).unwrap();
        (v.header, ())
    };
    assert!(
        header.canaries.len() >= 8,
        "{} canaries",
        header.canaries.len()
    );
    assert!(header.canaries.iter().any(|c| !c.record));
    assert!(header.canaries.iter().any(|c| c.record));
    let engine = Engine::new(EngineConfig::new(s.trust()), t(NOW)).unwrap();
    engine.apply(&s.bytes, t(NOW), UpdateSource::File).unwrap();
}

/// `apply_timed` says when the new list went live (before the other
/// instances are filled) and when every instance had it; a refused update
/// is recorded as with `apply`.
#[test]
fn timed_updates_go_live_before_every_instance_is_filled() {
    let a = Authority::new(1);
    let engine = engine_with(Authority::trust(&[&a], 1), None);
    engine
        .apply(&bundle_of(1, &[&a]), t(NOW), UpdateSource::File)
        .unwrap();
    let started = std::time::Instant::now();
    let (id, timings) = engine
        .apply_timed(&bundle_of(2, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
    let wall = started.elapsed();
    assert_eq!(id.sequence, 2);
    // Both are measured within the call, the moment it went live first.
    assert!(timings.live > std::time::Duration::ZERO, "{timings:?}");
    assert!(timings.live <= timings.total, "{timings:?}");
    assert!(timings.total <= wall, "{timings:?} in {wall:?}");
    assert_live(&engine, 2);
    let err = engine
        .apply_timed(&bundle_of(2, &[&a]), t(NOW), UpdateSource::Push)
        .expect_err("the same sequence again");
    assert_eq!(err.kind(), RefusalKind::Replayed);
    let status = engine.status(t(NOW));
    assert_eq!(
        status.last_refusal.as_ref().and_then(|r| r.kind),
        Some(RefusalKind::Replayed)
    );
    assert_live(&engine, 2);
}
