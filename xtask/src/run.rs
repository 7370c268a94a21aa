//! Building the gate's benchmark binary and counting each benchmark's
//! instructions under `valgrind --tool=callgrind`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::compare::{Measurement, Toolchain};

/// The workspace root (the xtask crate's parent folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The valgrind to run: `$VALGRIND`, or `valgrind` from the PATH.
fn valgrind() -> String {
    std::env::var("VALGRIND").unwrap_or_else(|_| "valgrind".into())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds `benches/gate/main.rs` with the bench profile (what `cargo bench`
/// uses) and returns the path of its executable.
pub fn build_gate(root: &Path) -> Result<PathBuf> {
    eprintln!("bench-gate: building the gate benchmarks (cargo bench --bench gate --no-run)");
    let output = Command::new(cargo())
        .current_dir(root)
        .args([
            "bench",
            "--bench",
            "gate",
            "--no-run",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo to build the gate benchmarks")?;
    if !output.status.success() {
        bail!("building the gate benchmarks failed ({})", output.status);
    }
    executable_from_messages(&String::from_utf8_lossy(&output.stdout))
}

/// The `gate` executable named in cargo's JSON messages.
fn executable_from_messages(messages: &str) -> Result<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "gate")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo built no `gate` executable (is the [[bench]] target registered?)")
}

/// The benchmarks the binary defines (`gate --list`), with their iterations.
pub fn list(gate: &Path) -> Result<Vec<(String, u64)>> {
    let output = Command::new(gate)
        .arg("--list")
        .output()
        .with_context(|| format!("running {} --list", gate.display()))?;
    if !output.status.success() {
        bail!(
            "{} --list failed ({}): {}",
            gate.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut benches = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(iterations), None) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("unexpected line from gate --list: {line:?}");
        };
        let iterations = iterations
            .parse()
            .with_context(|| format!("unexpected line from gate --list: {line:?}"))?;
        benches.push((name.to_string(), iterations));
    }
    if benches.is_empty() {
        bail!("{} --list names no benchmark", gate.display());
    }
    Ok(benches)
}

/// Fails early, with the fix, when valgrind is not installed.
pub fn valgrind_version() -> Result<String> {
    let output = Command::new(valgrind()).arg("--version").output().context(
        "valgrind is not installed (Debian/Ubuntu: `apt-get install -y valgrind`); \
         the gate counts instructions with valgrind's callgrind tool",
    )?;
    if !output.status.success() {
        bail!("`valgrind --version` failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The toolchain the counts are measured with.
pub fn toolchain(root: &Path, valgrind: String) -> Result<Toolchain> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .current_dir(root)
        .arg("--version")
        .output()
        .with_context(|| format!("running {rustc} --version"))?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    Ok(Toolchain {
        rustc: String::from_utf8_lossy(&output.stdout).trim().to_string(),
        wasmtime: locked_version(&lock, "wasmtime").unwrap_or_default(),
        valgrind,
    })
}

/// The version of `package` in a Cargo.lock.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    let wanted = format!("name = \"{package}\"");
    lines.find(|l| l.trim() == wanted)?;
    let version = lines.next()?.trim().strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_string())
}

/// The valgrind command line measuring one benchmark.
pub fn callgrind_command(gate: &Path, name: &str, out_file: &Path) -> Command {
    let mut command = Command::new(valgrind());
    command
        .arg("--tool=callgrind")
        // Count nothing until the measured function is entered, and stop
        // when it returns: setup is never counted.
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect=gate_measure_{name}"))
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(gate)
        .arg(name);
    command
}

/// Runs one benchmark under callgrind and returns the instructions counted.
pub fn measure(gate: &Path, name: &str, iterations: u64, out_dir: &Path) -> Result<Measurement> {
    let out_file = out_dir.join(format!("{name}.callgrind"));
    let _ = std::fs::remove_file(&out_file);
    let output = callgrind_command(gate, name, &out_file)
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("{name}: running valgrind"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{name}: the benchmark failed under valgrind ({}):\n{}",
            output.status,
            tail.join("\n")
        );
    }
    let text = std::fs::read_to_string(&out_file)
        .with_context(|| format!("{name}: reading {}", out_file.display()))?;
    let instructions = totals(&text).with_context(|| format!("{name}: {}", out_file.display()))?;
    if instructions == 0 {
        bail!(
            "{name}: callgrind counted no instruction: the measured function \
             gate_measure_{name} was never entered (renamed or inlined?)"
        );
    }
    Ok(Measurement {
        instructions,
        iterations,
    })
}

/// The instruction total of a callgrind output file (its `totals:` line, or
/// `summary:` when there is none).
pub fn totals(callgrind_out: &str) -> Result<u64> {
    let events = callgrind_out
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .context("no `events:` line: not a callgrind output file")?;
    let index = events
        .split_whitespace()
        .position(|e| e == "Ir")
        .context("callgrind did not count instructions (no Ir event)")?;
    let line = callgrind_out
        .lines()
        .find_map(|l| l.strip_prefix("totals:"))
        .or_else(|| {
            callgrind_out
                .lines()
                .find_map(|l| l.strip_prefix("summary:"))
        })
        .context("no `totals:` or `summary:` line: callgrind did not finish")?;
    let field = line
        .split_whitespace()
        .nth(index)
        .context("the totals line has no Ir count")?;
    field
        .parse()
        .with_context(|| format!("the Ir count {field:?} is not a number"))
}

/// Measures every benchmark, `jobs` at a time (each run is its own process;
/// counts do not depend on what else runs on the machine).
pub fn measure_all(
    gate: &Path,
    benches: &[(String, u64)],
    out_dir: &Path,
    jobs: usize,
) -> Result<BTreeMap<String, Measurement>> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let next = Mutex::new(benches.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let Some((name, iterations)) = next.lock().unwrap().next() else {
                    break;
                };
                let started = std::time::Instant::now();
                let result = measure(gate, name, *iterations, out_dir);
                if let Ok(m) = &result {
                    eprintln!(
                        "bench-gate: {name}: {} instructions ({:.1}s under valgrind)",
                        m.instructions,
                        started.elapsed().as_secs_f64()
                    );
                }
                results.lock().unwrap().push((name.clone(), result));
            });
        }
    });
    let mut measured = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, result) in results.into_inner().unwrap() {
        match result {
            Ok(m) => {
                measured.insert(name, m);
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        errors.sort();
        bail!("{}", errors.join("\n"));
    }
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\n\
        cmd:  gate wasm_decide_registered\npositions: line\nevents: Ir\n\
        summary: 897119\n\nfn=(1) gate_measure_x\n0 19\ntotals: 897119\n";

    #[test]
    fn totals_reads_the_instruction_count() {
        assert_eq!(totals(OUT).unwrap(), 897_119);
        let two_events = "events: Ir Dr\nsummary: 10 20\n";
        assert_eq!(totals(two_events).unwrap(), 10);
        let dr_first = "events: Dr Ir\ntotals: 10 20\n";
        assert_eq!(totals(dr_first).unwrap(), 20);
    }

    #[test]
    fn totals_refuses_files_that_are_not_callgrind_output() {
        assert!(totals("").is_err());
        assert!(totals("events: Ir\n").is_err(), "no totals: unfinished run");
        assert!(totals("events: Dr\ntotals: 5\n").is_err(), "no Ir event");
        assert!(totals("events: Ir\ntotals: many\n").is_err());
    }

    #[test]
    fn the_gate_executable_is_found_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"privcall"},"executable":null}
{"reason":"compiler-artifact","target":{"name":"gate"},"executable":"/t/release/deps/gate-abc"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_messages(messages).unwrap(),
            PathBuf::from("/t/release/deps/gate-abc")
        );
        assert!(executable_from_messages("{\"reason\":\"build-finished\"}").is_err());
    }

    #[test]
    fn the_locked_wasmtime_version_is_read() {
        let lock = "[[package]]\nname = \"wasmtime-environ\"\nversion = \"1.0.0\"\n\n\
            [[package]]\nname = \"wasmtime\"\nversion = \"48.0.8\"\n";
        assert_eq!(locked_version(lock, "wasmtime").as_deref(), Some("48.0.8"));
        assert_eq!(locked_version(lock, "cranelift"), None);
    }

    #[test]
    fn the_callgrind_command_toggles_on_the_measured_function_only() {
        let command = callgrind_command(Path::new("/g"), "swap_100k", Path::new("/o/x.out"));
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=gate_measure_swap_100k",
                "--callgrind-out-file=/o/x.out",
                "/g",
                "swap_100k"
            ]
        );
    }
}
