//! `privcall serve`: the decision daemon.
//!
//! HTTP/1.1 on loopback by default (hyper on tokio):
//!
//! - `POST /v1/decide`: `{"facility","inmate","dialed","at"[,"started"]}` → the decision JSON.
//! - `POST /v1/bundles`: a bundle's raw bytes → 200 when swapped in, 4xx with `{"error","kind"}`.
//! - `GET /v1/status`: the live list, the high-water mark, the last update attempt.
//! - `GET /metrics`: Prometheus text.
//!
//! Updates also arrive from a watched directory (drop a `.bundle` file) and
//! from polling a URL with `If-None-Match` and jittered backoff, so a plain
//! HTTP file server, object store or CDN distributes lists to a fleet. The
//! trust files are re-read before every update, so a key is rotated by
//! editing them, without a restart.
//!
//! Every socket gets `TCP_NODELAY`, so a small response is never held back
//! by Nagle's algorithm waiting for the client's delayed ACK.
//!
//! The parts: this module (the daemon, its accept loop and start-up),
//! `routes` (the HTTP handlers); the watched folder and the polled URL
//! run as the library's [`privcall::feed::Feeds`].

mod routes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use privcall::feed::{FeedConfig, Feeds, TrustFiles};
use privcall::text::Rfc3339Text;
use privcall::{Engine, EngineConfig, UpdateError, UpdateSource};
use tokio::net::{TcpListener, TcpStream};

use super::ServeArgs;

/// Everything the daemon needs.
pub struct Daemon {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Trust files, for rotation.
    pub trust: TrustFiles,
    /// The watched folder and the polled URL, if any.
    pub feeds: FeedConfig,
    /// Largest bundle accepted over HTTP.
    pub max_bundle_bytes: usize,
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    Rfc3339Text::now().0
}

/// A refused update's message with its causes, as logs and clients see it.
fn refusal_text(e: UpdateError) -> String {
    format!("{:#}", anyhow::Error::from(e))
}

impl Daemon {
    /// Applies an update after re-reading the trust files (so rotated keys
    /// take effect); a trust file that cannot be read keeps the old store.
    pub fn apply(&self, bytes: &[u8], source: UpdateSource) -> Result<u64, UpdateError> {
        self.trust.refresh(&self.engine);
        self.engine
            .apply(bytes, now(), source)
            .map(|id| id.sequence)
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight
    /// requests finish (up to 5 s).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        let graceful = GracefulShutdown::new();
        // Stopped when dropped, at the end of this function.
        let _feeds = Feeds::start(Arc::clone(&self.engine), self.feeds.clone())
            .context("starting the watched folder and the polled URL")?;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.serve_connection(stream, &graceful),
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                () = &mut shutdown => break,
            }
        }
        tracing::info!("shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        Ok(())
    }

    /// Serves HTTP/1.1 on one accepted connection in its own task, under
    /// `graceful` so shutdown waits for it.
    fn serve_connection(self: &Arc<Self>, stream: TcpStream, graceful: &GracefulShutdown) {
        let _ = stream.set_nodelay(true);
        let d = Arc::clone(self);
        let service = service_fn(move |req| {
            let d = Arc::clone(&d);
            async move { Ok::<_, Infallible>(d.handle(req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

/// `privcall serve`: starts the engine (restoring the saved list, then
/// `--bundle`), then serves until a signal.
pub fn run(args: &ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let trust = TrustFiles {
        keys: args.trust.keys.clone(),
        threshold: args.trust.threshold,
    };
    let store = trust.load().context("reading the trust keys")?;
    let mut config = EngineConfig::new(store).state_dir(&args.state_dir);
    if let Some(n) = args.instances {
        config.instances = n;
    }
    let max_bundle_bytes = config.max_bundle_bytes;
    let engine = Arc::new(
        Engine::new(config, now())
            .with_context(|| format!("opening state dir {}", args.state_dir.display()))?,
    );
    apply_start_bundle(&engine, args)?;
    let daemon = Daemon {
        engine,
        trust: trust.clone(),
        feeds: FeedConfig {
            folder: args.watch.clone(),
            url: args.poll.clone(),
            folder_interval: Duration::from_secs((args.poll_interval / 60).max(1)),
            url_interval: Duration::from_secs(args.poll_interval.max(1)),
            trust: Some(trust.clone()),
            max_bundle_bytes,
        },
        max_bundle_bytes,
    };
    serve_until_signal(daemon, args.listen, |addr| {
        println!("privcall: listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
}

/// Applies `--bundle`, if given (a refusal is logged, not fatal), and logs
/// an error when no list is live after it.
fn apply_start_bundle(engine: &Engine, args: &ServeArgs) -> Result<()> {
    if let Some(path) = &args.bundle {
        let bytes = super::read_bundle(path)?;
        match engine.apply(&bytes, now(), UpdateSource::File) {
            Ok(id) => tracing::info!(sequence = id.sequence, "applied --bundle"),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %refusal_text(e), "--bundle not applied")
            }
        }
    }
    if engine.list_id(now()).is_none() {
        tracing::error!("no list is live: every call gets its facility's fail mode until a valid bundle arrives");
    }
    Ok(())
}

/// Runs the daemon until Ctrl-C or SIGTERM.
fn serve_until_signal(
    daemon: Daemon,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("privcall-serve")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener
            .local_addr()
            .context("reading the listening address")?;
        ready(addr);
        Arc::new(daemon).serve(listener, shutdown_signal()).await
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
