//! `privcall audit`: replays call records (CDRs) against a list, each as
//! of its setup time, with the same decision code the edge runs
//! (`privcall_core`, natively; the differential tests prove it equal to
//! the guest), and names every privileged call that was recorded: the
//! recordings to destroy.
//!
//! The parts: this module (options, the list, the run), `cdr` (reading
//! records, column mapping, times), `report` (the report and summary).

mod cdr;
mod report;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use privcall::core::decide::Decider;
use privcall::core::list::CompiledList;
use privcall::core::types::{Call, Decision, Reason};
use privcall::{compile, Sources, TrustStore, VerifiedList};

use cdr::{Columns, Record};
use report::{Finding, Summary};

/// `privcall audit`'s options.
#[derive(Args)]
pub struct AuditArgs {
    /// CDR files (CSV with a header row); `-` reads standard input.
    #[arg(long = "calls", required = true, num_args = 1..)]
    pub calls: Vec<PathBuf>,
    /// A signed bundle to replay against (with --trust).
    #[arg(long, conflicts_with_all = ["registry", "prearranged", "policy"])]
    pub bundle: Option<PathBuf>,
    /// The list authority's public key (repeatable), for --bundle.
    #[arg(long = "trust", value_name = "KEY.pub")]
    pub trust: Vec<PathBuf>,
    /// Signatures the bundle needs.
    #[arg(long, default_value_t = 1)]
    pub threshold: usize,
    /// A registry CSV, compiled in memory (nothing is signed or written).
    #[arg(long, requires = "policy")]
    pub registry: Option<PathBuf>,
    /// Prearranged windows CSV, with --registry.
    #[arg(long)]
    pub prearranged: Option<PathBuf>,
    /// The policy TOML, with --registry.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Column names of the CDR, as FIELD=COLUMN pairs (comma-separated or
    /// repeated); fields: facility, inmate, dialed, start, duration,
    /// recording.
    #[arg(long, value_delimiter = ',')]
    pub map: Vec<String>,
    /// The IANA time zone of start times written without an offset
    /// (`2026-11-01 01:30:00`, `11/01/2026 01:30:00 AM`); UTC without it.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// The report's format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// The report: one row per privileged call that was recorded (created
    /// owner-only).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the summary as JSON here (owner-only).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Put the dialed number (E.164) in the report.
    #[arg(long)]
    pub show_numbers: bool,
}

/// A report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One row per recording, with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `privcall audit`.
pub fn run(args: &AuditArgs) -> Result<()> {
    let decider = Decider::new(load_list(args)?);
    let columns = Columns::from_map(&args.map)?;
    let tz = args
        .tz
        .as_deref()
        .map(|name| {
            jiff::tz::TimeZone::get(name)
                .with_context(|| format!("--tz {name}: not an IANA time zone"))
        })
        .transpose()?;
    let mut summary = Summary::default();
    let mut findings = Vec::new();
    let mut seen = HashSet::new();
    for path in &args.calls {
        let name = path.display().to_string();
        cdr::read(
            path,
            &columns,
            tz.as_ref(),
            &mut summary,
            |record, summary| {
                if !seen.insert(identity(&record)) {
                    summary.duplicates += 1;
                    return;
                }
                if let Some(finding) = judge(&decider, &record, summary) {
                    findings.push(finding);
                }
            },
        )
        .with_context(|| format!("reading {name}"))?;
    }
    report::write(&args.out, args.format, &findings, args.show_numbers)
        .with_context(|| format!("writing {}", args.out.display()))?;
    summary.print(&args.out);
    if let Some(path) = &args.summary {
        report::write_summary(path, &summary)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The list: a verified bundle, or sources compiled in memory.
fn load_list(args: &AuditArgs) -> Result<CompiledList> {
    match (&args.bundle, &args.registry, &args.policy) {
        (Some(bundle), _, _) => {
            if args.trust.is_empty() {
                bail!("--bundle needs --trust KEY.pub (the list authority's key)");
            }
            let store = TrustStore::from_files(&args.trust, args.threshold)?;
            let bytes = crate::read_bundle(bundle)?;
            let list = VerifiedList::open(&bytes, &store)
                .with_context(|| format!("{}", bundle.display()))?;
            Ok(CompiledList::from_bytes(&list.body)
                .with_context(|| format!("{}", bundle.display()))?)
        }
        (None, Some(registry), Some(policy)) => Ok(compile(&Sources {
            registry: registry.clone(),
            prearranged: args.prearranged.clone(),
            policy: policy.clone(),
        })?
        .list),
        _ => bail!("give a list: --bundle FILE --trust KEY.pub, or --registry FILE --policy FILE"),
    }
}

/// What makes two records the same call (an export may repeat a call).
fn identity(r: &Record) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&r.facility, &r.inmate, &r.dialed, r.start, &r.recording).hash(&mut h);
    h.finish()
}

/// The call's decision as of its setup (under each reading of an
/// ambiguous local time: the first that is privileged); a finding when it
/// was privileged and recorded.
fn judge(decider: &Decider, r: &Record, summary: &mut Summary) -> Option<Finding> {
    let (start, d, reason) = std::iter::once(r.start)
        .chain(r.start_alt)
        .find_map(|start| privileged(decider, r, start))?;
    let recorded = !r.recording.is_empty();
    summary.privileged(reason, &r.facility, start, recorded, d.category);
    recorded.then(|| Finding {
        recording: r.recording.clone(),
        reason,
        category: d.category,
        window_end: d.private_until,
        facility: r.facility.clone(),
        start,
        number: d.normalized,
    })
}

/// The decision for `r` set up at `start`, when it makes the call
/// privileged, with the reason the report gives.
fn privileged(decider: &Decider, r: &Record, start: i64) -> Option<(i64, Decision, Reason)> {
    let d = decider.decide(&Call {
        facility: &r.facility,
        inmate: &r.inmate,
        dialed: &r.dialed,
        at: start,
        started: None,
    });
    let reason = match d.reason {
        Reason::Registered => Reason::Registered,
        Reason::Prearranged => match d.private_until {
            // Still running when the window ended.
            Some(end) if start.saturating_add(r.duration) > end => Reason::PrearrangedOverrun,
            _ => Reason::Prearranged,
        },
        _ => return None,
    };
    Some((start, d, reason))
}
