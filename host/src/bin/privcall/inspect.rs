//! `privcall inspect`: a bundle's header, counts and digest, as one report
//! printed as JSON or as a table. Never a key, number or inmate.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use privcall::bundle::{UnverifiedBundle, FORMAT_VERSION};
use privcall::core::list::CompiledList;
use privcall::text::Rfc3339Text;
use privcall::{TrustStore, VerifiedList};
use serde::Serialize;

/// What `inspect` reports.
#[derive(Serialize)]
struct Report {
    format_version: u16,
    sequence: u64,
    issued_at: Rfc3339Text,
    expires_at: Rfc3339Text,
    scope: String,
    issuer: String,
    signatures: Vec<String>,
    /// Null without `--trust`; else how many trusted signatures verified,
    /// or why verification failed.
    verified: Option<String>,
    digest: String,
    bytes: usize,
    numbers: usize,
    prefix_blocks: usize,
    windows: usize,
    classes: usize,
    set_bytes: usize,
    facilities: Vec<FacilityReport>,
}

/// One facility's policy, as the report shows it.
#[derive(Serialize)]
struct FacilityReport {
    code: String,
    own_policy: bool,
    exempt: Vec<&'static str>,
    overrun: &'static str,
    fail_mode: &'static str,
}

/// Runs `inspect`; fails (after printing) when `--trust` keys were given
/// and the signatures do not verify.
pub fn run(path: &Path, trust: &[PathBuf], json: bool) -> Result<()> {
    let bytes = super::read_bundle(path)?;
    let bundle = UnverifiedBundle::read(&bytes).with_context(|| format!("{}", path.display()))?;
    let verified = if trust.is_empty() {
        None
    } else {
        let store = TrustStore::from_files(trust, 1)?;
        Some(VerifiedList::open(&bytes, &store).map(|v| v.signers.len()))
    };
    let list =
        CompiledList::from_bytes(bundle.body).with_context(|| format!("{}", path.display()))?;
    let report = Report {
        format_version: FORMAT_VERSION,
        sequence: bundle.header.sequence,
        issued_at: Rfc3339Text(bundle.header.issued_at),
        expires_at: Rfc3339Text(bundle.header.expires_at),
        scope: bundle.header.scope.clone(),
        issuer: hex::encode(bundle.header.issuer),
        signatures: bundle.signers.iter().map(|id| id.to_string()).collect(),
        verified: verified.as_ref().map(|v| match v {
            Ok(n) => format!("{n} trusted signature(s) valid"),
            Err(e) => format!("FAILED: {e}"),
        }),
        digest: bundle.digest.clone(),
        bytes: bytes.len(),
        numbers: list.number_count(),
        prefix_blocks: list.prefix_count(),
        windows: list.window_count(),
        classes: list.class_count(),
        set_bytes: list.set_bytes(),
        facilities: list
            .facilities()
            .iter()
            .map(|f| FacilityReport {
                code: f.code.clone(),
                own_policy: f.own_policy,
                exempt: f.policy.exempt.iter().map(|c| c.name()).collect(),
                overrun: f.policy.overrun.name(),
                fail_mode: f.policy.fail_mode.name(),
            })
            .collect(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(path, &report));
    }
    if let Some(Err(e)) = verified {
        bail!("{}: {e}", path.display());
    }
    Ok(())
}

/// The report as aligned `name value` lines.
fn table(path: &Path, r: &Report) -> String {
    let verified = match &r.verified {
        None => "no (pass --trust KEY.pub to verify)".to_string(),
        Some(v) => match v.strip_suffix(" valid") {
            Some(count) => format!("yes ({count})"),
            None => v.clone(),
        },
    };
    let mut lines = vec![
        ("bundle", path.display().to_string()),
        ("format", r.format_version.to_string()),
        ("sequence", r.sequence.to_string()),
        ("issued at", r.issued_at.to_string()),
        ("expires at", r.expires_at.to_string()),
        ("scope", r.scope.clone()),
        ("issuer", r.issuer.clone()),
        ("signed by", r.signatures.join(", ")),
        ("verified", verified),
        ("digest", r.digest.clone()),
        ("size", format!("{} bytes", r.bytes)),
        (
            "contents",
            format!(
                "{} number(s), {} prefix block(s), {} window(s), {} class(es)",
                r.numbers, r.prefix_blocks, r.windows, r.classes
            ),
        ),
        (
            "set",
            format!(
                "{} bytes ({})",
                r.set_bytes,
                super::per_number(r.set_bytes, r.numbers)
            ),
        ),
    ];
    for f in &r.facilities {
        lines.push((
            "facility",
            format!(
                "{}{}: exempt {}; overrun {}; fail mode {}",
                f.code,
                if f.own_policy {
                    ""
                } else {
                    " (default policy)"
                },
                f.exempt.join(","),
                f.overrun,
                f.fail_mode
            ),
        ));
    }
    lines
        .into_iter()
        .map(|(name, value)| format!("{name:<10} {value}\n"))
        .collect()
}
