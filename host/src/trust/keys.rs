//! Ed25519 keys of the list authority: generation, PEM files (PKCS#8 for
//! secret keys, SPKI for public keys, so `openssl pkey` reads them too), key
//! ids, and the trust store a host verifies bundles against.

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::trust::edge::EdgeIdentity;
use crate::trust::files::{exposed_mode, write_private_new, write_public_new};
use crate::trust::inmate_key::InmateKey;

/// Short identifier of a public key: the first 8 bytes of its SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let [a, b, c, d, e, f, g, h, ..] = digest;
        KeyId([a, b, c, d, e, f, g, h])
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Errors reading, writing or trusting keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not a key of the expected kind.
    #[error("{path}: not an Ed25519 {kind} key in PEM form ({detail})")]
    Format {
        /// The file.
        path: PathBuf,
        /// `secret` or `public`.
        kind: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// A secret key file that other users may read.
    #[error("{path}: mode {mode:04o} lets other users read the secret key; chmod 600 it")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The same secret key was given twice to sign one bundle.
    #[error(
        "{path}: the same key as an earlier --key (key {id}); each signature needs its own key"
    )]
    SameSigningKey {
        /// The second file.
        path: PathBuf,
        /// The key's id.
        id: KeyId,
    },
    /// `keygen` never overwrites a key.
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The edge identity could not be read.
    #[error(transparent)]
    Identity(#[from] crate::trust::edge::EdgeKeyError),
    /// The inmate key could not be read.
    #[error(transparent)]
    InmateKey(#[from] crate::trust::inmate_key::InmateKeyError),
    /// No trusted key was given.
    #[error("the trust store is empty: pass at least one --trust KEY.pub")]
    EmptyTrustStore,
    /// The same key was given twice.
    #[error("key {0} is in the trust store twice")]
    DuplicateKey(KeyId),
    /// The threshold cannot be met by the store.
    #[error("threshold {threshold} is impossible with {keys} trusted key(s)")]
    BadThreshold {
        /// Signatures required.
        threshold: usize,
        /// Keys trusted.
        keys: usize,
    },
}

/// Generates a key pair and writes `NAME.key` (secret, owner-only) and
/// `NAME.pub`. Returns both paths and the key id.
pub fn keygen(name: &Path) -> Result<(PathBuf, PathBuf, KeyId), KeyError> {
    let secret_path = with_suffix(name, "key");
    let public_path = with_suffix(name, "pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    let signing = SigningKey::generate(&mut rand_core::OsRng);
    let verifying = signing.verifying_key();
    // PKCS#8 v1 (no public key inside): what OpenSSL 3.0's `pkey` reads.
    let keypair = KeypairBytes {
        secret_key: signing.to_bytes(),
        public_key: None,
    };
    let secret_pem = keypair
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Format {
            path: secret_path.clone(),
            kind: "secret",
            detail: e.to_string(),
        })?;
    let public_pem = verifying
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| KeyError::Format {
            path: public_path.clone(),
            kind: "public",
            detail: e.to_string(),
        })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    write_private_new(&secret_path, secret_pem.as_bytes()).map_err(io(&secret_path))?;
    write_public_new(&public_path, public_pem.as_bytes()).map_err(io(&public_path))?;
    Ok((secret_path, public_path, KeyId::of(&verifying)))
}

pub(crate) fn with_suffix(name: &Path, suffix: &str) -> PathBuf {
    let mut s = name.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// Reads a secret key written by [`keygen`] (PKCS#8 PEM), refusing a file
/// that other users may read. The text is wiped from memory after parsing
/// (and the key itself when dropped).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    check_private(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?,
    );
    // The parser's error text never contains key material.
    SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::Format {
        path: path.to_path_buf(),
        kind: "secret",
        detail: e.to_string(),
    })
}

/// Refuses a secret key file with any permission for group or others.
fn check_private(path: &Path) -> Result<(), KeyError> {
    match exposed_mode(path) {
        Ok(None) => Ok(()),
        Ok(Some(mode)) => Err(KeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        }),
        Err(source) => Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads the secret keys a bundle is signed with, in order, refusing the
/// same key twice (a bundle every host would refuse).
pub fn read_signing_keys(paths: &[PathBuf]) -> Result<Vec<SigningKey>, KeyError> {
    let mut keys: Vec<SigningKey> = Vec::with_capacity(paths.len());
    for path in paths {
        let key = read_signing_key(path)?;
        let id = KeyId::of(&key.verifying_key());
        if keys.iter().any(|k| KeyId::of(&k.verifying_key()) == id) {
            return Err(KeyError::SameSigningKey {
                path: path.clone(),
                id,
            });
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Reads a public key (SPKI PEM).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    VerifyingKey::from_public_key_pem(&text).map_err(|e| KeyError::Format {
        path: path.to_path_buf(),
        kind: "public",
        detail: e.to_string(),
    })
}

/// The public keys a host accepts bundles from, how many distinct trusted
/// signatures a bundle needs, and the edge identity that opens bundles
/// encrypted to this host.
#[derive(Clone, Debug)]
pub struct TrustStore {
    keys: Vec<(KeyId, VerifyingKey)>,
    threshold: usize,
    identities: Vec<EdgeIdentity>,
    inmate_keys: Vec<InmateKey>,
}

impl TrustStore {
    /// A store of `keys` requiring `threshold` distinct trusted signatures.
    pub fn new(keys: Vec<VerifyingKey>, threshold: usize) -> Result<TrustStore, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::EmptyTrustStore);
        }
        if threshold == 0 || threshold > keys.len() {
            return Err(KeyError::BadThreshold {
                threshold,
                keys: keys.len(),
            });
        }
        let mut entries: Vec<(KeyId, VerifyingKey)> =
            keys.into_iter().map(|k| (KeyId::of(&k), k)).collect();
        entries.sort_by_key(|(id, _)| *id);
        if let Some([(id, _), _]) = entries
            .windows(2)
            .find(|p| p.first().map(|e| e.0) == p.last().map(|e| e.0))
        {
            return Err(KeyError::DuplicateKey(*id));
        }
        Ok(TrustStore {
            keys: entries,
            threshold,
            identities: Vec::new(),
            inmate_keys: Vec::new(),
        })
    }

    /// The same store, opening bundles encrypted to `identity` too (an
    /// edge holds its old and new identity while the authority moves to
    /// the new one).
    #[must_use]
    pub fn with_identity(mut self, identity: EdgeIdentity) -> TrustStore {
        self.identities.push(identity);
        self
    }

    /// The same store, hashing inmate ids with `key` for lists keyed with
    /// it (several keys: one per list generation while keys rotate).
    #[must_use]
    pub fn with_inmate_key(mut self, key: InmateKey) -> TrustStore {
        self.inmate_keys.push(key);
        self
    }

    /// The inmate keys this host holds.
    pub fn inmate_keys(&self) -> &[InmateKey] {
        &self.inmate_keys
    }

    /// The edge identities this host holds.
    pub fn identities(&self) -> &[EdgeIdentity] {
        &self.identities
    }

    /// Reads the public key files and builds a store.
    pub fn from_files(paths: &[PathBuf], threshold: usize) -> Result<TrustStore, KeyError> {
        let keys = paths
            .iter()
            .map(|p| read_verifying_key(p))
            .collect::<Result<Vec<_>, _>>()?;
        TrustStore::new(keys, threshold)
    }

    /// The trusted key with this id.
    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys
            .binary_search_by_key(id, |(k, _)| *k)
            .ok()
            .and_then(|i| self.keys.get(i))
            .map(|(_, key)| key)
    }

    /// Distinct trusted signatures a bundle needs.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The ids of the trusted keys.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|(id, _)| *id)
    }
}
