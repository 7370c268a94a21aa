//! The HTTP handlers: decide one call, take a pushed bundle, report status
//! and metrics. Errors are `{"error","kind"}` JSON that never echo the
//! request's values.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use privcall::requests::{parse_decide, UploadReader, MAX_DECIDE_BODY};
use privcall::{BundleError, RefusalKind, UpdateSource};

use super::{now, refusal_text, Daemon, Role};

/// A response, or the error response a handler returns early with.
type Reply<T> = Result<T, Box<Response<Full<Bytes>>>>;

impl Daemon {
    /// Routes a request to its handler.
    pub(super) async fn handle(&self, req: Request<Incoming>, role: Role) -> Response<Full<Bytes>> {
        match (req.method(), req.uri().path(), role) {
            (&Method::POST, "/v1/decide", Role::Decisions { .. }) => self.decide(req).await,
            (&Method::POST, "/v1/bundles", Role::Admin | Role::Decisions { uploads: true }) => {
                self.push(req).await
            }
            (&Method::POST, "/v1/bundles", Role::Decisions { uploads: false }) => error(
                StatusCode::FORBIDDEN,
                "uploads are taken on the admin listener only",
                "admin-only",
            ),
            (&Method::POST, "/v1/decide", Role::Admin) => error(
                StatusCode::NOT_FOUND,
                "decisions are not served on the admin listener",
                "not-found",
            ),
            (method, path, _) => self.read_only(method, path),
        }
    }

    /// Status, metrics, and the errors for everything else.
    fn read_only(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        match (method, path) {
            (&Method::GET, "/v1/status") => json(StatusCode::OK, &self.engine.status(now())),
            (&Method::GET, "/metrics") => self.metrics(),
            (_, "/v1/decide" | "/v1/bundles" | "/v1/status" | "/metrics") => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "method",
            ),
            _ => error(StatusCode::NOT_FOUND, "no such endpoint", "not-found"),
        }
    }

    /// `GET /metrics`: the engine's metrics as Prometheus text.
    fn metrics(&self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(Bytes::from(self.engine.render_metrics(now()))));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        r
    }

    /// `POST /v1/decide`: one call's decision as JSON.
    async fn decide(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let body = match read_body(req, MAX_DECIDE_BODY, self.limits.decide_body).await {
            Ok(b) => b,
            Err(resp) => return *resp,
        };
        // The parsing is the library's (`privcall::requests`), where the
        // fuzz target `daemon_request` reaches it.
        let request = match parse_decide(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), "bad-request"),
        };
        json(StatusCode::OK, &self.engine.decide(&request.call(), now()))
    }

    /// `POST /v1/bundles`: applies the pushed bundle. One upload at a
    /// time: the rest get 503 at once, before their bodies are read.
    async fn push(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let Ok(_one) = self.uploads.try_acquire() else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "another upload is in progress; retry later",
                "busy",
            );
        };
        let read = read_upload(req, self.limits.max_bundle_bytes);
        let body = match tokio::time::timeout(self.limits.upload_body, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(resp)) => return *resp,
            Err(_) => return timed_out(self.limits.upload_body),
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
                error(status, &refusal_text(e), kind.name())
            }
        }
    }
}

/// The request's `Content-Length`, when it has a valid one.
fn content_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The 413 for a body over `max` bytes.
fn too_large(max: usize) -> Box<Response<Full<Bytes>>> {
    Box::new(error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body is larger than {max} bytes"),
        RefusalKind::Oversized.name(),
    ))
}

/// The 408 for a body not sent within `limit`.
fn timed_out(limit: Duration) -> Response<Full<Bytes>> {
    error(
        StatusCode::REQUEST_TIMEOUT,
        &format!("request body not received within {} s", limit.as_secs()),
        "timeout",
    )
}

/// The 400 for a body that broke off.
fn unreadable() -> Box<Response<Full<Bytes>>> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "request body could not be read",
        "bad-request",
    ))
}

/// The request body, or a 413 when it is (or says it is) larger than
/// `max` bytes, or a 408 when it takes longer than `limit`.
async fn read_body(req: Request<Incoming>, max: usize, limit: Duration) -> Reply<Bytes> {
    if content_length(&req).is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let read = Limited::new(req.into_body(), max).collect();
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(max)),
        Ok(Err(_)) => Err(unreadable()),
        Err(_) => Err(Box::new(timed_out(limit))),
    }
}

/// An uploaded bundle, refused as soon as its size or first bytes show it
/// cannot be one ([`UploadReader`]): a `Content-Length` over `max` before
/// reading, a wrong magic, format version or section length on the first
/// bytes.
async fn read_upload(req: Request<Incoming>, max: usize) -> Reply<Bytes> {
    let mut upload =
        UploadReader::new(content_length(&req), max).map_err(|e| not_a_bundle(e, max))?;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| unreadable())?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        upload.push(&data).map_err(|e| not_a_bundle(e, max))?;
    }
    Ok(Bytes::from(upload.finish()))
}

/// The refusal of an upload whose first bytes are not a bundle's.
fn not_a_bundle(e: BundleError, max: usize) -> Box<Response<Full<Bytes>>> {
    match e {
        BundleError::TooLarge { .. } => too_large(max),
        BundleError::UnsupportedVersion { .. } => Box::new(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("not a bundle this build reads: {e}"),
            RefusalKind::FormatVersion.name(),
        )),
        e => Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!("not a bundle: {e}"),
            RefusalKind::Malformed.name(),
        )),
    }
}

/// `value` as a JSON response with `status`.
fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An `{"error","kind"}` response.
fn error(status: StatusCode, message: &str, kind: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({"error": message, "kind": kind}))
}
