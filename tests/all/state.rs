//! The state folder under attack and damage: a deleted or unreadable mark,
//! a corrupt file, an old backup long expired, a folder others can write,
//! a sequence jump that would lock every edge out, stale temporary files;
//! and each facility's fail mode kept for when no list can be restored.

use std::path::Path;

use privcall::{compile, Engine, EngineConfig, EngineError, RefusalKind, Sources, UpdateSource};

use crate::common::{examples, t};
use crate::engine::{assert_live, attorney, bundle_of, engine_with, header, Authority, NOW};

fn config(a: &Authority, state: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(Authority::trust(&[a], 1));
    config.instances = 2;
    config.max_bundle_bytes = 1 << 20;
    config.state_dir = Some(state.to_path_buf());
    config
}

/// An engine on `state` that has applied `sequence`, then dropped.
fn saved(a: &Authority, state: &Path, sequence: u64) {
    let engine = engine_with(Authority::trust(&[a], 1), Some(state));
    engine
        .apply(&bundle_of(sequence, &[a]), t(NOW), UpdateSource::File)
        .unwrap();
}

#[test]
fn an_old_layout_bundle_without_its_mark_restores_nothing_and_keeps_its_floor() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    // The layout before privcall/state, with the high-water file deleted.
    std::fs::write(state.join("last-good.bundle"), bundle_of(5, &[&a])).unwrap();
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    let status = engine.status(t(NOW));
    assert!(status.list.is_none(), "a bundle without its mark went live");
    assert!(status.state_alarm.is_some());
    assert_eq!(status.high_water, 5);
    let err = engine
        .apply(&bundle_of(5, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::Replayed);
    engine
        .apply(&bundle_of(6, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
    drop(engine);
    // Both old files: restored, and saved in the new layout on update.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("last-good.bundle"), bundle_of(5, &[&a])).unwrap();
    std::fs::write(state.join("high-water"), "5\n").unwrap();
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    assert_live(&engine, 5);
    assert!(engine.status(t(NOW)).state_alarm.is_none());
}

#[test]
fn an_unreadable_state_starts_in_the_fail_mode_and_only_a_reset_lets_updates_in() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    saved(&a, &state, 3);
    std::fs::write(state.join("privcall/state"), "garbage").unwrap();
    // The engine starts (it used to refuse to), answers the fail mode and
    // says why.
    let engine = Engine::new(config(&a, &state), t(NOW)).unwrap();
    let status = engine.status(t(NOW));
    assert!(status.list.is_none());
    assert!(
        status
            .state_alarm
            .as_deref()
            .is_some_and(|w| w.contains("--reset-state")),
        "{:?}",
        status.state_alarm
    );
    assert!(!engine.decide(&attorney(t(NOW)), t(NOW)).record);
    assert!(engine
        .apply(&bundle_of(9, &[&a]), t(NOW), UpdateSource::Push)
        .is_err());
    drop(engine);
    let mut reset = config(&a, &state);
    reset.reset_state = true;
    let engine = Engine::new(reset, t(NOW)).unwrap();
    engine
        .apply(&bundle_of(9, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
    assert_live(&engine, 9);
}

#[test]
fn a_saved_list_long_expired_is_not_restored() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let expires = t("2026-12-10T00:00:00Z");
    let bundle = crate::engine::with_header(header(4, expires), &[&a]);
    engine_with(Authority::trust(&[&a], 1), Some(&state))
        .apply(&bundle, t(NOW), UpdateSource::File)
        .unwrap();
    // Three days past expiry: still restored, flagged stale.
    let three_days = t("2026-12-13T00:00:00Z");
    let engine = Engine::new(config(&a, &state), three_days).unwrap();
    assert_eq!(engine.status(three_days).sequence, Some(4));
    assert!(engine.status(three_days).stale);
    drop(engine);
    // A year later (a backup restored, or an edge switched back on): not.
    let year = t("2027-12-10T00:00:00Z");
    let engine = Engine::new(config(&a, &state), year).unwrap();
    let status = engine.status(year);
    assert!(status.list.is_none(), "a list expired a year ago went live");
    assert!(status.state_alarm.is_some());
    assert_eq!(status.high_water, 4);
}

#[test]
fn a_sequence_jump_that_would_lock_edges_out_is_refused() {
    let a = Authority::new(1);
    let engine = engine_with(Authority::trust(&[&a], 1), None);
    let err = engine
        .apply(&bundle_of(u64::MAX, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::SequenceJump);
    engine
        .apply(&bundle_of(2_026_120_501, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
    let err = engine
        .apply(&bundle_of(u64::MAX, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::SequenceJump);
    engine
        .apply(&bundle_of(2_026_120_601, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap();
}

/// The jump bounds hold exactly: a first list may start at
/// `FIRST_SEQUENCE_MAX` and not above; a later one may be
/// `MAX_SEQUENCE_JUMP` above the mark and not more.
#[test]
fn sequence_jumps_are_bounded_exactly() {
    use privcall::{FIRST_SEQUENCE_MAX, MAX_SEQUENCE_JUMP};
    let a = Authority::new(1);
    let apply = |engine: &privcall::Engine, sequence: u64| {
        engine
            .apply(&bundle_of(sequence, &[&a]), t(NOW), UpdateSource::Push)
            .map(|id| id.sequence)
            .map_err(|e| e.kind())
    };
    let first = engine_with(Authority::trust(&[&a], 1), None);
    assert_eq!(
        apply(&first, FIRST_SEQUENCE_MAX + 1),
        Err(RefusalKind::SequenceJump)
    );
    assert_eq!(apply(&first, FIRST_SEQUENCE_MAX), Ok(FIRST_SEQUENCE_MAX));
    let later = engine_with(Authority::trust(&[&a], 1), None);
    assert_eq!(apply(&later, 10), Ok(10));
    assert_eq!(
        apply(&later, 10 + MAX_SEQUENCE_JUMP + 1),
        Err(RefusalKind::SequenceJump)
    );
    assert_eq!(
        apply(&later, 10 + MAX_SEQUENCE_JUMP),
        Ok(10 + MAX_SEQUENCE_JUMP)
    );
}

#[test]
fn the_state_folder_is_never_chmodded_and_one_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    // A shared sticky folder (like /tmp) keeps its mode.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    drop(engine_with(Authority::trust(&[&a], 1), Some(&shared)));
    assert_eq!(mode(&shared), 0o1777);
    assert_eq!(mode(&shared.join("privcall")), 0o700);
    // A folder anyone may write in without the sticky bit is refused.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Engine::new(config(&a, &open), t(NOW))
        .err()
        .expect("refused");
    assert!(matches!(err, EngineError::State(_)), "{err}");
    assert!(err.to_string().contains("lets others write"), "{err}");
    assert_eq!(mode(&open), 0o777);
    // So is a privcall/ folder others may write.
    std::fs::set_permissions(
        shared.join("privcall"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    assert!(Engine::new(config(&a, &shared), t(NOW)).is_err());
}

#[test]
fn stale_temporary_files_are_removed_at_start() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    saved(&a, &state, 2);
    let stale = state.join("privcall/.state.tmp99999");
    std::fs::write(&stale, "half a write").unwrap();
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    assert!(!stale.exists());
    assert_live(&engine, 2);
}

#[test]
fn without_a_list_each_facility_keeps_its_own_fail_mode() {
    let a = Authority::new(1);
    let other = Authority::new(2);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let text = std::fs::read_to_string(examples().join("policy.toml")).unwrap();
    // JCCC records when privcall cannot decide; the rest do not.
    std::fs::write(
        &policy,
        text.replace(
            "[facility.JCCC]\n",
            "[facility.JCCC]\nfail_mode = \"record\"\n",
        ),
    )
    .unwrap();
    let compiled = compile(&Sources {
        registry: examples().join("registry.csv"),
        prearranged: Some(examples().join("prearranged.csv")),
        policy,
    })
    .unwrap();
    let mut h = header(3, t("2027-06-01T00:00:00Z"));
    h.issuer = privcall::KeyId::of(&a.key.verifying_key()).0;
    let bundle =
        privcall::fixtures::sign(&h, &compiled.list.to_bytes(), std::slice::from_ref(&a.key))
            .unwrap();
    let state = dir.path().join("state");
    engine_with(Authority::trust(&[&a], 1), Some(&state))
        .apply(&bundle, t(NOW), UpdateSource::File)
        .unwrap();
    // The key was rotated away: the saved list no longer verifies, and no
    // list is live. JCCC still records, WERDCC still does not.
    let engine = engine_with(Authority::trust(&[&other], 1), Some(&state));
    assert!(engine.status(t(NOW)).list.is_none());
    let mut call = attorney(t(NOW));
    assert!(
        engine.decide(&call, t(NOW)).record,
        "JCCC's fail mode is record"
    );
    call.facility = "WERDCC";
    assert!(!engine.decide(&call, t(NOW)).record);
    assert!(engine.fail_safe("JCCC", t(NOW)).record);
}

#[test]
fn a_bundle_whose_state_cannot_be_written_never_goes_live_even_after_a_restart() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    saved(&a, &state, 2);
    // The write of the next state fails: its temporary file's name is taken
    // by a folder.
    let tmp = state.join(format!("privcall/.state.tmp{}", std::process::id()));
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    std::fs::create_dir(&tmp).unwrap();
    let err = engine
        .apply(&bundle_of(3, &[&a]), t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::PersistFailed);
    assert_live(&engine, 2);
    drop(engine);
    std::fs::remove_dir(&tmp).unwrap();
    // After a restart the refused bundle is still not live.
    let engine = engine_with(Authority::trust(&[&a], 1), Some(&state));
    assert_live(&engine, 2);
    assert_eq!(engine.status(t(NOW)).high_water, 2);
}

/// A fleet's parts survive the state file: the registry part, window parts
/// and the marks of facilities whose part is no longer held; a damaged
/// windows blob or line is damage, not a list.
#[test]
fn fleet_parts_and_their_marks_round_trip_and_damage_is_seen() {
    use privcall::fixtures::{FailModes, Restored, SavedWindows, Snapshot, StateDir};
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    let windows = vec![
        SavedWindows {
            facility: "JCCC".into(),
            high_water: 9,
            bundle: Some(b"window part bytes".to_vec()),
        },
        SavedWindows {
            facility: "A B\nhigh-water 0".into(),
            high_water: 3,
            bundle: None,
        },
        SavedWindows {
            facility: "WMCC".into(),
            high_water: 7,
            bundle: Some(b"another facility's part".to_vec()),
        },
    ];
    state
        .save(&Snapshot {
            high_water: 12,
            fail_modes: &FailModes::PRIVATE,
            bundle: None,
            registry: Some(b"registry part bytes"),
            windows: &windows,
        })
        .unwrap();
    match state.restore() {
        Restored::Saved {
            high_water,
            bundle,
            registry,
            windows: restored,
            ..
        } => {
            assert_eq!(high_water, 12);
            assert_eq!(bundle, None);
            assert_eq!(registry.as_deref(), Some(&b"registry part bytes"[..]));
            assert_eq!(restored, windows);
        }
        other => panic!("{other:?}"),
    }
    let file = state.path().join("state");
    let bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(4).position(|w| w == b"part").unwrap();
    let mut damaged = bytes.clone();
    damaged[at] ^= 1;
    std::fs::write(&file, &damaged).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.contains("checksum"), "{restored}");
    // A windows line that does not parse, with a checksum to match.
    let text = String::from_utf8_lossy(&bytes[..bytes.len() - 73])
        .replace("windows 4a434343", "windows zz");
    let mut edited = text.into_bytes();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&edited))
    };
    edited.extend_from_slice(format!("\nsha256 {digest}\n").as_bytes());
    std::fs::write(&file, &edited).unwrap();
    let restored = format!("{:?}", state.restore());
    assert!(restored.contains("a bad windows line"), "{restored}");
}

/// The state file remembers the marks of at most four times as many
/// facilities as an edge holds window parts for; a file with more is
/// damage, not a list.
#[test]
fn the_state_file_holds_a_bounded_number_of_windows_lines() {
    use privcall::fixtures::{FailModes, Restored, SavedWindows, Snapshot, StateDir};
    let most = 4 * privcall::MAX_WINDOW_PARTS;
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open(dir.path()).unwrap();
    for n in [most, most + 1] {
        let windows: Vec<SavedWindows> = (0..n)
            .map(|i| SavedWindows {
                facility: format!("F{i:03}"),
                high_water: 5,
                bundle: None,
            })
            .collect();
        state
            .save(&Snapshot {
                high_water: 12,
                fail_modes: &FailModes::PRIVATE,
                bundle: None,
                registry: None,
                windows: &windows,
            })
            .unwrap();
        match state.restore() {
            Restored::Saved {
                windows: restored, ..
            } if n == most => assert_eq!(restored, windows),
            other => {
                let shown = format!("{other:?}");
                assert!(
                    n > most && shown.contains("too many windows lines"),
                    "{n} lines: {shown}"
                );
            }
        }
    }
}
