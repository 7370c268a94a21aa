//! The signed bundle: a compiled list with a header, signed with Ed25519.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic "PRIVCALL" | format u16 | header_len u32 | header | body_len u64 | body
//! | sig_count u16 | sig_count × (key id [8] | Ed25519 signature [64])
//! ```
//!
//! Everything before `sig_count` is the *signed part*; each signature covers
//! it exactly, and its SHA-256 is the list's digest. A bundle is untrusted
//! until [`verify`] has checked the framing (cheap, bounded), the
//! signatures against the local trust store (never keys from the file),
//! and only then parsed the header. The body is parsed and validated by the
//! guest (and natively by [`privcall_core`]) after that.

use bincode::{Decode, Encode};
use sha2::{Digest, Sha256};

pub use super::seal::{seal, seal_windows, sign, BundleInfo};
use crate::trust::edge::RecipientId;
use crate::trust::inmate_key::InmateKeyId;
use crate::trust::keys::{KeyId, TrustStore};

/// First bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"PRIVCALL";
/// The newest bundle format this build writes, the list body's encoding
/// included (4: the header says which part of a fleet's list the bundle
/// carries; 3: it names the recipients of an encrypted body and the key of
/// hashed inmate ids). Each bundle is written in the oldest format that
/// holds its header, so edges not yet upgraded keep taking whole lists.
pub const FORMAT_VERSION: u16 = 4;
/// The format of a whole list encrypted or with hashed inmate ids.
pub const ENCRYPTED_FORMAT_VERSION: u16 = 3;
/// The oldest format this build still reads: version 2 is version 3
/// without recipients (a clear body), so a host upgraded over a saved
/// list keeps deciding with it.
pub const OLDEST_READABLE_VERSION: u16 = 2;
/// The largest bundle accepted: the largest body plus framing.
pub const MAX_BUNDLE_BYTES: usize = privcall_core::list::MAX_BODY_BYTES + (1 << 16);
/// Headers are small; a large one is an attack or a bug.
pub const MAX_HEADER_BYTES: usize = 4096;
/// More signatures than this is not a threshold scheme, it's padding.
pub const MAX_SIGNATURES: usize = 16;
/// Most edges one bundle is encrypted to (a fleet's shared part goes to
/// every edge of a region; a header stays under its 4 KiB).
pub const MAX_RECIPIENTS: usize = 256;

/// The signed header of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Header {
    /// Strictly increasing per list authority; a host refuses anything not
    /// above the last sequence it accepted.
    pub sequence: u64,
    /// When the authority compiled it (seconds since the epoch).
    pub issued_at: i64,
    /// After this the list is stale (seconds since the epoch).
    pub expires_at: i64,
    /// Which facilities the list is for (`all`, or a code list).
    pub scope: String,
    /// The key that compiled it: the first signer ([`sign`] sets it).
    pub issuer: [u8; 8],
    /// The edges the body is encrypted to, by [`RecipientId`]; empty when
    /// the body is in clear.
    pub recipients: Vec<[u8; 8]>,
    /// The inmate key the windows' inmate ids are hashed with, by
    /// [`InmateKeyId`]; `None` when they are in clear.
    pub inmate_key: Option<[u8; 8]>,
    /// Which part of a list the body is: a whole list, or a fleet's
    /// registry part or one facility's window part.
    pub part: Part,
    /// Calls with the decisions the compiler's native core gave them. A
    /// host replays them on the freshly loaded guest before swapping it in,
    /// so a list the guest reads differently never goes live.
    pub canaries: Vec<Canary>,
}

/// Most canaries one header carries (they keep the header small).
pub const MAX_CANARIES: usize = 16;

/// Which part of a list a bundle carries (see
/// [`privcall_core::list::fleet`]). Each part has its own sequence and
/// high-water mark at an edge: whole lists and registry parts share one,
/// each facility's window parts have their own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Part {
    /// A whole list: numbers, policies and every window.
    Whole,
    /// A fleet's registry part: numbers, policies and every facility of
    /// the fleet; the windows come in window parts.
    Registry,
    /// One facility's prearranged windows.
    Windows {
        /// The facility code.
        facility: String,
    },
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Whole => f.write_str("list"),
            Part::Registry => f.write_str("registry part"),
            Part::Windows { facility } => write!(f, "window part for {facility}"),
        }
    }
}

/// One canary call and its expected decision.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Canary {
    /// Facility code.
    pub facility: String,
    /// Inmate id.
    pub inmate: String,
    /// The number as dialed.
    pub dialed: String,
    /// Decision time (seconds since the epoch).
    pub at: i64,
    /// Whether the call must be recorded.
    pub record: bool,
    /// The contract name of the expected reason.
    pub reason: String,
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle is {bytes} bytes, more than the {MAX_BUNDLE_BYTES} allowed")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// Not a privcall bundle.
    #[error("not a privcall bundle (bad magic bytes)")]
    BadMagic,
    /// A format this build does not read.
    #[error("bundle format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// The file ends inside a section.
    #[error("bundle is truncated: it ends inside the {section}")]
    Truncated {
        /// Which section.
        section: &'static str,
    },
    /// Bytes after the last signature.
    #[error("bundle has {count} trailing bytes after its signatures")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The header length field is out of bounds.
    #[error("bundle header of {bytes} bytes exceeds {MAX_HEADER_BYTES}")]
    HeaderTooLarge {
        /// Its claimed size.
        bytes: usize,
    },
    /// No signature at all.
    #[error("bundle is unsigned")]
    Unsigned,
    /// Too many signatures.
    #[error("bundle has {count} signatures, more than {MAX_SIGNATURES}")]
    TooManySignatures {
        /// How many.
        count: usize,
    },
    /// The same key signed twice (it must not count twice).
    #[error("bundle carries two signatures by key {0}")]
    DuplicateSigner(KeyId),
    /// A trusted key's signature does not match: the bundle was altered.
    #[error("signature by trusted key {0} does not verify: the bundle was altered or corrupted")]
    BadSignature(KeyId),
    /// No signature is by a trusted key.
    #[error("no signature is by a trusted key (signed by: {signers})")]
    UnknownKeys {
        /// The signing key ids, comma-separated.
        signers: String,
    },
    /// Fewer valid trusted signatures than the threshold.
    #[error("bundle has {valid} valid trusted signature(s); {required} required")]
    BelowThreshold {
        /// Valid trusted signatures found.
        valid: usize,
        /// The trust store's threshold.
        required: usize,
    },
    /// The signed header does not decode.
    #[error("bundle header is malformed: {0}")]
    MalformedHeader(String),
    /// [`seal`] could not encrypt the body.
    #[error("cannot encrypt the list body: {0}")]
    Encrypt(String),
    /// [`seal`] was given no key to sign with.
    #[error("a bundle needs at least one signing key")]
    NoSigningKey,
    /// Encrypted, and this host has no edge identity.
    #[error("bundle is encrypted (for recipient(s) {recipients}) and this host has no edge identity (--identity)")]
    NoIdentity {
        /// The recipients' ids, comma-separated.
        recipients: String,
    },
    /// Encrypted for other edges.
    #[error("bundle is encrypted for recipient(s) {recipients}, not for this edge ({ours})")]
    NotForThisEdge {
        /// This host's recipient ids, comma-separated.
        ours: String,
        /// The recipients' ids, comma-separated.
        recipients: String,
    },
    /// Names this edge but does not decrypt with its identity.
    #[error("bundle names this edge ({ours}) but does not decrypt with its identity: {detail}")]
    Undecryptable {
        /// This host's recipient id.
        ours: RecipientId,
        /// age's reason (never key material).
        detail: String,
    },
    /// The windows' inmate ids are keyed and this host has no inmate key.
    #[error("the list's inmate ids are hashed with inmate key {theirs} and this host has no inmate key (--inmate-key)")]
    NoInmateKey {
        /// The list's key id.
        theirs: InmateKeyId,
    },
    /// The windows' inmate ids are keyed with another key.
    #[error(
        "the list's inmate ids are hashed with inmate key {theirs}, not with this host's ({ours})"
    )]
    WrongInmateKey {
        /// This host's key ids, comma-separated.
        ours: String,
        /// The list's key id.
        theirs: InmateKeyId,
    },
    /// Past `expires_at`.
    #[error("bundle expired at {expires_at} (now {now})")]
    Expired {
        /// RFC 3339.
        expires_at: String,
        /// RFC 3339.
        now: String,
    },
}

/// The header's encoding: fixed-width integers, at most [`MAX_HEADER_BYTES`].
pub(super) fn header_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<MAX_HEADER_BYTES>()
}

/// The sections of a bundle, located but not yet trusted.
#[derive(Debug)]
pub struct Framing<'a> {
    /// The format version.
    pub version: u16,
    /// The signed part (everything before the signatures).
    pub signed: &'a [u8],
    /// The encoded header.
    pub header: &'a [u8],
    /// The compiled list body.
    pub body: &'a [u8],
    /// Key ids and signatures.
    pub signatures: Vec<(KeyId, [u8; 64])>,
}

impl Framing<'_> {
    /// The list's digest: SHA-256 of the signed part.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.signed).into()
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, section: &'static str) -> Result<&'a [u8], BundleError> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or(BundleError::Truncated { section })?;
        let end = self.pos + s.len();
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, section: &'static str) -> Result<[u8; N], BundleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, section)?);
        Ok(a)
    }
}

/// Whether this build reads bundles of format `version`.
fn readable(version: u16) -> bool {
    (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version)
}

/// Locates the sections of a bundle, checking sizes and that nothing
/// follows the last signature. Trusts nothing.
pub fn frame(bytes: &[u8]) -> Result<Framing<'_>, BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge { bytes: bytes.len() });
    }
    let mut r = Reader { bytes, pos: 0 };
    let magic: [u8; 8] = r.array("magic").map_err(|_| BundleError::BadMagic)?;
    if magic != MAGIC {
        return Err(BundleError::BadMagic);
    }
    let version = u16::from_le_bytes(r.array("format version")?);
    if !readable(version) {
        return Err(BundleError::UnsupportedVersion { found: version });
    }
    let header_len = u32::from_le_bytes(r.array("header length")?) as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(BundleError::HeaderTooLarge { bytes: header_len });
    }
    let header = r.take(header_len, "header")?;
    let body_len = u64::from_le_bytes(r.array("body length")?);
    let body_len =
        usize::try_from(body_len).map_err(|_| BundleError::Truncated { section: "body" })?;
    let body = r.take(body_len, "body")?;
    let signed = bytes
        .get(..r.pos)
        .ok_or(BundleError::Truncated { section: "body" })?;
    let count = usize::from(u16::from_le_bytes(r.array("signature count")?));
    if count == 0 {
        return Err(BundleError::Unsigned);
    }
    if count > MAX_SIGNATURES {
        return Err(BundleError::TooManySignatures { count });
    }
    let mut signatures = Vec::with_capacity(count);
    for _ in 0..count {
        let id = KeyId(r.array("signatures")?);
        let sig: [u8; 64] = r.array("signatures")?;
        signatures.push((id, sig));
    }
    if r.pos != bytes.len() {
        return Err(BundleError::TrailingBytes {
            count: bytes.len() - r.pos,
        });
    }
    Ok(Framing {
        version,
        signed,
        header,
        body,
        signatures,
    })
}

/// What the first bytes of a bundle in transit show, so that a receiver
/// refuses a bad upload before reading the rest: the magic, the format
/// version and the header's length, then, once `prefix` reaches it, the
/// body's length. `Ok(Some(n))`: every length is known and the whole bundle
/// is at least `n` bytes; `Ok(None)`: nothing wrong so far, more bytes tell
/// more. Trusts nothing; [`frame`] and the signatures still decide.
pub fn check_prefix(prefix: &[u8]) -> Result<Option<usize>, BundleError> {
    let seen = prefix.len().min(MAGIC.len());
    if prefix.get(..seen) != MAGIC.get(..seen) {
        return Err(BundleError::BadMagic);
    }
    let mut r = Reader {
        bytes: prefix,
        pos: 0,
    };
    let Ok(_) = r.array::<8>("magic") else {
        return Ok(None);
    };
    let Ok(version) = r.array("format version").map(u16::from_le_bytes) else {
        return Ok(None);
    };
    if !readable(version) {
        return Err(BundleError::UnsupportedVersion { found: version });
    }
    let Ok(header_len) = r.array("header length").map(u32::from_le_bytes) else {
        return Ok(None);
    };
    let header_len = header_len as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(BundleError::HeaderTooLarge { bytes: header_len });
    }
    let (Ok(_), Ok(body_len)) = (
        r.take(header_len, "header"),
        r.array("body length").map(u64::from_le_bytes),
    ) else {
        return Ok(None);
    };
    // Body, signature count and one signature follow what was read.
    let least = usize::try_from(body_len)
        .ok()
        .and_then(|b| r.pos.checked_add(b)?.checked_add(2 + 8 + 64))
        .unwrap_or(usize::MAX);
    if least > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge { bytes: least });
    }
    Ok(Some(least))
}

/// A bundle whose signatures met the trust store's threshold.
#[derive(Debug)]
pub struct Verified<'a> {
    /// The decoded header.
    pub header: Header,
    /// The compiled list body (validated later, by whoever loads it).
    pub body: &'a [u8],
    /// SHA-256 of the signed part: names this list in every decision.
    pub digest: [u8; 32],
    /// The trusted keys whose signatures verified.
    pub signers: Vec<KeyId>,
}

/// Verifies a bundle against the trust store: framing, then every
/// signature by a trusted key (one that fails means tampering), then the
/// threshold, and only then decodes the header.
pub fn verify<'a>(bytes: &'a [u8], trust: &TrustStore) -> Result<Verified<'a>, BundleError> {
    let framing = frame(bytes)?;
    let mut ids: Vec<KeyId> = framing.signatures.iter().map(|(id, _)| *id).collect();
    ids.sort();
    if let Some(&[id, _]) = ids.windows(2).find(|p| p.first() == p.last()) {
        return Err(BundleError::DuplicateSigner(id));
    }
    let mut signers = Vec::new();
    for (id, sig) in &framing.signatures {
        let Some(key) = trust.get(id) else {
            continue;
        };
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        key.verify_strict(framing.signed, &sig)
            .map_err(|_| BundleError::BadSignature(*id))?;
        signers.push(*id);
    }
    if signers.is_empty() {
        let names: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        return Err(BundleError::UnknownKeys {
            signers: names.join(", "),
        });
    }
    if signers.len() < trust.threshold() {
        return Err(BundleError::BelowThreshold {
            valid: signers.len(),
            required: trust.threshold(),
        });
    }
    let header = decode_header(framing.header, framing.version)?;
    Ok(Verified {
        header,
        body: framing.body,
        digest: framing.digest(),
        signers,
    })
}

/// A bundle read without checking its signatures: what `privcall inspect`
/// shows. Nothing here is trusted; [`crate::VerifiedList::open`] is the way
/// to use a list.
#[derive(Debug)]
pub struct UnverifiedBundle<'a> {
    /// The format version.
    pub version: u16,
    /// The header, decoded but not authenticated.
    pub header: Header,
    /// The compiled list body as signed (encrypted when the header names
    /// recipients).
    pub body: &'a [u8],
    /// SHA-256 of the signed part (the list's digest once verified), hex.
    pub digest: String,
    /// Who claims to have signed it.
    pub signers: Vec<KeyId>,
}

impl UnverifiedBundle<'_> {
    /// Frames `bytes` and decodes the header, checking no signature.
    pub fn read(bytes: &[u8]) -> Result<UnverifiedBundle<'_>, BundleError> {
        let framing = frame(bytes)?;
        Ok(UnverifiedBundle {
            version: framing.version,
            header: decode_header(framing.header, framing.version)?,
            body: framing.body,
            digest: hex::encode(framing.digest()),
            signers: framing.signatures.iter().map(|(id, _)| *id).collect(),
        })
    }
}

/// Decodes a header of format `version`, requiring that it uses every byte.
pub fn decode_header(bytes: &[u8], version: u16) -> Result<Header, BundleError> {
    let malformed = |e: bincode::error::DecodeError| BundleError::MalformedHeader(e.to_string());
    let (header, used): (Header, usize) = match version {
        OLDEST_READABLE_VERSION => {
            let (h, used): (HeaderV2, usize) =
                bincode::decode_from_slice(bytes, header_config()).map_err(malformed)?;
            (h.into(), used)
        }
        ENCRYPTED_FORMAT_VERSION => {
            let (h, used): (HeaderV3, usize) =
                bincode::decode_from_slice(bytes, header_config()).map_err(malformed)?;
            (h.into(), used)
        }
        _ => bincode::decode_from_slice(bytes, header_config()).map_err(malformed)?,
    };
    if let Part::Windows { facility } = &header.part {
        if facility.is_empty() || facility.len() > privcall_core::list::fleet::MAX_CODE_BYTES {
            return Err(BundleError::MalformedHeader(
                "a window part's facility code is empty or too long".into(),
            ));
        }
    }
    if used != bytes.len() {
        return Err(BundleError::MalformedHeader(format!(
            "{} unused bytes",
            bytes.len() - used
        )));
    }
    if header.expires_at <= header.issued_at {
        return Err(BundleError::MalformedHeader(
            "expires_at is not after issued_at".into(),
        ));
    }
    if header.recipients.len() > MAX_RECIPIENTS {
        return Err(BundleError::MalformedHeader(format!(
            "{} recipients, more than {MAX_RECIPIENTS}",
            header.recipients.len()
        )));
    }
    let mut ids = header.recipients.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != header.recipients.len() {
        return Err(BundleError::MalformedHeader(
            "a recipient is named twice".into(),
        ));
    }
    Ok(header)
}

/// The header of format 2: no recipients, no inmate key. A bundle that
/// needs neither is written in this format, so edges not yet upgraded keep
/// taking the authority's lists.
#[derive(Encode, Decode)]
pub(super) struct HeaderV2 {
    sequence: u64,
    issued_at: i64,
    expires_at: i64,
    scope: String,
    issuer: [u8; 8],
    canaries: Vec<Canary>,
}

impl HeaderV2 {
    /// `header` in format 2, when it needs nothing format 3 added.
    pub(super) fn of(header: &Header) -> Option<HeaderV2> {
        (header.recipients.is_empty() && header.inmate_key.is_none() && header.part == Part::Whole)
            .then(|| HeaderV2 {
                sequence: header.sequence,
                issued_at: header.issued_at,
                expires_at: header.expires_at,
                scope: header.scope.clone(),
                issuer: header.issuer,
                canaries: header.canaries.clone(),
            })
    }
}

impl From<HeaderV2> for Header {
    fn from(h: HeaderV2) -> Header {
        Header {
            sequence: h.sequence,
            issued_at: h.issued_at,
            expires_at: h.expires_at,
            scope: h.scope,
            issuer: h.issuer,
            recipients: Vec::new(),
            inmate_key: None,
            part: Part::Whole,
            canaries: h.canaries,
        }
    }
}

/// The header of format 3: format 4 without the part (always a whole
/// list).
#[derive(Encode, Decode)]
pub(super) struct HeaderV3 {
    sequence: u64,
    issued_at: i64,
    expires_at: i64,
    scope: String,
    issuer: [u8; 8],
    recipients: Vec<[u8; 8]>,
    inmate_key: Option<[u8; 8]>,
    canaries: Vec<Canary>,
}

impl HeaderV3 {
    /// `header` in format 3, when it is a whole list.
    pub(super) fn of(header: &Header) -> Option<HeaderV3> {
        (header.part == Part::Whole).then(|| HeaderV3 {
            sequence: header.sequence,
            issued_at: header.issued_at,
            expires_at: header.expires_at,
            scope: header.scope.clone(),
            issuer: header.issuer,
            recipients: header.recipients.clone(),
            inmate_key: header.inmate_key,
            canaries: header.canaries.clone(),
        })
    }
}

impl From<HeaderV3> for Header {
    fn from(h: HeaderV3) -> Header {
        Header {
            sequence: h.sequence,
            issued_at: h.issued_at,
            expires_at: h.expires_at,
            scope: h.scope,
            issuer: h.issuer,
            recipients: h.recipients,
            inmate_key: h.inmate_key,
            part: Part::Whole,
            canaries: h.canaries,
        }
    }
}

impl Header {
    /// The recipients' ids, comma-separated, for messages.
    pub fn recipient_list(&self) -> String {
        let ids: Vec<String> = self
            .recipients
            .iter()
            .map(|&r| RecipientId(r).to_string())
            .collect();
        ids.join(", ")
    }
}
