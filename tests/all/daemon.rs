//! `privcall serve` end to end, on loopback: decide, push, watched folder,
//! polling with ETags, restart from the state folder, graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{cli_compile_samples_for_edge, edge_files};

/// A key pair and bundles of the sample lists with chosen sequences.
pub(crate) struct Authority {
    dir: tempfile::TempDir,
}

impl Authority {
    pub(crate) fn new() -> Authority {
        let dir = tempfile::tempdir().unwrap();
        run(&["keygen", "--out", s(&dir.path().join("auth"))]);
        Authority { dir }
    }

    pub(crate) fn public(&self) -> PathBuf {
        self.dir.path().join("auth.pub")
    }

    /// Compiles the samples with `sequence` into `out`.
    pub(crate) fn bundle(&self, sequence: u64, out: &Path) {
        cli_compile_samples_for_edge(&self.dir.path().join("auth.key"), sequence, out);
    }
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_privcall"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running daemon; stopped with SIGTERM on drop.
pub(crate) struct Daemon {
    child: Child,
    pub(crate) base: String,
    /// The admin listener's base URL, with `--admin-listen`.
    pub(crate) admin: Option<String>,
    pub(crate) stderr: Arc<Mutex<String>>,
}

impl Daemon {
    pub(crate) fn start(args: &[&str]) -> Daemon {
        Daemon::spawn(Command::new(env!("CARGO_BIN_EXE_privcall")), args)
    }

    /// Starts the daemon with its descriptor limit (soft and hard) at
    /// `nofile`.
    pub(crate) fn start_with_nofile(nofile: u32, args: &[&str]) -> Daemon {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_privcall"),
        ]);
        Daemon::spawn(sh, args)
    }

    /// Every daemon runs as the test edge: its bundles are encrypted to
    /// it, with inmate ids hashed.
    fn spawn(mut command: Command, args: &[&str]) -> Daemon {
        let edge = edge_files();
        let mut child = command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--instances", "2"])
            .arg("--identity")
            .arg(&edge.identity)
            .arg("--inmate-key")
            .arg(&edge.inmate_key)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        // Line by line, so a test sees the log while the daemon runs.
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("privcall: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}: {}", stderr.lock().unwrap()))
            .to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let admin = args.contains(&"--admin-listen").then(|| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("privcall: uploads on ")
                .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
                .to_string()
        });
        Daemon {
            child,
            base,
            admin,
            stderr,
        }
    }

    /// The port of `base` (`http://127.0.0.1:PORT`).
    pub(crate) fn addr(base: &str) -> std::net::SocketAddr {
        base.trim_start_matches("http://").parse().unwrap()
    }

    pub(crate) fn agent() -> ureq::Agent {
        ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build(),
        )
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let mut r = Self::agent()
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    pub(crate) fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let mut r = Self::agent()
            .post(format!("{}{path}", self.base))
            .send(body)
            .unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap(),
        )
    }

    pub(crate) fn decide(&self, dialed: &str) -> Value {
        let body = serde_json::json!({
            "facility": "JCCC", "inmate": "A1001", "dialed": dialed, "at": "2026-12-01T09:00:00Z"
        });
        let (status, v) = self.post("/v1/decide", body.to_string().as_bytes());
        assert_eq!(status, 200, "{v}");
        v
    }

    pub(crate) fn status(&self) -> Value {
        let (code, body) = self.get("/v1/status");
        assert_eq!(code, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// Waits (up to 20 s) until the live sequence is `n`.
    pub(crate) fn wait_for_sequence(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.status()["sequence"] != n {
            assert!(
                Instant::now() < deadline,
                "sequence {n} never went live: {}",
                self.status()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, and the exit status.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        self.terminate();
        self.child.wait().unwrap()
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn daemon_decides_takes_pushes_and_restarts_from_its_state() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let b = |n: u64| {
        let p = work.path().join(format!("seq{n}.bundle"));
        auth.bundle(n, &p);
        p
    };
    let (one, two) = (b(1), b(2));
    let state = work.path().join("state");
    // Every level logged: the privacy scan below reads all of it.
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&state),
        "--bundle",
        s(&one),
        "--log-level",
        "trace",
    ]);
    let v = d.decide("9-1-573-555-0142");
    assert_eq!(v["record"], false);
    assert_eq!(v["reason"], "registered");
    assert_eq!(v["list"]["sequence"], 1);
    assert_eq!(d.decide("9 573 555 0100")["record"], true);
    // The sample window, through the keyed inmate ids: the daemon hashes
    // A1001 with its --inmate-key; another inmate is recorded.
    for (inmate, reason) in [("A1001", "prearranged"), ("A1002", "not-privileged")] {
        let body = serde_json::json!({
            "facility": "JCCC", "inmate": inmate, "dialed": "573-555-0163",
            "at": "2026-12-01T14:10:00Z"
        });
        let (code, v) = d.post("/v1/decide", body.to_string().as_bytes());
        assert_eq!((code, v["reason"].as_str()), (200, Some(reason)), "{v}");
    }

    let (code, v) = d.post("/v1/bundles", &std::fs::read(&two).unwrap());
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["sequence"], 2);
    // Replay: refused, the live list stays.
    let (code, v) = d.post("/v1/bundles", &std::fs::read(&one).unwrap());
    assert_eq!(code, 409, "{v}");
    assert_eq!(v["kind"], "replayed");
    // Tampered: refused.
    let mut bad = std::fs::read(&two).unwrap();
    let i = bad.len() / 2;
    bad[i] ^= 0x40;
    let (code, v) = d.post("/v1/bundles", &bad);
    assert!((400..500).contains(&code), "{code} {v}");
    let st = d.status();
    assert_eq!(st["sequence"], 2);
    assert_eq!(st["stale"], false);
    assert_eq!(st["last_refusal"]["source"], "push");
    assert!(st["expires_at"].is_string());
    assert_eq!(d.decide("573-555-0142")["list"]["sequence"], 2);

    // Bad requests get a clear error that does not echo the values.
    let (code, v) = d.post(
        "/v1/decide",
        br#"{"facility":"JCCC","inmate":"A1","dialed":5735550142,"at":"2026-12-01T09:00:00Z"}"#,
    );
    assert_eq!(code, 400);
    assert!(!v["error"].as_str().unwrap().contains("5735550142"), "{v}");
    let (code, v) = d.post(
        "/v1/decide",
        br#"{"facility":"JCCC","inmate":"A1","at":"2026-12-01T09:00:00Z"}"#,
    );
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap().contains("dialed"), "{v}");
    let (code, _) = d.get("/v1/nothing");
    assert_eq!(code, 404);
    // A string that is no number: its own reason, counted, recorded.
    let v = d.decide("call my lawyer!");
    assert_eq!(
        (&v["reason"], &v["record"]),
        (&"unreadable".into(), &true.into())
    );
    assert!(v["normalized"].is_null());

    let (code, metrics) = d.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("privcall_decisions_total{reason=\"registered\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("privcall_refused_updates_total{kind=\"replayed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("privcall_list_sequence 2"), "{metrics}");
    assert!(
        metrics.contains("privcall_decisions_total{reason=\"unreadable\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("privcall_decision_seconds_count"),
        "{metrics}"
    );

    // Graceful stop; nothing privileged in the logs.
    let logs = Arc::clone(&d.stderr);
    assert!(d.stop().success());
    std::thread::sleep(Duration::from_millis(100));
    let logs = logs.lock().unwrap().clone();
    // The scan reads a real log: the swaps and refusals are in it.
    assert!(
        logs.contains("list swapped in source=Push sequence=2"),
        "{logs}"
    );
    assert!(logs.contains("kind=bad-signature"), "{logs}");
    for secret in ["5735550142", "573-555-0142", "A1001"] {
        assert!(!logs.contains(secret), "logs name {secret}: {logs}");
    }

    // Restart with no --bundle: decides at once from the saved list.
    let d = Daemon::start(&["--trust", s(&auth.public()), "--state-dir", s(&state)]);
    let v = d.decide("9-1-573-555-0142");
    assert_eq!(v["reason"], "registered");
    assert_eq!(v["list"]["sequence"], 2);
    // And cannot be rolled back.
    let (code, _) = d.post("/v1/bundles", &std::fs::read(&one).unwrap());
    assert_eq!(code, 409);
}

#[test]
fn daemon_without_a_list_answers_the_fail_mode() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&work.path().join("st")),
    ]);
    let v = d.decide("9-1-573-555-0142");
    assert_eq!(v["reason"], "fail-safe");
    assert_eq!(v["record"], false);
    assert_eq!(v["list"], Value::Null);
    assert_eq!(d.status()["stale"], true);
}

#[test]
fn daemon_applies_bundles_dropped_in_its_watched_folder() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let watch = work.path().join("incoming");
    std::fs::create_dir(&watch).unwrap();
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&work.path().join("state")),
        "--watch",
        s(&watch),
        "--poll-interval",
        "1",
    ]);
    // Written elsewhere, then renamed in, as an operator should.
    let tmp = work.path().join("tmp.bundle");
    auth.bundle(3, &tmp);
    std::fs::rename(&tmp, watch.join("list-3.bundle")).unwrap();
    d.wait_for_sequence(3);
    // A junk file is refused and the list stays.
    std::fs::write(watch.join("junk.bundle"), b"not a bundle").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while d.status()["last_refusal"]["source"] != "file" {
        assert!(Instant::now() < deadline, "junk never refused");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(d.status()["sequence"], 3);
    assert_eq!(d.decide("9-1-573-555-0142")["reason"], "registered");
}

/// A tiny HTTP file server on loopback that serves one bundle with an ETag
/// and answers 304 to a matching If-None-Match.
/// A loopback HTTP server of one bundle, with ETags.
pub(crate) struct FileServer {
    pub(crate) url: String,
    bundle: Arc<Mutex<(Vec<u8>, String)>>,
    not_modified: Arc<AtomicUsize>,
}

impl FileServer {
    pub(crate) fn start(bytes: Vec<u8>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/list.bundle", listener.local_addr().unwrap());
        let bundle = Arc::new(Mutex::new((bytes, "\"v1\"".to_string())));
        let not_modified = Arc::new(AtomicUsize::new(0));
        let (b, nm) = (Arc::clone(&bundle), Arc::clone(&not_modified));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut if_none_match = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("if-none-match:") {
                        if_none_match = Some(v.trim().to_string());
                    }
                }
                let (bytes, etag) = b.lock().unwrap().clone();
                let mut stream = stream;
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    nm.fetch_add(1, Ordering::SeqCst);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                    );
                } else {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    );
                    let _ = stream.write_all(&bytes);
                }
            }
        });
        FileServer {
            url,
            bundle,
            not_modified,
        }
    }
}

#[test]
fn daemon_polls_a_url_with_etags() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let p = work.path().join("a.bundle");
    auth.bundle(4, &p);
    let server = FileServer::start(std::fs::read(&p).unwrap());
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&work.path().join("state")),
        "--poll",
        &server.url,
        "--poll-interval",
        "1",
    ]);
    d.wait_for_sequence(4);
    // The next polls are answered 304 (not fetched again).
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.not_modified.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "never sent If-None-Match");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A new version on the server goes live.
    auth.bundle(5, &p);
    *server.bundle.lock().unwrap() = (std::fs::read(&p).unwrap(), "\"v2\"".to_string());
    d.wait_for_sequence(5);
    assert_eq!(d.decide("9-1-573-555-0142")["list"]["sequence"], 5);
}
