//! The live list's pool of guest instances: which instance a decision
//! runs on, and what happens when that instance has failed.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use privcall_core::types::Call;

use crate::decision::Decision;
use crate::runtime::engine::Engine;
use crate::runtime::guest::{GuestError, GuestInstance, ListStats};
use crate::trust::VerifiedList;

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
/// instance fields (the throughput benchmark's two-thread figure shows
/// what the padding is worth).
///
/// Empty while a swap is completing (a new list goes live with one
/// instance and loads the others once the old list has been freed, see
/// [`Engine::apply`]), or after such a load failed. Slot 0 is never
/// empty.
#[repr(align(128))]
pub(super) struct Slot(pub(super) Mutex<Option<GuestInstance>>);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a slot leaves a usable instance or a poisoned
    // one (rebuilt on next use); either way the lock must not stay dead.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Decides `call` on one of `live`'s instances, or in the fail mode
    /// when none can answer.
    pub(super) fn decide_on(&self, live: &Live, call: &Call<'_>, now: i64) -> Decision {
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
                let slot = live.slots.get((first + i) % n)?.0.try_lock().ok()?;
                slot.is_some().then_some(slot)
            })
            .or_else(|| {
                // All busy: wait on this thread's own slot, so waiting
                // threads spread over the slots; on slot 0 (never empty)
                // when this one has no instance yet.
                let own = lock(&live.slots.get(first)?.0);
                if own.is_some() {
                    Some(own)
                } else {
                    drop(own);
                    Some(lock(&live.slots.first()?.0))
                }
            });
        let Some(slot) = guard.as_mut().and_then(|g| g.as_mut()) else {
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
        let mut tag = [0u8; crate::trust::inmate_key::TAG_LEN];
        let guest = slot.decide(&live.list.guest_call(call, &mut tag));
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

    /// A new instance with `list` loaded.
    pub(super) fn fresh_instance(
        &self,
        list: &VerifiedList,
    ) -> Result<(GuestInstance, ListStats), GuestError> {
        let mut instance = self.runtime.instantiate()?;
        let stats = instance.load(&list.body)?;
        Ok((instance, stats))
    }
}
