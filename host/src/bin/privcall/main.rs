//! The `privcall` command line: keys, list compilation and signing,
//! verification, inspection, single decisions, the daemon, the benchmark
//! and a demo on sample data. A front end over the `privcall` library.

mod audit;
mod bench;
mod demo;
mod fleet;
mod human;
mod inspect;
mod serve;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use privcall::bundle::{read_verified, UnverifiedBundle, MAX_BUNDLE_BYTES};
use privcall::core::list::CompiledList;
use privcall::files::{keygen, read_signing_keys};
use privcall::guest::{GuestRuntime, ListDecider};
use privcall::text::{Rfc3339Text, Round};
use privcall::{compile_keyed, seal, BundleInfo, Call, Sources, TrustStore, VerifiedList};

/// Decides at call setup whether a correctional phone call may be
/// recorded. Calls to registered privileged numbers and prearranged private
/// calls never are.
#[derive(Parser)]
#[command(name = "privcall", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a list authority's Ed25519 key pair: NAME.key (secret,
    /// mode 0600) and NAME.pub; with --recipient, an edge's key pair:
    /// NAME.identity (secret, mode 0600) and NAME.recipient.
    Keygen {
        /// Path prefix of the key files.
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
        /// An edge's key pair, for lists encrypted to the edge.
        #[arg(long, conflicts_with = "inmate_key")]
        recipient: bool,
        /// An inmate key: NAME.inmatekey (secret, mode 0600), shared by
        /// the list authority and its edges.
        #[arg(long)]
        inmate_key: bool,
    },
    /// Compile and sign list sources into a bundle.
    Compile(CompileArgs),
    /// Verify a bundle's signatures, format and expiry.
    Verify {
        /// The bundle.
        #[arg(long)]
        bundle: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Show a bundle's header, counts and digest (never a key or a number).
    Inspect {
        /// The bundle.
        #[arg(long)]
        bundle: PathBuf,
        /// Verify the signatures against these keys too.
        #[arg(long, value_name = "KEY.pub")]
        trust: Vec<PathBuf>,
        /// Open an encrypted body with this edge identity (with --trust:
        /// only a verified body is decrypted; repeatable).
        #[arg(long = "identity", value_name = "NAME.identity", requires = "trust")]
        identities: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide one call with a verified bundle.
    Decide(DecideArgs),
    /// Run the decision daemon (HTTP on loopback by default).
    Serve(serve::ServeArgs),
    /// Measure decision latency (wasm guest and native), bytes per number
    /// and swap time for a synthetic list of random North American numbers.
    Bench {
        /// Numbers in the synthetic registry.
        #[arg(long, default_value_t = 1_000_000)]
        numbers: usize,
        /// Timed decisions per path.
        #[arg(long, default_value_t = 200_000)]
        samples: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Keep the guest's memory and the native baseline on ordinary
        /// pages (by default both use transparent huge pages), to see what
        /// huge pages buy on this machine.
        #[arg(long)]
        small_pages: bool,
    },
    /// Replay call records (CDRs) against a list and write the recordings
    /// of privileged calls to destroy.
    Audit(audit::AuditArgs),
    /// Compile the built-in sample lists with a throwaway key and print the
    /// decisions for the sample calls as a table.
    Demo {
        /// Keep the demo's key, sources and bundle in this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Args)]
struct TrustArgs {
    /// A trusted public key (repeatable).
    #[arg(long = "trust", value_name = "KEY.pub", required = true)]
    keys: Vec<PathBuf>,
    /// How many distinct trusted signatures a bundle needs.
    #[arg(long, default_value_t = 1)]
    threshold: usize,
    /// This edge's identity (`keygen --recipient`): opens bundles
    /// encrypted to it (repeatable: the old and the new while keys rotate).
    #[arg(long = "identity", value_name = "NAME.identity")]
    identities: Vec<PathBuf>,
    /// The inmate key (`keygen --inmate-key`), for lists whose inmate ids
    /// are hashed (repeatable, as --identity).
    #[arg(long = "inmate-key", value_name = "NAME.inmatekey")]
    inmate_keys: Vec<PathBuf>,
}

impl TrustArgs {
    fn store(&self) -> Result<TrustStore> {
        trust_store(
            &self.keys,
            self.threshold,
            &self.identities,
            &self.inmate_keys,
        )
    }
}

/// The trust store of key files and a threshold, with the edge identities
/// and inmate keys of these files.
fn trust_store(
    keys: &[PathBuf],
    threshold: usize,
    identities: &[PathBuf],
    inmate_keys: &[PathBuf],
) -> Result<TrustStore> {
    let store = identities
        .iter()
        .try_fold(TrustStore::from_files(keys, threshold)?, |s, path| {
            anyhow::Ok(s.with_identity(privcall::edge::read_identity(path)?))
        })?;
    inmate_keys.iter().try_fold(store, |s, path| {
        anyhow::Ok(s.with_inmate_key(privcall::edge::read_inmate_key(path)?))
    })
}

#[derive(Args)]
struct CompileArgs {
    /// registry.csv: number,category,facilities,valid_from,valid_until,label
    #[arg(long)]
    registry: PathBuf,
    /// prearranged.csv: facility,inmate,number,start,end,ref
    #[arg(long)]
    prearranged: Option<PathBuf>,
    /// policy.toml: [default] and [facility.CODE] tables.
    #[arg(long)]
    policy: PathBuf,
    /// Secret key to sign with (repeatable, for threshold signing).
    #[arg(long = "key", value_name = "NAME.key", required = true)]
    keys: Vec<PathBuf>,
    /// An edge that may read the list (repeatable): the body is encrypted
    /// to these recipients, then signed.
    #[arg(long = "recipient", value_name = "NAME.recipient")]
    recipients: Vec<PathBuf>,
    /// Hash the windows' inmate ids with this inmate key: the list names
    /// no inmate, and edges need the same key (--inmate-key) to match.
    #[arg(long, value_name = "NAME.inmatekey")]
    inmate_key: Option<PathBuf>,
    /// Sequence number; must be higher than the last one hosts accepted.
    #[arg(long)]
    sequence: u64,
    /// Expiry (RFC 3339); after it the list is stale.
    #[arg(long, value_name = "RFC3339")]
    expires: String,
    /// Issue time (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339")]
    issued_at: Option<String>,
    /// Scope recorded in the header.
    #[arg(long, default_value = "all")]
    scope: String,
    /// Where to write the bundle.
    #[arg(long, required_unless_present = "fleet")]
    out: Option<PathBuf>,
    /// Compile for a fleet, in parts: DIR holds CODE.recipient for each
    /// facility's edge. Writes OUT-DIR/registry.bundle (numbers and
    /// policies, encrypted to --fleet-recipient) and
    /// OUT-DIR/windows/CODE.bundle (a facility's windows, encrypted to its
    /// edge alone).
    #[arg(long, value_name = "DIR", requires_all = ["fleet_recipient", "out_dir"], conflicts_with_all = ["recipients", "out"])]
    fleet: Option<PathBuf>,
    /// The fleet's registry key (`keygen --recipient`): every edge holds its
    /// identity, the registry part is encrypted to it.
    #[arg(long, value_name = "NAME.recipient", requires = "fleet")]
    fleet_recipient: Option<PathBuf>,
    /// Where a fleet's parts are written (created if missing).
    #[arg(long, value_name = "DIR", requires = "fleet")]
    out_dir: Option<PathBuf>,
}

#[derive(Args)]
struct DecideArgs {
    /// The bundle: a whole list, or a fleet's registry part (with --windows).
    #[arg(long)]
    bundle: PathBuf,
    /// A fleet's window part to merge with the registry part --bundle
    /// (repeatable: one per facility), as an edge does.
    #[arg(long = "windows", value_name = "PART")]
    windows: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Facility code.
    #[arg(long)]
    facility: String,
    /// Inmate account id.
    #[arg(long)]
    inmate: String,
    /// The digits as dialed, any formatting.
    #[arg(long, allow_hyphen_values = true)]
    dialed: String,
    /// Call setup time, or the re-ask time with --started (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    at: String,
    /// The call's setup time when re-asking mid-call (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    started: Option<String>,
    /// Print the decision JSON.
    #[arg(long)]
    json: bool,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("privcall: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen {
            out,
            inmate_key: true,
            ..
        } => {
            let (path, id) = privcall::edge::keygen_inmate(&out)?;
            println!("wrote {} (secret, owner-only; key id {id})", path.display());
            Ok(())
        }
        Command::Keygen {
            out,
            recipient: true,
            ..
        } => {
            let (secret, public, id) = privcall::edge::keygen_recipient(&out)?;
            println!(
                "wrote {} (secret, owner-only) and {} (recipient id {id})",
                secret.display(),
                public.display()
            );
            Ok(())
        }
        Command::Keygen { out, .. } => {
            let (secret, public, id) = keygen(&out)?;
            println!(
                "wrote {} (secret, owner-only) and {} (key id {id})",
                secret.display(),
                public.display()
            );
            Ok(())
        }
        Command::Compile(args) => cmd_compile(&args),
        Command::Verify { bundle, trust } => cmd_verify(&bundle, &trust),
        Command::Inspect {
            bundle,
            trust,
            identities,
            json,
        } => inspect::run(&bundle, &trust, &identities, json),
        Command::Decide(args) => cmd_decide(&args),
        Command::Demo { dir } => demo::run(dir.as_deref()),
        Command::Audit(args) => audit::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Bench {
            numbers,
            samples,
            json,
            small_pages,
        } => {
            let report = bench::run(&bench::Options {
                numbers,
                samples,
                huge_pages: !small_pages,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            Ok(())
        }
    }
}

/// Reads a bundle file, refusing one larger than any bundle before reading.
fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_BUNDLE_BYTES as u64 {
        bail!("{}: {len} bytes is larger than any bundle", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses an RFC 3339 time given in the option `flag`.
fn instant(flag: &str, text: &str, round: Round) -> Result<i64> {
    Ok(Rfc3339Text::parse(text, round)
        .with_context(|| flag.to_string())?
        .0)
}

fn cmd_compile(args: &CompileArgs) -> Result<()> {
    let signing = read_signing_keys(&args.keys)?;
    let expires_at = instant("--expires", &args.expires, Round::Up)?;
    let issued_at = match &args.issued_at {
        Some(t) => instant("--issued-at", t, Round::Down)?,
        None => Rfc3339Text::now().0,
    };
    if expires_at <= issued_at {
        bail!("--expires must be after the issue time");
    }
    let inmate_key = args
        .inmate_key
        .as_deref()
        .map(privcall::edge::read_inmate_key)
        .transpose()?;
    if let (Some(dir), Some(registry_key), Some(out_dir)) =
        (&args.fleet, &args.fleet_recipient, &args.out_dir)
    {
        return fleet::compile(&fleet::FleetArgs {
            sources: Sources {
                registry: args.registry.clone(),
                prearranged: args.prearranged.clone(),
                policy: args.policy.clone(),
            },
            dir,
            registry_key,
            out_dir,
            inmate_key: inmate_key.as_ref(),
            signing: &signing,
            info: BundleInfo::new(args.sequence, issued_at, expires_at),
        });
    }
    let out = args.out.as_ref().context("--out is required")?;
    let compiled = compile_keyed(
        &Sources {
            registry: args.registry.clone(),
            prearranged: args.prearranged.clone(),
            policy: args.policy.clone(),
        },
        inmate_key.as_ref(),
    )?;
    let info = BundleInfo {
        scope: args.scope.clone(),
        recipients: privcall::edge::read_recipients(&args.recipients)?,
        ..BundleInfo::new(args.sequence, issued_at, expires_at)
    };
    let bytes = seal(&compiled.list, &info, &signing)?;
    // Written whole (temp file + rename): a failed compile leaves nothing.
    privcall::files::write_private(out, &bytes)
        .with_context(|| format!("writing {}", out.display()))?;
    let list = &compiled.list;
    let numbers = list.number_count();
    println!(
        "compiled {} registry row(s) and {} prearranged window(s) into {}",
        compiled.registry_rows,
        compiled.prearranged_rows,
        out.display()
    );
    println!(
        "  {} number(s) ({} of them synthetic canaries), {} prefix block(s), {} facilities; set {} bytes ({}), bundle {} bytes",
        numbers,
        privcall::core::canary::CANARY_NUMBERS,
        list.prefix_count(),
        list.facilities().len(),
        list.set_bytes(),
        per_number(list.set_bytes(), numbers),
        bytes.len()
    );
    println!(
        "  sequence {}, expires {}, digest {}",
        args.sequence,
        Rfc3339Text(expires_at),
        UnverifiedBundle::read(&bytes)?.digest
    );
    if let Some(id) = compiled.inmate_key {
        println!("  inmate ids hashed with inmate key {id}");
    }
    if !info.recipients.is_empty() {
        let ids: Vec<String> = info.recipients.iter().map(|r| r.id().to_string()).collect();
        println!("  encrypted to recipient(s) {}", ids.join(", "));
    }
    Ok(())
}

fn per_number(bytes: usize, numbers: usize) -> String {
    if numbers == 0 {
        "no numbers".into()
    } else {
        format!("{:.2} bytes/number", bytes as f64 / numbers as f64)
    }
}

fn cmd_verify(path: &Path, trust: &TrustArgs) -> Result<()> {
    let store = trust.store()?;
    let bytes = read_bundle(path)?;
    let (verified, body) =
        read_verified(&bytes, &store).with_context(|| format!("{}", path.display()))?;
    // The full body is checked natively too, so `verify` says everything a
    // host would say when the update arrives (an encrypted one, with the
    // identity that opens it).
    if let Some(body) = &body {
        if privcall::core::list::fleet::WindowPart::is_part(body) {
            privcall::core::list::fleet::WindowPart::from_bytes(body)
                .with_context(|| format!("{}", path.display()))?;
        } else {
            CompiledList::from_bytes(body).with_context(|| format!("{}", path.display()))?;
        }
    }
    let header = &verified.header;
    if Rfc3339Text::now().0 >= header.expires_at {
        bail!(
            "{}: signatures are valid but the bundle expired at {}",
            path.display(),
            Rfc3339Text(header.expires_at)
        );
    }
    let signers: Vec<String> = verified.signers.iter().map(|k| k.to_string()).collect();
    println!(
        "OK: sequence {}, expires {}, signed by {}, digest {}",
        header.sequence,
        Rfc3339Text(header.expires_at),
        signers.join(", "),
        hex::encode(verified.digest)
    );
    if body.is_none() {
        println!(
            "  body encrypted for recipient(s) {}: give --identity to check it too",
            header.recipient_list()
        );
    }
    Ok(())
}

fn cmd_decide(args: &DecideArgs) -> Result<()> {
    let store = args.trust.store()?;
    let at = instant("--at", &args.at, Round::Down)?;
    let started = args
        .started
        .as_deref()
        .map(|s| instant("--started", s, Round::Down))
        .transpose()?;
    if started.is_some_and(|s| s > at) {
        bail!("--started is after --at");
    }
    let bytes = read_bundle(&args.bundle)?;
    let mut list =
        VerifiedList::open(&bytes, &store).with_context(|| format!("{}", args.bundle.display()))?;
    if list.header.part == privcall::bundle::Part::Registry && args.windows.is_empty() {
        bail!(
            "{} is a fleet's registry part: give the facility's window part with --windows \
             (without it a booked call would read as an ordinary one)",
            args.bundle.display()
        );
    }
    if !args.windows.is_empty() {
        let parts = args
            .windows
            .iter()
            .map(|path| {
                let bytes = read_bundle(path)?;
                privcall::bundle::verify(&bytes, &store)
                    .map_err(privcall::OpenError::from)
                    .and_then(|v| privcall::VerifiedWindows::from_verified(v, &store))
                    .with_context(|| format!("{}", path.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let parts: Vec<&privcall::VerifiedWindows> = parts.iter().collect();
        let offset = privcall::core::list::fleet::windows_offset(&list.body)
            .with_context(|| format!("{}", args.bundle.display()))?;
        list = VerifiedList::combine(&list, offset, &parts, &store)
            .context("merging the window parts with the registry part")?;
    }
    let runtime = GuestRuntime::builtin()?;
    let mut decider = ListDecider::new(&runtime, list)
        .with_context(|| format!("loading {}", args.bundle.display()))?;
    let call = Call {
        facility: &args.facility,
        inmate: &args.inmate,
        dialed: &args.dialed,
        at,
        started,
    };
    let decision = decider.decide(&call, Rfc3339Text::now().0);
    if args.json {
        println!("{}", serde_json::to_string(&decision)?);
    } else {
        println!("{}", human::describe(&decision));
    }
    Ok(())
}
