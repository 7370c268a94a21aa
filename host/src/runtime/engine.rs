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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use privcall_core::types::{Call, FailMode};

use crate::decision::{Decision, ListId};
use crate::runtime::guest::{GuestError, GuestInstance, GuestRuntime, ListStats};
use crate::runtime::metrics::Metrics;
use crate::runtime::status::UpdateAttempt;
use crate::runtime::update::{ApplyTimings, UpdateError, UpdateSource};
use crate::trust::state::{StateDir, StateError};
use crate::trust::{TrustStore, VerifiedList};

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

/// The live list: verified, loaded into its own instances.
pub(super) struct Live {
    pub(super) list: VerifiedList,
    pub(super) stats: ListStats,
    pub(super) slots: Box<[Slot]>,
    pub(super) applied_at: i64,
    /// The engine's count of lists in memory; decremented on drop.
    pub(super) resident: Arc<AtomicUsize>,
}

impl Live {
    /// Slots holding an instance.
    pub(super) fn instances_loaded(&self) -> usize {
        self.slots.iter().filter(|s| lock(&s.0).is_some()).count()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.resident.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One pooled guest instance, alone on its cache lines: threads deciding
/// on neighbouring slots must not invalidate each other's lock word and
/// instance fields (unpadded, two threads made 1.74× the decisions of one;
/// padded, 2.06×, in the same criterion run).
///
/// Empty while a swap is completing (a new list goes live with one
/// instance and loads the others once the old list has been freed, see
/// [`Engine::install`]), or after such a load failed. Slot 0 is never
/// empty.
#[repr(align(128))]
pub(super) struct Slot(Mutex<Option<GuestInstance>>);

/// The decision engine. Share it (`Arc<Engine>`) between threads.
pub struct Engine {
    pub(super) runtime: GuestRuntime,
    pub(super) instances: usize,
    pub(super) max_bundle_bytes: usize,
    pub(super) trust: ArcSwap<TrustStore>,
    pub(super) live: ArcSwapOption<Live>,
    pub(super) state: Option<StateDir>,
    pub(super) high_water: AtomicU64,
    /// Serializes updates (never taken by decisions).
    pub(super) updating: Mutex<()>,
    pub(super) last_update: Mutex<Option<UpdateAttempt>>,
    pub(super) last_refusal: Mutex<Option<UpdateAttempt>>,
    pub(super) stale_alarm: AtomicBool,
    pub(super) metrics: Metrics,
    pub(super) resident: Arc<AtomicUsize>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a slot leaves a usable instance or a poisoned
    // one (rebuilt on next use); either way the lock must not stay dead.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Frees a replaced list on the updating thread, not on a deciding one:
/// the last holder of a list frees it (guest stores, tens of MB), and that
/// must not be a decision that happened to be in flight during the swap.
/// Waits for in-flight decisions (microseconds) to let go, at most a second.
fn retire(old: Arc<Live>) {
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    while Arc::strong_count(&old) > 1 && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
    drop(old);
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
        let high_water = match &state {
            Some(s) => s.high_water()?,
            None => 0,
        };
        let engine = Engine {
            runtime,
            instances: config.instances.max(1),
            max_bundle_bytes: config.max_bundle_bytes,
            trust: ArcSwap::from_pointee(config.trust),
            live: ArcSwapOption::empty(),
            state,
            high_water: AtomicU64::new(high_water),
            updating: Mutex::new(()),
            last_update: Mutex::new(None),
            last_refusal: Mutex::new(None),
            stale_alarm: AtomicBool::new(false),
            metrics: Metrics::default(),
            resident: Arc::new(AtomicUsize::new(0)),
        };
        if let Some(bytes) = engine
            .state
            .as_ref()
            .map(StateDir::last_good)
            .transpose()?
            .flatten()
        {
            let _guard = lock(&engine.updating);
            let result = engine.install(&bytes, now, true);
            engine.record(
                UpdateSource::Restore,
                now,
                result.as_ref().map(|(id, _)| id),
            );
        }
        Ok(engine)
    }

    /// Decides one call. Never fails: without a list, or when the guest
    /// traps or overruns its deadline, the answer is the facility's fail
    /// mode (reason `fail-safe`) and an alarm is counted and logged.
    pub fn decide(&self, call: &Call<'_>, now: i64) -> Decision {
        let started = crate::runtime::metrics::time_this_decision().then(Instant::now);
        let live = self.live.load();
        let decision = match live.as_deref() {
            Some(live) => self.decide_on(live, call, now),
            None => Decision::fail_safe(FailMode::DoNotRecord, None),
        };
        self.metrics
            .decision(&decision, started.map(|t| t.elapsed()));
        decision
    }

    fn decide_on(&self, live: &Live, call: &Call<'_>, now: i64) -> Decision {
        if live.list.is_stale(now) && !self.stale_alarm.swap(true, Ordering::Relaxed) {
            tracing::error!(
                sequence = live.list.header.sequence,
                expires_at = %crate::time::format(live.list.header.expires_at),
                "the live list has expired; still deciding with it until a fresh one arrives"
            );
        }
        let n = live.slots.len();
        // Each thread starts its search for a free instance at its own
        // slot, so threads rarely meet on one lock.
        let first = crate::runtime::metrics::thread_index() % n;
        let mut guard = (0..n)
            .find_map(|i| {
                let slot = live.slots[(first + i) % n].0.try_lock().ok()?;
                slot.is_some().then_some(slot)
            })
            .unwrap_or_else(|| {
                // All busy: wait on this thread's own slot, so waiting
                // threads spread over the slots; on slot 0 (never empty)
                // when this one has no instance yet.
                let own = lock(&live.slots[first].0);
                if own.is_some() {
                    own
                } else {
                    drop(own);
                    lock(&live.slots[0].0)
                }
            });
        let Some(slot) = guard.as_mut() else {
            return live.list.fail_safe(call.facility, now);
        };
        if slot.is_poisoned() {
            // The instance trapped earlier: its memory is suspect. Replace
            // it with a fresh one loaded from the same verified body.
            match self.fresh_instance(&live.list) {
                Ok((instance, _)) => *slot = instance,
                Err(e) => {
                    self.metrics.guest_failure();
                    tracing::error!(error = %crate::text::error_chain(&e), "could not replace a failed guest instance");
                    return live.list.fail_safe(call.facility, now);
                }
            }
        }
        let guest = slot.decide(call);
        if let Err(e) = &guest {
            self.metrics.guest_failure();
            tracing::error!(
                facility = call.facility,
                error = %crate::text::error_chain(e),
                "guest failed; answered with the facility's fail mode"
            );
        }
        live.list
            .answer(call.facility, now, guest.as_ref().copied())
    }

    fn fresh_instance(
        &self,
        list: &VerifiedList,
    ) -> Result<(GuestInstance, ListStats), GuestError> {
        let mut instance = self.runtime.instantiate()?;
        let stats = instance.load(&list.body)?;
        Ok((instance, stats))
    }

    /// Verifies, checks and swaps in a signed update. On any error the live
    /// list keeps deciding, untouched.
    pub fn apply(
        &self,
        bytes: &[u8],
        now: i64,
        source: UpdateSource,
    ) -> Result<ListId, UpdateError> {
        self.apply_timed(bytes, now, source).map(|(id, _)| id)
    }

    /// [`Self::apply`], also saying how long the update took until the new
    /// list decided and until every instance had it ([`ApplyTimings`]).
    pub fn apply_timed(
        &self,
        bytes: &[u8],
        now: i64,
        source: UpdateSource,
    ) -> Result<(ListId, ApplyTimings), UpdateError> {
        let _guard = lock(&self.updating);
        let started = Instant::now();
        let result = self.install(bytes, now, false);
        let total = started.elapsed();
        let result = result.map(|(id, live_at)| {
            let live = live_at.duration_since(started);
            (id, ApplyTimings { live, total })
        });
        self.record(source, now, result.as_ref().map(|(id, _)| id));
        result
    }

    fn record(&self, source: UpdateSource, now: i64, result: Result<&ListId, &UpdateError>) {
        let attempt = UpdateAttempt {
            at: crate::time::format(now),
            source,
            applied: result.is_ok(),
            sequence: result.ok().map(|id| id.sequence),
            error: result.err().map(|e| crate::text::error_chain(e)),
            kind: result.err().map(UpdateError::kind),
        };
        match result {
            Ok(id) => {
                tracing::info!(?source, sequence = id.sequence, digest = %&id.digest[..16], "list swapped in");
            }
            Err(e) => {
                self.metrics.refused(e.kind());
                tracing::warn!(?source, kind = %e.kind(), error = %crate::text::error_chain(e), "list update refused; the live list keeps deciding");
                *lock(&self.last_refusal) = Some(attempt.clone());
            }
        }
        *lock(&self.last_update) = Some(attempt);
    }

    /// Verifies, checks, loads, saves and publishes `bytes`. `restoring` is
    /// the saved bundle at start: it may sit at the high-water mark and may
    /// be stale (it still decides, flagged); an update must be above the
    /// mark and fresh.
    fn install(
        &self,
        bytes: &[u8],
        now: i64,
        restoring: bool,
    ) -> Result<(ListId, Instant), UpdateError> {
        let list = self.verify(bytes)?;
        let high_water = self.high_water.load(Ordering::Acquire);
        let sequence = list.header.sequence;
        if sequence < high_water || (sequence == high_water && !restoring) {
            return Err(UpdateError::NotNewer {
                sequence,
                high_water,
            });
        }
        if !restoring {
            list.check_fresh(now).map_err(UpdateError::Bundle)?;
        }
        let live = self.load(list, now)?;
        if let Some(state) = &self.state {
            if sequence > high_water {
                state.save(bytes, sequence).map_err(UpdateError::Persist)?;
            }
        }
        let (id, live, live_at) = self.publish(live, now);
        self.fill(&live);
        Ok((id, live_at))
    }

    fn verify(&self, bytes: &[u8]) -> Result<VerifiedList, UpdateError> {
        if bytes.len() > self.max_bundle_bytes {
            return Err(UpdateError::Oversized {
                bytes: bytes.len(),
                max: self.max_bundle_bytes,
            });
        }
        Ok(VerifiedList::open(bytes, &self.trust.load())?)
    }

    /// Loads the list into one fresh instance (checked with the list's
    /// canaries): the [`Live`] that goes live. [`Self::fill`] adds the other
    /// instances after the swap.
    fn load(&self, list: VerifiedList, now: i64) -> Result<Live, UpdateError> {
        let (instance, stats) = self.checked_instance(&list)?;
        let slots = std::iter::once(Some(instance))
            .chain((1..self.instances).map(|_| None))
            .map(|i| Slot(Mutex::new(i)))
            .collect();
        self.resident.fetch_add(1, Ordering::AcqRel);
        Ok(Live {
            resident: Arc::clone(&self.resident),
            stats,
            list,
            slots,
            applied_at: now,
        })
    }

    /// A fresh instance with `list` loaded that answers every canary as the
    /// bundle says; warmed up here rather than on its first real call.
    fn checked_instance(
        &self,
        list: &VerifiedList,
    ) -> Result<(GuestInstance, ListStats), UpdateError> {
        let (mut instance, stats) = self.fresh_instance(list).map_err(UpdateError::Guest)?;
        for (index, canary) in list.header.canaries.iter().enumerate() {
            let call = Call {
                facility: &canary.facility,
                inmate: &canary.inmate,
                dialed: &canary.dialed,
                at: canary.at,
                started: None,
            };
            let got = instance.decide(&call).map_err(UpdateError::Guest)?;
            if got.record != canary.record || got.reason.name() != canary.reason {
                return Err(UpdateError::Canary {
                    index,
                    expected: format!("record={} ({})", canary.record, canary.reason),
                    got: format!("record={} ({})", got.record, got.reason.name()),
                });
            }
        }
        Ok((instance, stats))
    }

    /// Loads the live list into its empty slots, once the list it replaced
    /// has been freed: memory does not hold two fully loaded lists (unless
    /// a decision held the old one past [`retire`]'s one-second wait), so
    /// the peak of a swap stays well under twice one list. Until then
    /// decisions share the instances already loaded. A failure here (the
    /// same body already loaded once, so only memory or a host fault)
    /// leaves the list deciding with fewer instances until the next
    /// update: counted, logged, and shown as `instances_loaded` in the
    /// status.
    fn fill(&self, live: &Live) {
        for slot in live.slots.iter() {
            if lock(&slot.0).is_some() {
                continue;
            }
            match self.checked_instance(&live.list) {
                Ok((instance, _)) => *lock(&slot.0) = Some(instance),
                Err(e) => {
                    self.metrics.guest_failure();
                    tracing::error!(error = %e, "could not load a further guest instance; deciding with fewer");
                    return;
                }
            }
        }
    }

    /// Makes `live` the live list and frees the one it replaces; returns
    /// its identity, the list itself (for [`Self::fill`]) and when it went
    /// live (before the old list's wait in [`retire`]).
    fn publish(&self, live: Live, now: i64) -> (ListId, Arc<Live>, Instant) {
        let id = live.list.id(now);
        self.high_water.fetch_max(id.sequence, Ordering::AcqRel);
        self.stale_alarm.store(false, Ordering::Relaxed);
        let live = Arc::new(live);
        let old = self.live.swap(Some(Arc::clone(&live)));
        let live_at = Instant::now();
        self.metrics.swap();
        if let Some(old) = old {
            retire(old);
        }
        (id, live, live_at)
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
        self.metrics.render(list)
    }
}
