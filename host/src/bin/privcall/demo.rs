//! `privcall demo`: the whole pipeline on the built-in sample data — a
//! throwaway key, compile and sign, verify, load into the wasm guest, and a
//! table of decisions for the sample calls saying why each call is or is
//! not recorded.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use privcall::{
    compile, keygen, read_signing_key, seal, BundleInfo, Call, GuestRuntime, ListDecider,
    Rfc3339Text, Round, Sources, TrustStore, VerifiedList,
};

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

/// Runs the demo in `dir` (or a temporary folder that is removed after).
pub fn run(dir: Option<&Path>) -> Result<()> {
    let (dir, _guard) = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            (d.to_path_buf(), None)
        }
        None => {
            let d = std::env::temp_dir().join(format!("privcall-demo-{}", std::process::id()));
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            (d.clone(), Some(RemoveOnDrop(d)))
        }
    };
    for (name, text) in SAMPLES {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let key_name = dir.join("demo-authority");
    for ext in ["key", "pub"] {
        let _ = std::fs::remove_file(key_name.with_extension(ext));
    }
    let (secret, public, key_id) = keygen(&key_name)?;
    println!("1. generated a throwaway signing key {key_id}");

    let compiled = compile(&Sources {
        registry: dir.join("registry.csv"),
        prearranged: Some(dir.join("prearranged.csv")),
        policy: dir.join("policy.toml"),
    })?;
    let signing = read_signing_key(&secret)?;
    let now = Rfc3339Text::now().0;
    let info = BundleInfo::new(1, now, now + 30 * 86_400);
    let bytes = seal(&compiled.list, &info, &[signing])?;
    let bundle_path = dir.join("list.bundle");
    privcall::write_private(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    println!(
        "2. compiled {} registry rows and {} prearranged windows from examples/ into a signed bundle ({} bytes)",
        compiled.registry_rows,
        compiled.prearranged_rows,
        bytes.len()
    );

    let trust = TrustStore::from_files(&[public], 1)?;
    let list = VerifiedList::open(&bytes, &trust)?;
    println!(
        "3. verified it: sequence {}, digest {}",
        list.header.sequence,
        &list.digest[..16]
    );
    let runtime = GuestRuntime::builtin()?;
    let mut decider = ListDecider::new(&runtime, list)?;
    let stats = decider.stats();
    println!(
        "4. loaded it into the wasm guest: {} numbers, {} prefix blocks, {} windows, {} facilities\n",
        stats.numbers, stats.prefix_blocks, stats.windows, stats.facilities
    );

    let calls_path = dir.join("calls.csv");
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(&calls_path)
        .with_context(|| format!("reading {}", calls_path.display()))?;
    let mut rows = vec![[
        "FACILITY".to_string(),
        "DIALED".into(),
        "AT".into(),
        "RECORD".into(),
        "WHY".into(),
        "SAMPLE".into(),
    ]];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.with_context(|| format!("{}:{line}", calls_path.display()))?;
        let field = |n: usize| r.get(n).unwrap_or("");
        let time = |field: &str, text: &str| {
            Rfc3339Text::parse(text, Round::Down)
                .map(|t| t.0)
                .with_context(|| format!("{}:{line}: field `{field}`", calls_path.display()))
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
        rows.push([
            field(0).to_string(),
            field(2).to_string(),
            field(3)[11..16.min(field(3).len())].to_string(),
            if d.record { "yes" } else { "NO" }.to_string(),
            why(&d),
            field(5).to_string(),
        ]);
    }
    print_table(&rows);
    println!(
        "\nThe same decision for one call, as JSON (privcall decide --json):\n  {}",
        json_example(&mut decider, now)?
    );
    println!("\nFiles are in {}", dir.display());
    Ok(())
}

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

/// The short reason of the table: times as `HH:MM`.
fn why(d: &privcall::Decision) -> String {
    super::human::why(d, |t| {
        let t = t.to_string();
        t.get(11..16).unwrap_or(&t).to_string()
    })
}

fn print_table(rows: &[[String; 6]]) {
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

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
