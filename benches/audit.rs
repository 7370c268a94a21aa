//! The audit's throughput: `privcall audit` replaying synthetic call
//! records (`privcall::fixtures::cdr`) against a signed list, against the
//! floor of just reading and parsing the same CSV (`--parse-only`), in
//! alternating pairs of runs of the release binary so both see the same
//! machine. Prints rows per second, peak resident memory of each run, and
//! the ratio audit / floor.
//!
//! `cargo bench --bench audit` replays 10 million records against a
//! 1-million-number list (`PRIVCALL_AUDIT_ROWS`, `PRIVCALL_AUDIT_NUMBERS`
//! and `PRIVCALL_AUDIT_PAIRS` change that). Without `--bench` (as
//! `cargo test --all-targets` runs it) one small pair runs, and the report
//! must name exactly the generator's recordings. `PRIVCALL_AUDIT_DIR=DIR`
//! writes the list, key and records into DIR and keeps them.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use privcall::fixtures::{cdr, sign_list};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// One run's wall time and peak resident memory.
struct Run {
    secs: f64,
    peak_bytes: Option<u64>,
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (rows, numbers, pairs) = if bench {
        (
            env("PRIVCALL_AUDIT_ROWS", 10_000_000),
            env("PRIVCALL_AUDIT_NUMBERS", 1_000_000),
            env("PRIVCALL_AUDIT_PAIRS", 3),
        )
    } else {
        (20_000, 10_000, 1)
    };
    let temp = tempfile::tempdir().expect("a temporary folder");
    // PRIVCALL_AUDIT_DIR keeps the files (to profile a run, say).
    let kept = std::env::var_os("PRIVCALL_AUDIT_DIR").map(std::path::PathBuf::from);
    let dir = kept.as_deref().unwrap_or(temp.path());
    let list = cdr::list(numbers as usize, (numbers as usize / 100).max(2), 3);
    let bundle = dir.join("list.bundle");
    std::fs::write(&bundle, sign_list(&list.list, 1)).expect("writing the bundle");
    let key = dir.join("authority.pub");
    std::fs::write(&key, cdr::throwaway_public_pem()).expect("writing the key");
    let calls = dir.join("calls.csv");
    let started = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(&calls).expect("creating the CDR"));
    let expected = cdr::write(&list, rows, 9, false, &mut out).expect("writing the CDR");
    out.flush().expect("writing the CDR");
    drop(out);
    let size = std::fs::metadata(&calls).map_or(0, |m| m.len());
    println!(
        "audit: {rows} records ({:.0} MiB, generated in {:.1} s), {numbers} numbers, {pairs} pairs",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    let report = dir.join("report.csv");
    let audit = |parse_only: bool| -> Run {
        let _ = std::fs::remove_file(&report);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_privcall"));
        cmd.args(["audit", "--calls"])
            .arg(&calls)
            .arg("--bundle")
            .arg(&bundle)
            .arg("--trust")
            .arg(&key)
            .args(["--tz", cdr::ZONE, "--out"])
            .arg(&report)
            .stderr(std::process::Stdio::null());
        if parse_only {
            cmd.arg("--parse-only");
        }
        run(&mut cmd)
    };
    let (mut floor, mut full, mut ratios) = (vec![], vec![], vec![]);
    for pair in 0..pairs {
        // Alternate which goes first, so neither always gets a warm cache.
        let (f, a) = if pair % 2 == 0 {
            let f = audit(true);
            (f, audit(false))
        } else {
            let a = audit(false);
            (audit(true), a)
        };
        ratios.push(a.secs / f.secs);
        floor.push(f);
        full.push(a);
    }
    check_report(&report, expected.named_count);
    let rate = |runs: &[Run]| {
        let mut r: Vec<f64> = runs.iter().map(|r| rows as f64 / r.secs).collect();
        r.sort_by(f64::total_cmp);
        r[r.len() / 2]
    };
    let peak = |runs: &[Run]| {
        runs.iter()
            .filter_map(|r| r.peak_bytes)
            .max()
            .map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
    };
    ratios.sort_by(f64::total_cmp);
    let (floor_rate, full_rate) = (rate(&floor), rate(&full));
    println!(
        "  parse only (floor): {:>10.0} rows/s  peak resident {}",
        floor_rate,
        peak(&floor)
    );
    println!(
        "  audit:              {:>10.0} rows/s  peak resident {}",
        full_rate,
        peak(&full)
    );
    println!(
        "  audit / floor: median {:.2} (pairs: {})",
        ratios[ratios.len() / 2],
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  named {} recordings; 70 million records at this rate: {:.0} s",
        expected.named_count,
        70e6 / full_rate
    );
}

/// The report names as many recordings as the generator expects.
fn check_report(report: &Path, named: u64) {
    let text = std::fs::read_to_string(report).expect("the report exists");
    let rows = text.lines().count() as u64 - 1;
    assert_eq!(rows, named, "the report's rows against the generator's");
}

/// Runs `cmd` to its end: wall time and the child's peak resident
/// memory, read from its `/proc` status while it runs (Linux; the peak of
/// its own image, not of the benchmark it was forked from, as `wait4`
/// would report).
fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let mut child = cmd.spawn().expect("starting privcall");
    let status = format!("/proc/{}/status", child.id());
    let mut peak_bytes = None;
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("waiting for privcall") {
            break exit;
        }
        if let Some(kib) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak_bytes = Some(kib * 1024);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(exit.success(), "privcall audit failed");
    Run {
        secs: started.elapsed().as_secs_f64(),
        peak_bytes,
    }
}

/// The `VmHWM` (peak resident) line of a `/proc/PID/status`, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
