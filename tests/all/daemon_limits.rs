//! `privcall serve` against hostile clients on loopback: idle, slow and
//! unfinished connections are cut off on time, oversized bodies refused
//! before they are read, a flood of connections sheds itself rather than
//! the client that keeps deciding, uploads are checked on their first
//! bytes, one at a time, on the admin listener when there is one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::daemon::{s, Authority, Daemon};

/// A decision request body.
const DECIDE: &str = r#"{"facility":"JCCC","inmate":"A1001","dialed":"+1 573 555 0142","at":"2026-12-01T09:00:00Z"}"#;

/// A daemon on the sample list with `args` added.
fn daemon(args: &[&str]) -> (Daemon, Authority, tempfile::TempDir) {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("seq1.bundle");
    auth.bundle(1, &bundle);
    let state = work.path().join("state");
    let public = auth.public();
    let mut all = vec![
        "--trust",
        s(&public),
        "--state-dir",
        s(&state),
        "--bundle",
        s(&bundle),
        "--log-level",
        "warn",
    ];
    all.extend_from_slice(args);
    let d = Daemon::start(&all);
    (d, auth, work)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    c
}

/// Reads until the server closes the connection or `within` passes;
/// returns what was read and when the close came (`None`: still open).
fn read_until_closed(c: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        match c.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into(), Some(start.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (String::from_utf8_lossy(&got).into(), Some(start.elapsed())),
        }
    }
    (String::from_utf8_lossy(&got).into(), None)
}

/// Whether the server has closed `c` (without waiting).
fn is_closed(mut c: &TcpStream) -> bool {
    c.set_nonblocking(true).unwrap();
    let closed = match c.read(&mut [0u8; 64]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    c.set_nonblocking(false).unwrap();
    closed
}

/// The status code of the first response in `text`.
fn status_of(text: &str) -> Option<u16> {
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// A keep-alive client that sends raw requests and reads whole responses.
struct Client {
    conn: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        let conn = connect(addr);
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            conn,
            buf: Vec::new(),
        }
    }

    /// POSTs `body` to `path`; the status, or `None` if the connection
    /// failed.
    fn post(&mut self, path: &str, body: &[u8]) -> Option<u16> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.conn.write_all(head.as_bytes()).ok()?;
        self.conn.write_all(body).ok()?;
        self.response()
    }

    fn response(&mut self) -> Option<u16> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    self.buf.drain(..end + 4 + len);
                    return status_of(&head);
                }
            }
            match self.conn.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// p50 and p99 of `samples`, in µs.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// `n` decisions on one keep-alive connection; every one must answer 200.
fn timed_decisions(addr: SocketAddr, n: usize) -> (f64, f64) {
    let mut c = Client::new(addr);
    let samples = (0..n)
        .map(|i| {
            let t = Instant::now();
            assert_eq!(
                c.post("/v1/decide", DECIDE.as_bytes()),
                Some(200),
                "decision {i}"
            );
            t.elapsed()
        })
        .collect();
    percentiles(samples)
}

#[test]
fn idle_slow_and_unfinished_clients_are_cut_off_on_time() {
    let (d, _auth, _work) = daemon(&["--header-timeout", "2", "--body-timeout", "2"]);
    let addr = Daemon::addr(&d.base);
    let bound = Duration::from_secs(6);
    let opened = Instant::now();

    // Connected, never a byte: closed after the header timeout.
    let mut idle = connect(addr);
    // Headers one byte every 300 ms: closed at the header timeout, however
    // steadily the bytes come.
    let mut slow = connect(addr);
    let slow_writer = {
        let mut w = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in b"POST /v1/decide HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if w.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // A chunked body that never ends: 408 at the body timeout.
    let mut chunked = connect(addr);
    chunked
        .write_all(b"POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        .unwrap();
    // A keep-alive connection left idle after one good request.
    let mut kept = Client::new(addr);
    assert_eq!(kept.post("/v1/decide", DECIDE.as_bytes()), Some(200));

    for (name, conn) in [
        ("idle", &mut idle),
        ("slow headers", &mut slow),
        ("keep-alive", &mut kept.conn),
    ] {
        let (_, closed) = read_until_closed(conn, bound);
        assert!(closed.is_some(), "{name}: still open after {bound:?}");
        let closed = opened.elapsed();
        assert!(
            closed >= Duration::from_millis(1500),
            "{name}: closed after only {closed:?}"
        );
    }
    let (text, closed) = read_until_closed(&mut chunked, bound);
    assert_eq!(
        status_of(&text),
        Some(408),
        "unfinished chunked body: {text:?}"
    );
    assert!(closed.is_some(), "unfinished chunked body: still open");
    drop(slow_writer);

    // Bodies that say they are too large are refused before any is read.
    for (path, length) in [("/v1/decide", 1_000_000_000u64), ("/v1/decide", 5_000)] {
        let mut c = connect(addr);
        let t = Instant::now();
        c.write_all(
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nhello")
                .as_bytes(),
        )
        .unwrap();
        let (text, _) = read_until_closed(&mut c, bound);
        assert_eq!(
            status_of(&text),
            Some(413),
            "{path} with {length} bytes: {text:?}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{path}: answered after {:?}",
            t.elapsed()
        );
    }
    // And the daemon still decides.
    assert_eq!(d.decide("+1 573 555 0142")["record"], false);
}

#[test]
fn decisions_keep_flowing_under_a_flood_of_idle_and_slow_connections() {
    const IDLE: usize = 2_000;
    const SLOW: usize = 200;
    const DECISIONS: usize = 2_000;
    let (d, _auth, _work) = daemon(&["--max-connections", "512"]);
    let addr = Daemon::addr(&d.base);
    let (p50_quiet, p99_quiet) = timed_decisions(addr, DECISIONS);

    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(addr)).collect();
    let mut slow: Vec<TcpStream> = (0..SLOW).map(|_| connect(addr)).collect();
    for c in &mut slow {
        let _ = c.write_all(b"POST /v1/decide HTTP/1.1\r\n");
    }
    // The slow ones keep trickling header bytes while the client decides.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let stop = std::sync::Arc::clone(&stop);
        let mut slow: Vec<TcpStream> = slow.iter().map(|c| c.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for c in &mut slow {
                    let _ = c.write_all(b"X");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let (p50_flood, p99_flood) = timed_decisions(addr, DECISIONS);
    // A client that opens a fresh connection for every call gets in too:
    // each new connection sheds an idle one.
    let mut fresh = Vec::new();
    for i in 0..100 {
        let t = Instant::now();
        assert_eq!(
            Client::new(addr).post("/v1/decide", DECIDE.as_bytes()),
            Some(200),
            "fresh {i}"
        );
        fresh.push(t.elapsed());
    }
    let (p50_fresh, p99_fresh) = percentiles(fresh);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickle.join().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let shed = idle.iter().filter(|c| is_closed(c)).count();
    println!(
        "decide over keep-alive, {DECISIONS} calls: quiet p50 {p50_quiet:.0} us p99 {p99_quiet:.0} us; \
         under {IDLE} idle + {SLOW} slow connections (cap 512) p50 {p50_flood:.0} us p99 {p99_flood:.0} us; \
         a fresh connection per call p50 {p50_fresh:.0} us p99 {p99_fresh:.0} us; {shed} idle connections shed"
    );
    assert!(
        shed >= IDLE - 512,
        "only {shed} of {IDLE} idle connections were shed"
    );
}

#[test]
fn a_low_descriptor_limit_caps_connections_and_decisions_still_answer() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("seq1.bundle");
    auth.bundle(1, &bundle);
    let state = work.path().join("state");
    let d = Daemon::start_with_nofile(
        256,
        &[
            "--trust",
            s(&auth.public()),
            "--state-dir",
            s(&state),
            "--bundle",
            s(&bundle),
        ],
    );
    let addr = Daemon::addr(&d.base);
    let _idle: Vec<TcpStream> = (0..400).map(|_| connect(addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(
        Client::new(addr).post("/v1/decide", DECIDE.as_bytes()),
        Some(200)
    );
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "decided after {:?}",
        t.elapsed()
    );
    let log = d.stderr.lock().unwrap().clone();
    let accept_failures = log.matches("accept failed").count();
    assert!(
        accept_failures <= 3,
        "{accept_failures} accept-failure lines:\n{log}"
    );
}

#[test]
fn uploads_are_capped_checked_on_their_first_bytes_and_one_at_a_time() {
    let (d, auth, work) = daemon(&["--max-bundle-bytes", "100000"]);
    let addr = Daemon::addr(&d.base);
    let two = work.path().join("seq2.bundle");
    auth.bundle(2, &two);
    let two = std::fs::read(&two).unwrap();
    let upload_head = |len: usize| {
        format!("POST /v1/bundles HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n")
    };

    // Said to be 2 GB: refused at once, nothing read.
    let mut c = connect(addr);
    let t = Instant::now();
    c.write_all(upload_head(2_000_000_000).as_bytes()).unwrap();
    let (text, _) = read_until_closed(&mut c, Duration::from_secs(5));
    assert_eq!(status_of(&text), Some(413), "{text:?}");
    assert!(t.elapsed() < Duration::from_secs(1));

    // Garbage first bytes of a long upload: refused on them.
    let mut c = connect(addr);
    c.write_all(upload_head(90_000).as_bytes()).unwrap();
    c.write_all(b"NOTABUNDLE-garbage").unwrap();
    let (text, _) = read_until_closed(&mut c, Duration::from_secs(5));
    assert_eq!(status_of(&text), Some(400), "{text:?}");
    assert!(text.contains("malformed"), "{text:?}");

    // A real bundle's first half holds the one upload slot...
    let mut first = connect(addr);
    first.write_all(upload_head(two.len()).as_bytes()).unwrap();
    first.write_all(&two[..two.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // ...so a second upload is turned away at once...
    let mut second = Client::new(addr);
    assert_eq!(second.post("/v1/bundles", &two), Some(503));
    // ...and decisions go on meanwhile.
    assert_eq!(d.decide("+1 573 555 0142")["record"], false);
    // The first finishes and goes live.
    first.write_all(&two[two.len() / 2..]).unwrap();
    let (text, _) = read_until_closed(&mut first, Duration::from_secs(10));
    assert_eq!(status_of(&text), Some(200), "{text:?}");
    assert_eq!(d.status()["sequence"], 2);
}

#[test]
fn an_admin_listener_alone_takes_uploads() {
    let (d, auth, work) = daemon(&["--admin-listen", "127.0.0.1:0"]);
    let two = work.path().join("seq2.bundle");
    auth.bundle(2, &two);
    let two = std::fs::read(&two).unwrap();
    let admin = Daemon::addr(d.admin.as_deref().unwrap());
    let main = Daemon::addr(&d.base);
    assert_eq!(Client::new(main).post("/v1/bundles", &two), Some(403));
    assert_eq!(
        Client::new(admin).post("/v1/decide", DECIDE.as_bytes()),
        Some(404)
    );
    assert_eq!(Client::new(admin).post("/v1/bundles", &two), Some(200));
    assert_eq!(d.status()["sequence"], 2);
}

#[test]
fn a_watched_file_over_the_bundle_cap_is_not_read() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let watch = work.path().join("watch");
    std::fs::create_dir(&watch).unwrap();
    let state = work.path().join("state");
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&state),
        "--watch",
        s(&watch),
        "--poll-interval",
        "1",
        "--max-bundle-bytes",
        "1000",
    ]);
    auth.bundle(1, &watch.join("list.bundle"));
    assert!(std::fs::metadata(watch.join("list.bundle")).unwrap().len() > 1000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d
        .stderr
        .lock()
        .unwrap()
        .contains("larger than the limit of 1000 bytes")
    {
        assert!(
            Instant::now() < deadline,
            "no refusal logged: {}",
            d.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(d.status()["sequence"].is_null(), "{}", d.status());
}

#[test]
fn a_decide_error_never_echoes_the_clients_keys() {
    let (d, _auth, _work) = daemon(&[]);
    let body =
        r#"{"facility":"JCCC","inmate":"A1001","+15735550142":"x","at":"2026-12-01T09:00:00Z"}"#;
    let (status, v) = d.post("/v1/decide", body.as_bytes());
    assert_eq!(status, 400, "{v}");
    let text = v.to_string();
    assert!(!text.contains("5550142"), "{text}");
    assert!(text.contains("unknown field"), "{text}");
}

#[test]
fn garbage_pushes_cannot_hide_why_a_watched_bundle_was_refused() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let watch = work.path().join("watch");
    std::fs::create_dir(&watch).unwrap();
    let state = work.path().join("state");
    let d = Daemon::start(&[
        "--trust",
        s(&auth.public()),
        "--state-dir",
        s(&state),
        "--watch",
        s(&watch),
        "--poll-interval",
        "1",
    ]);
    let tampered = work.path().join("seq1.bundle");
    auth.bundle(1, &tampered);
    let mut bytes = std::fs::read(&tampered).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(watch.join("list.bundle"), &bytes).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.status()["last_refusal_by_source"]["file"].is_null() {
        assert!(Instant::now() < deadline, "{}", d.status());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Well-framed garbage, so that the engine itself refuses it.
    for _ in 0..20 {
        let (status, _) = d.post("/v1/bundles", &bytes);
        assert_eq!(status, 403);
    }
    let st = d.status();
    assert_eq!(st["last_refusal"]["source"], "push", "{st}");
    assert_eq!(
        st["last_refusal_by_source"]["file"]["source"], "file",
        "{st}"
    );
    assert_eq!(
        st["last_refusal_by_source"]["file"]["applied"], false,
        "{st}"
    );
}

#[test]
fn a_corrupt_state_starts_the_daemon_in_the_fail_mode_and_says_why() {
    let auth = Authority::new();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    std::fs::create_dir_all(state.join("privcall")).unwrap();
    std::fs::write(state.join("privcall/state"), "not a state").unwrap();
    let d = Daemon::start(&["--trust", s(&auth.public()), "--state-dir", s(&state)]);
    let st = d.status();
    assert!(
        st["state_alarm"]
            .as_str()
            .is_some_and(|a| a.contains("--reset-state")),
        "{st}"
    );
    let v = d.decide("+1 573 555 0142");
    assert_eq!(v["reason"], "fail-safe", "{v}");
    assert_eq!(v["record"], false, "{v}");
}

#[test]
fn an_oversized_request_head_is_refused_without_buffering_it() {
    let (d, _auth, _work) = daemon(&[]);
    let mut c = connect(Daemon::addr(&d.base));
    let t = Instant::now();
    let mut head = b"POST /v1/decide HTTP/1.1\r\nHost: x\r\nX-Pad: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 64 << 10));
    // The daemon may close before all of it is sent.
    let _ = c.write_all(&head);
    let (text, closed) = read_until_closed(&mut c, Duration::from_secs(5));
    assert!(closed.is_some(), "a 64 KiB head kept the connection open");
    if let Some(code) = status_of(&text) {
        assert_eq!(code, 431, "{text:?}");
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(d.decide("+1 573 555 0142")["record"], false);
}
