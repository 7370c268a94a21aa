//! The privcall host: verifies signed list bundles, loads them into the
//! WebAssembly decision guest and answers *record or not* for call setups.
//!
//! - [`keys`]: Ed25519 keys and the trust store.
//! - [`bundle`]: the signed bundle format, signing and verification.
//! - [`compile`]: list sources (CSV, TOML) to a compiled list.
//! - [`guest`]: the wasmtime embedding of the guest (its core module, called by the canonical ABI of `wit/privcall.wit`).
//! - [`decider`]: a verified list loaded into a guest, deciding calls.
//! - [`decision`]: the decision JSON contract.
//! - [`engine`]: the thread-safe engine: decisions, verified hot swaps, status.
//! - [`serve`]: the HTTP decision daemon.
//! - [`pages`]: transparent huge pages for the guest's memory.
//! - [`perf`]: `privcall bench`.
//!
//! The decision rules themselves live in [`privcall_core`], shared with the
//! guest, so they are never written twice.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod compile;
pub mod decider;
pub mod decision;
pub mod engine;
pub mod files;
pub mod guest;
pub mod keys;
pub mod metrics;
pub mod pages;
pub mod perf;
pub mod serve;
pub mod state;
pub mod text;
pub mod time;

pub use privcall_core as core;
