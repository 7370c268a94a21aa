//! `privcall serve --poll` against the network's tricks, all on loopback:
//! plain HTTP and credentials in the URL refused at start, redirects only
//! within the origin, credentials from a file as HTTP Basic and never in
//! the log, a declared size over the cap refused before reading, and TLS
//! to a server whose certificate chains to a CA made in the test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::daemon::{s, Authority, Daemon};

/// What the test server answers a request head with.
type Handler = dyn Fn(&str) -> Vec<u8> + Send + Sync;

/// Reads a request head from `stream`.
fn read_head(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A loopback HTTP server answering every request with `handler`; its
/// base URL (`http://127.0.0.1:PORT`).
fn http_server(handler: Arc<Handler>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let head = read_head(&mut stream);
            let _ = stream.write_all(&handler(&head));
        }
    });
    base
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn redirect(to: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

fn serve_args<'a>(auth: &'a str, state: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![
        "--trust",
        auth,
        "--state-dir",
        state,
        "--poll",
        url,
        "--poll-interval",
        "1",
    ]
}

/// Waits up to 10 s for the daemon's log to contain `text`.
fn wait_for_log(d: &Daemon, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.stderr.lock().unwrap().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log:\n{}",
            d.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn plain_http_off_loopback_and_credentials_in_the_url_are_refused_at_start() {
    let auth = Authority::new();
    let public = auth.public();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    for (url, why) in [
        // A documentation address: never contacted, the check comes first.
        ("http://192.0.2.1/list.bundle", "plain HTTP"),
        (
            "https://edge:s3cret@127.0.0.1:9/list.bundle",
            "credentials in the URL",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_privcall"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(serve_args(s(&public), s(&state), url))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: started");
        assert!(err.contains(why), "{url}: {err}");
        assert!(
            !err.contains("s3cret"),
            "{url}: the password is in the error: {err}"
        );
    }
}

#[test]
fn redirects_are_followed_only_within_the_origin_with_basic_credentials() {
    let auth = Authority::new();
    let public = auth.public();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("b.bundle");
    auth.bundle(3, &bundle);
    let bundle = std::fs::read(&bundle).unwrap();
    // Another origin (another port) that would serve the list.
    let elsewhere = http_server(Arc::new({
        let bundle = bundle.clone();
        move |_: &str| ok(&bundle)
    }));
    let seen_auth = Arc::new(Mutex::new(Vec::new()));
    let base = http_server(Arc::new({
        let (bundle, elsewhere, seen) = (bundle.clone(), elsewhere.clone(), Arc::clone(&seen_auth));
        move |head: &str| {
            let authorized = head
                .lines()
                .any(|l| l.eq_ignore_ascii_case("authorization: Basic ZWRnZTpzM2NyZXQ="));
            seen.lock().unwrap().push(authorized);
            if !authorized {
                return b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
            }
            if head.starts_with("GET /away ") {
                redirect(&format!("{elsewhere}/list.bundle"))
            } else if head.starts_with("GET /moved ") {
                redirect("/list.bundle")
            } else {
                ok(&bundle)
            }
        }
    }));
    let creds = work.path().join("poll.credentials");
    std::fs::write(&creds, "edge:s3cret\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // To another origin: refused, the list never arrives.
    let away = format!("{base}/away");
    let state = work.path().join("state1");
    let mut args = serve_args(s(&public), s(&state), &away);
    args.extend(["--poll-credentials", s(&creds)]);
    let d = Daemon::start(&args);
    wait_for_log(&d, "to another origin");
    assert!(d.status()["sequence"].is_null());
    drop(d);
    // Within the origin: followed, with the credentials.
    let moved = format!("{base}/moved");
    let state = work.path().join("state2");
    let mut args = serve_args(s(&public), s(&state), &moved);
    args.extend(["--poll-credentials", s(&creds)]);
    let d = Daemon::start(&args);
    d.wait_for_sequence(3);
    assert!(
        seen_auth.lock().unwrap().iter().all(|&a| a),
        "a request went without credentials"
    );
    assert!(!d.stderr.lock().unwrap().contains("s3cret"));
}

#[test]
fn a_declared_size_over_the_cap_is_refused_before_reading() {
    let auth = Authority::new();
    let public = auth.public();
    let work = tempfile::tempdir().unwrap();
    // Says 50 MB, sends nothing: the poll fails at once, not after the
    // request timeout.
    let base = http_server(Arc::new(|_: &str| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n".to_vec()
    }));
    let url = format!("{base}/list.bundle");
    let state = work.path().join("state");
    let mut args = serve_args(s(&public), s(&state), &url);
    args.extend(["--max-bundle-bytes", "1000000"]);
    let started = Instant::now();
    let d = Daemon::start(&args);
    wait_for_log(&d, "over the limit");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn https_with_the_operators_ca_and_not_without_it() {
    let auth = Authority::new();
    let public = auth.public();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("b.bundle");
    auth.bundle(5, &bundle);
    let bundle = std::fs::read(&bundle).unwrap();

    // A CA, and a certificate for 127.0.0.1 it signed.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let ca_pem = work.path().join("ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();

    #[expect(
        deprecated,
        reason = "ring, as ureq's client uses; post-quantum key exchange is beside the point of a loopback test"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/list.bundle", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let head = read_head(&mut tls);
            if !head.is_empty() {
                let _ = tls.write_all(&ok(&bundle));
                let _ = tls.flush();
            }
        }
    });

    // Mozilla's roots do not know the test CA: the handshake fails.
    let state = work.path().join("state1");
    let d = Daemon::start(&serve_args(s(&public), s(&state), &url));
    wait_for_log(&d, "polling for a list failed");
    assert!(d.status()["sequence"].is_null());
    drop(d);
    // With --poll-ca: the list arrives over TLS.
    let state = work.path().join("state2");
    let mut args = serve_args(s(&public), s(&state), &url);
    args.extend(["--poll-ca", s(&ca_pem)]);
    let d = Daemon::start(&args);
    d.wait_for_sequence(5);
}
