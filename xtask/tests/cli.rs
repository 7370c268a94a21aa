//! `cargo xtask bench-gate` end to end, without valgrind: a stand-in gate
//! binary and a stand-in valgrind (shell scripts) play their parts, so the
//! exit codes and messages are checked in milliseconds. The real run is
//! `cargo xtask bench-gate` itself (CI runs it).

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder with the stand-ins, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The gate: two benchmarks.
        script(
            &dir.join("gate"),
            "#!/bin/sh\n[ \"$1\" = --list ] && printf 'alpha 10\\nbeta 1\\n'\nexit 0\n",
        );
        // valgrind: alpha counts 1000 instructions, beta 5000.
        script(
            &dir.join("valgrind"),
            r#"#!/bin/sh
[ "$1" = --version ] && { echo valgrind-fake; exit 0; }
for a in "$@"; do
  case "$a" in
    --callgrind-out-file=*) out="${a#--callgrind-out-file=}" ;;
    --toggle-collect=gate_measure_alpha) n=1000 ;;
    --toggle-collect=gate_measure_beta) n=5000 ;;
  esac
done
printf 'events: Ir\nsummary: %s\ntotals: %s\n' "$n" "$n" > "$out"
"#,
        );
        Scratch(dir)
    }

    fn baseline(&self, text: &str) -> PathBuf {
        let path = self.0.join("baseline.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn xtask(&self, args: &[&str], baseline: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .arg("--baseline")
            .arg(baseline)
            .arg("--gate")
            .arg(self.0.join("gate"))
            .env("VALGRIND", self.0.join("valgrind"))
            .env("CARGO_TARGET_DIR", self.0.join("target"))
            .output()
            .unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const GOOD: &str =
    r#"{"alpha": {"instructions": 1000}, "beta": {"instructions": 5000, "wasmtime": "48.0.8"}}"#;

#[test]
fn the_gate_passes_on_equal_counts_and_prints_a_row_per_benchmark() {
    let s = Scratch::new("pass");
    let out = s.xtask(&["bench-gate"], &s.baseline(GOOD));
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("bench-gate: passed"), "{text}");
    for row in ["alpha", "beta"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(row) && l.contains("+0.000%") && l.ends_with("ok")),
            "{text}"
        );
    }
}

#[test]
fn a_baseline_5_percent_low_fails_naming_the_benchmark() {
    let s = Scratch::new("regress");
    let low = GOOD.replace("5000", "4750");
    let out = s.xtask(&["bench-gate"], &s.baseline(&low));
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("  beta: +5.26% more instructions"), "{text}");
    assert!(!text.contains("  alpha:"), "{text}");
    // A wider threshold lets it through.
    let out = s.xtask(&["bench-gate", "--threshold", "6"], &s.baseline(&low));
    assert_eq!(out.status.code(), Some(0), "{}", self::text(&out));
}

#[test]
fn a_benchmark_missing_from_either_side_fails() {
    let s = Scratch::new("missing");
    let out = s.xtask(
        &["bench-gate"],
        &s.baseline(r#"{"alpha": {"instructions": 1000}, "gamma": {"instructions": 1}}"#),
    );
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("beta: measured but missing from the baseline"),
        "{text}"
    );
    assert!(
        text.contains("gamma: in the baseline but not measured"),
        "{text}"
    );
}

#[test]
fn a_missing_or_malformed_baseline_is_an_error_naming_the_file() {
    let s = Scratch::new("malformed");
    let missing = s.0.join("nowhere.json");
    let out = s.xtask(&["bench-gate"], &missing);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("nowhere.json") && text.contains("cannot read"),
        "{text}"
    );

    for bad in [
        "",
        "{\"alpha\": 1000}",
        "{\"alpha\": {\"instructions\": \"many\"}}",
    ] {
        let out = s.xtask(&["bench-gate"], &s.baseline(bad));
        let text = self::text(&out);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {text}");
        assert!(text.contains("baseline.json is malformed"), "{text}");
        assert!(!text.contains("passed"), "{text}");
    }
}

#[test]
fn bench_baseline_writes_what_the_gate_then_passes() {
    let s = Scratch::new("rewrite");
    let path = s.baseline("{}");
    let out = s.xtask(&["bench-baseline"], &path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("\"instructions\": 5000"), "{written}");
    assert!(
        written.contains("\"valgrind\": \"valgrind-fake\""),
        "{written}"
    );
    let out = s.xtask(&["bench-gate"], &path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
