//! Writing a bundle: the list authority's side of `bundle.rs`. A
//! compiled list is sealed with its canaries and signed by every key.

use ed25519_dalek::{Signer, SigningKey};
use privcall_core::canary::{canary_calls, inmate_key_of};
use privcall_core::list::CompiledList;

use privcall_core::list::fleet::WindowPart;

use super::bundle::{
    header_config, BundleError, Canary, Header, HeaderV2, HeaderV3, Part, ENCRYPTED_FORMAT_VERSION,
    FORMAT_VERSION, MAGIC, MAX_BUNDLE_BYTES, MAX_CANARIES, MAX_HEADER_BYTES, MAX_RECIPIENTS,
    OLDEST_READABLE_VERSION,
};
use crate::trust::edge::{encrypt, Recipient};
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
    /// A whole list or a fleet's registry part ([`seal`]); [`seal_windows`]
    /// sets its own.
    pub part: Part,
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
            part: Part::Whole,
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
        part: info.part.clone(),
        // From the list itself (its marker window), never from the caller:
        // hashed ids never ship under a header that says they are clear.
        inmate_key: inmate_key_of(list),
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
    if matches!(header.part, Part::Windows { .. }) {
        return Err(BundleError::MalformedHeader(
            "a list is sealed as a whole list or a registry part".into(),
        ));
    }
    seal_body(&header, &list.to_bytes(), &info.recipients, keys)
}

/// Seals one facility's window part (see [`privcall_core::list::fleet`]):
/// the header names the facility and the part's inmate key and carries no
/// canaries (the registry part's check the merged list).
pub fn seal_windows(
    part: &WindowPart,
    info: &BundleInfo,
    keys: &[SigningKey],
) -> Result<Vec<u8>, BundleError> {
    let header = Header {
        sequence: info.sequence,
        issued_at: info.issued_at,
        expires_at: info.expires_at,
        scope: part.facility.clone(),
        issuer: [0; 8],
        recipients: info.recipients.iter().map(|r| r.id().0).collect(),
        inmate_key: part.inmate_key,
        part: Part::Windows {
            facility: part.facility.clone(),
        },
        canaries: Vec::new(),
    };
    seal_body(&header, &part.to_bytes(), &info.recipients, keys)
}

/// Encrypts `body` to `recipients` (none: clear) and signs it under
/// `header`.
fn seal_body(
    header: &Header,
    body: &[u8],
    recipients: &[Recipient],
    keys: &[SigningKey],
) -> Result<Vec<u8>, BundleError> {
    let mut ids: Vec<_> = recipients.iter().map(Recipient::id).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|p| p.first() == p.last()) {
        return Err(BundleError::Encrypt(format!(
            "recipient {} is given twice",
            pair.first().map(ToString::to_string).unwrap_or_default()
        )));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(BundleError::Encrypt(format!(
            "{} recipients, more than the {MAX_RECIPIENTS} a bundle names",
            recipients.len()
        )));
    }
    if recipients.is_empty() {
        return sign(header, body, keys);
    }
    let sealed = encrypt(body, recipients).map_err(|e| BundleError::Encrypt(e.to_string()))?;
    sign(header, &sealed, keys)
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
    let encoded = match (HeaderV2::of(&header), HeaderV3::of(&header)) {
        (Some(v2), _) => {
            bincode::encode_to_vec(&v2, header_config()).map(|b| (OLDEST_READABLE_VERSION, b))
        }
        (None, Some(v3)) => {
            bincode::encode_to_vec(&v3, header_config()).map(|b| (ENCRYPTED_FORMAT_VERSION, b))
        }
        (None, None) => {
            bincode::encode_to_vec(&header, header_config()).map(|b| (FORMAT_VERSION, b))
        }
    };
    let (version, header_bytes) =
        encoded.map_err(|e| BundleError::MalformedHeader(e.to_string()))?;
    // What every edge would refuse is refused here.
    if header_bytes.len() > MAX_HEADER_BYTES {
        return Err(BundleError::HeaderTooLarge {
            bytes: header_bytes.len(),
        });
    }
    let total = MAGIC.len() + 2 + 4 + header_bytes.len() + 8 + body.len() + 2 + 72 * keys.len();
    if total > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge { bytes: total });
    }
    let header_len =
        u32::try_from(header_bytes.len()).map_err(|_| BundleError::HeaderTooLarge {
            bytes: header_bytes.len(),
        })?;
    let mut out = Vec::with_capacity(body.len() + header_bytes.len() + 128);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
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
