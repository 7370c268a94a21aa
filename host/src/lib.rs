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
//! with the guest, so they are never written twice. Beside the names at
//! the top, a few modules serve one audience each: [`feed`] (a watched
//! folder and a polled URL that update an engine), [`files`] and
//! [`bundle`] (the list authority's tools), [`guest`] (one guest without
//! an engine) and [`text`] (numbers, instants and errors as text). The
//! `privcall` command (the daemon, `bench`, `demo`) is a front end over
//! this API.

mod compile;
mod decision;
mod runtime;
mod time;
mod trust;

pub mod feed;
pub mod text;

#[doc(hidden)]
pub mod fixtures;

// The daemon's request parsing: in the library so that the fuzz target
// `daemon_request` runs the daemon's own code; not an API of its own.
#[doc(hidden)]
pub mod requests;

// Deciding: the engine, its input and its answer.
pub use crate::decision::{Decision, ListId, Reason};
pub use crate::runtime::{
    Engine, EngineConfig, EngineError, Status, FIRST_SEQUENCE_MAX, MAX_SEQUENCE_JUMP,
    MAX_WINDOW_PARTS,
};
pub use privcall_core::types::Call;

// Updating: where an update came from, and why one was refused.
pub use crate::runtime::{RefusalKind, UpdateError, UpdateSource};

// Trust: the authority's keys and the verified list.
pub use crate::trust::{KeyError, KeyId, OpenError, TrustStore, VerifiedList, VerifiedWindows};

// Publishing: list sources compiled, then sealed into a signed bundle.
pub use crate::compile::{
    compile, compile_fleet, compile_keyed, CompileErrors, Compiled, CompiledFleet, SourceError,
    Sources,
};
pub use crate::trust::{seal, seal_windows, BundleError, BundleInfo};

/// The list authority's files: key pairs, and any file written private
/// and atomically (a bundle, a key).
pub mod files {
    pub use crate::trust::{
        exposed_mode, keygen, read_signing_key, read_signing_keys, write_private, PrivateFile,
    };
}

/// Lists encrypted to their edges: each edge's key pair (an age X25519
/// identity and its recipient), the inmate key that hashes the inmate ids
/// of windows, and the files they live in.
pub mod edge {
    pub use crate::trust::edge::{
        keygen_recipient, read_identity, read_recipient, read_recipients, EdgeIdentity,
        EdgeKeyError, Recipient, RecipientId,
    };
    pub use crate::trust::inmate_key::{
        keygen_inmate, read_inmate_key, InmateKey, InmateKeyError, InmateKeyId,
    };
}

/// The signed bundle's format, for tools that read one without trusting
/// it (`privcall inspect`) or check one in transit (`privcall serve`).
pub mod bundle {
    pub use crate::trust::bundle::{verify, Verified};
    pub use crate::trust::{
        check_prefix, read_verified, Header, Part, UnverifiedBundle, ENCRYPTED_FORMAT_VERSION,
        FORMAT_VERSION, MAGIC, MAX_BUNDLE_BYTES, MAX_RECIPIENTS, OLDEST_READABLE_VERSION,
    };
}

/// The guest on its own, below the [`Engine`]: one instance
/// deciding on one list, for tests, benchmarks and tools that need no swaps.
pub mod guest {
    pub use crate::runtime::{ApplyTimings, GuestError, GuestRuntime, ListDecider, ListStats};
}

/// The decision rules, shared with the guest (`privcall-core`).
pub use privcall_core as core;
