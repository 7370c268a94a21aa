//! The C ABI of privcall: the decision engine, loaded into a PBX's or an
//! SBC's own process (an Asterisk, FreeSWITCH, Kamailio or OpenSIPS
//! module, or a script through `ctypes`/FFI). `include/privcall.h` is
//! generated from this crate by cbindgen and says the same in C.
//!
//! # The contract
//!
//! - **Ownership.** `privcall_engine_new` returns a handle the caller owns
//!   and frees with `privcall_engine_free`, once, after every other call
//!   on it has returned. Everything else the caller passes is borrowed for
//!   the call only; everything privcall writes goes into caller-owned
//!   memory. The names in a decision are static strings.
//! - **Results.** Every call but `privcall_engine_free` and
//!   `privcall_last_error` returns `PRIVCALL_OK` (0) or a negative
//!   `PRIVCALL_ERR_*`; on an error, outputs are left untouched (except the
//!   needed length on `PRIVCALL_ERR_BUFFER`) and
//!   `privcall_last_error` gives this thread's message.
//! - **Deciding never fails a call.** `privcall_decide` returns an error
//!   only for arguments it cannot read (a NULL pointer, a field over
//!   `PRIVCALL_MAX_FIELD_BYTES`); then the PBX applies its own fail mode.
//!   Otherwise it fills the decision: without a list, when the guest
//!   fails, or even when privcall itself panics, that decision is the
//!   facility's fail mode with reason `PRIVCALL_REASON_FAIL_SAFE`.
//! - **Panics** never cross the boundary: each entry point catches them.
//! - **Threads.** A handle is shared by any number of threads.
//!   `privcall_decide` never blocks on I/O (it may wait for a free guest
//!   instance when more threads decide at once than `instances`).
//!   `privcall_engine_new` and `privcall_update_*` read files and load a
//!   list (tens to hundreds of milliseconds at national scale): call them
//!   off the signalling path.
//! - **Forked workers** (Kamailio, OpenSIPS, Asterisk), two ways:
//!   - *one list shared by all workers* (the way to run at national
//!     scale): create the engine in the parent before the fork (Kamailio:
//!     `mod_init`) with `prefork` set. It loads `bundle_path` and the
//!     newest bundles in `watch_dir` there, and starts no feed. Each worker
//!     calls `privcall_engine_after_fork` first thing after the fork
//!     (Kamailio: `child_init`): it starts that worker's own deadline
//!     ticker and feeds. The list's memory is shared by every worker, as
//!     the fork left it, until an update: each worker then loads the new
//!     list into memory of its own. Processes that never decide free
//!     their copy of the handle (`privcall_engine_free` is safe in a
//!     forked child). A prefork engine starts no thread before the fork
//!     (its loads there run without a deadline).
//!   - *an engine per worker*: create it in each worker after the fork,
//!     with `prefork` unset. Simple, but every worker holds its own list.
//!
//!   Either way give every worker the same `watch_dir` and no `state_dir`
//!   (or one each): a bundle dropped into the folder reaches every worker
//!   within `poll_interval_ms`.

mod boundary;
mod names;
mod setup;
mod types;

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use host::text::Rfc3339Text;
use host::{Call, Decision, Engine, Reason, UpdateError, UpdateSource};

use crate::boundary::{guard, output, reference, Failure};
use crate::setup::FeedSlot;
pub use crate::types::*;

/// An engine and the feeds that update it. Opaque to C.
pub struct PrivcallEngine {
    engine: Arc<Engine>,
    /// Stopped and joined when the handle is freed, in the process that
    /// started them.
    feeds: Mutex<FeedSlot>,
}

impl Drop for PrivcallEngine {
    fn drop(&mut self) {
        lock(&self.feeds).forget_foreign();
    }
}

/// The feed slot, even after a panic while it was held (its state is a
/// handle and a pid, never half-written).
fn lock(slot: &Mutex<FeedSlot>) -> std::sync::MutexGuard<'_, FeedSlot> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The ABI version this library implements (`PRIVCALL_ABI_VERSION`): a
/// module checks it against the header it was built with.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_abi_version() -> u32 {
    PRIVCALL_ABI_VERSION
}

/// Creates an engine from `config` and writes its handle to `*out`.
/// Restores the last good list from `state_dir`, applies `bundle_path`
/// (a refused bundle leaves the engine deciding with the restored list or
/// in the fail mode; `privcall_status_json` shows the refusal), and
/// starts watching `watch_dir` and polling `poll_url`; with `prefork`, it
/// applies the bundles in `watch_dir` now and leaves the feeds to
/// `privcall_engine_after_fork`. Blocks while the list loads.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_engine_new(
    config: *const PrivcallConfig,
    out: *mut *mut PrivcallEngine,
) -> i32 {
    guard(|| {
        let config = reference(config, "config")?;
        let out = output(out, "out")?;
        let (engine, feeds) = setup::engine_new(config)?;
        *out = Box::into_raw(Box::new(PrivcallEngine { engine, feeds }));
        Ok(())
    })
}

/// Readies an engine inherited through `fork()` in the child: starts this
/// process's deadline ticker and the engine's feeds (watched folder,
/// polled URL), which ran, if at all, as the parent's threads. Call it in
/// every worker before its first decision (Kamailio: `child_init`). Does
/// nothing in a process where they already run.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_engine_after_fork(engine: *const PrivcallEngine) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        handle
            .engine
            .after_fork()
            .map_err(|e| Failure::new(PRIVCALL_ERR_INTERNAL, host::text::error_chain(&e)))?;
        lock(&handle.feeds).start_here(&handle.engine)
    })
}

/// Frees an engine: stops its feeds (waiting for an update in progress)
/// and drops its list. NULL is ignored. In a forked child, frees the
/// child's copy and leaves the parent's feeds alone.
///
/// # Safety
///
/// `engine` is NULL or a handle from `privcall_engine_new` not yet freed,
/// and no other call on it is running or follows.
#[expect(unsafe_code, reason = "an exported C symbol that takes ownership back")]
#[no_mangle]
pub unsafe extern "C" fn privcall_engine_free(engine: *mut PrivcallEngine) {
    if engine.is_null() {
        return;
    }
    guard(|| {
        #[expect(unsafe_code, reason = "the handle came from Box::into_raw")]
        // SAFETY: `engine` was returned by `privcall_engine_new` and the
        // caller frees it once, after every other call on it returned.
        drop(unsafe { Box::from_raw(engine) });
        Ok(())
    });
}

/// Decides one call into `*out`. Fills `out` with the facility's fail
/// mode rather than failing when no list is live or deciding fails;
/// returns an error only when an argument cannot be read.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_decide(
    engine: *const PrivcallEngine,
    call: *const PrivcallCall,
    out: *mut PrivcallDecision,
) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        let call = reference(call, "call")?;
        let out = output(out, "out")?;
        let facility = boundary::field(call.facility, call.facility_len, "call.facility")?;
        let inmate = boundary::field(call.inmate, call.inmate_len, "call.inmate")?;
        let dialed = boundary::field(call.dialed, call.dialed_len, "call.dialed")?;
        let call = Call {
            facility: &facility,
            inmate: &inmate,
            dialed: &dialed,
            at: call.at,
            started: call.has_started.then_some(call.started),
        };
        let now = Rfc3339Text::now().0;
        let decision = decide_or_fail_safe(&handle.engine, &call, now);
        fill(out, &decision);
        Ok(())
    })
}

/// Fills `*out` with the facility's fail mode under the live list (do not
/// record without one), reason `PRIVCALL_REASON_FAIL_SAFE`: the answer
/// for a request privcall cannot decide as a call, such as one whose
/// facility or inmate header is missing. `facility` is (pointer, length)
/// as in `privcall_call`; an unknown or empty facility gets the
/// `[default]` policy's fail mode.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_fail_safe(
    engine: *const PrivcallEngine,
    facility: *const c_char,
    facility_len: usize,
    out: *mut PrivcallDecision,
) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        let out = output(out, "out")?;
        let facility = boundary::field(facility, facility_len, "facility")?;
        let decision = handle.engine.fail_safe(&facility, Rfc3339Text::now().0);
        fill(out, &decision);
        Ok(())
    })
}

/// Applies the bundle at `path` (NUL-terminated); on success writes the
/// live sequence to `*sequence_out` (which may be NULL). Refused: the
/// live list keeps deciding, untouched. Blocks while the list loads.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_update_file(
    engine: *const PrivcallEngine,
    path: *const c_char,
    sequence_out: *mut u64,
) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        let path = boundary::path(path, "path")?
            .ok_or_else(|| Failure::new(PRIVCALL_ERR_NULL, "path is NULL"))?;
        let bytes = host::feed::read_bundle_file(&path, handle.engine.max_bundle_bytes())
            .map_err(|e| Failure::new(PRIVCALL_ERR_IO, format!("{}: {e}", path.display())))?;
        apply(&handle.engine, &bytes, sequence_out)
    })
}

/// Applies the bundle in `bytes[0..len]`; as `privcall_update_file`.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_update_bytes(
    engine: *const PrivcallEngine,
    bytes: *const u8,
    len: usize,
    sequence_out: *mut u64,
) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        let max = handle.engine.max_bundle_bytes();
        let bytes = boundary::bytes(bytes.cast(), len, max, "bytes")?;
        apply(&handle.engine, bytes, sequence_out)
    })
}

/// Writes the engine's status (the daemon's `GET /v1/status` JSON) and a
/// NUL into `buf`, and its length into `*len_out`. A buffer of `cap`
/// bytes that is too small gets `PRIVCALL_ERR_BUFFER` and only the
/// length it needs (without the NUL) in `*len_out`.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_status_json(
    engine: *const PrivcallEngine,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> i32 {
    guard(|| {
        let handle = reference(engine, "engine")?;
        let status = handle.engine.status(Rfc3339Text::now().0);
        let json = serde_json::to_string(&status)
            .map_err(|e| Failure::new(PRIVCALL_ERR_INTERNAL, format!("status: {e}")))?;
        boundary::write_text(&json, buf, cap, len_out)
    })
}

/// Copies this thread's last error message into `buf` (cut to fit and
/// NUL-terminated when `cap > 0`) and returns its full length, like
/// `snprintf`: 0 when there is none. Messages name the argument, field
/// or file, never a dialed number.
#[expect(unsafe_code, reason = "an exported C symbol")]
#[no_mangle]
pub extern "C" fn privcall_last_error(buf: *mut c_char, cap: usize) -> usize {
    boundary::last_error_into(buf, cap)
}

/// The engine's decision; should deciding panic, the facility's fail
/// mode, and should that panic too, do-not-record.
fn decide_or_fail_safe(engine: &Engine, call: &Call<'_>, now: i64) -> Decision {
    let attempt =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.decide(call, now)));
    attempt.unwrap_or_else(|panic| {
        boundary::set_last_error(&format!(
            "internal error while deciding (answered with the fail mode): {}",
            boundary::panic_text(&*panic)
        ));
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.fail_safe(call.facility, now)
        }))
        .unwrap_or_else(|_| Decision::fail_safe(host::core::types::FailMode::DoNotRecord, None))
    })
}

/// Applies an update and reports the sequence.
fn apply(engine: &Engine, bytes: &[u8], sequence_out: *mut u64) -> Result<(), Failure> {
    let id = engine
        .apply(bytes, Rfc3339Text::now().0, UpdateSource::Push)
        .map_err(|e: UpdateError| {
            Failure::new(
                PRIVCALL_ERR_REFUSED,
                format!(
                    "update refused ({}): {}",
                    e.kind(),
                    host::text::error_chain(&e)
                ),
            )
        })?;
    if let Ok(out) = output(sequence_out, "sequence_out") {
        *out = id.sequence;
    }
    Ok(())
}

/// The C form of a decision.
fn fill(out: &mut PrivcallDecision, d: &Decision) {
    out.record = d.record;
    out.monitor = d.monitor;
    out.redact_metadata = d.redact_metadata;
    out.stale = d.list.as_ref().is_some_and(|l| l.stale);
    out.default_policy = d.default_policy;
    out.reason = reason_code(d.reason);
    out.reason_name = names::reason(d.reason);
    out.category = names::category(d.category.as_deref());
    out.notice = names::notice(d.notice.as_deref());
    out.on_expiry = names::on_expiry(d.on_expiry.as_deref());
    out.has_private_until = d.private_until.is_some();
    out.private_until = d.private_until.map_or(0, |t| t.0);
    out.list_sequence = d.list.as_ref().map_or(0, |l| l.sequence);
    out.normalized = [0; PRIVCALL_NORMALIZED_BYTES];
    if let Some(n) = d.normalized {
        let text = n.text();
        for (dst, &src) in out
            .normalized
            .iter_mut()
            .zip(text.as_bytes())
            .take(PRIVCALL_NORMALIZED_BYTES - 1)
        {
            *dst = src as c_char;
        }
    }
}

/// A reason's `PRIVCALL_REASON_*` code: its position in [`Reason::ALL`].
fn reason_code(r: Reason) -> i32 {
    Reason::ALL
        .iter()
        .position(|&x| x == r)
        .map_or(PRIVCALL_REASON_FAIL_SAFE, |i| i as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's reason codes are the positions of the names in
    /// `Reason::ALL`.
    #[test]
    fn reason_codes_match_the_names() {
        let codes = [
            (PRIVCALL_REASON_REGISTERED, "registered"),
            (PRIVCALL_REASON_PREARRANGED, "prearranged"),
            (PRIVCALL_REASON_PREARRANGED_OVERRUN, "prearranged-overrun"),
            (PRIVCALL_REASON_NOT_PRIVILEGED, "not-privileged"),
            (PRIVCALL_REASON_FAIL_SAFE, "fail-safe"),
            (PRIVCALL_REASON_UNREADABLE, "unreadable"),
        ];
        assert_eq!(codes.len(), Reason::ALL.len());
        for (code, name) in codes {
            let r = Reason::ALL[code as usize];
            assert_eq!(r.name(), name);
            assert_eq!(reason_code(r), code);
        }
    }
}
