//! Writing a bundle: the list authority's side of `bundle.rs`. A
//! compiled list is sealed with its canaries and signed by every key.

use ed25519_dalek::{Signer, SigningKey};
use privcall_core::canary::canary_calls;
use privcall_core::list::CompiledList;

use super::bundle::{
    header_config, BundleError, Canary, Header, FORMAT_VERSION, MAGIC, MAX_CANARIES, MAX_RECIPIENTS,
};
use crate::trust::edge::{encrypt, Recipient};
use crate::trust::inmate_key::InmateKeyId;
use crate::trust::keys::KeyId;

/// What the list authority says about a list it seals: the header fields
/// that are not derived from the list or the keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleInfo {
    /// Strictly increasing per list authority.
    pub sequence: u64,
    /// When the list is issued (seconds since the epoch); its canaries are
    /// decided as of this time.
    pub issued_at: i64,
    /// When it goes stale (seconds since the epoch).
    pub expires_at: i64,
    /// Which facilities it is for (`all`, or a code list).
    pub scope: String,
    /// The edges that may read the list: the body is encrypted to them.
    /// Empty: the body is in clear.
    pub recipients: Vec<Recipient>,
    /// The key the list's inmate ids were hashed with
    /// ([`crate::Compiled::inmate_key`]), `None` when they are in clear.
    pub inmate_key: Option<InmateKeyId>,
}

impl BundleInfo {
    /// A bundle for every facility (`scope` = `all`).
    pub fn new(sequence: u64, issued_at: i64, expires_at: i64) -> BundleInfo {
        BundleInfo {
            sequence,
            issued_at,
            expires_at,
            scope: "all".into(),
            recipients: Vec::new(),
            inmate_key: None,
        }
    }
}

/// Seals a compiled list into a bundle: the header of `info` with canary
/// calls decided by the native core as of `info.issued_at`, the encoded
/// list, and a signature by each key (the first is the issuer).
///
/// With recipients, the body is encrypted to them first and the
/// signatures cover the ciphertext: a host verifies before it decrypts.
///
/// A host replays the canaries on its guest before the list goes live.
pub fn seal(
    list: &CompiledList,
    info: &BundleInfo,
    keys: &[SigningKey],
) -> Result<Vec<u8>, BundleError> {
    let header = Header {
        sequence: info.sequence,
        issued_at: info.issued_at,
        expires_at: info.expires_at,
        scope: info.scope.clone(),
        issuer: [0; 8],
        recipients: info.recipients.iter().map(|r| r.id().0).collect(),
        inmate_key: info.inmate_key.map(|k| k.0),
        canaries: canary_calls(list, info.issued_at, MAX_CANARIES)
            .into_iter()
            .map(|c| Canary {
                facility: c.facility,
                inmate: c.inmate,
                dialed: c.dialed,
                at: c.at,
                record: c.record,
                reason: c.reason.name().to_string(),
            })
            .collect(),
    };
    if info.recipients.len() > MAX_RECIPIENTS {
        return Err(BundleError::Encrypt(format!(
            "{} recipients, more than the {MAX_RECIPIENTS} a bundle names",
            info.recipients.len()
        )));
    }
    let body = list.to_bytes();
    if info.recipients.is_empty() {
        return sign(&header, &body, keys);
    }
    let sealed =
        encrypt(&body, &info.recipients).map_err(|e| BundleError::Encrypt(e.to_string()))?;
    sign(&header, &sealed, keys)
}

/// Frames and signs `body` under `header`; the first key is the issuer
/// (the header's `issuer` is set to it). [`seal`] is the way to make a
/// bundle of a list; this one lets tests sign any header and body.
pub fn sign(header: &Header, body: &[u8], keys: &[SigningKey]) -> Result<Vec<u8>, BundleError> {
    let issuer = keys.first().ok_or(BundleError::NoSigningKey)?;
    let header = Header {
        issuer: KeyId::of(&issuer.verifying_key()).0,
        ..header.clone()
    };
    let header_bytes = bincode::encode_to_vec(&header, header_config())
        .map_err(|e| BundleError::MalformedHeader(e.to_string()))?;
    let header_len =
        u32::try_from(header_bytes.len()).map_err(|_| BundleError::HeaderTooLarge {
            bytes: header_bytes.len(),
        })?;
    let mut out = Vec::with_capacity(body.len() + header_bytes.len() + 128);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let count = u16::try_from(keys.len())
        .map_err(|_| BundleError::TooManySignatures { count: keys.len() })?;
    let signatures: Vec<_> = keys
        .iter()
        .map(|k| (KeyId::of(&k.verifying_key()), k.sign(&out)))
        .collect();
    out.extend_from_slice(&count.to_le_bytes());
    for (id, sig) in signatures {
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&sig.to_bytes());
    }
    Ok(out)
}
