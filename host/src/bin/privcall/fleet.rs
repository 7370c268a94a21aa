//! `privcall compile --fleet`: one registry part for the fleet and one
//! window part per facility, written into a folder ready to copy to an
//! object store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use privcall::edge::{read_recipient, InmateKey, Recipient};
use privcall::{compile_fleet, seal, seal_windows, BundleInfo, Sources};

/// Most facilities a fleet folder names (a list's facility table holds at
/// most 65,535 codes, the canary facility among them).
const MAX_FLEET: usize = 60_000;

/// What `compile --fleet` was given.
pub struct FleetArgs<'a> {
    /// The list sources.
    pub sources: Sources,
    /// The folder of `CODE.recipient` files.
    pub dir: &'a Path,
    /// The registry key's recipient file.
    pub registry_key: &'a Path,
    /// Where the parts go.
    pub out_dir: &'a Path,
    /// Hash inmate ids with this key.
    pub inmate_key: Option<&'a InmateKey>,
    /// The list authority's keys.
    pub signing: &'a [SigningKey],
    /// Sequence, issue and expiry of every part.
    pub info: BundleInfo,
}

/// Every facility's edge in the fleet folder: `CODE.recipient` files,
/// sorted by code.
fn read_fleet(dir: &Path) -> Result<Vec<(String, Recipient)>> {
    let mut fleet = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "recipient") {
            continue;
        }
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|c| !c.is_empty() && !c.starts_with('.'))
            .with_context(|| format!("{}: not a facility code", path.display()))?
            .to_string();
        if fleet.len() == MAX_FLEET {
            bail!("{}: more than {MAX_FLEET} facilities", dir.display());
        }
        fleet.push((code, read_recipient(&path)?));
    }
    if fleet.is_empty() {
        bail!("{}: no CODE.recipient file", dir.display());
    }
    fleet.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(fleet)
}

/// Compiles, seals and writes a fleet's parts.
pub fn compile(args: &FleetArgs<'_>) -> Result<()> {
    let started = Instant::now();
    let fleet = read_fleet(args.dir)?;
    let codes: Vec<String> = fleet.iter().map(|(c, _)| c.clone()).collect();
    let compiled = compile_fleet(&args.sources, args.inmate_key, &codes)?;
    let compiled_at = started.elapsed();
    let windows_dir: PathBuf = args.out_dir.join("windows");
    std::fs::create_dir_all(&windows_dir)
        .with_context(|| format!("creating {}", windows_dir.display()))?;
    let registry_info = BundleInfo {
        recipients: vec![read_recipient(args.registry_key)?],
        part: privcall::bundle::Part::Registry,
        ..args.info.clone()
    };
    let registry = seal(&compiled.parts.registry, &registry_info, args.signing)?;
    let registry_path = args.out_dir.join("registry.bundle");
    privcall::files::write_private(&registry_path, &registry)
        .with_context(|| format!("writing {}", registry_path.display()))?;
    let mut window_bytes = 0usize;
    for (part, (code, recipient)) in compiled.parts.windows.iter().zip(&fleet) {
        debug_assert_eq!(&part.facility, code);
        let info = BundleInfo {
            recipients: vec![recipient.clone()],
            ..args.info.clone()
        };
        let bytes = seal_windows(part, &info, args.signing)?;
        window_bytes += bytes.len();
        let path = windows_dir.join(format!("{code}.bundle"));
        privcall::files::write_private(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let list = &compiled.parts.registry;
    println!(
        "compiled {} registry row(s) and {} prearranged window(s) for {} facilities into {}",
        compiled.registry_rows,
        compiled.prearranged_rows,
        fleet.len(),
        args.out_dir.display()
    );
    println!(
        "  registry.bundle: {} number(s), {} prefix block(s), {} bytes, encrypted to the registry key {}",
        list.number_count(),
        list.prefix_count(),
        registry.len(),
        registry_info
            .recipients
            .first()
            .map(|r| r.id().to_string())
            .unwrap_or_default()
    );
    println!(
        "  windows/CODE.bundle: {} parts, {} bytes in all, each encrypted to its facility's edge",
        compiled.parts.windows.len(),
        window_bytes
    );
    println!(
        "  sequence {}; compiled in {:.1} s, sealed and written in {:.1} s",
        args.info.sequence,
        compiled_at.as_secs_f64(),
        (started.elapsed() - compiled_at).as_secs_f64()
    );
    Ok(())
}
