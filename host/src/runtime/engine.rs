//! The long-running decision engine every integration uses (daemon, C ABI,
//! Rust API): decide from many threads, apply signed updates with an atomic
//! swap, report status.
//!
//! The crate documentation has an example.
//!
//! How a swap stays safe: the new list is verified, loaded into a fresh
//! guest instance, checked with the canary calls its bundle carries, saved
//! to the state directory, and only then published with one atomic pointer
//! store. A decision takes a reference to the list that is live when it
//! starts and finishes on it, so no decision fails, waits for a load or
//! mixes two lists; the old list's memory is freed when its last in-flight
//! decision drops that reference. Only then does the new list load its
//! other instances (each checked with the canaries too): memory never holds
//! two fully loaded lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use privcall_core::types::Call;

use crate::decision::{Decision, ListId};
use crate::runtime::guest::{GuestError, GuestRuntime};
use crate::runtime::metrics::Metrics;
use crate::runtime::parts::Parts;
use crate::runtime::pool::{lock, Live};
use crate::runtime::status::UpdateAttempt;
use crate::runtime::update::UpdateSource;
use crate::trust::fail_modes::FailModes;
use crate::trust::state::{Restored, StateDir, StateError};
use crate::trust::TrustStore;

/// How an engine is set up.
#[derive(Clone)]
pub struct EngineConfig {
    /// Keys (and threshold) a list must be signed with.
    pub trust: TrustStore,
    /// Where the last good bundle and the high-water mark are kept; `None`
    /// keeps nothing (tests, one-shot tools).
    pub state_dir: Option<PathBuf>,
    /// Guest instances per list: at most this many decisions run at once
    /// without waiting. Defaults to the number of CPUs.
    pub instances: usize,
    /// The guest to run (tests substitute faulty ones).
    pub runtime: Option<GuestRuntime>,
    /// Largest update accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// Start from a damaged state as from a new one (the operator's
    /// `--reset-state`): the high-water mark it can no longer vouch for is
    /// dropped, and the next valid update goes live.
    pub reset_state: bool,
}

impl EngineConfig {
    /// Defaults: no state directory, one instance per CPU, the built-in guest.
    pub fn new(trust: TrustStore) -> EngineConfig {
        EngineConfig {
            trust,
            state_dir: None,
            instances: std::thread::available_parallelism().map_or(2, |n| n.get()),
            runtime: None,
            max_bundle_bytes: crate::trust::bundle::MAX_BUNDLE_BYTES,
            reset_state: false,
        }
    }

    /// Keeps state in `dir`.
    pub fn state_dir(mut self, dir: impl AsRef<Path>) -> EngineConfig {
        self.state_dir = Some(dir.as_ref().to_path_buf());
        self
    }
}

/// Why an engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The state directory is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The guest did not compile.
    #[error(transparent)]
    Guest(#[from] GuestError),
}

/// The decision engine. Share it (`Arc<Engine>`) between threads.
pub struct Engine {
    pub(super) runtime: GuestRuntime,
    pub(super) instances: usize,
    pub(super) max_bundle_bytes: usize,
    pub(super) trust: ArcSwap<TrustStore>,
    pub(super) live: ArcSwapOption<Live>,
    pub(super) state: Option<StateDir>,
    pub(super) high_water: AtomicU64,
    /// The whole list or fleet parts the live list was made from, and
    /// parts waiting for their counterpart (taken only by updates).
    pub(super) held: Mutex<Parts>,
    /// Serializes updates (never taken by decisions).
    pub(super) updating: Mutex<()>,
    pub(super) last_update: Mutex<Option<UpdateAttempt>>,
    pub(super) last_refusal: Mutex<Option<UpdateAttempt>>,
    /// The last refusal from each source: garbage pushed by anyone who
    /// can reach the port cannot hide why the watched folder's or the
    /// poll's last bundle was refused.
    pub(super) refusals_by_source: Mutex<BTreeMap<UpdateSource, UpdateAttempt>>,
    /// Why the state folder could not be trusted at start, until an update
    /// goes live.
    pub(super) state_alarm: Mutex<Option<String>>,
    /// Each facility's fail mode when no list is live: the last verified
    /// list's.
    pub(super) fallback: ArcSwap<FailModes>,
    pub(super) stale_alarm: AtomicBool,
    pub(super) metrics: Metrics,
    pub(super) resident: Arc<AtomicUsize>,
}

impl Engine {
    /// Starts an engine. With a state directory, the last good bundle is
    /// restored and decides at once; a stored bundle that no longer
    /// verifies is reported in the status and the engine starts without a
    /// list (fail mode) rather than trusting it.
    pub fn new(config: EngineConfig, now: i64) -> Result<Engine, EngineError> {
        let runtime = match config.runtime {
            Some(r) => r,
            None => GuestRuntime::builtin()?,
        };
        let state = config
            .state_dir
            .as_deref()
            .map(StateDir::open)
            .transpose()?;
        let restored = match &state {
            Some(s) => s.restore(),
            None => Restored::Fresh,
        };
        let restored = match restored {
            Restored::Damaged { why, .. } if config.reset_state => {
                tracing::warn!(%why, "--reset-state: starting from a damaged state as from a new one");
                Restored::Fresh
            }
            r => r,
        };
        let mut saved_parts = (None, Vec::new());
        let (high_water, bundle, fail_modes, alarm) = match restored {
            Restored::Fresh => (0, None, FailModes::PRIVATE, None),
            Restored::Saved {
                high_water,
                bundle,
                fail_modes,
                registry,
                windows,
            } => {
                saved_parts = (registry, windows);
                (high_water, bundle, fail_modes, None)
            }
            Restored::Damaged { floor, why } => {
                tracing::error!(%why, "state damaged or tampered with: no list restored; every call gets its facility's fail mode");
                let floor_text = floor.map_or_else(
                    || "no sequence is readable: only --reset-state lets updates in".into(),
                    |f| format!("updates above sequence {f} go live"),
                );
                // Without a readable floor, nothing is above it.
                let floor = floor.unwrap_or(u64::MAX);
                (
                    floor,
                    None,
                    FailModes::PRIVATE,
                    Some(format!("{why}; {floor_text}")),
                )
            }
        };
        let engine = Engine {
            runtime,
            instances: config.instances.max(1),
            max_bundle_bytes: config.max_bundle_bytes,
            trust: ArcSwap::from_pointee(config.trust),
            live: ArcSwapOption::empty(),
            state,
            high_water: AtomicU64::new(high_water),
            held: Mutex::new(Parts::default()),
            updating: Mutex::new(()),
            last_update: Mutex::new(None),
            last_refusal: Mutex::new(None),
            refusals_by_source: Mutex::new(BTreeMap::new()),
            stale_alarm: AtomicBool::new(false),
            state_alarm: Mutex::new(alarm),
            fallback: ArcSwap::from_pointee(fail_modes),
            metrics: Metrics::default(),
            resident: Arc::new(AtomicUsize::new(0)),
        };
        // The whole list first, then the window parts, then the registry
        // part that completes them: the state holds a whole list only while
        // no fleet pair replaced it.
        let (registry, windows) = saved_parts;
        lock(&engine.held).marks = windows
            .iter()
            .map(|w| (w.facility.clone(), w.high_water))
            .collect();
        let saved = bundle
            .into_iter()
            .chain(windows.into_iter().filter_map(|w| w.bundle))
            .chain(registry);
        for bytes in saved {
            let _guard = lock(&engine.updating);
            let result = engine.restore(&bytes, now);
            engine.record(
                UpdateSource::Restore,
                now,
                result.as_ref().map(|(id, _)| id),
            );
        }
        Ok(engine)
    }

    /// Readies a process forked after this engine was made (a PBX worker
    /// that inherited a list loaded before the fork): starts the process's
    /// deadline ticker, since threads do not survive a fork. Decisions work
    /// without it, but a guest that stopped answering would not be cut off.
    /// Harmless in the process that made the engine.
    pub fn after_fork(&self) -> Result<(), EngineError> {
        crate::runtime::guest::engine()?;
        Ok(())
    }

    /// Decides one call. Never fails: without a list, or when the guest
    /// traps or overruns its deadline, the answer is the facility's fail
    /// mode (reason `fail-safe`) and an alarm is counted and logged.
    pub fn decide(&self, call: &Call<'_>, now: i64) -> Decision {
        let started = crate::runtime::metrics::time_this_decision().then(Instant::now);
        let live = self.live.load();
        let decision = match live.as_deref() {
            Some(live) => self.decide_on(live, call, now),
            None => Decision::fail_safe(self.fallback.load().mode(call.facility), None),
        };
        self.metrics
            .decision(&decision, started.map(|t| t.elapsed()));
        decision
    }

    /// The decision a call gets when nothing else can be decided (the C
    /// ABI's answer after a caught panic): the facility's fail mode under
    /// the live list, or without one under the last verified list (kept
    /// in the state folder), or do-not-record when there never was one.
    pub fn fail_safe(&self, facility: &str, now: i64) -> Decision {
        match self.live.load().as_deref() {
            Some(live) => live.list.fail_safe(facility, now),
            None => Decision::fail_safe(self.fallback.load().mode(facility), None),
        }
    }

    /// Replaces the trust store (key rotation): lists already live stay
    /// live; the next update must verify against the new store.
    pub fn set_trust(&self, trust: TrustStore) {
        self.trust.store(Arc::new(trust));
    }

    /// Guest instances the live list has loaded, 0 without a list: the
    /// configured number once an update has completed (a new list goes
    /// live on one instance and loads the others after the old list is
    /// freed), fewer if one of those loads failed.
    pub fn instances_loaded(&self) -> usize {
        self.live
            .load()
            .as_deref()
            .map_or(0, Live::instances_loaded)
    }

    /// Lists held in memory: the live one, plus any being loaded or still
    /// read by in-flight decisions. Back to 1 after a swap completes.
    pub fn lists_in_memory(&self) -> usize {
        self.resident.load(Ordering::Acquire)
    }

    /// The largest update this engine accepts, in bytes.
    pub fn max_bundle_bytes(&self) -> usize {
        self.max_bundle_bytes
    }

    /// The engine's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The live list's identity, if any.
    pub fn list_id(&self, now: i64) -> Option<ListId> {
        self.live.load().as_deref().map(|l| l.list.id(now))
    }

    /// The Prometheus text for `/metrics`.
    pub fn render_metrics(&self, now: i64) -> String {
        let list = self.live.load().as_deref().map(|l| {
            (
                l.list.header.sequence,
                now - l.list.header.issued_at,
                l.list.is_stale(now),
            )
        });
        self.metrics.render(list, lock(&self.state_alarm).is_some())
    }
}
