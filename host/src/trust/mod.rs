//! What the host trusts, and why: the list authority's keys, the signed
//! bundle, the list it verified, and the state that keeps a restart from
//! rolling back to an older list.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a malformed bundle or a broken guest is an error the caller handles, never a panic"
)]

pub mod bundle;
pub mod edge;
pub mod fail_modes;
pub mod files;
pub mod inmate_key;
pub mod keys;
pub mod seal;
pub mod state;
pub mod verified;

pub use bundle::{
    check_prefix, seal, seal_windows, BundleError, BundleInfo, Header, Part, UnverifiedBundle,
    ENCRYPTED_FORMAT_VERSION, FORMAT_VERSION, MAGIC, MAX_BUNDLE_BYTES, MAX_RECIPIENTS,
    OLDEST_READABLE_VERSION,
};
pub use files::{exposed_mode, replace_private as write_private, PrivateFile};
pub use keys::{keygen, read_signing_key, read_signing_keys, KeyError, KeyId, TrustStore};
pub use verified::{read_verified, OpenError, VerifiedList, VerifiedWindows};
