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
//! Every client is bounded (see [`args::Limits`]): headers within
//! `--header-timeout` (which also closes idle keep-alive connections),
//! bodies within their own deadline and size, checked from
//! `Content-Length` before reading; at most `--max-connections` open,
//! below the descriptor limit, shedding idle connections first
//! ([`conns`]); one upload at a time, its framing checked on its first
//! bytes. A flood of idle or slow connections therefore cannot stop the
//! decisions of a client that keeps deciding.
//!
//! The parts: this module (the daemon, its accept loop and start-up),
//! `args` (options and limits), `conns` (the connection cap), `routes`
//! (the HTTP handlers); the watched folder and the polled URL run as the
//! library's [`privcall::feed::Feeds`].

mod args;
mod conns;
mod routes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use privcall::feed::{FeedConfig, Feeds, TrustFiles};
use privcall::text::Rfc3339Text;
use privcall::{Engine, EngineConfig, UpdateError, UpdateSource};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use args::Limits;
pub use args::ServeArgs;
use conns::Conns;

/// The read buffer of a connection, and so the largest request head.
const MAX_HEAD_BYTES: usize = 16 << 10;
/// How long a connection told to close may finish its request.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What a listener serves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// Decisions, status and metrics; uploads too unless an admin
    /// listener takes them.
    Decisions {
        /// Whether uploads are taken here.
        uploads: bool,
    },
    /// Uploads, status and metrics (`--admin-listen`).
    Admin,
}

/// Everything the daemon needs.
pub struct Daemon {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Trust files, for rotation.
    pub trust: TrustFiles,
    /// The watched folder and the polled URL, if any.
    pub feeds: FeedConfig,
    /// What a client may take.
    pub limits: Limits,
    /// The open connections.
    pub conns: Arc<Conns>,
    /// One upload at a time.
    pub uploads: Semaphore,
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

    /// Serves on `listener` (and `admin`) until `shutdown` completes, then
    /// lets in-flight requests finish (up to 5 s).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        // Stopped when dropped, at the end of this function.
        let _feeds = Feeds::start(Arc::clone(&self.engine), self.feeds.clone())
            .context("starting the watched folder and the polled URL")?;
        let main_role = Role::Decisions {
            uploads: admin.is_none(),
        };
        let mut errors = AcceptErrors::default();
        tokio::pin!(shutdown);
        loop {
            let (accepted, role) = tokio::select! {
                a = listener.accept() => (a, main_role),
                a = accept(admin.as_ref()) => (a, Role::Admin),
                () = &mut shutdown => break,
            };
            match accepted {
                Ok((stream, _)) => self.serve_connection(stream, role),
                Err(e) => {
                    errors.log(&e);
                    // Out of descriptors (ENFILE, EMFILE): an idle
                    // connection gives one back.
                    if matches!(e.raw_os_error(), Some(23 | 24)) {
                        self.conns.shed_one();
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        tracing::info!("shutting down");
        self.conns.shed_all();
        let deadline = Instant::now() + CLOSE_GRACE;
        while self.conns.open() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Serves HTTP/1.1 on one accepted connection in its own task, if the
    /// connection cap admits it.
    fn serve_connection(self: &Arc<Self>, stream: TcpStream, role: Role) {
        let Some(admitted) = self.conns.admit() else {
            tracing::debug!("connection refused: at the cap with every connection busy");
            return;
        };
        let _ = stream.set_nodelay(true);
        let admitted = Arc::new(admitted);
        let (d, a) = (Arc::clone(self), Arc::clone(&admitted));
        let service = service_fn(move |req| {
            let (d, a) = (Arc::clone(&d), Arc::clone(&a));
            async move {
                let _busy = a.request();
                Ok::<_, Infallible>(d.handle(req, role).await)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header)
            .max_buf_size(MAX_HEAD_BYTES);
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = admitted.conn.shed.notified() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        });
    }
}

/// Accepts on `listener`, or waits forever without one.
async fn accept(
    listener: Option<&TcpListener>,
) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Accept errors, logged at most once a second with a count of the rest:
/// out of descriptors, each pending connection would fail again at once.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    fn log(&mut self, e: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_logged
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(error = %e, suppressed = self.suppressed, "accept failed");
        self.last_logged = Some(now);
        self.suppressed = 0;
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
        identities: args.trust.identities.clone(),
        inmate_keys: args.trust.inmate_keys.clone(),
    };
    let store = trust.load().context("reading the trust keys")?;
    let mut config = EngineConfig::new(store).state_dir(&args.state_dir);
    if let Some(n) = args.instances {
        config.instances = n;
    }
    config.reset_state = args.reset_state;
    let limits = args.limits();
    config.max_bundle_bytes = limits.max_bundle_bytes;
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
            urls: args.polls.clone(),
            url_access: args.url_access()?,
            folder_interval: Duration::from_secs((args.poll_interval / 60).max(1)),
            url_interval: Duration::from_secs(args.poll_interval.max(1)),
            trust: Some(trust.clone()),
            max_bundle_bytes: limits.max_bundle_bytes,
        },
        conns: Conns::new(limits.max_connections),
        limits,
        uploads: Semaphore::new(1),
    };
    serve_until_signal(daemon, args.listen, args.admin_listen, |addr, admin| {
        use std::io::Write;
        println!("privcall: listening on http://{addr}");
        if let Some(admin) = admin {
            println!("privcall: uploads on http://{admin}");
        }
        let _ = std::io::stdout().flush();
    })
}

/// Applies `--bundle`, if given (a refusal is logged, not fatal), and logs
/// an error when no list is live after it.
fn apply_start_bundle(engine: &Engine, args: &ServeArgs) -> Result<()> {
    if let Some(path) = &args.bundle {
        let bytes = privcall::feed::read_bundle_file(path, engine.max_bundle_bytes())
            .with_context(|| format!("reading {}", path.display()))?;
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
    admin_listen: Option<SocketAddr>,
    ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
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
        let admin = match admin_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .with_context(|| format!("listening on {a} (--admin-listen)"))?,
            ),
            None => None,
        };
        let admin_addr = admin
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .context("reading the admin address")?;
        ready(addr, admin_addr);
        Arc::new(daemon)
            .serve(listener, admin, shutdown_signal())
            .await
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
