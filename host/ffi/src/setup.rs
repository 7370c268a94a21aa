//! Making an engine from a C configuration, and the feeds that belong to
//! the process that runs them.
//!
//! Feeds are threads, and threads do not survive a fork: a forked worker
//! that inherited an engine starts its own feeds
//! (`privcall_engine_after_fork`), and never joins the parent's, which do
//! not exist in it (a join would wait forever).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use host::feed::{FeedConfig, Feeds, TrustFiles};
use host::guest::GuestRuntime;
use host::text::Rfc3339Text;
use host::{Engine, EngineConfig, UpdateSource};

use crate::boundary::{self, Failure};
use crate::types::{
    PrivcallConfig, PRIVCALL_ERR_CONFIG, PRIVCALL_ERR_INVALID, PRIVCALL_ERR_IO, PRIVCALL_ERR_NULL,
};

/// The feeds of one engine, and the process whose threads run them.
pub struct FeedSlot {
    config: Option<FeedConfig>,
    running: Option<Feeds>,
    /// The process that started `running`.
    pid: u32,
}

impl FeedSlot {
    /// Starts the feeds in this process, unless they already run here.
    /// Feeds started by another process (the parent of a fork) are
    /// forgotten, not stopped: their threads are not in this process.
    pub fn start_here(&mut self, engine: &Arc<Engine>) -> Result<(), Failure> {
        let pid = std::process::id();
        if self.running.is_some() && self.pid == pid {
            return Ok(());
        }
        self.forget_foreign();
        if let Some(config) = &self.config {
            let feeds = Feeds::start(Arc::clone(engine), config.clone()).map_err(|e| {
                Failure::new(PRIVCALL_ERR_CONFIG, format!("starting the feeds: {e}"))
            })?;
            self.running = Some(feeds);
            self.pid = pid;
        }
        Ok(())
    }

    /// Forgets feeds another process started (see [`FeedSlot::start_here`]).
    pub fn forget_foreign(&mut self) {
        if self.pid != std::process::id() {
            std::mem::forget(self.running.take());
        }
    }
}

/// Builds the engine and its feeds from a C configuration: the engine with
/// its list, then the feeds, started now or, with `prefork`, by each
/// worker after the fork.
pub fn engine_new(config: &PrivcallConfig) -> Result<(Arc<Engine>, Mutex<FeedSlot>), Failure> {
    let trust = trust_files(config)?;
    let store = trust.load().map_err(|e| {
        Failure::new(
            PRIVCALL_ERR_CONFIG,
            format!("trust_keys: {}", host::text::error_chain(&e)),
        )
    })?;
    let mut engine_config = EngineConfig::new(store);
    engine_config.state_dir = boundary::path(config.state_dir, "state_dir")?;
    if config.instances > 0 {
        engine_config.instances = config.instances as usize;
    }
    if config.prefork {
        // No thread before the fork: each worker starts its own ticker.
        let runtime = GuestRuntime::builtin()
            .map_err(|e| Failure::new(PRIVCALL_ERR_CONFIG, host::text::error_chain(&e)))?;
        engine_config.runtime = Some(runtime.with_ticker(false));
    }
    let bundle = boundary::path(config.bundle_path, "bundle_path")?;
    let watch_dir = boundary::path(config.watch_dir, "watch_dir")?;
    let poll_url = boundary::text(config.poll_url, "poll_url")?;
    let registry_poll_url = boundary::text(config.registry_poll_url, "registry_poll_url")?;
    let now = Rfc3339Text::now().0;
    let engine = Engine::new(engine_config, now)
        .map_err(|e| Failure::new(PRIVCALL_ERR_CONFIG, host::text::error_chain(&e)))?;
    let engine = Arc::new(engine);
    crate::names::init();
    if let Some(path) = bundle {
        let bytes =
            host::feed::read_bundle_file(&path, engine.max_bundle_bytes()).map_err(|e| {
                Failure::new(
                    PRIVCALL_ERR_IO,
                    format!("bundle_path {}: {e}", path.display()),
                )
            })?;
        // A refusal is recorded in the status; the engine still decides.
        let _ = engine.apply(&bytes, now, UpdateSource::File);
    }
    let interval = Duration::from_millis(match config.poll_interval_ms {
        0 => 1000,
        ms => u64::from(ms),
    });
    let urls: Vec<String> = registry_poll_url.into_iter().chain(poll_url).collect();
    let feed = (watch_dir.is_some() || !urls.is_empty()).then(|| FeedConfig {
        folder: watch_dir,
        urls,
        // https:// with Mozilla's roots, or http:// to loopback.
        url_access: host::feed::UrlAccess::default(),
        folder_interval: interval,
        url_interval: interval,
        trust: Some(trust),
        max_bundle_bytes: engine.max_bundle_bytes(),
    });
    let mut slot = FeedSlot {
        config: feed,
        running: None,
        pid: std::process::id(),
    };
    if config.prefork {
        // The newest list the folder holds is loaded now, once, so the
        // workers share it; their own watchers then find nothing newer.
        if let Some(feed) = &slot.config {
            Feeds::apply_folder_now(Arc::clone(&engine), feed);
        }
    } else {
        slot.start_here(&engine)?;
    }
    Ok((engine, Mutex::new(slot)))
}

/// The trust key paths and threshold of a configuration.
fn trust_files(config: &PrivcallConfig) -> Result<TrustFiles, Failure> {
    const MAX_KEYS: usize = 64;
    if config.trust_key_count == 0 || config.trust_key_count > MAX_KEYS {
        return Err(Failure::new(
            PRIVCALL_ERR_INVALID,
            format!(
                "trust_key_count: {} (1 to {MAX_KEYS})",
                config.trust_key_count
            ),
        ));
    }
    let paths = boundary::array(config.trust_keys, config.trust_key_count, "trust_keys")?;
    let keys = paths
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            boundary::path(p, &format!("trust_keys[{i}]"))?
                .ok_or_else(|| Failure::new(PRIVCALL_ERR_NULL, format!("trust_keys[{i}] is NULL")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustFiles {
        keys,
        threshold: config.threshold as usize,
        identities: boundary::path(config.identity_path, "identity_path")?
            .into_iter()
            .chain(boundary::path(
                config.registry_identity_path,
                "registry_identity_path",
            )?)
            .collect(),
        inmate_keys: boundary::path(config.inmate_key_path, "inmate_key_path")?
            .into_iter()
            .collect(),
    })
}
