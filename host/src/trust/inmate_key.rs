//! Keyed inmate ids: a list's prearranged windows can hold a keyed hash of
//! each inmate id instead of the id, so a list read without the key (a
//! stolen bundle and edge identity, a decrypted copy, a guest's memory)
//! names no inmate, and ids cannot be guessed back from their hashes.
//!
//! The hash is SipHash-2-4 with 128-bit output (a pseudorandom function
//! for short inputs, through the `siphasher` crate) of the facility code
//! and the inmate id, under a 128-bit key the list authority and its edges
//! share; its first 12 bytes are written as 16 base64url characters, so a
//! decision compares it as quickly as a short id. A host holding the key
//! hashes each call's inmate id before the guest sees it.

use std::fmt;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use siphasher::sip128::{Hasher128, SipHasher24};
use zeroize::{Zeroize, Zeroizing};

use crate::trust::files::{key_line, read_secret_text, write_private_new, SecretFileError};
use crate::trust::keys::with_suffix;

/// How long a tag is: 12 bytes of the hash in base64url.
pub const TAG_LEN: usize = 16;

/// The line prefix of an inmate key file's key.
const PREFIX: &str = "PRIVCALL-INMATE-KEY-";

/// Short identifier of an inmate key: the first 8 bytes of the SHA-256 of
/// a label and the key. Bundles name the key their windows were hashed
/// with by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InmateKeyId(pub [u8; 8]);

impl fmt::Display for InmateKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The key inmate ids are hashed with.
#[derive(Clone)]
pub struct InmateKey {
    key: [u8; 16],
    id: InmateKeyId,
}

impl Drop for InmateKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for InmateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        write!(f, "InmateKey({})", self.id)
    }
}

impl InmateKey {
    /// The key of these bytes.
    pub fn from_bytes(key: [u8; 16]) -> InmateKey {
        let mut h = Sha256::new();
        h.update(b"privcall inmate key id\0");
        h.update(key);
        let digest: [u8; 32] = h.finalize().into();
        let [a, b, c, d, e, f, g, i, ..] = digest;
        InmateKey {
            key,
            id: InmateKeyId([a, b, c, d, e, f, g, i]),
        }
    }

    /// A new random key.
    pub fn generate() -> InmateKey {
        let mut key = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
        InmateKey::from_bytes(key)
    }

    /// Its id.
    pub fn id(&self) -> InmateKeyId {
        self.id
    }

    /// What a list holds for `inmate` at `facility`: 16 characters.
    pub fn tag(&self, facility: &str, inmate: &str) -> String {
        let mut out = [0u8; TAG_LEN];
        self.tag_into(facility, inmate, &mut out).to_string()
    }

    /// [`Self::tag`] written into `out`, without allocating: every
    /// decision on a keyed list makes one.
    pub fn tag_into<'o>(
        &self,
        facility: &str,
        inmate: &str,
        out: &'o mut [u8; TAG_LEN],
    ) -> &'o str {
        let mut h = SipHasher24::new_with_key(&self.key);
        // Lengths first (little-endian on every host, as the compiler's), so
        // no two (facility, inmate) pairs hash the same bytes.
        h.write(&(facility.len() as u64).to_le_bytes());
        h.write(facility.as_bytes());
        h.write(&(inmate.len() as u64).to_le_bytes());
        h.write(inmate.as_bytes());
        let hash = h.finish128().as_bytes();
        let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(hash.get(..12).unwrap_or(&hash), out)
            .unwrap_or(0);
        // 12 bytes are always 16 base64 characters, ASCII.
        std::str::from_utf8(out.get(..written).unwrap_or_default()).unwrap_or_default()
    }
}

/// Errors reading or writing an inmate key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InmateKeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file holds no inmate key.
    #[error("{path}: not an inmate key (expected one `{PREFIX}…` line of 32 hex digits)")]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// A key file that other users may read.
    #[error("{path}: mode {mode:04o} lets other users read the inmate key; chmod 600 it")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `keygen` never overwrites a key.
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists {
        /// The file.
        path: PathBuf,
    },
}

/// Generates an inmate key and writes `NAME.inmatekey` (owner-only).
/// Returns its path and id.
pub fn keygen_inmate(name: &Path) -> Result<(PathBuf, InmateKeyId), InmateKeyError> {
    let path = with_suffix(name, "inmatekey");
    if path.exists() {
        return Err(InmateKeyError::Exists { path });
    }
    let key = InmateKey::generate();
    let text = Zeroizing::new(format!(
        "# privcall inmate key {}: hashes the inmate ids of prearranged windows.\n\
         # The list authority and every edge deciding its lists hold it; owner-only.\n\
         {PREFIX}{}\n",
        key.id,
        hex::encode(key.key)
    ));
    write_private_new(&path, text.as_bytes()).map_err(|source| InmateKeyError::Io {
        path: path.clone(),
        source,
    })?;
    Ok((path, key.id))
}

/// Reads a key written by [`keygen_inmate`], refusing a file that other
/// users may read.
pub fn read_inmate_key(path: &Path) -> Result<InmateKey, InmateKeyError> {
    let text = read_secret_text(path).map_err(|e| match e {
        SecretFileError::Io(source) => InmateKeyError::Io {
            path: path.to_path_buf(),
            source,
        },
        SecretFileError::Exposed(mode) => InmateKeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        },
    })?;
    let key = key_line(&text, PREFIX).and_then(|line| {
        let mut key = [0u8; 16];
        hex::decode_to_slice(line.get(PREFIX.len()..)?, &mut key)
            .ok()
            .map(|()| key)
    });
    key.map(InmateKey::from_bytes)
        .ok_or_else(|| InmateKeyError::Format {
            path: path.to_path_buf(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tags are 16 characters, depend on the key, the facility and the
    /// inmate, and never contain the id.
    #[test]
    fn tags() {
        let k = InmateKey::from_bytes([1; 16]);
        let t = k.tag("JCCC", "A1001");
        assert_eq!(t.len(), 16);
        assert_eq!(t, k.tag("JCCC", "A1001"));
        assert_ne!(t, k.tag("JCCC", "A1002"));
        assert_ne!(t, k.tag("WERDCC", "A1001"));
        assert_ne!(k.tag("JCC", "CA1001"), k.tag("JCCC", "A1001"));
        assert_ne!(t, InmateKey::from_bytes([2; 16]).tag("JCCC", "A1001"));
        assert!(!t.contains("A1001"));
        assert_ne!(k.id(), InmateKey::from_bytes([2; 16]).id());
    }

    /// The tag of a fixed key and id never changes (whatever the host's
    /// byte order or the crates' versions): an authority and its edges
    /// must agree on it, or every prearranged call would be recorded.
    const PINNED: &str = "nyaVlNkFTgCHDv5j";
    const PINNED_ID: &str = "acc17395cb2eeafe";

    #[test]
    fn tags_are_pinned() {
        let k = InmateKey::from_bytes(*b"privcall-test-k!");
        assert_eq!(k.tag("JCCC", "A1001"), PINNED);
        assert_eq!(k.id().to_string(), PINNED_ID);
    }
}
