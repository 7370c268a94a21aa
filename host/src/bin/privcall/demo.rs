//! `privcall demo`: the whole pipeline on the built-in sample data — a
//! throwaway key, compile and sign, verify, load into the wasm guest, and a
//! table of decisions for the sample calls saying why each call is or is
//! not recorded.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use privcall::files::{keygen, read_signing_key};
use privcall::guest::{GuestRuntime, ListDecider};
use privcall::text::{Rfc3339Text, Round};
use privcall::{compile, seal, BundleInfo, Call, Sources, TrustStore, VerifiedList};

const SAMPLES: [(&str, &str); 4] = [
    (
        "registry.csv",
        include_str!("../../../../examples/registry.csv"),
    ),
    (
        "prearranged.csv",
        include_str!("../../../../examples/prearranged.csv"),
    ),
    (
        "policy.toml",
        include_str!("../../../../examples/policy.toml"),
    ),
    ("calls.csv", include_str!("../../../../examples/calls.csv")),
];

/// A row of the decision table: facility, dialed, time, record, why, sample.
type Row = [String; 6];

/// Runs the demo in `dir` (or a temporary folder that is removed after).
pub fn run(dir: Option<&Path>) -> Result<()> {
    let (dir, _guard) = demo_dir(dir)?;
    write_samples(&dir)?;
    let (secret, public) = generate_key(&dir)?;
    let now = Rfc3339Text::now().0;
    let bytes = compile_and_seal(&dir, &secret, now)?;
    let mut decider = verify_and_load(&bytes, public)?;
    let rows = decide_sample_calls(&dir.join("calls.csv"), &mut decider, now)?;
    print_table(&rows);
    println!(
        "\nThe same decision for one call, as JSON (privcall decide --json):\n  {}",
        json_example(&mut decider, now)?
    );
    println!("\nFiles are in {}", dir.display());
    Ok(())
}

/// The demo's folder: `dir`, created if missing, or a new temporary one
/// with a guard that removes it.
fn demo_dir(dir: Option<&Path>) -> Result<(PathBuf, Option<RemoveOnDrop>)> {
    let (dir, guard) = match dir {
        Some(d) => (d.to_path_buf(), None),
        None => {
            let d = std::env::temp_dir().join(format!("privcall-demo-{}", std::process::id()));
            (d.clone(), Some(RemoveOnDrop(d)))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok((dir, guard))
}

/// Writes the embedded sample sources and calls into `dir`.
fn write_samples(dir: &Path) -> Result<()> {
    for (name, text) in SAMPLES {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Step 1: a fresh throwaway key pair in `dir`; returns its secret and
/// public key files.
fn generate_key(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let key_name = dir.join("demo-authority");
    for ext in ["key", "pub"] {
        let _ = std::fs::remove_file(key_name.with_extension(ext));
    }
    let (secret, public, key_id) = keygen(&key_name)?;
    println!("1. generated a throwaway signing key {key_id}");
    Ok((secret, public))
}

/// Step 2: compiles the sample sources in `dir` and seals them with the
/// key in `secret`, valid from `now` for 30 days; writes and returns the
/// bundle.
fn compile_and_seal(dir: &Path, secret: &Path, now: i64) -> Result<Vec<u8>> {
    let compiled = compile(&Sources {
        registry: dir.join("registry.csv"),
        prearranged: Some(dir.join("prearranged.csv")),
        policy: dir.join("policy.toml"),
    })?;
    let signing = read_signing_key(secret)?;
    let info = BundleInfo::new(1, now, now + 30 * 86_400);
    let bytes = seal(&compiled.list, &info, &[signing])?;
    let bundle_path = dir.join("list.bundle");
    privcall::files::write_private(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    println!(
        "2. compiled {} registry rows and {} prearranged windows from examples/ into a signed bundle ({} bytes)",
        compiled.registry_rows,
        compiled.prearranged_rows,
        bytes.len()
    );
    Ok(bytes)
}

/// Steps 3 and 4: verifies the bundle against `public` and loads it into
/// the wasm guest.
fn verify_and_load(bytes: &[u8], public: PathBuf) -> Result<ListDecider> {
    let trust = TrustStore::from_files(&[public], 1)?;
    let list = VerifiedList::open(bytes, &trust)?;
    println!(
        "3. verified it: sequence {}, digest {}",
        list.header.sequence,
        &list.digest[..16]
    );
    let runtime = GuestRuntime::builtin()?;
    let decider = ListDecider::new(&runtime, list)?;
    let stats = decider.stats();
    println!(
        "4. loaded it into the wasm guest: {} numbers, {} prefix blocks, {} windows, {} facilities\n",
        stats.numbers, stats.prefix_blocks, stats.windows, stats.facilities
    );
    Ok(decider)
}

/// Decides every call in `calls_path`; returns the table, heading first.
fn decide_sample_calls(calls_path: &Path, decider: &mut ListDecider, now: i64) -> Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(calls_path)
        .with_context(|| format!("reading {}", calls_path.display()))?;
    let mut rows = vec![["FACILITY", "DIALED", "AT", "RECORD", "WHY", "SAMPLE"].map(String::from)];
    for (i, record) in reader.records().enumerate() {
        let at_line = || format!("{}:{}", calls_path.display(), i + 2);
        let r = record.with_context(at_line)?;
        rows.push(decide_sample_call(&r, decider, now).with_context(at_line)?);
    }
    Ok(rows)
}

/// Decides one `calls.csv` record (facility, inmate, dialed, at, started,
/// sample) and returns its table row.
fn decide_sample_call(r: &csv::StringRecord, decider: &mut ListDecider, now: i64) -> Result<Row> {
    let field = |n: usize| r.get(n).unwrap_or("");
    let time = |name: &str, text: &str| {
        Rfc3339Text::parse(text, Round::Down)
            .map(|t| t.0)
            .with_context(|| format!("field `{name}`"))
    };
    let at = time("at", field(3))?;
    let started = match field(4) {
        "" => None,
        s => Some(time("started", s)?),
    };
    let call = Call {
        facility: field(0),
        inmate: field(1),
        dialed: field(2),
        at,
        started,
    };
    let d = decider.decide(&call, now);
    Ok([
        field(0).to_string(),
        field(2).to_string(),
        hh_mm(field(3)).to_string(),
        if d.record { "yes" } else { "NO" }.to_string(),
        why(&d),
        field(5).to_string(),
    ])
}

/// The decision of the sample call shown as JSON.
fn json_example(decider: &mut ListDecider, now: i64) -> Result<String> {
    let call = Call {
        facility: "JCCC",
        inmate: "A1001",
        dialed: "9 573 555 0163",
        at: Rfc3339Text::parse("2026-12-01T14:02:00Z", Round::Down)?.0,
        started: None,
    };
    Ok(serde_json::to_string(&decider.decide(&call, now))?)
}

/// The `HH:MM` of an RFC 3339 time (the text itself if it is too short).
fn hh_mm(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

/// The short reason of the table: times as `HH:MM`.
fn why(d: &privcall::Decision) -> String {
    super::human::why(d, |t| hh_mm(&t.to_string()).to_string())
}

/// Prints `rows` as left-aligned columns, the last one unpadded.
fn print_table(rows: &[Row]) {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", line.trim_end());
    }
}

/// Removes its folder when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
