//! The body's byte form: magic bytes, layout version, then the list in
//! bincode's fixed-width encoding; and reading it back.

use super::validate::check_policy;
use super::{CompiledList, Facility, ListError};
use crate::types::Policy;

/// Magic bytes at the start of a compiled list body.
pub const BODY_MAGIC: [u8; 4] = *b"PCLB";
/// Version of the body layout; bumped on any incompatible change.
pub const BODY_VERSION: u16 = 2;
/// The largest body a guest accepts (a 5M-number list is ~15 MB).
pub const MAX_BODY_BYTES: usize = 512 << 20;

/// The encoding after the header: fixed-width integers, so a field's size
/// does not depend on its value, and decoding stops at the body cap.
pub(super) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<MAX_BODY_BYTES>()
}

impl CompiledList {
    /// Encodes the body: magic, version, then the list.
    #[expect(
        clippy::expect_used,
        reason = "encoding these types into a Vec cannot fail: bincode's limit applies to decoding only"
    )]
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded =
            bincode::encode_to_vec(self, bincode_config()).expect("encoding a list into memory");
        let mut out = Vec::with_capacity(encoded.len() + 6);
        out.extend_from_slice(&BODY_MAGIC);
        out.extend_from_slice(&BODY_VERSION.to_le_bytes());
        out.extend_from_slice(&encoded);
        out
    }

    /// Decodes and fully validates a body. Everything is checked before the
    /// list is used, so a decision never meets a broken structure.
    pub fn from_bytes(bytes: &[u8]) -> Result<CompiledList, ListError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ListError::TooLarge { bytes: bytes.len() });
        }
        let rest = strip_header(bytes)?;
        let (list, used): (CompiledList, usize) =
            bincode::decode_from_slice(rest, bincode_config())
                .map_err(|e| ListError::Decode(e.to_string()))?;
        if used != rest.len() {
            return Err(ListError::TrailingBytes {
                count: rest.len() - used,
            });
        }
        list.validate()?;
        Ok(list)
    }

    /// Reads only the policies from the start of a body (the default policy
    /// and the facility table come first in the encoding), so the host can
    /// know every facility's fail mode without decoding the number set.
    pub fn policies_from_bytes(bytes: &[u8]) -> Result<(Policy, Vec<Facility>), ListError> {
        let rest = strip_header(bytes)?;
        let ((default_policy, facilities), _): ((Policy, Vec<Facility>), usize) =
            bincode::decode_from_slice(rest, bincode_config())
                .map_err(|e| ListError::Decode(e.to_string()))?;
        check_policy(&default_policy)?;
        for f in &facilities {
            check_policy(&f.policy)?;
        }
        Ok((default_policy, facilities))
    }
}

/// What follows the magic bytes and the layout version, once both are
/// checked.
pub(super) fn strip_header(bytes: &[u8]) -> Result<&[u8], ListError> {
    let rest = bytes.strip_prefix(&BODY_MAGIC).ok_or(ListError::BadMagic)?;
    let (version, rest) = rest.split_first_chunk().ok_or(ListError::BadMagic)?;
    let version = u16::from_le_bytes(*version);
    if version != BODY_VERSION {
        return Err(ListError::UnsupportedVersion { found: version });
    }
    Ok(rest)
}
