//! The gate's verdict: a baseline file, the counts of a fresh run, and the
//! comparison between them. Pure functions, so they are unit-tested without
//! valgrind.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

/// One benchmark's instruction count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// Instructions executed by the measured function (all iterations).
    pub instructions: u64,
    /// How many times the measured function ran the operation.
    pub iterations: u64,
}

/// What the counts were measured with: they change with the compiler and
/// wasmtime, so a moved count under a new toolchain is no regression of ours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// `rustc --version`.
    pub rustc: String,
    /// The locked wasmtime version.
    pub wasmtime: String,
    /// `valgrind --version`.
    pub valgrind: String,
}

/// The committed baseline: benchmark name to its entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Entries by benchmark name.
    pub entries: BTreeMap<String, BaselineEntry>,
}

/// One benchmark in the baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaselineEntry {
    /// The count the gate compares against.
    pub instructions: u64,
    /// The toolchain it was measured with (empty fields when absent).
    pub toolchain: Toolchain,
}

impl Baseline {
    /// Reads a baseline file. A missing, unreadable or malformed file is an
    /// error naming the file: the gate never passes without a baseline.
    pub fn read(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the baseline {} (create it with `cargo xtask bench-baseline`)",
                path.display()
            )
        })?;
        Baseline::parse(&text)
            .with_context(|| format!("the baseline {} is malformed", path.display()))
    }

    /// Parses a baseline: a JSON object whose keys are benchmark names and
    /// whose values are objects with a positive integer `instructions`.
    pub fn parse(text: &str) -> Result<Baseline> {
        let value: Value = serde_json::from_str(text).context("not valid JSON")?;
        let Value::Object(object) = value else {
            bail!("expected a JSON object of benchmark name -> {{\"instructions\": N, ...}}");
        };
        if object.is_empty() {
            bail!("it names no benchmark");
        }
        let mut entries = BTreeMap::new();
        for (name, entry) in object {
            let Value::Object(fields) = &entry else {
                bail!("benchmark {name:?}: expected an object with \"instructions\"");
            };
            let instructions = match fields.get("instructions") {
                Some(Value::Number(n)) => n.as_u64().filter(|&n| n > 0),
                Some(_) => None,
                None => bail!("benchmark {name:?}: no \"instructions\" field"),
            }
            .with_context(|| {
                format!("benchmark {name:?}: \"instructions\" must be a positive integer")
            })?;
            let text = |key: &str| {
                fields
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let toolchain = Toolchain {
                rustc: text("rustc"),
                wasmtime: text("wasmtime"),
                valgrind: text("valgrind"),
            };
            entries.insert(
                name,
                BaselineEntry {
                    instructions,
                    toolchain,
                },
            );
        }
        Ok(Baseline { entries })
    }

    /// The baseline of a fresh run, as the JSON committed in the repository.
    pub fn render(measured: &BTreeMap<String, Measurement>, toolchain: &Toolchain) -> String {
        let mut object = Map::new();
        for (name, m) in measured {
            let mut entry = Map::new();
            entry.insert("instructions".into(), m.instructions.into());
            entry.insert("iterations".into(), m.iterations.into());
            entry.insert(
                "per_iteration".into(),
                (m.instructions / m.iterations.max(1)).into(),
            );
            entry.insert("rustc".into(), toolchain.rustc.clone().into());
            entry.insert("wasmtime".into(), toolchain.wasmtime.clone().into());
            entry.insert("valgrind".into(), toolchain.valgrind.clone().into());
            object.insert(name.clone(), Value::Object(entry));
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(object))
            .expect("a map of numbers and strings serializes");
        text.push('\n');
        text
    }
}

/// One row of the gate's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Benchmark name.
    pub name: String,
    /// Baseline count, if the baseline has the benchmark.
    pub baseline: Option<u64>,
    /// Fresh count, if the run measured the benchmark.
    pub now: Option<u64>,
    /// Iterations of the fresh run (for the per-operation column).
    pub iterations: Option<u64>,
    /// Change from the baseline in percent.
    pub change_pct: Option<f64>,
    /// Why the row fails the gate, if it does.
    pub failure: Option<String>,
}

/// The comparison of a run with the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One row per benchmark on either side, by name.
    pub rows: Vec<Row>,
    /// The threshold used, in percent.
    pub threshold_pct: f64,
}

impl Report {
    /// Whether every benchmark is on both sides and none exceeds its
    /// baseline by more than the threshold.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.failure.is_none())
    }

    /// The failures, one line each, naming the benchmark.
    pub fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.failure.as_ref().map(|f| format!("{}: {f}", r.name)))
            .collect()
    }

    /// The table the gate prints.
    pub fn table(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .chain(["benchmark".len()])
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$}  {:>14}  {:>14}  {:>9}  {:>10}  verdict",
            "benchmark", "baseline", "now", "change", "per op"
        );
        for r in &self.rows {
            let count = |c: Option<u64>| c.map_or_else(|| "-".to_string(), group);
            let change = r
                .change_pct
                .map_or_else(|| "-".to_string(), |c| format!("{c:+.3}%"));
            let per_op = match (r.now, r.iterations) {
                (Some(n), Some(i)) if i > 0 => group(n / i),
                _ => "-".to_string(),
            };
            let verdict = match &r.failure {
                Some(_) if r.baseline.is_none() => "NO BASELINE",
                Some(_) if r.now.is_none() => "NOT MEASURED",
                Some(_) => "REGRESSED",
                None if r.change_pct.is_some_and(|c| c < -self.threshold_pct) => {
                    "ok (faster: consider `cargo xtask bench-baseline`)"
                }
                None => "ok",
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:>14}  {:>14}  {:>9}  {:>10}  {verdict}",
                r.name,
                count(r.baseline),
                count(r.now),
                change,
                per_op,
            );
        }
        out
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Compares a run with the baseline: a benchmark fails when it executes
/// more than `threshold_pct` percent more instructions than its baseline, or
/// when it is missing from either side.
pub fn compare(
    baseline: &Baseline,
    measured: &BTreeMap<String, Measurement>,
    threshold_pct: f64,
) -> Report {
    let mut names: Vec<&String> = baseline.entries.keys().chain(measured.keys()).collect();
    names.sort();
    names.dedup();
    let rows = names
        .into_iter()
        .map(|name| {
            let base = baseline.entries.get(name).map(|e| e.instructions);
            let now = measured.get(name);
            let change_pct = match (base, now) {
                (Some(b), Some(n)) => Some((n.instructions as f64 - b as f64) / b as f64 * 100.0),
                _ => None,
            };
            // (now - base) * 100 > threshold * base: exact for whole-number
            // thresholds, so +2.00% against 2% is not failed by rounding.
            let over = match (base, now) {
                (Some(b), Some(n)) => {
                    (n.instructions as f64 - b as f64) * 100.0 > threshold_pct * b as f64
                }
                _ => false,
            };
            let failure = match (base, now, change_pct) {
                (None, _, _) => Some(
                    "measured but missing from the baseline (add it with `cargo xtask bench-baseline`)"
                        .to_string(),
                ),
                (_, None, _) => Some(
                    "in the baseline but not measured (the benchmark was removed or renamed; \
                     update the baseline with `cargo xtask bench-baseline`)"
                        .to_string(),
                ),
                (Some(_), Some(_), Some(c)) if over => Some(format!(
                    "{c:+.2}% more instructions than the baseline (threshold {threshold_pct}%)"
                )),
                _ => None,
            };
            Row {
                name: name.clone(),
                baseline: base,
                now: now.map(|m| m.instructions),
                iterations: now.map(|m| m.iterations),
                change_pct,
                failure,
            }
        })
        .collect();
    Report {
        rows,
        threshold_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed baseline.
    fn committed_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/baseline.json")
    }

    fn committed() -> Baseline {
        Baseline::read(&committed_path()).expect("benches/baseline.json is a valid baseline")
    }

    /// "Today's counts": the committed ones, as the gate would measure them.
    fn todays(baseline: &Baseline) -> BTreeMap<String, Measurement> {
        baseline
            .entries
            .iter()
            .map(|(name, e)| {
                (
                    name.clone(),
                    Measurement {
                        instructions: e.instructions,
                        iterations: 1,
                    },
                )
            })
            .collect()
    }

    fn lowered(baseline: &Baseline, name: &str, pct: f64) -> Baseline {
        let mut b = baseline.clone();
        let e = b.entries.get_mut(name).expect("benchmark in the baseline");
        e.instructions = (e.instructions as f64 * (1.0 - pct / 100.0)).round() as u64;
        b
    }

    fn one(name: &str, instructions: u64) -> Baseline {
        Baseline::parse(&format!(
            r#"{{"{name}": {{"instructions": {instructions}}}}}"#
        ))
        .unwrap()
    }

    fn run(name: &str, instructions: u64) -> BTreeMap<String, Measurement> {
        BTreeMap::from([(
            name.to_string(),
            Measurement {
                instructions,
                iterations: 1,
            },
        )])
    }

    #[test]
    fn equal_counts_pass() {
        let baseline = committed();
        let report = compare(&baseline, &todays(&baseline), 2.0);
        assert!(report.passed(), "{}", report.table());
        assert_eq!(report.rows.len(), baseline.entries.len());
    }

    #[test]
    fn a_baseline_5_percent_below_todays_counts_fails_naming_the_benchmark() {
        let baseline = committed();
        let now = todays(&baseline);
        for name in baseline.entries.keys() {
            let report = compare(&lowered(&baseline, name, 5.0), &now, 2.0);
            assert!(!report.passed(), "{name} lowered by 5% passed");
            let failures = report.failures();
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                failures[0].starts_with(&format!("{name}: ")),
                "{failures:?}"
            );
            assert!(report.table().contains("REGRESSED"));
        }
    }

    #[test]
    fn the_threshold_is_inclusive_and_improvements_pass() {
        let at = compare(&one("a", 1000), &run("a", 1020), 2.0);
        assert!(at.passed(), "exactly +2% is within a 2% threshold");
        let over = compare(&one("a", 1000), &run("a", 1021), 2.0);
        assert!(!over.passed());
        let faster = compare(&one("a", 1000), &run("a", 500), 2.0);
        assert!(faster.passed());
        assert!(faster.table().contains("faster"));
        let strict = compare(&one("a", 1000), &run("a", 1001), 0.0);
        assert!(!strict.passed(), "--threshold 0 fails on any increase");
    }

    #[test]
    fn a_benchmark_missing_from_either_side_fails_by_name() {
        let mut now = run("a", 1000);
        now.insert(
            "new_one".into(),
            Measurement {
                instructions: 5,
                iterations: 1,
            },
        );
        let report = compare(&one("a", 1000), &now, 2.0);
        assert!(!report.passed());
        assert_eq!(report.failures().len(), 1);
        assert!(report.failures()[0].starts_with("new_one: measured but missing from the baseline"));
        assert!(report.table().contains("NO BASELINE"));

        let report = compare(&one("gone", 1000), &run("a", 1000), 2.0);
        let failures = report.failures();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures
            .iter()
            .any(|f| f.starts_with("gone: in the baseline but not measured")));
        assert!(report.table().contains("NOT MEASURED"));
    }

    #[test]
    fn malformed_baselines_are_errors_not_passes() {
        let cases = [
            ("", "not valid JSON"),
            ("{", "not valid JSON"),
            ("[]", "expected a JSON object"),
            ("{}", "names no benchmark"),
            (r#"{"a": 5}"#, "expected an object"),
            (r#"{"a": {}}"#, "no \"instructions\""),
            (r#"{"a": {"instructions": "5"}}"#, "positive integer"),
            (r#"{"a": {"instructions": 1.5}}"#, "positive integer"),
            (r#"{"a": {"instructions": -3}}"#, "positive integer"),
            (r#"{"a": {"instructions": 0}}"#, "positive integer"),
        ];
        for (text, expected) in cases {
            let err = Baseline::parse(text).expect_err(text);
            let message = format!("{err:#}");
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_missing_or_malformed_file_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("xtask-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        let err = format!("{:#}", Baseline::read(&missing).unwrap_err());
        assert!(
            err.contains("missing.json") && err.contains("cannot read"),
            "{err}"
        );
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"a\": {\"instructions\": true}}").unwrap();
        let err = format!("{:#}", Baseline::read(&bad).unwrap_err());
        assert!(
            err.contains("bad.json") && err.contains("malformed"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rendered_baseline_reads_back() {
        let measured = BTreeMap::from([
            (
                "b".to_string(),
                Measurement {
                    instructions: 12_345,
                    iterations: 100,
                },
            ),
            (
                "a".to_string(),
                Measurement {
                    instructions: 7,
                    iterations: 1,
                },
            ),
        ]);
        let toolchain = Toolchain {
            rustc: "rustc 1.0.0".into(),
            wasmtime: "48.0.8".into(),
            valgrind: "valgrind-3.19.0".into(),
        };
        let text = Baseline::render(&measured, &toolchain);
        let back = Baseline::parse(&text).unwrap();
        assert_eq!(back.entries["b"].instructions, 12_345);
        assert_eq!(back.entries["a"].toolchain, toolchain);
        assert!(compare(&back, &measured, 2.0).passed());
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(57_793_401), "57,793,401");
    }

    /// The committed baseline names exactly the benchmarks `benches/gate/main.rs`
    /// defines, so a benchmark added or renamed without a new baseline fails
    /// here, in `cargo test`, before the (slower) gate runs.
    #[test]
    fn the_committed_baseline_matches_the_gate_benchmarks() {
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/gate/main.rs"),
        )
        .unwrap();
        // Every `gate_measure_<name>` identifier (the docs' `<name>` and the
        // macro's prefix string are not identifiers and drop out).
        let mut defined: Vec<&str> = source
            .match_indices("gate_measure_")
            .map(|(i, m)| {
                let rest = &source[i + m.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .filter(|name| !name.is_empty())
            .collect();
        defined.sort_unstable();
        defined.dedup();
        assert!(
            !defined.is_empty(),
            "no benchmark found in benches/gate/main.rs"
        );
        let baseline = committed();
        let committed: Vec<&str> = baseline.entries.keys().map(String::as_str).collect();
        assert_eq!(
            committed, defined,
            "benches/baseline.json and benches/gate/main.rs disagree: run `cargo xtask bench-baseline`"
        );
    }
}
