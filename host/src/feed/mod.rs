//! Where updates come from without a push: a watched folder of `.bundle`
//! files and a polled URL, each on a thread of its own that applies what
//! it finds to an [`Engine`].
//!
//! The daemon and the C ABI both run their feeds through here. A PBX with
//! forked workers gives every worker's engine the same folder: one new
//! bundle dropped there reaches every worker within one interval, with no
//! restart and no coordination between the workers.
//!
//! Every source has a size limit (the engine's `max_bundle_bytes`, checked
//! before reading), a time limit (HTTP requests) and a count limit (one
//! bundle read at a time per feed). The trust files are re-read before
//! each update, so a key is rotated by editing them.

mod folder;
mod url;

pub use folder::{read_capped as read_bundle_file, ReadError};
pub use url::UrlAccess;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::decision::ListId;
use crate::runtime::{Engine, UpdateError, UpdateSource};
use crate::trust::{KeyError, TrustStore};

/// The trust store's files, re-read before every update from a feed.
#[derive(Clone, Debug)]
pub struct TrustFiles {
    /// Public key files.
    pub keys: Vec<PathBuf>,
    /// Signatures required.
    pub threshold: usize,
    /// The edge identities that open bundles encrypted to this host.
    pub identities: Vec<PathBuf>,
    /// The inmate keys, for lists whose inmate ids are hashed.
    pub inmate_keys: Vec<PathBuf>,
}

impl TrustFiles {
    /// Reads the files into a store.
    pub fn load(&self) -> Result<TrustStore, KeyError> {
        let store = TrustStore::from_files(&self.keys, self.threshold)?;
        let store = self.identities.iter().try_fold(store, |s, path| {
            Ok::<_, KeyError>(s.with_identity(crate::trust::edge::read_identity(path)?))
        })?;
        self.inmate_keys.iter().try_fold(store, |s, path| {
            Ok(s.with_inmate_key(crate::trust::inmate_key::read_inmate_key(path)?))
        })
    }

    /// Re-reads the files into `engine`'s store before an update, so a
    /// key is rotated by editing them; a file that cannot be read keeps
    /// the store the engine has (and says so in the log).
    pub fn refresh(&self, engine: &Engine) {
        match self.load() {
            Ok(trust) => engine.set_trust(trust),
            Err(e) => {
                tracing::error!(error = %crate::text::error_chain(&e), "keeping the previous trust store")
            }
        }
    }
}

/// Most URLs one edge polls: a registry part and the window parts of
/// every facility it may hold.
pub const MAX_URLS: usize = crate::runtime::MAX_WINDOW_PARTS + 1;

/// What the feeds watch and how often.
#[derive(Clone, Debug, Default)]
pub struct FeedConfig {
    /// A folder scanned for new or changed `.bundle` files.
    pub folder: Option<PathBuf>,
    /// `https://` (or loopback or allowed `http://`) URLs polled with
    /// `If-None-Match`, each on its own thread: one for a whole list, or
    /// a fleet's registry part and the window parts of this edge's
    /// facilities (at most [`MAX_URLS`]).
    pub urls: Vec<String>,
    /// Credentials, CA and transport rules for `url`.
    pub url_access: UrlAccess,
    /// Time between scans of the folder.
    pub folder_interval: Duration,
    /// Time between polls of the URL when all is well (failures back off
    /// up to 16 times this, with jitter).
    pub url_interval: Duration,
    /// Trust files re-read before each update; `None` keeps the engine's
    /// store.
    pub trust: Option<TrustFiles>,
    /// The largest bundle read, in bytes (a larger file or response is
    /// refused before it is read).
    pub max_bundle_bytes: usize,
}

/// The running feeds; dropping it stops them. The folder's thread is
/// waited for (a read and apply of a local file); the URL's is not: a
/// request in flight may take up to 30 s (the request timeout), and the
/// thread ends on its own after it, holding the engine until then.
pub struct Feeds {
    stop: Arc<Stop>,
    folder: Option<JoinHandle<()>>,
}

impl Feeds {
    /// Applies the bundles the folder holds now, oldest first, as a
    /// watcher's first scan does, and returns when done. A PBX that loads
    /// its list before forking its workers calls this, then starts the
    /// feeds in each worker: their first scan finds nothing newer than the
    /// live list, so every worker keeps the pages the fork shared.
    pub fn apply_folder_now(engine: Arc<Engine>, config: &FeedConfig) {
        if let Some(dir) = &config.folder {
            let updater = Updater {
                engine,
                trust: config.trust.clone(),
            };
            folder::scan(&updater, dir, config, &mut folder::Seen::new());
        }
    }

    /// Starts one thread per configured source. A URL that breaks the
    /// transport rules ([`UrlAccess`]) or a CA file that cannot be read is
    /// an error here, before any thread starts.
    pub fn start(engine: Arc<Engine>, config: FeedConfig) -> std::io::Result<Feeds> {
        if config.urls.len() > MAX_URLS {
            return Err(std::io::Error::other(format!(
                "{} URLs to poll, more than {MAX_URLS}",
                config.urls.len()
            )));
        }
        let agents = config
            .urls
            .iter()
            .map(|url| url::agent_for(url, &config.url_access).map(|a| (url.clone(), a)))
            .collect::<std::io::Result<Vec<_>>>()?;
        let stop = Arc::new(Stop::default());
        let mut feeds = Feeds {
            stop: Arc::clone(&stop),
            folder: None,
        };
        let updater = Arc::new(Updater {
            engine,
            trust: config.trust.clone(),
        });
        if let Some(dir) = config.folder.clone() {
            let (updater, stop, config) = (Arc::clone(&updater), Arc::clone(&stop), config.clone());
            feeds.folder = Some(
                std::thread::Builder::new()
                    .name("privcall-watch".into())
                    .spawn(move || folder::watch(&updater, &dir, &config, &stop))?,
            );
        }
        for (url, agent) in agents {
            let (updater, stop, config) = (Arc::clone(&updater), Arc::clone(&stop), config.clone());
            // Detached: see [`Feeds`].
            std::thread::Builder::new()
                .name("privcall-poll".into())
                .spawn(move || url::poll(&updater, &agent, &url, &config, &stop))?;
        }
        Ok(feeds)
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        self.stop.set();
        if let Some(thread) = self.folder.take() {
            // A feed thread that panicked has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// Applies updates from the feeds to one engine.
struct Updater {
    engine: Arc<Engine>,
    trust: Option<TrustFiles>,
}

impl Updater {
    /// Re-reads the trust files (a file that cannot be read keeps the old
    /// store), then applies `bytes`.
    fn apply(&self, bytes: &[u8], source: UpdateSource) -> Result<ListId, UpdateError> {
        if let Some(files) = &self.trust {
            files.refresh(&self.engine);
        }
        self.engine.apply(bytes, crate::time::now(), source)
    }
}

/// A stop signal the feed threads wait on between rounds.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    fn set(&self) {
        *crate::runtime::lock(&self.stopped) = true;
        self.changed.notify_all();
    }

    /// Waits `wait`; true when the feeds are to stop.
    fn wait(&self, wait: Duration) -> bool {
        let stopped = crate::runtime::lock(&self.stopped);
        let (stopped, _) = self
            .changed
            .wait_timeout_while(stopped, wait, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *stopped
    }
}
