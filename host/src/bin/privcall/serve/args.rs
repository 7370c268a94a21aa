//! `privcall serve`'s options, and the limits they set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::TrustArgs;

/// `privcall serve`'s options.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8650")]
    pub listen: SocketAddr,
    /// Take bundle uploads (`POST /v1/bundles`) only on this address, and
    /// refuse them on --listen.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Keeps the last good bundle and the sequence high-water mark.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Start from a damaged state folder as from a new one: drop the
    /// high-water mark it can no longer vouch for (an operator's decision,
    /// after checking why `/v1/status` raised `state_alarm`).
    #[arg(long)]
    pub reset_state: bool,
    /// A bundle to apply at start (if newer than the saved one).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Apply `.bundle` files dropped into this folder.
    #[arg(long)]
    pub watch: Option<PathBuf>,
    /// Poll this https:// URL for bundles (ETag / If-None-Match);
    /// repeatable: a fleet's registry part and this edge's window parts.
    #[arg(long = "poll", value_name = "URL")]
    pub polls: Vec<String>,
    /// A PEM file of CA certificates the --poll server's certificate must
    /// chain to (default: Mozilla's roots).
    #[arg(long, value_name = "FILE")]
    pub poll_ca: Option<PathBuf>,
    /// A file (owner-only) holding `user:password` for the --poll server
    /// (HTTP Basic). Also read from the environment variable
    /// PRIVCALL_POLL_CREDENTIALS. Never put them in the URL.
    #[arg(long, value_name = "FILE")]
    pub poll_credentials: Option<PathBuf>,
    /// Allow --poll over plain http:// to a host other than loopback: the
    /// list (which names privileged numbers) would cross the network in
    /// clear.
    #[arg(long)]
    pub allow_insecure_poll: bool,
    /// Seconds between polls (and scans of --watch, divided by 60, at least 1 s).
    #[arg(long, default_value_t = 60)]
    pub poll_interval: u64,
    /// Guest instances (parallel decisions); default one per CPU.
    #[arg(long)]
    pub instances: Option<usize>,
    /// The largest bundle taken from an upload, --watch or --poll, in
    /// bytes (checked before reading). A national list of 5M numbers is
    /// about 11 MB.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_bundle_bytes: usize,
    /// Connections open at once; at the cap, a new one sheds the idle
    /// connection active least recently. Never more than the descriptor
    /// limit allows.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also how long an
    /// idle keep-alive connection stays open.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client has to send a decision request's body (an
    /// upload gets 12 times as long).
    #[arg(long, default_value_t = 10)]
    pub body_timeout: u64,
    /// Log level: error, warn, info, debug.
    #[arg(long, default_value = "info")]
    pub log_level: tracing::Level,
}

impl ServeArgs {
    /// How the --poll URL is reached: its CA, its credentials (from the
    /// file or the environment) and whether plain HTTP is allowed.
    pub fn url_access(&self) -> anyhow::Result<privcall::feed::UrlAccess> {
        use anyhow::Context;
        let credentials = match &self.poll_credentials {
            Some(path) => {
                check_owner_only(path)?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Some(text.trim().to_string())
            }
            None => std::env::var("PRIVCALL_POLL_CREDENTIALS").ok(),
        };
        Ok(privcall::feed::UrlAccess {
            credentials,
            ca: self.poll_ca.clone(),
            allow_insecure: self.allow_insecure_poll,
        })
    }
}

/// Refuses a secret file group or others may read.
fn check_owner_only(path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let exposed = privcall::files::exposed_mode(path)
        .with_context(|| format!("reading {}", path.display()))?;
    if let Some(mode) = exposed {
        anyhow::bail!(
            "{}: mode {mode:04o} lets other users read the credentials; chmod 600 it",
            path.display()
        );
    }
    Ok(())
}

/// How long, how large and how many: what a client may take of the daemon.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// To send a request's headers; also the keep-alive idle time.
    pub header: Duration,
    /// To send a decision request's body.
    pub decide_body: Duration,
    /// To send an upload's body.
    pub upload_body: Duration,
    /// The largest bundle.
    pub max_bundle_bytes: usize,
}

/// Descriptors kept free of connections, for the state folder, the
/// watched folder, the poll and the runtime itself.
const RESERVED_DESCRIPTORS: u64 = 64;

impl ServeArgs {
    /// The limits, with the connection cap kept below the descriptor
    /// limit (the soft limit is raised to the hard one first).
    pub fn limits(&self) -> Limits {
        let descriptors = raise_descriptor_limit();
        let fit = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(1);
        let max_connections = self
            .max_connections
            .min(usize::try_from(fit).unwrap_or(usize::MAX));
        tracing::info!(
            max_connections,
            descriptors,
            "connections capped below the descriptor limit"
        );
        Limits {
            max_connections,
            header: Duration::from_secs(self.header_timeout.max(1)),
            decide_body: Duration::from_secs(self.body_timeout.max(1)),
            upload_body: Duration::from_secs(self.body_timeout.max(1) * 12),
            max_bundle_bytes: self.max_bundle_bytes,
        }
    }
}

/// Raises the soft descriptor limit to the hard one; returns the limit
/// in force.
#[cfg(unix)]
fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the descriptor limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

#[cfg(not(unix))]
fn raise_descriptor_limit() -> u64 {
    u64::MAX
}
