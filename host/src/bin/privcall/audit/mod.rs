//! `privcall audit`: replays call records (CDRs) against a list, each as
//! of its setup time, with the same decision code the edge runs
//! (`privcall_core`, natively; the differential tests prove it equal to
//! the guest), and names every privileged call that was recorded: the
//! recordings to destroy.
//!
//! The parts: this module (options, the list, the run), `cdr` (reading
//! records, column mapping, times), `pipeline` (the run on every core),
//! `judge` (one record as of its setup), `report` (the report and
//! summary), `progress` (the bar on a terminal).

mod cdr;
mod judge;
mod pipeline;
mod progress;
mod report;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use privcall::core::decide::Decider;
use privcall::core::list::CompiledList;
use privcall::edge::InmateKey;
use privcall::{compile, Sources, VerifiedList};

use cdr::{Columns, Layout};
use pipeline::Kind;
use progress::Progress;
use report::{Report, Summary};

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
    /// The edge identity that opens an encrypted --bundle (repeatable).
    #[arg(long = "identity", value_name = "NAME.identity", requires = "bundle")]
    pub identities: Vec<PathBuf>,
    /// The inmate key of a --bundle whose inmate ids are hashed
    /// (repeatable).
    #[arg(
        long = "inmate-key",
        value_name = "NAME.inmatekey",
        requires = "bundle"
    )]
    pub inmate_keys: Vec<PathBuf>,
    /// A registry CSV, compiled in memory (nothing is signed or written).
    #[arg(long, requires = "policy")]
    pub registry: Option<PathBuf>,
    /// Prearranged windows CSV, with --registry.
    #[arg(long)]
    pub prearranged: Option<PathBuf>,
    /// The policy TOML, with --registry.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Column names of the CDR: FIELD=COLUMN pairs (comma-separated or
    /// repeated), or a TOML file of `FIELD = "COLUMN"` lines; fields:
    /// facility, inmate, dialed, start, duration, recording,
    /// recording_offset.
    #[arg(long, value_delimiter = ',', value_name = "FIELD=COLUMN|FILE.toml")]
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
    /// Privileged calls remembered to find repeats (16 bytes each, plus
    /// the set's slack); past it a repeat may be named twice.
    #[arg(long, hide = true, default_value_t = 50_000_000)]
    pub max_tracked: usize,
    /// Read and parse the records without judging them (the benchmark's
    /// floor: what reading the CSV alone costs).
    #[arg(long, hide = true)]
    pub parse_only: bool,
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
    let list = if args.parse_only {
        None
    } else {
        let (list, inmate_key) = load_list(args)?;
        Some(judge::ListJudge {
            decider: Decider::new(list),
            inmate_key,
        })
    };
    let columns = Columns::from_map(&args.map)?;
    let tz = args
        .tz
        .as_deref()
        .map(|name| {
            jiff::tz::TimeZone::get(name)
                .with_context(|| format!("--tz {name}: not an IANA time zone"))
        })
        .transpose()?;
    let mut report = Report::create(&args.out, args.format, args.show_numbers)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut summary = Summary::default();
    let mut seen = judge::Seen::new(args.max_tracked);
    let bytes = Arc::new(AtomicU64::new(0));
    let progress = Progress::new(total_size(&args.calls));
    for path in &args.calls {
        let name = path.display().to_string();
        let row_start = Arc::new(AtomicU64::new(0));
        let mut reader = cdr::open(path, Arc::clone(&bytes), Arc::clone(&row_start))
            .with_context(|| format!("reading {name}"))?;
        let header = reader
            .byte_headers()
            .with_context(|| format!("reading {name}: line 1"))?;
        let layout = Layout::new(header, &columns).with_context(|| format!("reading {name}"))?;
        let context = pipeline::Context {
            decider: list.as_ref(),
            layout: &layout,
            tz: tz.as_ref(),
            format: args.format,
            numbers: args.show_numbers,
        };
        pipeline::run(
            reader,
            &row_start,
            &context,
            &mut seen,
            |outcome, repeats, facilities| {
                summary.rows += outcome.rows;
                summary.ambiguous_local_times += outcome.ambiguous;
                summary.duplicates += repeats;
                for (line, why) in outcome.skips {
                    summary.skip(&name, line, why);
                }
                for p in &outcome.privileged {
                    match &p.kind {
                        Kind::Named(counted) => {
                            summary.named(counted, facilities.of(p));
                            report.add(outcome.rendered.get(p.row.clone()))?;
                        }
                        Kind::Unrecorded => summary.not_recorded_privileged += 1,
                        Kind::AfterWindow => summary.recorded_after_window += 1,
                    }
                }
                progress.update(summary.rows, bytes.load(Ordering::Relaxed));
                Ok(())
            },
        )
        .with_context(|| format!("reading {name}"))?;
    }
    progress.finish();
    if seen.full {
        summary.repeats_checked_up_to = Some(args.max_tracked as u64);
    }
    report
        .finish()
        .with_context(|| format!("writing {}", args.out.display()))?;
    summary.print(&args.out);
    if let Some(path) = &args.summary {
        report::write_summary(path, &summary)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The inputs' total size, when every one is a regular file.
fn total_size(paths: &[PathBuf]) -> Option<u64> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
        })
        .sum()
}

/// The list: a verified bundle, or sources compiled in memory.
fn load_list(args: &AuditArgs) -> Result<(CompiledList, Option<InmateKey>)> {
    match (&args.bundle, &args.registry, &args.policy) {
        (Some(bundle), _, _) => {
            if args.trust.is_empty() {
                bail!("--bundle needs --trust KEY.pub (the list authority's key)");
            }
            let store = crate::trust_store(
                &args.trust,
                args.threshold,
                &args.identities,
                &args.inmate_keys,
            )?;
            let bytes = crate::read_bundle(bundle)?;
            let list = VerifiedList::open(&bytes, &store)
                .with_context(|| format!("{}", bundle.display()))?;
            let inmate_key = list
                .header
                .inmate_key
                .and_then(|id| store.inmate_keys().iter().find(|k| k.id().0 == id).cloned());
            Ok((
                CompiledList::from_bytes(&list.body)
                    .with_context(|| format!("{}", bundle.display()))?,
                inmate_key,
            ))
        }
        (None, Some(registry), Some(policy)) => Ok((
            compile(&Sources {
                registry: registry.clone(),
                prearranged: args.prearranged.clone(),
                policy: policy.clone(),
            })?
            .list,
            None,
        )),
        _ => bail!("give a list: --bundle FILE --trust KEY.pub, or --registry FILE --policy FILE"),
    }
}
