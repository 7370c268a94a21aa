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
//! Every socket gets `TCP_NODELAY`: a small response otherwise waits ~40 ms
//! when Nagle's algorithm meets the client's delayed ACK.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use privcall::{
    Call, Engine, EngineConfig, RefusalKind, Rfc3339Text, Round, TrustStore, UpdateError,
    UpdateSource,
};
use rand::Rng;
use serde::Deserialize;
use tokio::net::TcpListener;

use super::ServeArgs;

/// Largest `/v1/decide` request body.
const MAX_DECIDE_BODY: usize = 16 << 10;

/// Where the trust store comes from (re-read before every update).
#[derive(Clone, Debug)]
pub struct TrustFiles {
    /// Public key files.
    pub keys: Vec<PathBuf>,
    /// Signatures required.
    pub threshold: usize,
}

impl TrustFiles {
    /// Reads the files.
    pub fn load(&self) -> Result<TrustStore> {
        TrustStore::from_files(&self.keys, self.threshold).context("reading the trust keys")
    }
}

/// Polling a URL for new bundles.
#[derive(Clone, Debug)]
pub struct Poll {
    /// `http://` URL of the bundle.
    pub url: String,
    /// Time between polls when all is well.
    pub interval: Duration,
}

/// Everything the daemon needs.
pub struct Daemon {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Trust files, for rotation.
    pub trust: TrustFiles,
    /// Folder watched for `.bundle` files.
    pub watch: Option<PathBuf>,
    /// How often the folder is scanned.
    pub watch_interval: Duration,
    /// URL polled for bundles.
    pub poll: Option<Poll>,
    /// Largest bundle accepted over HTTP.
    pub max_bundle_bytes: usize,
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    Rfc3339Text::now().0
}

impl Daemon {
    /// Applies an update after re-reading the trust files (so rotated keys
    /// take effect); a trust file that cannot be read keeps the old store.
    pub fn apply(&self, bytes: &[u8], source: UpdateSource) -> Result<u64, UpdateError> {
        match self.trust.load() {
            Ok(trust) => self.engine.set_trust(trust),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "keeping the previous trust store")
            }
        }
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
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut tasks = Vec::new();
        if let Some(dir) = self.watch.clone() {
            let d = Arc::clone(&self);
            tasks.push(tokio::spawn(async move { d.watch_dir(dir).await }));
        }
        if let Some(poll) = self.poll.clone() {
            let d = Arc::clone(&self);
            tasks.push(tokio::spawn(async move { d.poll_url(poll).await }));
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let d = Arc::clone(&self);
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
                () = &mut shutdown => break,
            }
        }
        tracing::info!("shutting down");
        for t in tasks {
            t.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        Ok(())
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match (req.method(), req.uri().path()) {
            (&Method::POST, "/v1/decide") => self.decide(req).await,
            (&Method::POST, "/v1/bundles") => self.push(req).await,
            (&Method::GET, "/v1/status") => json(StatusCode::OK, &self.engine.status(now())),
            (&Method::GET, "/metrics") => {
                let mut r =
                    Response::new(Full::new(Bytes::from(self.engine.render_metrics(now()))));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            }
            (_, "/v1/decide" | "/v1/bundles" | "/v1/status" | "/metrics") => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "method",
            ),
            _ => error(StatusCode::NOT_FOUND, "no such endpoint", "not-found"),
        }
    }

    async fn decide(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let body = match read_body(req, MAX_DECIDE_BODY).await {
            Ok(b) => b,
            Err(resp) => return *resp,
        };
        let request: DecideRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, &json_error(&e), "bad-request"),
        };
        let Ok(Rfc3339Text(at)) = Rfc3339Text::parse(&request.at, Round::Down) else {
            return error(
                StatusCode::BAD_REQUEST,
                "field `at`: not an RFC 3339 time",
                "bad-request",
            );
        };
        let started = match request
            .started
            .as_deref()
            .map(|s| Rfc3339Text::parse(s, Round::Down))
        {
            None => None,
            Some(Ok(s)) => Some(s.0),
            Some(Err(_)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "field `started`: not an RFC 3339 time",
                    "bad-request",
                )
            }
        };
        let call = Call {
            facility: &request.facility,
            inmate: &request.inmate,
            dialed: &request.dialed,
            at,
            started,
        };
        json(StatusCode::OK, &self.engine.decide(&call, now()))
    }

    async fn push(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let body = match read_body(req, self.max_bundle_bytes).await {
            Ok(b) => b,
            Err(resp) => return *resp,
        };
        // Verification and loading are CPU work: keep them off the reactor.
        let result = tokio::task::block_in_place(|| self.apply(&body, UpdateSource::Push));
        match result {
            Ok(sequence) => json(
                StatusCode::OK,
                &serde_json::json!({"applied": true, "sequence": sequence}),
            ),
            Err(e) => {
                let kind = e.kind();
                let status = StatusCode::from_u16(kind.http_status())
                    .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                error(
                    status,
                    &format!("{:#}", anyhow::Error::from(e)),
                    kind.name(),
                )
            }
        }
    }

    /// Scans `dir` for new or changed `.bundle` files.
    async fn watch_dir(self: Arc<Self>, dir: PathBuf) {
        let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
        loop {
            for (path, stamp) in bundle_files(&dir) {
                if seen.get(&path) == Some(&stamp) {
                    continue;
                }
                seen.insert(path.clone(), stamp);
                let d = Arc::clone(&self);
                let p = path.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    let bytes =
                        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    d.apply(&bytes, UpdateSource::File)
                        .map_err(anyhow::Error::from)
                })
                .await;
                match outcome {
                    Ok(Ok(sequence)) => {
                        tracing::info!(file = %path.display(), sequence, "applied bundle from the watched folder")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(file = %path.display(), error = %format!("{e:#}"), "bundle from the watched folder refused")
                    }
                    Err(e) => tracing::error!(error = %e, "watch task failed"),
                }
            }
            tokio::time::sleep(self.watch_interval).await;
        }
    }

    /// Polls `poll.url` with `If-None-Match`; on failure backs off
    /// exponentially (up to 16× the interval) with ±20 % jitter so a fleet
    /// does not hammer the server in step.
    async fn poll_url(self: Arc<Self>, poll: Poll) {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build(),
        );
        let mut etag: Option<String> = None;
        let mut failures = 0u32;
        loop {
            let d = Arc::clone(&self);
            let (agent2, url, tag) = (agent.clone(), poll.url.clone(), etag.clone());
            let result =
                tokio::task::spawn_blocking(move || d.poll_once(&agent2, &url, tag.as_deref()))
                    .await
                    .unwrap_or_else(|e| Err(anyhow::anyhow!("poll task failed: {e}")));
            let wait = match result {
                Ok(new_tag) => {
                    failures = 0;
                    if new_tag.is_some() {
                        etag = new_tag;
                    }
                    poll.interval
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(url = %poll.url, error = %format!("{e:#}"), failures, "polling for a list failed");
                    poll.interval * 2u32.saturating_pow(failures.min(4))
                }
            };
            let jitter = rand::thread_rng().gen_range(0.8..1.2);
            tokio::time::sleep(wait.mul_f64(jitter)).await;
        }
    }

    /// One poll: `Ok(Some(etag))` after a bundle was fetched (applied or
    /// refused: a refused bundle is not fetched again until it changes),
    /// `Ok(None)` when unchanged or the server sends no ETag.
    fn poll_once(
        &self,
        agent: &ureq::Agent,
        url: &str,
        etag: Option<&str>,
    ) -> Result<Option<String>> {
        let mut request = agent.get(url);
        if let Some(tag) = etag {
            request = request.header("If-None-Match", tag);
        }
        let mut response = request.call().with_context(|| format!("fetching {url}"))?;
        match response.status().as_u16() {
            304 => return Ok(None),
            200 => {}
            code => anyhow::bail!("{url} answered HTTP {code}"),
        }
        let tag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_bundle_bytes as u64 + 1)
            .read_to_vec()
            .with_context(|| format!("reading {url}"))?;
        match self.apply(&bytes, UpdateSource::Poll) {
            Ok(sequence) => tracing::info!(url, sequence, "applied polled bundle"),
            // Already live (an unchanged file from a server without ETags).
            Err(UpdateError::NotNewer {
                sequence,
                high_water,
            }) if sequence == high_water => {}
            Err(e) => {
                tracing::warn!(url, kind = %e.kind(), error = %format!("{:#}", anyhow::Error::from(e)), "polled bundle refused")
            }
        }
        Ok(tag)
    }
}

/// `.bundle` files in `dir` with their size and modification time.
fn bundle_files(dir: &Path) -> Vec<(PathBuf, (u64, SystemTime))> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bundle"))
        .filter_map(|p| {
            let m = std::fs::metadata(&p).ok()?;
            Some((p, (m.len(), m.modified().ok()?)))
        })
        .collect();
    // Oldest first, so a folder of several bundles applies in order.
    files.sort_by_key(|(p, (_, t))| (*t, p.clone()));
    files
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideRequest {
    facility: String,
    inmate: String,
    dialed: String,
    at: String,
    #[serde(default)]
    started: Option<String>,
}

/// A JSON error that never echoes the request's values (they may be a
/// privileged number or an inmate id).
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") || text.starts_with("unknown field") {
        // These name fields, not values.
        return format!(
            "request body: {}",
            text.split(" at line").next().unwrap_or(&text)
        );
    }
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends early",
        serde_json::error::Category::Data => "has a field of the wrong type",
        serde_json::error::Category::Io => "could not be read",
    };
    format!(
        "request body {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

async fn read_body(
    req: Request<Incoming>,
    max: usize,
) -> Result<Bytes, Box<Response<Full<Bytes>>>> {
    match Limited::new(req.into_body(), max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than {max} bytes"),
            RefusalKind::Oversized.name(),
        ))),
        Err(_) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "request body could not be read",
            "bad-request",
        ))),
    }
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, message: &str, kind: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({"error": message, "kind": kind}))
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
    let mut config = EngineConfig::new(trust.load()?).state_dir(&args.state_dir);
    if let Some(n) = args.instances {
        config.instances = n;
    }
    let max_bundle_bytes = config.max_bundle_bytes;
    let engine = Arc::new(
        Engine::new(config, now())
            .with_context(|| format!("opening state dir {}", args.state_dir.display()))?,
    );
    if let Some(path) = &args.bundle {
        let bytes = super::read_bundle(path)?;
        match engine.apply(&bytes, now(), UpdateSource::File) {
            Ok(id) => tracing::info!(sequence = id.sequence, "applied --bundle"),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %format!("{:#}", anyhow::Error::from(e)), "--bundle not applied")
            }
        }
    }
    if engine.list_id(now()).is_none() {
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
    serve_until_signal(daemon, args.listen, |addr| {
        println!("privcall: listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
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
        let addr = listener.local_addr()?;
        ready(addr);
        Arc::new(daemon).serve(listener, shutdown_signal()).await
    })
}

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
