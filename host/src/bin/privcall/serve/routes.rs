//! The HTTP handlers: decide one call, take a pushed bundle, report status
//! and metrics. Errors are `{"error","kind"}` JSON that never echo the
//! request's values.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use privcall::text::{Rfc3339Text, Round};
use privcall::{Call, RefusalKind, UpdateSource};
use serde::Deserialize;

use super::{now, refusal_text, Daemon};

/// Largest `/v1/decide` request body.
const MAX_DECIDE_BODY: usize = 16 << 10;

/// A response, or the error response a handler returns early with.
type Reply<T> = Result<T, Box<Response<Full<Bytes>>>>;

/// The `/v1/decide` request body.
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

impl Daemon {
    /// Routes a request to its handler.
    pub(super) async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match (req.method(), req.uri().path()) {
            (&Method::POST, "/v1/decide") => self.decide(req).await,
            (&Method::POST, "/v1/bundles") => self.push(req).await,
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
        let body = match read_body(req, MAX_DECIDE_BODY).await {
            Ok(b) => b,
            Err(resp) => return *resp,
        };
        let request: DecideRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, &json_error(&e), "bad-request"),
        };
        let (at, started) = match call_times(&request) {
            Ok(times) => times,
            Err(resp) => return *resp,
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

    /// `POST /v1/bundles`: applies the pushed bundle.
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
                error(status, &refusal_text(e), kind.name())
            }
        }
    }
}

/// The request's `at` and `started` as seconds since the epoch, or a
/// 400 naming the field that is not an RFC 3339 time.
fn call_times(request: &DecideRequest) -> Reply<(i64, Option<i64>)> {
    let bad_time = |field: &str| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!("field `{field}`: not an RFC 3339 time"),
            "bad-request",
        ))
    };
    let Ok(Rfc3339Text(at)) = Rfc3339Text::parse(&request.at, Round::Down) else {
        return Err(bad_time("at"));
    };
    let started = match request
        .started
        .as_deref()
        .map(|s| Rfc3339Text::parse(s, Round::Down))
    {
        None => None,
        Some(Ok(s)) => Some(s.0),
        Some(Err(_)) => return Err(bad_time("started")),
    };
    Ok((at, started))
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

/// The request body, or a 413 when it is larger than `max` bytes.
async fn read_body(req: Request<Incoming>, max: usize) -> Reply<Bytes> {
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
