//! Lists encrypted to the edges that decide with them: each edge's key pair
//! (an age X25519 identity and its recipient), the files they live in, and
//! the encryption of a list body to a set of recipients.
//!
//! The construction is age's (age-encryption.org/v1: X25519 key agreement
//! per recipient wrapping a random file key, ChaCha20-Poly1305 over the
//! payload), through the `age` crate; privcall adds only the key ids that
//! let a host say whom a bundle was for.
//!
//! A bundle is encrypted, then signed: the signatures cover the ciphertext,
//! so a host checks them before the age decoder reads a byte of it (see
//! [`crate::VerifiedList::open`]).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::trust::files::{
    key_line, read_secret_text, write_private_new, write_public_new, SecretFileError,
};
use crate::trust::keys::with_suffix;

/// Short identifier of an edge's recipient key: the first 8 bytes of the
/// SHA-256 of its `age1…` text. Bundles name their recipients by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecipientId(pub [u8; 8]);

impl RecipientId {
    /// The id of `recipient`.
    pub fn of(recipient: &age::x25519::Recipient) -> RecipientId {
        let digest: [u8; 32] = Sha256::digest(recipient.to_string().as_bytes()).into();
        let [a, b, c, d, e, f, g, h, ..] = digest;
        RecipientId([a, b, c, d, e, f, g, h])
    }
}

impl fmt::Display for RecipientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// An edge's public key: what `compile --recipient` encrypts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    key: age::x25519::Recipient,
    id: RecipientId,
}

impl Recipient {
    /// Its key id.
    pub fn id(&self) -> RecipientId {
        self.id
    }

    /// Parses an `age1…` recipient.
    pub fn parse(text: &str) -> Option<Recipient> {
        let key: age::x25519::Recipient = text.trim().parse().ok()?;
        Some(Recipient {
            id: RecipientId::of(&key),
            key,
        })
    }
}

/// An edge's secret key: what opens the bundles encrypted to it.
#[derive(Clone)]
pub struct EdgeIdentity {
    key: age::x25519::Identity,
    id: RecipientId,
}

impl fmt::Debug for EdgeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        write!(f, "EdgeIdentity({})", self.id)
    }
}

impl EdgeIdentity {
    /// A new random identity.
    pub fn generate() -> EdgeIdentity {
        let key = age::x25519::Identity::generate();
        EdgeIdentity {
            id: RecipientId::of(&key.to_public()),
            key,
        }
    }

    /// The id of its recipient (the one bundles name).
    pub fn id(&self) -> RecipientId {
        self.id
    }

    /// Its public half.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            key: self.key.to_public(),
            id: self.id,
        }
    }
}

/// Errors reading or writing edge keys, or opening what was sealed to them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeKeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file holds no key of the expected kind.
    #[error("{path}: not an edge {kind} (expected one `{expected}` line)")]
    Format {
        /// The file.
        path: PathBuf,
        /// `identity` or `recipient`.
        kind: &'static str,
        /// How the key's line starts.
        expected: &'static str,
    },
    /// An identity file that other users may read.
    #[error("{path}: mode {mode:04o} lets other users read the edge identity; chmod 600 it")]
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
    /// The same recipient was given twice.
    #[error("{path}: recipient {id} was already given")]
    DuplicateRecipient {
        /// The second file.
        path: PathBuf,
        /// Its id.
        id: RecipientId,
    },
}

/// Generates an edge key pair and writes `NAME.identity` (secret,
/// owner-only) and `NAME.recipient`. Returns both paths and the id.
pub fn keygen_recipient(name: &Path) -> Result<(PathBuf, PathBuf, RecipientId), EdgeKeyError> {
    let secret_path = with_suffix(name, "identity");
    let public_path = with_suffix(name, "recipient");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(EdgeKeyError::Exists { path: path.clone() });
        }
    }
    let identity = EdgeIdentity::generate();
    let recipient = identity.recipient();
    let secret = {
        use age::secrecy::ExposeSecret;
        Zeroizing::new(format!(
            "# privcall edge identity: opens the lists encrypted to recipient {}.\n\
             # Keep it on this edge only, owner-only.\n{}\n",
            identity.id,
            identity.key.to_string().expose_secret()
        ))
    };
    let public = format!(
        "# privcall edge recipient {}: give it to the list authority.\n{}\n",
        identity.id, recipient.key
    );
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EdgeKeyError::Io { path, source }
    };
    write_private_new(&secret_path, secret.as_bytes()).map_err(io(&secret_path))?;
    write_public_new(&public_path, public.as_bytes()).map_err(io(&public_path))?;
    Ok((secret_path, public_path, identity.id))
}

/// Reads an identity written by [`keygen_recipient`] (or by `age-keygen`),
/// refusing a file that other users may read.
pub fn read_identity(path: &Path) -> Result<EdgeIdentity, EdgeKeyError> {
    let text = read_secret_text(path).map_err(|e| match e {
        SecretFileError::Io(source) => EdgeKeyError::Io {
            path: path.to_path_buf(),
            source,
        },
        SecretFileError::Exposed(mode) => EdgeKeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        },
    })?;
    let key: age::x25519::Identity = key_line(&text, "AGE-SECRET-KEY-1")
        .and_then(|line| line.parse().ok())
        .ok_or_else(|| EdgeKeyError::Format {
            path: path.to_path_buf(),
            kind: "identity",
            expected: "AGE-SECRET-KEY-1…",
        })?;
    Ok(EdgeIdentity {
        id: RecipientId::of(&key.to_public()),
        key,
    })
}

/// Reads a recipient file (`age1…`).
pub fn read_recipient(path: &Path) -> Result<Recipient, EdgeKeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| EdgeKeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    key_line(&text, "age1")
        .and_then(Recipient::parse)
        .ok_or_else(|| EdgeKeyError::Format {
            path: path.to_path_buf(),
            kind: "recipient",
            expected: "age1…",
        })
}

/// Reads recipient files, refusing the same recipient twice.
pub fn read_recipients(paths: &[PathBuf]) -> Result<Vec<Recipient>, EdgeKeyError> {
    let mut out: Vec<Recipient> = Vec::with_capacity(paths.len());
    for path in paths {
        let r = read_recipient(path)?;
        if out.iter().any(|o| o.id == r.id) {
            return Err(EdgeKeyError::DuplicateRecipient {
                path: path.clone(),
                id: r.id,
            });
        }
        out.push(r);
    }
    Ok(out)
}

/// Encrypts `body` so that only `recipients` can read it.
pub fn encrypt(body: &[u8], recipients: &[Recipient]) -> std::io::Result<Vec<u8>> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| &r.key as &dyn age::Recipient))
            .map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(body.len() + 256 + 128 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(body)?;
    writer.finish()?;
    Ok(out)
}

/// Decrypts what [`encrypt`] wrote for `identity`'s recipient, into a
/// buffer sized once (the plaintext is shorter than the ciphertext). The
/// error is age's, which never contains key material or plaintext.
pub fn decrypt(ciphertext: &[u8], identity: &EdgeIdentity) -> Result<Vec<u8>, age::DecryptError> {
    use std::io::Read;
    let decryptor = age::Decryptor::new_buffered(ciphertext)?;
    let mut reader = decryptor.decrypt(std::iter::once(&identity.key as &dyn age::Identity))?;
    let mut plaintext = Vec::with_capacity(ciphertext.len());
    reader.read_to_end(&mut plaintext)?;
    Ok(plaintext)
}
