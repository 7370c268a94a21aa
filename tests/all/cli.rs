//! The `privcall` command line, end to end, as a user runs it.

use std::path::Path;
use std::process::Command;

use privcall_core::canary::{CANARY_NUMBERS, CANARY_WINDOWS};
use serde_json::Value;

use crate::common::{cli_compile_samples, examples, fails, ok};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("authority");
        ok(&["keygen", "--out", s(&name)]);
        cli_compile_samples(
            &dir.path().join("authority.key"),
            7,
            &dir.path().join("list.bundle"),
        );
        Setup { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn decide(
        &self,
        facility: &str,
        inmate: &str,
        dialed: &str,
        at: &str,
        started: Option<&str>,
    ) -> Value {
        let bundle = self.path("list.bundle");
        let trust = self.path("authority.pub");
        let mut args = vec![
            "decide",
            "--bundle",
            &bundle,
            "--trust",
            &trust,
            "--facility",
            facility,
            "--inmate",
            inmate,
            "--dialed",
            dialed,
            "--at",
            at,
            "--json",
        ];
        if let Some(st) = started {
            args.extend(["--started", st]);
        }
        serde_json::from_str(&ok(&args)).unwrap()
    }
}

#[test]
fn keygen_writes_an_owner_only_secret_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("k");
    ok(&["keygen", "--out", s(&name)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    let err = fails(&["keygen", "--out", s(&name)]);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn the_secret_key_is_pkcs8_v1_as_openssl_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("k");
    ok(&["keygen", "--out", s(&name)]);
    let pem = std::fs::read_to_string(dir.path().join("k.key")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // PKCS#8 v1 for Ed25519 is exactly 48 bytes (64 base64 characters):
    // version 0, the algorithm, the 32-byte secret; v2 adds the public key,
    // which OpenSSL 3.0 refuses.
    assert_eq!(b64.len(), 64, "{pem}");
    assert!(b64.starts_with("MC4CAQAw"), "not version 0: {pem}");
    if let Ok(out) = Command::new("openssl")
        .args(["pkey", "-noout", "-in", s(&dir.path().join("k.key"))])
        .output()
    {
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_secret_key_others_can_read_or_the_same_key_twice_is_refused() {
    let setup = Setup::new();
    let key = setup.path("authority.key");
    let args = |keys: &[&str]| {
        let mut a = vec![
            "compile".to_string(),
            "--registry".into(),
            s(&examples().join("registry.csv")).into(),
            "--policy".into(),
            s(&examples().join("policy.toml")).into(),
            "--sequence".into(),
            "9".into(),
            "--expires".into(),
            "2099-01-01T00:00:00Z".into(),
            "--out".into(),
            setup.path("out.bundle"),
        ];
        for k in keys {
            a.push("--key".into());
            a.push(k.to_string());
        }
        a
    };
    let run = |a: Vec<String>| fails(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let err = run(args(&[&key, &key]));
    assert!(err.contains("the same key as an earlier --key"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = run(args(&[&key]));
        assert!(
            err.contains("mode 0644 lets other users read the secret key"),
            "{err}"
        );
    }
    assert!(!Path::new(&setup.path("out.bundle")).exists());
}

#[test]
fn decide_json_has_every_contract_field() {
    let st = Setup::new();
    let d = st.decide(
        "JCCC",
        "A1001",
        "9-1-573-555-0142",
        "2026-12-01T09:00:00Z",
        None,
    );
    for field in [
        "record",
        "monitor",
        "reason",
        "category",
        "private_until",
        "on_expiry",
        "redact_metadata",
        "notice",
        "normalized",
        "list",
    ] {
        assert!(d.get(field).is_some(), "missing {field} in {d}");
    }
    assert_eq!(d["record"], false);
    assert_eq!(d["monitor"], false);
    assert_eq!(d["reason"], "registered");
    assert_eq!(d["category"], "attorney");
    assert_eq!(d["redact_metadata"], true);
    assert_eq!(d["normalized"], "+15735550142");
    assert_eq!(d["list"]["sequence"], 7);
    assert_eq!(d["list"]["digest"].as_str().unwrap().len(), 64);

    let d = st.decide(
        "JCCC",
        "A1001",
        "9 573 555 0163",
        "2026-12-01T13:55:00Z",
        None,
    );
    assert_eq!(d["reason"], "prearranged");
    assert_eq!(d["private_until"], "2026-12-01T14:30:00Z");
    assert_eq!(d["on_expiry"], "stay-private");

    let d = st.decide(
        "JCCC",
        "A1001",
        "9 573 555 0163",
        "2026-12-01T14:30:00Z",
        Some("2026-12-01T14:00:00Z"),
    );
    assert_eq!(d["reason"], "prearranged-overrun");
    assert_eq!(d["record"], false);

    let d = st.decide(
        "JCCC",
        "A1001",
        "9 573 555 0163",
        "2026-12-01T13:54:59Z",
        None,
    );
    assert_eq!(d["reason"], "not-privileged");
    assert_eq!(d["record"], true);
    assert_eq!(d["redact_metadata"], false);
}

#[test]
fn verify_and_inspect() {
    let st = Setup::new();
    let out = ok(&[
        "verify",
        "--bundle",
        &st.path("list.bundle"),
        "--trust",
        &st.path("authority.pub"),
    ]);
    assert!(out.starts_with("OK: sequence 7"), "{out}");
    let out = ok(&["inspect", "--bundle", &st.path("list.bundle"), "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sequence"], 7);
    // The counts include the synthetic canary entries.
    assert_eq!(v["numbers"], 7 + CANARY_NUMBERS);
    assert_eq!(v["prefix_blocks"], 1);
    assert_eq!(v["windows"], 2 + CANARY_WINDOWS);
    // Inspect shows counts, never numbers.
    assert!(
        !out.contains("5550142") && !out.contains("555 0142"),
        "{out}"
    );
}

#[test]
fn tampered_bundle_fails_verify_and_decide() {
    let st = Setup::new();
    let bytes = std::fs::read(st.path("list.bundle")).unwrap();
    // One position in each section: header, body start, body middle, signature.
    for i in [20, 40, bytes.len() / 2, bytes.len() - 10] {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let bad = st.path("bad.bundle");
        std::fs::write(&bad, &b).unwrap();
        let err = fails(&[
            "verify",
            "--bundle",
            &bad,
            "--trust",
            &st.path("authority.pub"),
        ]);
        assert!(err.contains("bad.bundle"), "{err}");
        fails(&[
            "decide",
            "--bundle",
            &bad,
            "--trust",
            &st.path("authority.pub"),
            "--facility",
            "JCCC",
            "--inmate",
            "A1",
            "--dialed",
            "5735550142",
            "--at",
            "2026-12-01T09:00:00Z",
            "--json",
        ]);
    }
}

#[test]
fn wrong_key_and_expired_bundles_fail_verify() {
    let st = Setup::new();
    ok(&["keygen", "--out", &st.path("other")]);
    let err = fails(&[
        "verify",
        "--bundle",
        &st.path("list.bundle"),
        "--trust",
        &st.path("other.pub"),
    ]);
    assert!(err.contains("no signature is by a trusted key"), "{err}");

    let ex = examples();
    ok(&[
        "compile",
        "--registry",
        s(&ex.join("registry.csv")),
        "--policy",
        s(&ex.join("policy.toml")),
        "--key",
        &st.path("authority.key"),
        "--sequence",
        "1",
        "--issued-at",
        "2020-01-01T00:00:00Z",
        "--expires",
        "2020-02-01T00:00:00Z",
        "--out",
        &st.path("old.bundle"),
    ]);
    let err = fails(&[
        "verify",
        "--bundle",
        &st.path("old.bundle"),
        "--trust",
        &st.path("authority.pub"),
    ]);
    assert!(err.contains("expired"), "{err}");
    // A stale list still decides, and says so.
    let out = ok(&[
        "decide",
        "--bundle",
        &st.path("old.bundle"),
        "--trust",
        &st.path("authority.pub"),
        "--facility",
        "JCCC",
        "--inmate",
        "A1",
        "--dialed",
        "5735550142",
        "--at",
        "2026-12-01T09:00:00Z",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["list"]["stale"], true);
    assert_eq!(v["record"], false);
}

#[test]
fn compile_with_bad_rows_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(&["keygen", "--out", s(&dir.path().join("a"))]);
    let registry = dir.path().join("registry.csv");
    std::fs::write(
        &registry,
        "number,category,facilities,valid_from,valid_until,label\n+1 573 555 0142,attorney,,,,ok\nnope,attorney,,,,bad\n",
    )
    .unwrap();
    let out = dir.path().join("list.bundle");
    let err = fails(&[
        "compile",
        "--registry",
        s(&registry),
        "--policy",
        s(&examples().join("policy.toml")),
        "--key",
        s(&dir.path().join("a.key")),
        "--sequence",
        "1",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("registry.csv:3: field `number`"), "{err}");
    assert!(!out.exists());
}

#[test]
fn every_command_has_help() {
    for cmd in ["keygen", "compile", "verify", "inspect", "decide", "demo"] {
        let out = ok(&[cmd, "--help"]);
        assert!(out.contains("Usage: privcall"), "{cmd}: {out}");
    }
    let err = fails(&["decide", "--bundle"]);
    assert!(err.contains("error"), "{err}");
}

#[test]
fn demo_runs_on_the_embedded_samples() {
    let out = ok(&["demo"]);
    assert!(out.contains("registered attorney"), "{out}");
    assert!(out.contains("window ended"), "{out}");
    assert!(out.contains("not privileged"), "{out}");
}

#[test]
fn bench_reports_the_contract_fields() {
    let out = ok(&["bench", "--numbers", "3000", "--samples", "500", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    for path in ["wasm", "native"] {
        for field in ["p50_ns", "p99_ns"] {
            assert!(v[path][field].as_u64().is_some(), "{path}.{field} in {v}");
        }
    }
    let bytes = v["bytes_per_number"].as_f64().unwrap();
    assert!(bytes > 0.0 && bytes < 64.0, "{v}");
    assert!(v["swap_ms"].as_f64().unwrap() > 0.0, "{v}");
    // The new list decides before the other instances are filled.
    let live = v["live_ms"].as_f64().unwrap();
    assert!(live > 0.0 && live <= v["swap_ms"].as_f64().unwrap(), "{v}");
    assert_eq!(v["failed_during_swaps"], 0, "{v}");
    for kind in ["fail_safe", "older_list", "registered_recorded"] {
        assert_eq!(v["failures_during_swaps"][kind], 0, "{kind} in {v}");
    }
    // The cold samples split by kind of call: every sample in one kind.
    let kinds = v["cold_by_kind"].as_array().unwrap();
    let names: Vec<&str> = kinds.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["registered", "not-registered", "prearranged"],
        "{v}"
    );
    let calls: u64 = kinds.iter().map(|k| k["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, v["samples"].as_u64().unwrap(), "{v}");
    // Each kind was measured on both paths (a missing field fails).
    for k in kinds {
        assert!(k["calls"].as_u64().unwrap() > 0, "{k}");
        for path in ["wasm", "native"] {
            let (p50, p99) = (
                k[path]["p50_ns"].as_u64().unwrap(),
                k[path]["p99_ns"].as_u64().unwrap(),
            );
            assert!(0 < p50 && p50 <= p99, "{k}");
        }
    }
    let table = ok(&["bench", "--numbers", "3000", "--samples", "500"]);
    assert!(table.contains("bytes per number"), "{table}");
    for row in [
        "  registered (",
        "  not-registered (",
        "  prearranged (",
        "prearranged: native",
    ] {
        assert!(table.contains(row), "{row} in {table}");
    }
    // Huge pages by default; `--small-pages` measures without them.
    assert_eq!(v["huge_pages"], true, "{v}");
    assert!(table.contains("huge pages: guest memory"), "{table}");
    let small = ok(&[
        "bench",
        "--numbers",
        "3000",
        "--samples",
        "500",
        "--json",
        "--small-pages",
    ]);
    let small: Value = serde_json::from_str(&small).unwrap();
    assert_eq!(small["huge_pages"], false, "{small}");
    assert_eq!(small["heap_collapsed_bytes"], 0, "{small}");
}
