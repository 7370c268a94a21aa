//! Applying an update: verify, load into a fresh instance, check the
//! bundle's canaries, save, publish with one atomic store, retire the old
//! list, then load the remaining instances (see [`super::engine`] for why
//! in this order).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use privcall_core::types::Call;

use crate::decision::ListId;
use crate::runtime::engine::Engine;
use crate::runtime::guest::{GuestInstance, ListStats};
use crate::runtime::parts::{HeldRegistry, HeldWindows, Parts, MAX_WINDOW_PARTS};
use crate::runtime::pool::{lock, Live, Slot};
use crate::runtime::status::UpdateAttempt;
use crate::runtime::update::{ApplyTimings, UpdateError, UpdateSource};
use crate::trust::bundle::{self, BundleError, Header, Part};
use crate::trust::fail_modes::FailModes;
use crate::trust::state::Snapshot;
use crate::trust::{VerifiedList, VerifiedWindows};
use privcall_core::list::fleet;

/// The largest step above the high-water mark one update may take: room
/// for sequences that are timestamps, none for `u64::MAX` (which would
/// leave no sequence above it, locking every edge out for good).
pub const MAX_SEQUENCE_JUMP: u64 = 1 << 32;
/// The largest first sequence an edge with no mark accepts.
pub const FIRST_SEQUENCE_MAX: u64 = 1 << 48;
/// How long past its expiry a saved list is still restored at start
/// (flagged stale): a week.
pub const RESTORE_GRACE_SECONDS: i64 = 7 * 86_400;

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

    pub(super) fn record(
        &self,
        source: UpdateSource,
        now: i64,
        result: Result<&ListId, &UpdateError>,
    ) {
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
                lock(&self.refusals_by_source).insert(source, attempt.clone());
            }
        }
        *lock(&self.last_update) = Some(attempt);
    }

    /// Verifies, checks, loads, saves and publishes `bytes`. `restoring` is
    /// the saved bundle at start: it may sit at the high-water mark and may
    /// be stale (it still decides, flagged); an update must be above the
    /// mark and fresh. The sequence is checked before an encrypted body is
    /// decrypted: a replayed bundle costs a signature check, no more.
    ///
    /// A fleet's part is held with the others ([`super::parts`]) and goes
    /// live merged with them once a registry part and a window part are
    /// held; until then the answer names the part, and the live list (if
    /// any) keeps deciding.
    pub(super) fn install(
        &self,
        bytes: &[u8],
        now: i64,
        restoring: bool,
    ) -> Result<(ListId, Instant), UpdateError> {
        if bytes.len() > self.max_bundle_bytes {
            return Err(UpdateError::Oversized {
                bytes: bytes.len(),
                max: self.max_bundle_bytes,
            });
        }
        let trust = self.trust.load();
        let verified = bundle::verify(bytes, &trust).map_err(UpdateError::Bundle)?;
        let mut held = lock(&self.held).clone();
        let part = verified.header.part.clone();
        let high_water = match &part {
            Part::Windows { facility } => held.marks.get(facility).copied().unwrap_or(0),
            Part::Whole | Part::Registry => self.high_water.load(Ordering::Acquire),
        };
        check_sequence(verified.header.sequence, high_water, restoring)?;
        let fresh_at = if restoring {
            // A saved list past its expiry keeps deciding (flagged stale)
            // for a stated grace; past that, an old backup is not a list.
            now - RESTORE_GRACE_SECONDS
        } else {
            now
        };
        check_fresh(&verified.header, fresh_at)?;
        let sequence = verified.header.sequence;
        let digest = verified.digest;
        let is_window_part = matches!(part, Part::Windows { .. });
        let list = match part {
            Part::Whole => {
                let list = VerifiedList::from_verified(verified, &trust)?;
                held.whole = Some(Arc::new(bytes.to_vec()));
                held.registry = None;
                held.windows.clear();
                Some(list)
            }
            Part::Registry => {
                let list = VerifiedList::from_verified(verified, &trust)?;
                let offset = fleet::windows_offset(&list.body).map_err(UpdateError::Body)?;
                held.registry = Some(Arc::new(HeldRegistry {
                    bytes: bytes.to_vec(),
                    list,
                    offset,
                }));
                None
            }
            Part::Windows { facility } => {
                let part = VerifiedWindows::from_verified(verified, &trust)?;
                if !held.windows.contains_key(&facility) && held.windows.len() >= MAX_WINDOW_PARTS {
                    return Err(UpdateError::TooManyParts {
                        max: MAX_WINDOW_PARTS,
                    });
                }
                held.marks.insert(facility.clone(), sequence);
                held.windows.insert(
                    facility,
                    Arc::new(HeldWindows {
                        bytes: bytes.to_vec(),
                        part,
                    }),
                );
                if held.window_bytes() > self.max_bundle_bytes {
                    return Err(UpdateError::Oversized {
                        bytes: held.window_bytes(),
                        max: self.max_bundle_bytes,
                    });
                }
                None
            }
        };
        let list = match (list, &held.registry) {
            (Some(list), _) => Some(list),
            (None, Some(registry)) if held.complete() => {
                held.whole = None;
                Some(VerifiedList::combine(
                    &registry.list,
                    registry.offset,
                    &held.window_parts(),
                    &trust,
                )?)
            }
            (None, _) => None,
        };
        let main_mark = match is_window_part {
            true => self.high_water.load(Ordering::Acquire),
            false => sequence.max(high_water),
        };
        let Some(list) = list else {
            // A part waiting for its counterpart: held and saved, not live.
            self.save_held(&held, main_mark, &self.fallback.load(), restoring)?;
            self.high_water.fetch_max(main_mark, Ordering::AcqRel);
            *lock(&self.held) = held;
            let id = ListId {
                sequence,
                digest: crate::decision::Digest::hex(&digest),
                stale: false,
            };
            return Ok((id, Instant::now()));
        };
        let fail_modes = list.fail_modes();
        let live = self.load(list, now)?;
        self.save_held(&held, main_mark, &fail_modes, restoring)?;
        *lock(&self.held) = held;
        self.fallback.store(Arc::new(fail_modes));
        if !restoring {
            *lock(&self.state_alarm) = None;
        }
        let (id, live, live_at) = self.publish(live, now);
        self.fill(&live);
        Ok((id, live_at))
    }

    /// Saves what `held` holds with the marks (not at start: the state
    /// holds it already).
    fn save_held(
        &self,
        held: &Parts,
        high_water: u64,
        fail_modes: &FailModes,
        restoring: bool,
    ) -> Result<(), UpdateError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        if restoring {
            return Ok(());
        }
        let windows = held.saved_windows();
        state
            .save(&Snapshot {
                high_water,
                fail_modes,
                bundle: held.whole.as_deref().map(Vec::as_slice),
                registry: held.registry.as_ref().map(|r| r.bytes.as_slice()),
                windows: &windows,
            })
            .map_err(UpdateError::Persist)
    }

    /// Restores the saved bundle at start.
    pub(super) fn restore(&self, bytes: &[u8], now: i64) -> Result<(ListId, Instant), UpdateError> {
        let result = self.install(bytes, now, true);
        if let Err(e) = &result {
            *lock(&self.state_alarm) = Some(format!(
                "the saved list was not restored: {}",
                crate::text::error_chain(e)
            ));
        }
        result
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
}

/// Refuses a sequence not above `high_water` (at start, the saved one may
/// sit at it) or too far above it.
fn check_sequence(sequence: u64, high_water: u64, restoring: bool) -> Result<(), UpdateError> {
    if sequence < high_water || (sequence == high_water && !restoring) {
        return Err(UpdateError::NotNewer {
            sequence,
            high_water,
        });
    }
    let max_jump = if high_water == 0 {
        FIRST_SEQUENCE_MAX
    } else {
        MAX_SEQUENCE_JUMP
    };
    if sequence - high_water > max_jump {
        return Err(UpdateError::SequenceJump {
            sequence,
            high_water,
            max_jump,
        });
    }
    Ok(())
}

/// Refuses a bundle expired at `now`.
fn check_fresh(header: &Header, now: i64) -> Result<(), UpdateError> {
    if now >= header.expires_at {
        return Err(UpdateError::Bundle(BundleError::Expired {
            expires_at: crate::time::format(header.expires_at),
            now: crate::time::format(now),
        }));
    }
    Ok(())
}
