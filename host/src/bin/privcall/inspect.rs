//! `privcall inspect`: a bundle's header, counts and digest, as one report
//! printed as JSON or as a table. Never a key, number or inmate.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use privcall::bundle::read_verified;
use privcall::bundle::UnverifiedBundle;
use privcall::core::list::fleet::WindowPart;
use privcall::core::list::CompiledList;
use privcall::edge::{InmateKeyId, RecipientId};
use privcall::text::Rfc3339Text;
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
    /// `list`, `registry part` or `window part for CODE`.
    part: String,
    digest: String,
    bytes: usize,
    /// `clear`, `encrypted` (not opened) or `decrypted` (with --identity).
    body: &'static str,
    /// The edges an encrypted body is for, by recipient id.
    recipients: Vec<String>,
    /// The inmate key the windows' inmate ids are hashed with, by id.
    inmate_key: Option<String>,
    /// Absent when the body is encrypted and was not opened.
    #[serde(flatten)]
    contents: Option<Contents>,
}

/// What the list holds: counts and policies, never a number or inmate.
#[derive(Serialize)]
struct Contents {
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

impl Contents {
    /// A window part: its windows' count and facility, nothing else.
    fn of_part(part: &WindowPart) -> Contents {
        Contents {
            numbers: 0,
            prefix_blocks: 0,
            windows: part.windows.len(),
            classes: 0,
            set_bytes: 0,
            facilities: Vec::new(),
        }
    }

    fn of(list: &CompiledList) -> Contents {
        Contents {
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
        }
    }
}

/// Runs `inspect`; fails (after printing) when `--trust` keys were given
/// and the signatures do not verify. An encrypted body is opened only with
/// `--identity` and only once the signatures verified; without them the
/// report shows what is public: the header, sizes and recipients.
pub fn run(path: &Path, trust: &[PathBuf], identities: &[PathBuf], json: bool) -> Result<()> {
    let bytes = super::read_bundle(path)?;
    let bundle = UnverifiedBundle::read(&bytes).with_context(|| format!("{}", path.display()))?;
    let verified = if trust.is_empty() {
        None
    } else {
        let store = super::trust_store(trust, 1, identities, &[])?;
        Some(read_verified(&bytes, &store).map(|(v, body)| (v.signers.len(), body)))
    };
    let encrypted = !bundle.header.recipients.is_empty();
    let read = |body: &[u8]| -> Result<Contents> {
        let context = || format!("{}", path.display());
        if WindowPart::is_part(body) {
            let part = WindowPart::from_bytes(body).with_context(context)?;
            return Ok(Contents::of_part(&part));
        }
        Ok(Contents::of(
            &CompiledList::from_bytes(body).with_context(context)?,
        ))
    };
    let (body, contents) = match (&verified, encrypted) {
        (_, false) => ("clear", Some(read(bundle.body)?)),
        (Some(Ok((_, Some(clear)))), true) => ("decrypted", Some(read(clear)?)),
        _ => ("encrypted", None),
    };
    let report = Report {
        format_version: bundle.version,
        sequence: bundle.header.sequence,
        issued_at: Rfc3339Text(bundle.header.issued_at),
        expires_at: Rfc3339Text(bundle.header.expires_at),
        scope: bundle.header.scope.clone(),
        issuer: hex::encode(bundle.header.issuer),
        signatures: bundle.signers.iter().map(|id| id.to_string()).collect(),
        verified: verified.as_ref().map(|v| match v {
            Ok((signers, _)) => format!("{signers} trusted signature(s) valid"),
            Err(e) => format!("FAILED: {e}"),
        }),
        part: bundle.header.part.to_string(),
        digest: bundle.digest.clone(),
        bytes: bytes.len(),
        body,
        recipients: bundle
            .header
            .recipients
            .iter()
            .map(|&r| RecipientId(r).to_string())
            .collect(),
        inmate_key: bundle.header.inmate_key.map(|k| InmateKeyId(k).to_string()),
        contents,
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
        ("part", r.part.clone()),
        ("digest", r.digest.clone()),
        ("size", format!("{} bytes", r.bytes)),
    ];
    if let Some(id) = &r.inmate_key {
        lines.push(("inmates", format!("ids hashed with inmate key {id}")));
    }
    match r.body {
        "clear" => {}
        kind => lines.push((
            "body",
            format!("{kind}, for recipient(s) {}", r.recipients.join(", ")),
        )),
    }
    let Some(c) = &r.contents else {
        lines.push((
            "contents",
            "not shown: give --trust KEY.pub and --identity NAME.identity to open".into(),
        ));
        return render(lines);
    };
    lines.push((
        "contents",
        format!(
            "{} number(s), {} prefix block(s), {} window(s), {} class(es) \
             (with {} canary numbers and {} canary windows)",
            c.numbers,
            c.prefix_blocks,
            c.windows,
            c.classes,
            privcall::core::canary::CANARY_NUMBERS,
            privcall::core::canary::CANARY_WINDOWS
        ),
    ));
    lines.push((
        "set",
        format!(
            "{} bytes ({})",
            c.set_bytes,
            super::per_number(c.set_bytes, c.numbers)
        ),
    ));
    for f in &c.facilities {
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
    render(lines)
}

fn render(lines: Vec<(&str, String)>) -> String {
    lines
        .into_iter()
        .map(|(name, value)| format!("{name:<10} {value}\n"))
        .collect()
}
