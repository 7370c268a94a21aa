//! The privcall host: verifies signed list bundles, loads them into the
//! WebAssembly decision guest and answers *record or not* for call setups.
//!
//! An integrator needs three things: a [`TrustStore`] of the list
//! authority's public keys, an [`Engine`] that holds the live list, and
//! [`Engine::decide`], which never fails: without a list, or when the guest
//! fails, the answer is the facility's fail mode, marked
//! [`Reason::FailSafe`].
//!
//! ```
//! use privcall::{compile, seal, BundleInfo, Call, Engine, EngineConfig, Reason, Sources,
//!     TrustStore, UpdateSource};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
//! // The list authority compiles its sources and seals them with its key.
//! let authority = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let compiled = compile(&Sources {
//!     registry: examples.join("registry.csv"),
//!     prearranged: Some(examples.join("prearranged.csv")),
//!     policy: examples.join("policy.toml"),
//! })?;
//! let now = 1_796_115_600; // 2026-12-01T09:00:00Z
//! let info = BundleInfo::new(1, now, now + 30 * 86_400);
//! let bundle = seal(&compiled.list, &info, &[authority.clone()])?;
//!
//! // An edge trusts the authority's public key and swaps the bundle in.
//! let trust = TrustStore::new(vec![authority.verifying_key()], 1)?;
//! let engine = Engine::new(EngineConfig::new(trust), now)?;
//! engine.apply(&bundle, now, UpdateSource::File)?;
//!
//! // A registered attorney, dialed with the outside-line prefix.
//! let call = Call { facility: "JCCC", inmate: "A1001", dialed: "9 573 555 0142", at: now, started: None };
//! let decision = engine.decide(&call, now);
//! assert!(!decision.record);
//! assert_eq!(decision.reason, Reason::Registered);
//! # Ok(())
//! # }
//! ```
//!
//! The parts, in the order a reader meets them:
//!
//! - `trust/`: keys, the signed bundle, the verified list, the state
//!   directory. Nothing is parsed before a signature over it verifies.
//! - `runtime/`: the wasmtime embedding of the guest (its core module,
//!   called through the canonical ABI of `wit/privcall.wit`), huge pages,
//!   and the [`Engine`] with its metrics.
//! - `compile/`: list sources (CSV, TOML) to a compiled list.
//!
//! The decision rules themselves live in [`core`] (`privcall-core`), shared
//! with the guest, so they are never written twice. The `privcall` command
//! (the daemon, `bench`, `demo`) is a front end over this API.

mod compile;
mod decision;
mod feed;
mod runtime;
mod text;
mod time;
mod trust;

#[doc(hidden)]
pub mod fixtures;

// Deciding: the engine, its input and its answer.
pub use crate::decision::{Decision, ListId, Reason};
pub use crate::runtime::{Engine, EngineConfig, EngineError, Status};
pub use privcall_core::types::Call;

// Updating: where an update came from, and why one was refused.
pub use crate::runtime::{RefusalKind, UpdateError, UpdateSource};

// Trust: the authority's keys, sealing and opening a bundle.
pub use crate::trust::{
    keygen, read_signing_key, seal, write_private, BundleError, BundleInfo, KeyError, KeyId,
    OpenError, TrustStore, VerifiedList,
};

// Feeds: a watched folder and a polled URL that update an engine.
pub use crate::feed::{read_bundle_file, FeedConfig, Feeds, ReadError, TrustFiles};

// Compiling: list sources to a list.
pub use crate::compile::{compile, CompileErrors, Compiled, SourceError, Sources};

// Types the signatures above name, and tools for tests and benchmarks.
pub use crate::decision::{E164Text, Rfc3339Text};
pub use crate::runtime::{ApplyTimings, GuestError, GuestRuntime, ListDecider, ListStats};
pub use crate::text::error_chain;
pub use crate::time::{Round, TimeError};
pub use crate::trust::{Header, UnverifiedBundle, FORMAT_VERSION, MAX_BUNDLE_BYTES};
pub use privcall_core as core;
