//! The polled URL: `If-None-Match`, a size limit before reading, and
//! jittered exponential backoff on failure so a fleet does not hammer the
//! server in step.

use std::time::Duration;

use rand::Rng;

use super::{FeedConfig, Stop, Updater};
use crate::runtime::{UpdateError, UpdateSource};

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
}

/// Polls `url` every interval until stopped.
pub(super) fn poll(updater: &Updater, url: &str, config: &FeedConfig, stop: &Stop) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build(),
    );
    let mut etag: Option<String> = None;
    let mut failures = 0u32;
    loop {
        let wait = match poll_once(
            updater,
            &agent,
            url,
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
                tracing::warn!(url, error = %crate::text::error_chain(&e), failures, "polling for a list failed");
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
    etag: Option<&str>,
    max_bytes: usize,
) -> Result<Option<String>, PollError> {
    let mut request = agent.get(url);
    if let Some(tag) = etag {
        request = request.header("If-None-Match", tag);
    }
    let mut response = request.call().map_err(PollError::Http)?;
    match response.status().as_u16() {
        304 => return Ok(None),
        200 => {}
        code => return Err(PollError::Status(code)),
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
        Ok(id) => tracing::info!(url, sequence = id.sequence, "applied polled bundle"),
        // Already live (an unchanged file from a server without ETags).
        Err(UpdateError::NotNewer {
            sequence,
            high_water,
        }) if sequence == high_water => {}
        Err(e) => {
            tracing::warn!(url, kind = %e.kind(), error = %crate::text::error_chain(&e), "polled bundle refused")
        }
    }
    Ok(tag)
}
