//! Where updates come from besides a push: a watched folder of `.bundle`
//! files and a polled URL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use privcall::{UpdateError, UpdateSource};
use rand::Rng;

use super::{refusal_text, Daemon, Poll, LOG_TARGET};

/// Polls that fail in a row before the wait stops growing (16× the
/// interval).
const MAX_BACKOFF_DOUBLINGS: u32 = 4;

impl Daemon {
    /// Scans `dir` for new or changed `.bundle` files.
    pub(super) async fn watch_dir(self: Arc<Self>, dir: PathBuf) {
        let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
        loop {
            for (path, stamp) in bundle_files(&dir) {
                if seen.get(&path) == Some(&stamp) {
                    continue;
                }
                seen.insert(path.clone(), stamp);
                self.apply_file(path).await;
            }
            tokio::time::sleep(self.watch_interval).await;
        }
    }

    /// Reads and applies one bundle from the watched folder, off the
    /// reactor, and logs the outcome.
    async fn apply_file(self: &Arc<Self>, path: PathBuf) {
        let d = Arc::clone(self);
        let p = path.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            d.apply(&bytes, UpdateSource::File)
                .map_err(anyhow::Error::from)
        })
        .await;
        match outcome {
            Ok(Ok(sequence)) => {
                tracing::info!(target: LOG_TARGET, file = %path.display(), sequence, "applied bundle from the watched folder")
            }
            Ok(Err(e)) => {
                tracing::warn!(target: LOG_TARGET, file = %path.display(), error = %format!("{e:#}"), "bundle from the watched folder refused")
            }
            Err(e) => tracing::error!(target: LOG_TARGET, error = %e, "watch task failed"),
        }
    }

    /// Polls `poll.url` with `If-None-Match`; on failure backs off
    /// exponentially (up to 16× the interval) with ±20 % jitter so a fleet
    /// does not hammer the server in step.
    pub(super) async fn poll_url(self: Arc<Self>, poll: Poll) {
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
                    tracing::warn!(target: LOG_TARGET, url = %poll.url, error = %format!("{e:#}"), failures, "polling for a list failed");
                    poll.interval * 2u32.saturating_pow(failures.min(MAX_BACKOFF_DOUBLINGS))
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
            Ok(sequence) => {
                tracing::info!(target: LOG_TARGET, url, sequence, "applied polled bundle")
            }
            // Already live (an unchanged file from a server without ETags).
            Err(UpdateError::NotNewer {
                sequence,
                high_water,
            }) if sequence == high_water => {}
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, url, kind = %e.kind(), error = %refusal_text(e), "polled bundle refused")
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
