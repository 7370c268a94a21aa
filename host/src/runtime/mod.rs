//! Running the guest: the wasmtime embedding (the hand-kept canonical ABI
//! of `wit/privcall.wit`, instances with limits and deadlines, huge pages)
//! and the [`Engine`] that decides from many threads and swaps lists.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a malformed bundle or a broken guest is an error the caller handles, never a panic"
)]

pub mod abi;
pub mod decider;
pub mod engine;
pub mod guest;
pub mod metrics;
pub mod pages;
mod parts;
pub use parts::{PartsStatus, MAX_WINDOW_PARTS};
pub use swap::{FIRST_SEQUENCE_MAX, MAX_SEQUENCE_JUMP};
mod pool;
pub(crate) use pool::lock;
pub mod status;
mod swap;
pub mod update;

pub use decider::ListDecider;
pub use engine::{Engine, EngineConfig, EngineError};
pub use guest::{GuestError, GuestRuntime, ListStats};
pub use status::Status;
pub use update::{ApplyTimings, RefusalKind, UpdateError, UpdateSource};
