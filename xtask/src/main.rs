//! Project automation (`cargo xtask ...`): the instruction-count gate.
//!
//! ```text
//! cargo xtask bench-gate [--threshold PCT] [--baseline FILE] [--jobs N] [--gate BIN]
//! cargo xtask bench-baseline [--baseline FILE] [--jobs N] [--gate BIN]
//! ```
//!
//! `bench-gate` builds `benches/gate/main.rs`, counts each benchmark's
//! instructions under `valgrind --tool=callgrind`, prints one row per
//! benchmark (baseline, now, change) and exits non-zero when one executes
//! more than PCT percent (default 2) more instructions than
//! `benches/baseline.json` records, or is missing from either side.
//! `bench-baseline` rewrites the baseline from a fresh run.

mod compare;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use compare::{compare, Baseline, Measurement, Toolchain};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  bench-gate       count instructions of every gate benchmark under callgrind and
                   compare with the baseline; exits 1 on a regression or a missing
                   benchmark, 2 on an error (e.g. a missing or malformed baseline)
  bench-baseline   rewrite the baseline from a fresh run (commit it for review)

options:
  --threshold PCT  allowed increase over the baseline, in percent (default 2)
  --baseline FILE  the baseline (default benches/baseline.json)
  --jobs N         benchmarks run at once under valgrind (default: CPUs)
  --gate BIN       use this gate binary instead of building benches/gate/main.rs
";

/// The default allowed increase, in percent.
const DEFAULT_THRESHOLD_PCT: f64 = 2.0;

#[derive(Debug, PartialEq)]
enum Task {
    Gate,
    Baseline,
    Help,
}

#[derive(Debug, PartialEq)]
struct Options {
    task: Task,
    threshold_pct: f64,
    baseline: Option<PathBuf>,
    jobs: Option<usize>,
    gate: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        task: Task::Help,
        threshold_pct: DEFAULT_THRESHOLD_PCT,
        baseline: None,
        jobs: None,
        gate: None,
    };
    let Some((command, rest)) = args.split_first() else {
        bail!("no command given");
    };
    options.task = match command.as_str() {
        "bench-gate" => Task::Gate,
        "bench-baseline" => Task::Baseline,
        "help" | "-h" | "--help" => return Ok(options),
        other => bail!("unknown command {other:?}"),
    };
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if flag == "-h" || flag == "--help" {
            options.task = Task::Help;
            return Ok(options);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag {
            "--threshold" if options.task == Task::Gate => {
                let v = value()?;
                let pct: f64 = v
                    .trim_end_matches('%')
                    .parse()
                    .ok()
                    .filter(|p: &f64| p.is_finite() && *p >= 0.0)
                    .with_context(|| {
                        format!("--threshold {v:?}: expected a percentage like 2 or 0.5")
                    })?;
                options.threshold_pct = pct;
            }
            "--baseline" => options.baseline = Some(PathBuf::from(value()?)),
            "--gate" => options.gate = Some(PathBuf::from(value()?)),
            "--jobs" => {
                let v = value()?;
                let jobs = v
                    .parse()
                    .ok()
                    .filter(|&j: &usize| j > 0)
                    .with_context(|| format!("--jobs {v:?}: expected a positive number"))?;
                options.jobs = Some(jobs);
            }
            other => bail!("unknown option {other:?} for {command}"),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask: {e:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match options.task {
        Task::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Task::Gate => gate(&options),
        Task::Baseline => baseline(&options),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn baseline_path(options: &Options) -> PathBuf {
    options
        .baseline
        .clone()
        .unwrap_or_else(|| run::workspace_root().join("benches/baseline.json"))
}

/// Builds (unless given) the gate binary and measures every benchmark.
fn measure(options: &Options) -> Result<(BTreeMap<String, Measurement>, Toolchain)> {
    let root = run::workspace_root();
    let valgrind = run::valgrind_version()?;
    let toolchain = run::toolchain(&root, valgrind)?;
    let gate = match &options.gate {
        Some(g) => g.clone(),
        None => run::build_gate(&root)?,
    };
    let benches = run::list(&gate)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out_dir = target.join("bench-gate");
    let jobs = options.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    eprintln!(
        "bench-gate: {} benchmarks under callgrind, {jobs} at a time; profiles in {}",
        benches.len(),
        out_dir.display()
    );
    let measured = run::measure_all(&gate, &benches, &out_dir, jobs)?;
    Ok((measured, toolchain))
}

/// `bench-gate`: whether every benchmark is within the threshold.
fn gate(options: &Options) -> Result<bool> {
    let path = baseline_path(options);
    // Read the baseline first: a missing or malformed one is an error before
    // minutes of valgrind, never a pass.
    let baseline = Baseline::read(&path)?;
    let (measured, toolchain) = measure(options)?;
    let report = compare(&baseline, &measured, options.threshold_pct);
    println!();
    print!("{}", report.table());
    println!();
    warn_on_toolchain_change(&baseline, &toolchain);
    if report.passed() {
        println!(
            "bench-gate: passed: {} benchmarks within {}% of {}",
            report.rows.len(),
            options.threshold_pct,
            path.display()
        );
        Ok(true)
    } else {
        let failures = report.failures();
        println!(
            "bench-gate: FAILED: {} of {} benchmarks (baseline {}):",
            failures.len(),
            report.rows.len(),
            path.display()
        );
        for f in &failures {
            println!("  {f}");
        }
        println!(
            "If the change is intended, run `cargo xtask bench-baseline` and commit \
             benches/baseline.json with the change that moved it."
        );
        Ok(false)
    }
}

/// Counts move with the compiler and wasmtime; say so when they differ.
fn warn_on_toolchain_change(baseline: &Baseline, now: &Toolchain) {
    let mut seen: Vec<&Toolchain> = baseline.entries.values().map(|e| &e.toolchain).collect();
    seen.dedup();
    for then in seen {
        for (what, a, b) in [
            ("rustc", &then.rustc, &now.rustc),
            ("wasmtime", &then.wasmtime, &now.wasmtime),
        ] {
            if a != b {
                println!(
                    "bench-gate: note: the baseline was measured with {what} {a:?}, this run \
                     uses {b:?}; counts may move with it"
                );
            }
        }
    }
}

/// `bench-baseline`: rewrites the baseline from a fresh run.
fn baseline(options: &Options) -> Result<bool> {
    let path = baseline_path(options);
    let (measured, toolchain) = measure(options)?;
    let text = Baseline::render(&measured, &toolchain);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    for (name, m) in &measured {
        println!("{name:<40} {:>14}", m.instructions);
    }
    println!(
        "bench-baseline: wrote {} benchmarks to {} ({}, wasmtime {}); review and commit it",
        measured.len(),
        path.display(),
        toolchain.rustc,
        toolchain.wasmtime
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        parse_args(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_threshold_defaults_to_2_percent_and_can_be_set() {
        assert_eq!(parse(&["bench-gate"]).unwrap().threshold_pct, 2.0);
        assert_eq!(
            parse(&["bench-gate", "--threshold", "5"])
                .unwrap()
                .threshold_pct,
            5.0
        );
        assert_eq!(
            parse(&["bench-gate", "--threshold=0.5%"])
                .unwrap()
                .threshold_pct,
            0.5
        );
        assert_eq!(
            parse(&["bench-gate", "--threshold", "0"])
                .unwrap()
                .threshold_pct,
            0.0
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        for args in [
            &[][..],
            &["bench"],
            &["bench-gate", "--threshold"],
            &["bench-gate", "--threshold", "-1"],
            &["bench-gate", "--threshold", "two"],
            &["bench-gate", "--threshold", "NaN"],
            &["bench-gate", "--jobs", "0"],
            &["bench-gate", "--frobnicate"],
            &["bench-baseline", "--threshold", "2"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn options_are_read() {
        let o = parse(&[
            "bench-baseline",
            "--baseline",
            "b.json",
            "--jobs=3",
            "--gate",
            "g",
        ])
        .unwrap();
        assert_eq!(o.task, Task::Baseline);
        assert_eq!(o.baseline, Some(PathBuf::from("b.json")));
        assert_eq!(o.jobs, Some(3));
        assert_eq!(o.gate, Some(PathBuf::from("g")));
        assert_eq!(parse(&["bench-gate", "--help"]).unwrap().task, Task::Help);
    }
}
