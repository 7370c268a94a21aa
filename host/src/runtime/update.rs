//! List updates: where they come from, why one is refused, and how long one
//! took. [`RefusalKind`] is the one list of refusal kinds: the metric
//! labels, the status and the daemon's HTTP answers all read it.

use std::time::Duration;

use privcall_core::list::ListError;
use serde::Serialize;

use crate::runtime::guest::GuestError;
use crate::trust::bundle::BundleError;
use crate::trust::state::StateError;
use crate::trust::OpenError;

/// Where an update came from (for status and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateSource {
    /// Restored from the state directory at start.
    Restore,
    /// Read from a file (CLI, watched directory).
    File,
    /// `POST /v1/bundles`.
    Push,
    /// Fetched from the poll URL.
    Poll,
}

/// How long an update took ([`crate::Engine::apply_timed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplyTimings {
    /// Until the new list decided calls: verify, load into one guest
    /// instance, canaries, saving to the state directory, the swap.
    pub live: Duration,
    /// Until every instance had loaded it (the others are filled after
    /// the swap, once the old list is freed).
    pub total: Duration,
}

/// Why an update was refused. The live list is untouched in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// More bytes than the engine accepts.
    #[error("update is {bytes} bytes, more than the {max} allowed")]
    Oversized {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Framing, signatures, header or expiry.
    #[error(transparent)]
    Bundle(BundleError),
    /// The policy section of the body is malformed.
    #[error("list body is malformed")]
    Body(#[source] ListError),
    /// Not above the highest sequence ever accepted (replay or rollback).
    #[error("sequence {sequence} is not above the last accepted sequence {high_water} (replayed or rolled back)")]
    NotNewer {
        /// The update's sequence.
        sequence: u64,
        /// The high-water mark.
        high_water: u64,
    },
    /// So far above the high-water mark that one stolen key could lock
    /// every edge out (a sequence of `u64::MAX` leaves nothing above it).
    #[error(
        "sequence {sequence} is more than {max_jump} above the last accepted sequence {high_water}"
    )]
    SequenceJump {
        /// The update's sequence.
        sequence: u64,
        /// The high-water mark.
        high_water: u64,
        /// The largest step one update may take.
        max_jump: u64,
    },
    /// The guest refused or failed on the body.
    #[error(transparent)]
    Guest(GuestError),
    /// A canary call decided differently in the guest than when compiled.
    #[error("canary call {index} decided {got}, the compiler recorded {expected}")]
    Canary {
        /// Which canary (position in the header).
        index: usize,
        /// Expected `record`/reason.
        expected: String,
        /// What the guest said.
        got: String,
    },
    /// A window part for one facility more than an edge holds.
    #[error("this edge holds window parts for {max} facilities already")]
    TooManyParts {
        /// The limit.
        max: usize,
    },
    /// A window part where a list was expected, or the other way round.
    #[error(transparent)]
    WrongPart(OpenError),
    /// The accepted bundle could not be saved; it is not used either, so
    /// a restart cannot come back on an older list than the one deciding.
    #[error("saving the update failed")]
    Persist(#[source] StateError),
}

impl UpdateError {
    /// What kind of refusal this is (a metric label, an HTTP status).
    pub fn kind(&self) -> RefusalKind {
        use RefusalKind as K;
        match self {
            UpdateError::Oversized { .. } => K::Oversized,
            UpdateError::Bundle(b) => match b {
                BundleError::TooLarge { .. } => K::Oversized,
                BundleError::Truncated { .. } => K::Truncated,
                BundleError::TrailingBytes { .. } => K::TrailingBytes,
                BundleError::UnsupportedVersion { .. } => K::FormatVersion,
                BundleError::Unsigned => K::Unsigned,
                BundleError::BadSignature(_) | BundleError::DuplicateSigner(_) => K::BadSignature,
                BundleError::UnknownKeys { .. } => K::UnknownKey,
                BundleError::BelowThreshold { .. } => K::BelowThreshold,
                BundleError::Expired { .. } => K::Expired,
                BundleError::NoIdentity { .. }
                | BundleError::NotForThisEdge { .. }
                | BundleError::NoInmateKey { .. }
                | BundleError::WrongInmateKey { .. } => K::NotForThisEdge,
                _ => K::Malformed,
            },
            UpdateError::Body(_) | UpdateError::WrongPart(_) => K::Malformed,
            UpdateError::TooManyParts { .. } => K::Oversized,
            UpdateError::NotNewer { .. } => K::Replayed,
            UpdateError::SequenceJump { .. } => K::SequenceJump,
            UpdateError::Guest(_) => K::GuestRefused,
            UpdateError::Canary { .. } => K::CanaryMismatch,
            UpdateError::Persist(_) => K::PersistFailed,
        }
    }
}

impl From<OpenError> for UpdateError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Bundle(b) => UpdateError::Bundle(b),
            OpenError::Body(b) => UpdateError::Body(b),
            OpenError::Guest(g) => UpdateError::Guest(g),
            e @ OpenError::WrongPart { .. } => UpdateError::WrongPart(e),
        }
    }
}

/// The kinds of refused update: a fixed set, so metric labels never carry
/// a value from the update itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum RefusalKind {
    /// Larger than the engine accepts.
    Oversized,
    /// Not a bundle, or a header or body that does not decode.
    Malformed,
    /// Ends inside a section.
    Truncated,
    /// Bytes after the last signature.
    TrailingBytes,
    /// A bundle format this build does not read.
    FormatVersion,
    /// No signature at all.
    Unsigned,
    /// A trusted key's signature does not verify, or one key signed twice.
    BadSignature,
    /// No signature is by a trusted key.
    UnknownKey,
    /// Fewer valid trusted signatures than the threshold.
    BelowThreshold,
    /// Encrypted for other edges, or encrypted and this host has no
    /// identity.
    NotForThisEdge,
    /// Not above the high-water mark.
    Replayed,
    /// Further above the high-water mark than one update may go.
    SequenceJump,
    /// Past its expiry.
    Expired,
    /// The guest refused or failed on the body.
    GuestRefused,
    /// A canary call decided differently in the guest.
    CanaryMismatch,
    /// Could not be saved to the state directory.
    PersistFailed,
}

impl RefusalKind {
    /// Every kind, in the order metrics list them.
    pub const ALL: [RefusalKind; 16] = [
        RefusalKind::Oversized,
        RefusalKind::Malformed,
        RefusalKind::Truncated,
        RefusalKind::TrailingBytes,
        RefusalKind::FormatVersion,
        RefusalKind::Unsigned,
        RefusalKind::BadSignature,
        RefusalKind::UnknownKey,
        RefusalKind::BelowThreshold,
        RefusalKind::NotForThisEdge,
        RefusalKind::Replayed,
        RefusalKind::SequenceJump,
        RefusalKind::Expired,
        RefusalKind::GuestRefused,
        RefusalKind::CanaryMismatch,
        RefusalKind::PersistFailed,
    ];

    /// The label (metrics, status, the daemon's `kind` field).
    pub fn name(self) -> &'static str {
        match self {
            RefusalKind::Oversized => "oversized",
            RefusalKind::Malformed => "malformed",
            RefusalKind::Truncated => "truncated",
            RefusalKind::TrailingBytes => "trailing-bytes",
            RefusalKind::FormatVersion => "format-version",
            RefusalKind::Unsigned => "unsigned",
            RefusalKind::BadSignature => "bad-signature",
            RefusalKind::UnknownKey => "unknown-key",
            RefusalKind::BelowThreshold => "below-threshold",
            RefusalKind::NotForThisEdge => "not-for-this-edge",
            RefusalKind::Replayed => "replayed",
            RefusalKind::SequenceJump => "sequence-jump",
            RefusalKind::Expired => "expired",
            RefusalKind::GuestRefused => "guest-refused",
            RefusalKind::CanaryMismatch => "canary-mismatch",
            RefusalKind::PersistFailed => "persist-failed",
        }
    }

    /// The HTTP status the daemon answers a refused upload with.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalKind::Oversized => 413,
            RefusalKind::Replayed | RefusalKind::SequenceJump => 409,
            RefusalKind::BadSignature
            | RefusalKind::UnknownKey
            | RefusalKind::BelowThreshold
            | RefusalKind::NotForThisEdge
            | RefusalKind::Unsigned => 403,
            RefusalKind::PersistFailed => 500,
            _ => 422,
        }
    }

    /// Its position in [`Self::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl From<RefusalKind> for &'static str {
    fn from(kind: RefusalKind) -> &'static str {
        kind.name()
    }
}

impl std::fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::RefusalKind;

    /// `ALL` lists every kind once, in declaration order, so `index` finds
    /// each kind's counter.
    #[test]
    fn all_lists_every_kind_in_order() {
        for (i, kind) in RefusalKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind}");
        }
        let mut names: Vec<_> = RefusalKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RefusalKind::ALL.len());
    }
}
