//! The polled URL: `If-None-Match`, a size limit before reading, and
//! jittered exponential backoff on failure so a fleet does not hammer the
//! server in step.
//!
//! The list names privileged numbers, so it travels over TLS (`https://`,
//! Mozilla's roots or the operator's CA); plain `http://` only to
//! loopback or when the operator allows it. Credentials never sit in the
//! URL (they would reach the logs): they come separately and go out as
//! HTTP Basic. Redirects are followed only within the same origin, so a
//! compromised mirror cannot send the edge (and its credentials)
//! elsewhere. Logs show the URL without credentials or query.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rand::Rng;
use ureq::http::Uri;

use super::{FeedConfig, Stop, Updater};
use crate::runtime::{UpdateError, UpdateSource};

/// Redirects followed within the origin before a poll fails.
const MAX_REDIRECTS: usize = 3;

/// How the polled URL is reached.
#[derive(Clone, Debug, Default)]
pub struct UrlAccess {
    /// `user:password` sent as HTTP Basic (read from a file or the
    /// environment, never from the URL).
    pub credentials: Option<String>,
    /// A PEM file of CA certificates to trust instead of Mozilla's roots.
    pub ca: Option<PathBuf>,
    /// Allow `http://` to a host other than loopback.
    pub allow_insecure: bool,
}

/// Checks `url` against `access` before any thread starts, and builds the
/// agent that polls it.
pub(super) fn agent_for(url: &str, access: &UrlAccess) -> io::Result<ureq::Agent> {
    let bad = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("poll URL {}: {why}", redacted(url)),
        )
    };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL".into()))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad(
            "credentials in the URL would reach the logs; give them as a file or in the environment".into(),
        ));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if access.allow_insecure || is_loopback(&uri) => {}
        Some("http") => {
            return Err(bad(
                "plain HTTP would expose the list on the network; use https:// (or allow insecure polling)".into(),
            ))
        }
        _ => return Err(bad("only http:// and https:// are polled".into())),
    }
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = &access.ca {
        let pem = std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), format!("poll CA {}: {e}", path.display())))?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("poll CA {}: no certificate in it", path.display()),
            ));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
    }
    Ok(ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_redirects(0)
            .tls_config(tls.build())
            .build(),
    ))
}

/// Whether the URL's host is this machine.
fn is_loopback(uri: &Uri) -> bool {
    let host = uri
        .host()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The URL as logs show it: no credentials, no query.
fn redacted(url: &str) -> String {
    let Ok(uri) = url.parse::<Uri>() else {
        return "(not a URL)".into();
    };
    let host = uri.authority().map_or("", |a| a.as_str());
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{}://{host}{}", uri.scheme_str().unwrap_or("?"), uri.path())
}

/// Scheme, host and port: what a redirect must keep.
fn origin(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// Polls that fail in a row before the wait stops growing (16× the
/// interval).
const MAX_BACKOFF_DOUBLINGS: u32 = 4;
/// The longest one request may take, from connecting to the last byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one poll failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum PollError {
    /// The request failed (connection, timeout, body over the limit).
    #[error("fetching the bundle")]
    Http(#[source] ureq::Error),
    /// The server answered with a status other than 200 or 304.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// A redirect to another origin, or too many.
    #[error("redirect refused: {0}")]
    Redirect(&'static str),
    /// The server says the body is larger than the limit.
    #[error("the bundle is {0} bytes, over the limit")]
    TooLarge(u64),
}

/// Polls `url` with `agent` every interval until stopped.
pub(super) fn poll(
    updater: &Updater,
    agent: &ureq::Agent,
    url: &str,
    config: &FeedConfig,
    stop: &Stop,
) {
    let shown = redacted(url);
    let auth = config.url_access.credentials.as_ref().map(|c| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c)
        )
    });
    let mut etag: Option<String> = None;
    let mut failures = 0u32;
    loop {
        let wait = match poll_once(
            updater,
            agent,
            url,
            auth.as_deref(),
            etag.as_deref(),
            config.max_bundle_bytes,
        ) {
            Ok(new_tag) => {
                failures = 0;
                if new_tag.is_some() {
                    etag = new_tag;
                }
                config.url_interval
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(url = %shown, error = %crate::text::error_chain(&e), failures, "polling for a list failed");
                config.url_interval * 2u32.saturating_pow(failures.min(MAX_BACKOFF_DOUBLINGS))
            }
        };
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        if stop.wait(wait.mul_f64(jitter)) {
            return;
        }
    }
}

/// One poll: `Ok(Some(etag))` after a bundle was fetched (applied or
/// refused: a refused bundle is not fetched again until it changes),
/// `Ok(None)` when unchanged or the server sends no ETag.
fn poll_once(
    updater: &Updater,
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
    etag: Option<&str>,
    max_bytes: usize,
) -> Result<Option<String>, PollError> {
    let mut current = url.to_string();
    let mut redirects = 0;
    let mut response = loop {
        let mut request = agent.get(&current);
        if let Some(tag) = etag {
            request = request.header("If-None-Match", tag);
        }
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.call().map_err(PollError::Http)?;
        let status = response.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            break response;
        }
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(PollError::Redirect("too many"));
        }
        current = same_origin_target(&current, &response)?;
    };
    match response.status().as_u16() {
        304 => return Ok(None),
        200 => {}
        code => return Err(PollError::Status(code)),
    }
    let declared = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > max_bytes as u64) {
        return Err(PollError::TooLarge(n));
    }
    let tag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(max_bytes as u64)
        .read_to_vec()
        .map_err(PollError::Http)?;
    match updater.apply(&bytes, UpdateSource::Poll) {
        Ok(id) => {
            tracing::info!(url = %redacted(url), sequence = id.sequence, "applied polled bundle")
        }
        // Already live (an unchanged file from a server without ETags).
        Err(UpdateError::NotNewer {
            sequence,
            high_water,
        }) if sequence == high_water => {}
        Err(e) => {
            tracing::warn!(url = %redacted(url), kind = %e.kind(), error = %crate::text::error_chain(&e), "polled bundle refused")
        }
    }
    Ok(tag)
}

/// Where a redirect from `from` leads, if it stays on the same origin.
fn same_origin_target(
    from: &str,
    response: &ureq::http::Response<ureq::Body>,
) -> Result<String, PollError> {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or(PollError::Redirect("no Location"))?;
    let from_uri: Uri = from.parse().map_err(|_| PollError::Redirect("bad URL"))?;
    let target = if location.starts_with('/') && !location.starts_with("//") {
        let authority = from_uri.authority().map_or("", |a| a.as_str());
        format!(
            "{}://{authority}{location}",
            from_uri.scheme_str().unwrap_or("https")
        )
    } else {
        location.to_string()
    };
    let target_uri: Uri = target
        .parse()
        .map_err(|_| PollError::Redirect("bad Location"))?;
    if origin(&target_uri).is_none() || origin(&target_uri) != origin(&from_uri) {
        return Err(PollError::Redirect("to another origin"));
    }
    Ok(target)
}
