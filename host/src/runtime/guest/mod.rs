//! The wasmtime embedding of the decision guest.
//!
//! One [`Engine`] per process, the guest compiled once and pre-instantiated
//! ([`GuestRuntime`]); each [`GuestInstance`] owns a store with a memory
//! limit and runs every call under an epoch deadline, so a guest that loops
//! or eats memory ends in an error the caller turns into the facility's
//! fail mode, never a hang or a crash.
//!
//! # Why the host calls the core module
//!
//! `wit/privcall.wit` is the contract, and the build checks that the guest
//! implements it (`wit-component` validates the module against it). At run
//! time, though, the host instantiates the guest's *core* module and calls
//! the contract's functions by their canonical-ABI export names: a
//! component-model call adds lifting, lowering and bookkeeping that cost
//! many times the guest's own work, a core typed call almost nothing (the
//! README's performance section has the figures). The functions
//! the host uses were shaped so their canonical ABI stays trivial: scalars
//! in (`decide-packed`), strings and bytes lowered through `cabi_realloc`
//! (`decide-strings`, `load`), and answers read from a result area. The
//! tests run the same guest as a component through wasmtime's own canonical
//! ABI and check both give the same answers (`tests/all/guest.rs`,
//! `tests/all/differential.rs`).

mod budget;
mod instance;
mod module;

use std::time::Duration;

pub use instance::GuestInstance;
pub use module::{engine, GuestRuntime, GUEST_COMPONENT, GUEST_MODULE};

/// How often the epoch advances; deadlines are counted in these ticks.
///
/// Coarse on purpose: every worker process of a PBX runs one ticker, and a
/// 1 ms tick woke each of them a thousand times a second for a deadline
/// that only matters when a guest misbehaves.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// A decision is checked every this many ticks (40–50 ms): one that used
/// [`DECIDE_CPU_BUDGET`] of its thread's CPU time between two checks is
/// abandoned (a guest that loops: 80–100 ms); one that did not (its
/// thread was waiting for a CPU) goes on, up to [`DECIDE_MAX_CHECKS`]
/// checks.
pub const DECIDE_DEADLINE_TICKS: u64 = 5;
/// The CPU time a decision may use between two checks (a decision takes
/// well under a microsecond: only a guest that loops comes near it).
pub const DECIDE_CPU_BUDGET: Duration = Duration::from_millis(20);
/// How many deadlines a decision whose thread waited may pass: about 2 s
/// of wall time, after which it is abandoned whatever its CPU time.
pub const DECIDE_MAX_CHECKS: u32 = 40;
/// Loading a list (decode + validate) may take this many ticks (a minute).
pub const LOAD_DEADLINE_TICKS: u64 = 6_000;
/// The address space reserved for each guest's linear memory: all a
/// 32-bit memory can address, so it never moves as it grows, bounds checks
/// are left to the guard pages, and the huge-page advice over the room to
/// grow stays inside the guest's own mapping. (wasmtime's default on 64-bit
/// hosts; set explicitly because the advice relies on it.)
pub(crate) const MEMORY_RESERVATION: u64 = 1 << 32;
/// The most linear memory a guest may grow to.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 << 30;

/// An error from wasmtime or the OS, kept as the source of a [`GuestError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the guest could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The guest module did not compile or instantiate, or lacks an
    /// export of the contract.
    #[error("guest setup failed: {what}")]
    Setup {
        /// What failed (`export \`load\``, `compiling the module`, ...).
        what: String,
        /// The engine's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The guest trapped, ran past its deadline or hit its memory limit.
    #[error("guest failed")]
    Trap(#[source] BoxError),
    /// The guest broke the contract (an answer outside its memory, a
    /// malformed result); the instance is poisoned like after a trap.
    #[error("guest failed: the guest answered {0}")]
    Malformed(&'static str),
    /// The instance trapped earlier and is never used again.
    #[error("guest failed: instance is unusable after an earlier trap")]
    Poisoned,
    /// The guest refused the list body (the guest's own message).
    #[error("guest refused the list: {0}")]
    Refused(String),
    /// A decision was asked before any list was loaded.
    #[error("guest has no list loaded")]
    NoList,
}

impl GuestError {
    pub(crate) fn setup(what: impl Into<String>, source: wasmtime::Error) -> GuestError {
        GuestError::Setup {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

/// Counts of a loaded list, as the guest reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListStats {
    /// Facilities named by the list.
    pub facilities: u32,
    /// Exact numbers.
    pub numbers: u64,
    /// Prefix blocks.
    pub prefix_blocks: u32,
    /// Prearranged windows.
    pub windows: u32,
    /// Bytes of the number set in guest memory.
    pub set_bytes: u64,
}
