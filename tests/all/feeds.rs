//! The watched folder against a hostile writer: links and FIFOs are never
//! opened (and never stall the scan), and a file fixed in place with its
//! old size and mtime is read again.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use privcall::feed::{FeedConfig, Feeds};
use privcall::fixtures::{sign_list, synthetic_list, throwaway_trust};
use privcall::{Engine, EngineConfig};

fn engine() -> Arc<Engine> {
    let mut config = EngineConfig::new(throwaway_trust());
    config.instances = 1;
    Arc::new(Engine::new(config, privcall::fixtures::now()).unwrap())
}

fn watch(engine: &Arc<Engine>, dir: &Path) -> Feeds {
    Feeds::start(
        Arc::clone(engine),
        FeedConfig {
            folder: Some(dir.to_path_buf()),
            folder_interval: Duration::from_millis(50),
            max_bundle_bytes: 1 << 20,
            ..FeedConfig::default()
        },
    )
    .unwrap()
}

fn sequence(engine: &Engine) -> Option<u64> {
    engine
        .list_id(privcall::fixtures::now())
        .map(|id| id.sequence)
}

/// Waits up to 10 s for sequence `n`.
fn wait_for(engine: &Engine, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sequence(engine) != Some(n) {
        assert!(Instant::now() < deadline, "sequence {n} never went live");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn links_and_fifos_in_the_watched_folder_are_never_opened() {
    let list = synthetic_list(100, 2, 1).list;
    let work = tempfile::tempdir().unwrap();
    let (dir, outside) = (work.path().join("watch"), work.path().join("outside"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("one.bundle"), sign_list(&list, 1)).unwrap();
    std::os::unix::fs::symlink(outside.join("one.bundle"), dir.join("link.bundle")).unwrap();
    let fifo = dir.join("fifo.bundle");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let engine = engine();
    let _feeds = watch(&engine, &dir);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sequence(&engine), None, "a bundle behind a link went live");
    // The scan is not stuck on the FIFO: a real file is applied.
    std::fs::write(dir.join("two.bundle"), sign_list(&list, 2)).unwrap();
    wait_for(&engine, 2);
}

#[test]
fn a_file_fixed_in_place_with_its_old_size_and_mtime_is_read_again() {
    let list = synthetic_list(100, 2, 1).list;
    let good = sign_list(&list, 3);
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("list.bundle");
    std::fs::write(&path, &bad).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let engine = engine();
    let _feeds = watch(&engine, work.path());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sequence(&engine), None, "a tampered bundle went live");
    // The same size and mtime, the right bytes.
    std::fs::write(&path, &good).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(mtime).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    assert!(mtime <= SystemTime::now());
    wait_for(&engine, 3);
}
