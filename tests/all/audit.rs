//! `privcall audit` end to end: a generated set of call records over the
//! sample lists, each with the outcome it must have, and the exact
//! recordings the report names.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{cli_compile_samples, examples};

/// What the audit must say of one generated record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Named in the report with this reason.
    Named(&'static str),
    /// Privileged but not recorded: counted, not named.
    PrivateUnrecorded,
    /// Not privileged.
    Ordinary,
    /// A repeat of an earlier record.
    Duplicate,
    /// A bad row, skipped.
    Skipped,
}

/// A generated CDR: rows in a vendor's column names (`Site`, `Account`,
/// `To`, `When`, `Secs`, `Media`), with the outcome of each.
fn generate() -> (String, Vec<(String, Expect)>) {
    use Expect::*;
    let mut rows = vec![];
    let mut add = |site: &str, dialed: &str, when: &str, secs: u32, expect: Expect| {
        let id = format!("r{:03}", rows.len() + 1);
        let media = if expect == PrivateUnrecorded {
            String::new()
        } else {
            id.clone()
        };
        rows.push((
            format!("{site},A1001,\"{dialed}\",{when},{secs},{media}"),
            id,
            expect,
        ));
    };
    // The registered attorney in every everyday format, recorded.
    for dialed in [
        "+1 573 555 0142",
        "9-1-573-555-0142",
        "9 555 0142",
        "(573) 555-0142",
        "573.555.0142 ext. 12",
        "tel:+1-573-555-0142",
        "011 1 573 555 0142",
    ] {
        add(
            "JCCC",
            dialed,
            "2026-12-01T09:00:00Z",
            60,
            Named("registered"),
        );
    }
    // The same, not recorded: counted, not named.
    add(
        "JCCC",
        "573-555-0142",
        "2026-12-01T09:30:00Z",
        60,
        PrivateUnrecorded,
    );
    // The defender office's DID block, and its edge.
    add(
        "JCCC",
        "573-555-0189",
        "2026-12-01T10:00:00Z",
        60,
        Named("registered"),
    );
    add("JCCC", "573-555-0190", "2026-12-01T10:00:00Z", 60, Ordinary);
    // A registration's validity, as of each call's setup (2025-01-01 to
    // 2025-12-31).
    add(
        "JCCC",
        "314-555-0111",
        "2025-06-01 12:00:00",
        60,
        Named("registered"),
    );
    add("JCCC", "314-555-0111", "2026-06-01T12:00:00Z", 60, Ordinary);
    // Clergy is exempt at JCCC, not at WERDCC.
    add(
        "JCCC",
        "573-555-0177",
        "2026-12-01T11:00:00Z",
        60,
        Named("registered"),
    );
    add(
        "WERDCC",
        "573-555-0177",
        "2026-12-01T11:00:00Z",
        60,
        Ordinary,
    );
    // The prearranged window 14:00–14:30 at JCCC (early grace 5 min).
    add(
        "JCCC",
        "573-555-0163",
        "2026-12-01T13:56:00Z",
        60,
        Named("prearranged"),
    );
    add("JCCC", "573-555-0163", "2026-12-01T13:54:00Z", 60, Ordinary);
    add(
        "JCCC",
        "573-555-0163",
        "2026-12-01T14:10:00Z",
        600,
        Named("prearranged"),
    );
    add(
        "JCCC",
        "573-555-0163",
        "2026-12-01T14:20:00Z",
        1200,
        Named("prearranged-overrun"),
    );
    add("JCCC", "573-555-0163", "2026-12-01T14:30:00Z", 60, Ordinary);
    // Ordinary calls.
    for i in 0..5 {
        add(
            "JCCC",
            &format!("573-555-02{i:02}"),
            "2026-12-01T15:00:00Z",
            60,
            Ordinary,
        );
    }
    let mut text = String::from("Site,Account,To,When,Secs,Media\n");
    let mut expected = vec![];
    for (row, id, expect) in &rows {
        text.push_str(row);
        text.push('\n');
        expected.push((id.clone(), *expect));
    }
    // A repeat of the first record, and rows that cannot be read.
    text.push_str(&format!("{}\n", rows[0].0));
    expected.push((rows[0].1.clone(), Expect::Duplicate));
    text.push_str("JCCC,A1001,573-555-0142,last tuesday,60,bad1\n");
    expected.push(("bad1".into(), Skipped));
    text.push_str("JCCC,A1001,,2026-12-01T09:00:00Z,60,bad2\n");
    expected.push(("bad2".into(), Skipped));
    (text, expected)
}

const MAP: &str = "facility=Site,inmate=Account,dialed=To,start=When,duration=Secs,recording=Media";

fn privcall(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_privcall"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A run that fails before reading its input closes the pipe early.
    let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_report_names_exactly_the_privileged_recordings() {
    let (cdr, expected) = generate();
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.csv");
    std::fs::write(&calls, &cdr).unwrap();
    let (report, summary) = (
        dir.path().join("report.json"),
        dir.path().join("summary.json"),
    );
    let ex = examples();
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            s(&calls),
            "--registry",
            s(&ex.join("registry.csv")),
            "--prearranged",
            s(&ex.join("prearranged.csv")),
            "--policy",
            s(&ex.join("policy.toml")),
            "--map",
            MAP,
            "--format",
            "json",
            "--out",
            s(&report),
            "--summary",
            s(&summary),
        ],
        None,
    );
    assert!(ok, "{err}");
    let rows: Vec<Value> = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let named: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["recording"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = expected
        .iter()
        .filter_map(|(id, e)| match e {
            Expect::Named(reason) => Some((id.clone(), reason.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(named, want);
    assert_eq!(rows.len(), want.len(), "a recording named twice");
    // The overrun carries its window's end; no number without --show-numbers.
    let overrun = rows
        .iter()
        .find(|r| r["reason"] == "prearranged-overrun")
        .unwrap();
    assert_eq!(overrun["window_end"], "2026-12-01T14:30:00Z");
    assert!(rows.iter().all(|r| r.get("number").is_none()));
    assert!(!std::fs::read_to_string(&report).unwrap().contains("555"));
    // The summary counts what was not named, and names skipped rows by line.
    let sum: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let count = |e: Expect| expected.iter().filter(|(_, x)| *x == e).count() as u64;
    assert_eq!(sum["duplicates"], count(Expect::Duplicate));
    assert_eq!(
        sum["not_recorded_privileged"],
        count(Expect::PrivateUnrecorded)
    );
    assert_eq!(sum["recorded_privileged"], want.len() as u64);
    let skipped: Vec<&str> = sum["skipped_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len() as u64, count(Expect::Skipped), "{skipped:?}");
    let last = cdr.lines().count();
    assert!(
        skipped[0].ends_with(&format!(":{}: start is not a time", last - 1)),
        "{skipped:?}"
    );
    assert!(!sum.to_string().contains("last tuesday"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&report, &summary] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}

#[test]
fn a_signed_bundle_from_stdin_records_and_csv_with_numbers() {
    let (cdr, expected) = generate();
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = privcall(&["keygen", "--out", s(&dir.path().join("auth"))], None);
    assert!(ok, "{err}");
    let bundle = dir.path().join("list.bundle");
    cli_compile_samples(&dir.path().join("auth.key"), 1, &bundle);
    let report = dir.path().join("report.csv");
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            "-",
            "--bundle",
            s(&bundle),
            "--trust",
            s(&dir.path().join("auth.pub")),
            "--map",
            MAP,
            "--out",
            s(&report),
            "--show-numbers",
        ],
        Some(&cdr),
    );
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&report).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("recording,reason,action,category,window_end,facility,start,number")
    );
    let named: BTreeSet<String> = lines
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = expected
        .iter()
        .filter(|(_, e)| matches!(e, Expect::Named(_)))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(named, want);
    assert!(text.contains("+15735550142"), "--show-numbers: {text}");
    // A wrong key: the bundle is refused, nothing is written.
    let (ok, _, err) = privcall(&["keygen", "--out", s(&dir.path().join("other"))], None);
    assert!(ok, "{err}");
    let refused = dir.path().join("refused.csv");
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            "-",
            "--bundle",
            s(&bundle),
            "--trust",
            s(&dir.path().join("other.pub")),
            "--map",
            MAP,
            "--out",
            s(&refused),
        ],
        Some(&cdr),
    );
    assert!(!ok);
    assert!(err.contains("list.bundle"), "{err}");
    assert!(!refused.exists());
}

#[test]
fn a_missing_column_names_the_file_and_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.csv");
    std::fs::write(
        &calls,
        "facility,inmate,number,start\nJCCC,A1,1,2026-12-01T00:00:00Z\n",
    )
    .unwrap();
    let ex = examples();
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            s(&calls),
            "--registry",
            s(&ex.join("registry.csv")),
            "--policy",
            s(&ex.join("policy.toml")),
            "--out",
            s(&dir.path().join("r.csv")),
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("calls.csv"), "{err}");
    assert!(err.contains("--map dialed=COLUMN"), "{err}");
}

#[test]
fn local_times_across_daylight_saving_changes_from_a_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let ex = examples();
    // Windows that meet Chicago's daylight-saving changes of 2026: the
    // fold of 1 November (01:00–02:00 happens twice) and the gap of
    // 8 March (02:00–03:00 does not happen).
    let windows = dir.path().join("prearranged.csv");
    std::fs::write(
        &windows,
        "facility,inmate,number,start,end,ref\n\
         JCCC,A1001,573-555-0163,2026-11-01T06:00:00Z,2026-11-01T06:30:00Z,FOLD\n\
         JCCC,A1001,573-555-0163,2026-03-08T07:20:00Z,2026-03-08T07:40:00Z,GAP\n",
    )
    .unwrap();
    let cdr = "facility,inmate,dialed,start,duration,recording\n\
               JCCC,A1001,573-555-0163,11/01/2026 01:10:00 AM,300,rfold\n\
               JCCC,A1001,573-555-0163,03/08/2026 02:30:00 AM,60,rgap\n\
               JCCC,A1001,573-555-0163,11/01/2026 03:00:00 AM,60,rlater\n\
               JCCC,A1001,+1 573 555 0142,2026-12-01 03:00:00,60,rreg\n";
    let calls = dir.path().join("calls.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&calls).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(cdr.as_bytes()).unwrap();
    gz.finish().unwrap();
    let (report, summary) = (dir.path().join("r.json"), dir.path().join("s.json"));
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            s(&calls),
            "--registry",
            s(&ex.join("registry.csv")),
            "--prearranged",
            s(&windows),
            "--policy",
            s(&ex.join("policy.toml")),
            "--tz",
            "America/Chicago",
            "--format",
            "json",
            "--out",
            s(&report),
            "--summary",
            s(&summary),
        ],
        None,
    );
    assert!(ok, "{err}");
    let rows: Vec<Value> = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let named: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["recording"].as_str().unwrap())
        .collect();
    // The fold's first 01:10 is inside the window, the gap's 02:30 read
    // as 07:30Z is too: both named. 03:00 CST is not; the attorney is.
    assert_eq!(named, BTreeSet::from(["rfold", "rgap", "rreg"]));
    let attorney = rows.iter().find(|r| r["recording"] == "rreg").unwrap();
    assert_eq!(
        attorney["start"], "2026-12-01T09:00:00Z",
        "03:00 CST is 09:00Z"
    );
    let sum: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(sum["ambiguous_local_times"], 2);
    // An unknown zone is an error naming it.
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            s(&calls),
            "--registry",
            s(&ex.join("registry.csv")),
            "--policy",
            s(&ex.join("policy.toml")),
            "--tz",
            "Mars/Olympus",
            "--out",
            s(&dir.path().join("x.csv")),
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("Mars/Olympus"), "{err}");
}

/// A generated set (every dialed format, windows and their edges,
/// overruns with and without recording offsets, validity edges, repeats,
/// malformed rows, the nights the clocks change) replayed against a
/// signed bundle: the report names exactly the generator's recordings,
/// and the summary's counts are its counts.
#[test]
fn a_generated_set_names_exactly_its_privileged_recordings() {
    use privcall::fixtures::{cdr, sign_list};
    let dir = tempfile::tempdir().unwrap();
    let list = cdr::list(2_000, 300, 11);
    let bundle = dir.path().join("list.bundle");
    std::fs::write(&bundle, sign_list(&list.list, 1)).unwrap();
    let key = dir.path().join("authority.pub");
    std::fs::write(&key, cdr::throwaway_public_pem()).unwrap();
    // Two files, the second gzip-compressed: one run spans both.
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let expected = cdr::write(&list, 30_000, 5, true, &mut first).unwrap();
    let split = first.len() / 2
        + first[first.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let header_end = first.iter().position(|&b| b == b'\n').unwrap() + 1;
    second.extend_from_slice(&first[..header_end]);
    second.extend_from_slice(&first[split..]);
    first.truncate(split);
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv.gz"));
    std::fs::write(&a, &first).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&b).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&second).unwrap();
    gz.finish().unwrap();
    let (report, summary) = (dir.path().join("r.json"), dir.path().join("s.json"));
    let (ok, _, err) = privcall(
        &[
            "audit",
            "--calls",
            s(&a),
            s(&b),
            "--bundle",
            s(&bundle),
            "--trust",
            s(&key),
            "--tz",
            cdr::ZONE,
            "--format",
            "json",
            "--out",
            s(&report),
            "--summary",
            s(&summary),
        ],
        None,
    );
    assert!(ok, "{err}");
    // stderr is a pipe here: the summary, and no progress bar.
    assert!(err.contains("privileged and recorded"), "{err}");
    assert!(!err.contains("rows/s") && !err.contains('\r'), "{err}");
    let rows: Vec<Value> = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let named: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["recording"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = expected
        .named
        .iter()
        .map(|(id, reason, action)| (id.clone(), reason.to_string(), action.to_string()))
        .collect();
    let missing: Vec<_> = want.difference(&named).take(5).collect();
    let extra: Vec<_> = named.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(
        rows.len() as u64,
        expected.named_count,
        "a recording named twice"
    );
    // Every kind of outcome is in the set, so each is really checked.
    for kind in [
        ("registered", "destroy"),
        ("prearranged", "destroy"),
        ("prearranged-overrun", "destroy"),
        ("prearranged-overrun", "cut-before-window-end"),
    ] {
        assert!(
            expected.named.iter().any(|(_, r, a)| (*r, *a) == kind),
            "{kind:?}"
        );
    }
    for id in ["fold-in", "gap-in"] {
        assert!(named.iter().any(|(r, _, _)| r == id), "{id}");
    }
    assert!(!named.iter().any(|(r, _, _)| r == "fold-out"));
    let sum: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(sum["rows"], expected.rows);
    assert_eq!(sum["duplicates"], expected.repeats);
    assert_eq!(sum["not_recorded_privileged"], expected.unrecorded);
    assert_eq!(sum["recorded_after_window"], expected.after_window);
    assert_eq!(sum["ambiguous_local_times"], expected.ambiguous);
    let skipped: u64 = sum["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(skipped, expected.skipped);
    for n in [
        expected.repeats,
        expected.unrecorded,
        expected.after_window,
        expected.skipped,
    ] {
        assert!(n > 0, "the set lacks a kind of record: {expected:?}");
    }
}

/// The limits a hostile CDR meets: a row that never ends (an unclosed
/// quote) stops the file at its line instead of filling memory; past the
/// number of privileged calls remembered, a repeat is named again rather
/// than hidden.
#[test]
fn a_hostile_cdr_meets_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let ex = examples();
    let (registry, policy) = (ex.join("registry.csv"), ex.join("policy.toml"));
    let lists = ["--registry", s(&registry), "--policy", s(&policy)];
    // 3 MiB after an opening quote that never closes, on line 3.
    let calls = dir.path().join("endless.csv");
    let mut cdr = String::from(
        "facility,inmate,dialed,start,duration,recording\n\
         JCCC,A1,573-555-0142,2026-12-01T09:00:00Z,60,r1\n\
         JCCC,A1,\"573-555-0142",
    );
    cdr.push_str(&"0".repeat(3 << 20));
    std::fs::write(&calls, &cdr).unwrap();
    let out = dir.path().join("r.csv");
    let mut args = vec!["audit", "--calls", s(&calls), "--out", s(&out)];
    args.extend(lists);
    let (ok, _, err) = privcall(&args, None);
    assert!(!ok);
    assert!(
        err.contains("endless.csv") && err.contains("line 3"),
        "{err}"
    );
    assert!(err.contains("longer than 1024 KiB"), "{err}");
    assert!(
        !out.exists(),
        "no report from a file that could not be read"
    );
    assert!(!err.contains("555"), "{err}");

    // Three privileged calls, each recorded twice, with room to remember
    // two: the third's repeat is named again, and the summary says why.
    let calls = dir.path().join("repeats.csv");
    let mut cdr = String::from("facility,inmate,dialed,start,duration,recording\n");
    for _ in 0..2 {
        for r in ["r1", "r2", "r3"] {
            cdr.push_str(&format!(
                "JCCC,A1,573-555-0142,2026-12-01T09:00:00Z,60,{r}\n"
            ));
        }
    }
    std::fs::write(&calls, &cdr).unwrap();
    let summary = dir.path().join("s.json");
    let mut args = vec![
        "audit",
        "--calls",
        s(&calls),
        "--out",
        s(&out),
        "--summary",
        s(&summary),
        "--max-tracked",
        "2",
    ];
    args.extend(lists);
    let (ok, _, err) = privcall(&args, None);
    assert!(ok, "{err}");
    let report = std::fs::read_to_string(&out).unwrap();
    let named: Vec<&str> = report.lines().skip(1).map(|l| &l[..2]).collect();
    assert_eq!(named, ["r1", "r2", "r3", "r3"]);
    let sum: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(sum["duplicates"], 2);
    assert_eq!(sum["repeats_checked_up_to"], 2);
    assert!(err.contains("named twice"), "{err}");
}
