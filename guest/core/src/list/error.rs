//! Why a compiled list body was refused.

use super::{BODY_VERSION, MAX_BODY_BYTES};
use crate::set::SetError;

/// Why a compiled list body was refused. Messages name the part of the
/// structure, never a number, inmate or facility.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListError {
    /// The body does not start with the magic bytes.
    BadMagic,
    /// The body layout version is not the one this code reads.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// Larger than [`MAX_BODY_BYTES`].
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The encoding is broken or truncated.
    Decode(String),
    /// Bytes follow the encoded list.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A structural rule is broken.
    Invalid(&'static str),
    /// The number set is broken.
    Set(SetError),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListError::BadMagic => write!(f, "not a compiled privcall list (bad magic)"),
            ListError::UnsupportedVersion { found } => write!(
                f,
                "list body version {found} is not supported (this build reads {BODY_VERSION})"
            ),
            ListError::TooLarge { bytes } => {
                write!(f, "list body of {bytes} bytes exceeds {MAX_BODY_BYTES}")
            }
            ListError::Decode(e) => write!(f, "list body is malformed: {e}"),
            ListError::TrailingBytes { count } => {
                write!(f, "list body has {count} trailing bytes")
            }
            ListError::Invalid(what) => write!(f, "list body is invalid: {what}"),
            ListError::Set(e) => write!(f, "list body's number set is invalid: {e}"),
        }
    }
}

impl std::error::Error for ListError {}

impl From<SetError> for ListError {
    fn from(e: SetError) -> Self {
        ListError::Set(e)
    }
}
