//! The `privcall` command line: keys, list compilation and signing,
//! verification, inspection, single decisions and a demo on sample data.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use privcall::bundle::{self, Header};
use privcall::compile::{compile, Sources};
use privcall::decider::{ListDecider, VerifiedList};
use privcall::decision::{Decision, Reason};
use privcall::guest::GuestRuntime;
use privcall::keys::{self, KeyId, TrustStore};
use privcall::time::{self as ptime, Round};
use privcall_core::list::CompiledList;
use privcall_core::types::Call;

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
    /// Generate an Ed25519 key pair: NAME.key (secret, mode 0600) and NAME.pub.
    Keygen {
        /// Path prefix of the key files.
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
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
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide one call with a verified bundle.
    Decide(DecideArgs),
    /// Run the decision daemon (HTTP on loopback by default).
    Serve(ServeArgs),
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
}

impl TrustArgs {
    fn store(&self) -> Result<TrustStore> {
        Ok(TrustStore::from_files(&self.keys, self.threshold)?)
    }
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
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8650")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    trust: TrustArgs,
    /// Keeps the last good bundle and the sequence high-water mark.
    #[arg(long)]
    state_dir: PathBuf,
    /// A bundle to apply at start (if newer than the saved one).
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Apply `.bundle` files dropped into this folder.
    #[arg(long)]
    watch: Option<PathBuf>,
    /// Poll this http:// URL for bundles (ETag / If-None-Match).
    #[arg(long, value_name = "URL")]
    poll: Option<String>,
    /// Seconds between polls (and scans of --watch, divided by 60, at least 1 s).
    #[arg(long, default_value_t = 60)]
    poll_interval: u64,
    /// Guest instances (parallel decisions); default one per CPU.
    #[arg(long)]
    instances: Option<usize>,
    /// Log level: error, warn, info, debug.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
}

#[derive(Args)]
struct DecideArgs {
    /// The bundle.
    #[arg(long)]
    bundle: PathBuf,
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
        Command::Keygen { out } => {
            let (secret, public, id) = keys::keygen(&out)?;
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
            json,
        } => cmd_inspect(&bundle, &trust, json),
        Command::Decide(args) => cmd_decide(&args),
        Command::Demo { dir } => demo::run(dir.as_deref()),
        Command::Serve(args) => cmd_serve(&args),
        Command::Bench {
            numbers,
            samples,
            json,
            small_pages,
        } => {
            let report = privcall::perf::run(&privcall::perf::Options {
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

fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > bundle::MAX_BUNDLE_BYTES as u64 {
        bail!("{}: {len} bytes is larger than any bundle", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn cmd_compile(args: &CompileArgs) -> Result<()> {
    let signing: Vec<_> = args
        .keys
        .iter()
        .map(|k| keys::read_signing_key(k))
        .collect::<Result<_, _>>()?;
    let expires_at = ptime::parse_instant(&args.expires, Round::Up)
        .map_err(|e| anyhow::anyhow!("{}: {e}", "--expires"))?;
    let issued_at = match &args.issued_at {
        Some(t) => ptime::parse_instant(t, Round::Down)
            .map_err(|e| anyhow::anyhow!("{}: {e}", "--issued-at"))?,
        None => ptime::now(),
    };
    if expires_at <= issued_at {
        bail!("--expires must be after the issue time");
    }
    let compiled = compile(&Sources {
        registry: args.registry.clone(),
        prearranged: args.prearranged.clone(),
        policy: args.policy.clone(),
    })?;
    let body = compiled.list.to_bytes();
    let header = Header {
        sequence: args.sequence,
        issued_at,
        expires_at,
        scope: args.scope.clone(),
        issuer: KeyId::of(&signing[0].verifying_key()).0,
        canaries: privcall::compile::canaries(&compiled.list, issued_at),
    };
    let bytes = bundle::sign(&header, &body, &signing);
    // Written whole (temp file + rename): a failed compile leaves nothing.
    privcall::files::replace_private(&args.out, &bytes)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let list = &compiled.list;
    let numbers = list.number_count();
    println!(
        "compiled {} registry row(s) and {} prearranged window(s) into {}",
        compiled.registry_rows,
        compiled.prearranged_rows,
        args.out.display()
    );
    println!(
        "  {} number(s), {} prefix block(s), {} facilities; set {} bytes ({}), bundle {} bytes",
        numbers,
        list.prefixes.len(),
        list.facilities.len(),
        list.set_bytes(),
        per_number(list.set_bytes(), numbers),
        bytes.len()
    );
    let verified = bundle::frame(&bytes)?;
    println!(
        "  sequence {}, expires {}, digest {}",
        args.sequence,
        ptime::format(expires_at),
        hex::encode(verified.digest())
    );
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
    let list = VerifiedList::open(&bytes, &store).with_context(|| format!("{}", path.display()))?;
    // The full body is checked natively too, so `verify` says everything a
    // host would say when the update arrives.
    CompiledList::from_bytes(&list.body).with_context(|| format!("{}", path.display()))?;
    let now = ptime::now();
    if list.is_stale(now) {
        bail!(
            "{}: signatures are valid but the list expired at {}",
            path.display(),
            ptime::format(list.header.expires_at)
        );
    }
    let signers: Vec<String> = list.signers.iter().map(|k| k.to_string()).collect();
    println!(
        "OK: sequence {}, expires {}, signed by {}, digest {}",
        list.header.sequence,
        ptime::format(list.header.expires_at),
        signers.join(", "),
        list.digest
    );
    Ok(())
}

fn cmd_inspect(path: &Path, trust: &[PathBuf], json: bool) -> Result<()> {
    let bytes = read_bundle(path)?;
    let framing = bundle::frame(&bytes).with_context(|| format!("{}", path.display()))?;
    let header =
        bundle::decode_header(framing.header).with_context(|| format!("{}", path.display()))?;
    let digest = hex::encode(framing.digest());
    let verified = if trust.is_empty() {
        None
    } else {
        let store = TrustStore::from_files(trust, 1)?;
        Some(bundle::verify(&bytes, &store).map(|v| v.signers.len()))
    };
    let list =
        CompiledList::from_bytes(framing.body).with_context(|| format!("{}", path.display()))?;
    let signatures: Vec<String> = framing
        .signatures
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    let facilities: Vec<serde_json::Value> = list
        .facilities
        .iter()
        .map(|f| {
            serde_json::json!({
                "code": f.code,
                "own_policy": f.own_policy,
                "exempt": f.policy.exempt.iter().map(|c| c.name()).collect::<Vec<_>>(),
                "overrun": f.policy.overrun.name(),
                "fail_mode": f.policy.fail_mode.name(),
            })
        })
        .collect();
    let report = serde_json::json!({
        "format_version": bundle::FORMAT_VERSION,
        "sequence": header.sequence,
        "issued_at": ptime::format(header.issued_at),
        "expires_at": ptime::format(header.expires_at),
        "scope": header.scope,
        "issuer": hex::encode(header.issuer),
        "signatures": signatures,
        "verified": match &verified {
            None => serde_json::Value::Null,
            Some(Ok(n)) => serde_json::json!(format!("{n} trusted signature(s) valid")),
            Some(Err(e)) => serde_json::json!(format!("FAILED: {e}")),
        },
        "digest": digest,
        "bytes": bytes.len(),
        "numbers": list.number_count(),
        "prefix_blocks": list.prefixes.len(),
        "windows": list.windows.len(),
        "classes": list.classes.len(),
        "set_bytes": list.set_bytes(),
        "facilities": facilities,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("bundle     {}", path.display());
        println!("format     {}", bundle::FORMAT_VERSION);
        println!("sequence   {}", header.sequence);
        println!("issued at  {}", ptime::format(header.issued_at));
        println!("expires at {}", ptime::format(header.expires_at));
        println!("scope      {}", header.scope);
        println!("issuer     {}", hex::encode(header.issuer));
        println!("signed by  {}", signatures.join(", "));
        match &verified {
            None => println!("verified   no (pass --trust KEY.pub to verify)"),
            Some(Ok(n)) => println!("verified   yes ({n} trusted signature(s))"),
            Some(Err(e)) => println!("verified   FAILED: {e}"),
        }
        println!("digest     {digest}");
        println!("size       {} bytes", bytes.len());
        println!(
            "contents   {} number(s), {} prefix block(s), {} window(s), {} class(es)",
            list.number_count(),
            list.prefixes.len(),
            list.windows.len(),
            list.classes.len()
        );
        println!(
            "set        {} bytes ({})",
            list.set_bytes(),
            per_number(list.set_bytes(), list.number_count())
        );
        for f in &list.facilities {
            let exempt: Vec<&str> = f.policy.exempt.iter().map(|c| c.name()).collect();
            println!(
                "facility   {}{}: exempt {}; overrun {}; fail mode {}",
                f.code,
                if f.own_policy {
                    ""
                } else {
                    " (default policy)"
                },
                exempt.join(","),
                f.policy.overrun.name(),
                f.policy.fail_mode.name()
            );
        }
    }
    if let Some(Err(e)) = verified {
        bail!("{}: {e}", path.display());
    }
    Ok(())
}

fn cmd_decide(args: &DecideArgs) -> Result<()> {
    let store = args.trust.store()?;
    let at = ptime::parse_instant(&args.at, Round::Down)
        .map_err(|e| anyhow::anyhow!("{}: {e}", "--at"))?;
    let started = args
        .started
        .as_deref()
        .map(|s| {
            ptime::parse_instant(s, Round::Down)
                .map_err(|e| anyhow::anyhow!("{}: {e}", "--started"))
        })
        .transpose()?;
    if started.is_some_and(|s| s > at) {
        bail!("--started is after --at");
    }
    let bytes = read_bundle(&args.bundle)?;
    let list =
        VerifiedList::open(&bytes, &store).with_context(|| format!("{}", args.bundle.display()))?;
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
    let decision = decider.decide(&call, ptime::now());
    if args.json {
        println!("{}", serde_json::to_string(&decision)?);
    } else {
        println!("{}", describe(&decision));
    }
    Ok(())
}

/// A one-line human reading of a decision.
fn describe(d: &Decision) -> String {
    let action = match (d.record, d.monitor) {
        (false, false) => "DO NOT RECORD, do not monitor",
        (true, true) => "record and monitor",
        (true, false) => "record, do not monitor",
        (false, true) => "monitor, do not record",
    };
    let why = match d.reason {
        Reason::Registered => format!(
            "registered {} number",
            d.category.as_deref().unwrap_or("privileged")
        ),
        Reason::Prearranged => format!(
            "prearranged private call until {}, then {}",
            d.private_until.map_or("?".into(), |t| t.to_string()),
            d.on_expiry.as_deref().unwrap_or("?")
        ),
        Reason::PrearrangedOverrun => format!(
            "private window ended at {}: {}",
            d.private_until.map_or("?".into(), |t| t.to_string()),
            d.on_expiry.as_deref().unwrap_or("?")
        ),
        Reason::NotPrivileged => "not privileged".to_string(),
        Reason::FailSafe => "FAIL-SAFE: privcall could not decide; facility fail mode".to_string(),
    };
    let mut line = format!("{action} — {why}");
    if d.redact_metadata {
        line.push_str("; do not store the number");
    }
    if let Some(n) = &d.notice {
        line.push_str(&format!("; play notice {n}"));
    }
    if let Some(list) = &d.list {
        line.push_str(&format!(
            " [list #{} {}{}]",
            list.sequence,
            &list.digest[..12.min(list.digest.len())],
            if list.stale { ", STALE" } else { "" }
        ));
    }
    line
}

mod demo;

fn cmd_serve(args: &ServeArgs) -> Result<()> {
    use privcall::engine::{Engine, EngineConfig, UpdateSource};
    use privcall::serve::{Daemon, Poll, TrustFiles};
    use std::sync::Arc;
    use std::time::Duration;

    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let trust = TrustFiles {
        keys: args.trust.keys.clone(),
        threshold: args.trust.threshold,
    };
    let mut config = EngineConfig::new(trust.load()?).state_dir(&args.state_dir);
    if let Some(n) = args.instances {
        config.instances = n;
    }
    let max_bundle_bytes = config.max_bundle_bytes;
    let engine = Arc::new(
        Engine::new(config, ptime::now())
            .with_context(|| format!("opening state dir {}", args.state_dir.display()))?,
    );
    if let Some(path) = &args.bundle {
        let bytes = read_bundle(path)?;
        match engine.apply(&bytes, ptime::now(), UpdateSource::File) {
            Ok(id) => tracing::info!(sequence = id.sequence, "applied --bundle"),
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "--bundle not applied"),
        }
    }
    if engine.list_id(ptime::now()).is_none() {
        tracing::error!("no list is live: every call gets its facility's fail mode until a valid bundle arrives");
    }
    let daemon = Daemon {
        engine,
        trust,
        watch: args.watch.clone(),
        watch_interval: Duration::from_secs((args.poll_interval / 60).max(1)),
        poll: args.poll.clone().map(|url| Poll {
            url,
            interval: Duration::from_secs(args.poll_interval.max(1)),
        }),
        max_bundle_bytes,
    };
    privcall::serve::run(daemon, args.listen, |addr| {
        println!("privcall: listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
}
