//! A bundle whose signatures verified, with what the host itself reads of
//! it: its identity, freshness and every facility's fail mode. The body is
//! checked by whoever loads it (the guest, or the native core).

use privcall_core::list::fleet::{self, WindowPart};
use privcall_core::list::{CompiledList, Facility, ListError};
use privcall_core::types::{self as core, Call, FailMode, Policy};
use sha2::{Digest as _, Sha256};

use crate::decision::{Decision, Digest, ListId};
use crate::runtime::GuestError;
use crate::trust::bundle::{self, BundleError, Header, Part};
use crate::trust::edge;
use crate::trust::inmate_key::{InmateKey, InmateKeyId, TAG_LEN};
use crate::trust::keys::{KeyId, TrustStore};

/// Why a bundle could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Framing, signature or header.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The body's policy section is malformed.
    #[error("list body is malformed")]
    Body(#[source] ListError),
    /// The guest refused the body or failed while loading it.
    #[error(transparent)]
    Guest(#[from] GuestError),
    /// A window part where a list was expected, or the other way round.
    #[error("the bundle is a {found}, not a {expected}")]
    WrongPart {
        /// What the header says.
        found: String,
        /// What was asked for.
        expected: &'static str,
    },
}

/// A bundle whose signatures met the trust store's threshold.
#[derive(Clone)]
pub struct VerifiedList {
    /// The signed header.
    pub header: Header,
    /// SHA-256 of the signed part, hex.
    pub digest: Digest,
    /// Trusted keys whose signatures verified.
    pub signers: Vec<KeyId>,
    /// The compiled list body (validated by whoever loads it).
    pub body: Vec<u8>,
    default_policy: Policy,
    facilities: Vec<Facility>,
    inmate_key: Option<InmateKey>,
}

/// The list body in clear: as signed, or decrypted with this edge's
/// identity when the header names recipients. Called only on a verified
/// bundle, so the age decoder reads nothing the authority did not sign.
fn readable_body(
    header: &Header,
    signed_body: &[u8],
    trust: &TrustStore,
) -> Result<Vec<u8>, BundleError> {
    if header.recipients.is_empty() {
        return Ok(signed_body.to_vec());
    }
    if trust.identities().is_empty() {
        return Err(BundleError::NoIdentity {
            recipients: header.recipient_list(),
        });
    }
    let Some(identity) = trust
        .identities()
        .iter()
        .find(|i| header.recipients.contains(&i.id().0))
    else {
        let ours: Vec<String> = trust
            .identities()
            .iter()
            .map(|i| i.id().to_string())
            .collect();
        return Err(BundleError::NotForThisEdge {
            ours: ours.join(", "),
            recipients: header.recipient_list(),
        });
    };
    let ours = identity.id();
    edge::decrypt(signed_body, identity).map_err(|e| BundleError::Undecryptable {
        ours,
        detail: e.to_string(),
    })
}

impl std::fmt::Debug for VerifiedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body (perhaps decrypted) and the inmate key are never shown.
        f.debug_struct("VerifiedList")
            .field("header", &self.header)
            .field("digest", &self.digest)
            .field("signers", &self.signers)
            .field("body_bytes", &self.body.len())
            .field("inmate_key", &self.inmate_key)
            .finish_non_exhaustive()
    }
}

/// A bundle checked as `privcall verify` and `inspect` check one: the
/// signatures against `trust`, then the body in clear when it is clear or
/// when the trust store's identity opens it (`None`: encrypted, and this
/// host has no identity). Needs no inmate key: nothing is decided.
pub fn read_verified<'b>(
    bytes: &'b [u8],
    trust: &TrustStore,
) -> Result<(bundle::Verified<'b>, Option<Vec<u8>>), BundleError> {
    let verified = bundle::verify(bytes, trust)?;
    let body = if verified.header.recipients.is_empty() || !trust.identities().is_empty() {
        Some(readable_body(&verified.header, verified.body, trust)?)
    } else {
        None
    };
    Ok((verified, body))
}

/// The host's inmate key when the header says the ids are keyed: it must
/// be the key they were hashed with, or no prearranged window would ever
/// match.
fn inmate_key(header: &Header, trust: &TrustStore) -> Result<Option<InmateKey>, BundleError> {
    let Some(theirs) = header.inmate_key.map(InmateKeyId) else {
        return Ok(None);
    };
    if let Some(k) = trust.inmate_keys().iter().find(|k| k.id() == theirs) {
        return Ok(Some(k.clone()));
    }
    if trust.inmate_keys().is_empty() {
        return Err(BundleError::NoInmateKey { theirs });
    }
    let ours: Vec<String> = trust
        .inmate_keys()
        .iter()
        .map(|k| k.id().to_string())
        .collect();
    Err(BundleError::WrongInmateKey {
        ours: ours.join(", "),
        theirs,
    })
}

/// One facility's window part whose signatures verified, decrypted and
/// decoded: what an edge merges into a registry part
/// ([`VerifiedList::combine`]).
#[derive(Clone)]
pub struct VerifiedWindows {
    /// The signed header.
    pub header: Header,
    /// SHA-256 of the signed part.
    pub digest: [u8; 32],
    /// The facility's windows.
    pub part: WindowPart,
}

impl std::fmt::Debug for VerifiedWindows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The windows (inmate ids, numbers, times) are never shown.
        f.debug_struct("VerifiedWindows")
            .field("header", &self.header)
            .field("windows", &self.part.windows.len())
            .finish_non_exhaustive()
    }
}

impl VerifiedWindows {
    /// A window part from a bundle whose signatures verified: decrypted
    /// with this edge's identity, its body's facility the header's, its
    /// inmate key one this host holds.
    pub fn from_verified(
        verified: bundle::Verified<'_>,
        trust: &TrustStore,
    ) -> Result<VerifiedWindows, OpenError> {
        let Part::Windows { facility } = &verified.header.part else {
            return Err(OpenError::WrongPart {
                found: verified.header.part.to_string(),
                expected: "window part",
            });
        };
        let body = readable_body(&verified.header, verified.body, trust)?;
        let part = WindowPart::from_bytes(&body).map_err(OpenError::Body)?;
        if &part.facility != facility || part.inmate_key != verified.header.inmate_key {
            return Err(OpenError::Body(ListError::Invalid(
                "the window part's body and header disagree",
            )));
        }
        inmate_key(&verified.header, trust)?;
        Ok(VerifiedWindows {
            digest: verified.digest,
            header: verified.header,
            part,
        })
    }

    /// The facility the part is for.
    pub fn facility(&self) -> &str {
        &self.part.facility
    }
}

impl VerifiedList {
    /// Verifies `bytes` against `trust`, decrypts an encrypted body with
    /// the trust store's edge identity, and reads the policies. Expiry is
    /// not checked here: a stale list still decides (see [`Self::is_stale`]).
    pub fn open(bytes: &[u8], trust: &TrustStore) -> Result<VerifiedList, OpenError> {
        Self::from_verified(bundle::verify(bytes, trust)?, trust)
    }

    /// [`Self::open`] for a bundle whose signatures already verified (a
    /// whole list or a registry part).
    pub fn from_verified(
        verified: bundle::Verified<'_>,
        trust: &TrustStore,
    ) -> Result<VerifiedList, OpenError> {
        if let Part::Windows { .. } = verified.header.part {
            return Err(OpenError::WrongPart {
                found: verified.header.part.to_string(),
                expected: "list",
            });
        }
        let body = readable_body(&verified.header, verified.body, trust)?;
        let inmate_key = inmate_key(&verified.header, trust)?;
        let (default_policy, facilities) =
            CompiledList::policies_from_bytes(&body).map_err(OpenError::Body)?;
        Ok(VerifiedList {
            digest: Digest::hex(&verified.digest),
            header: verified.header,
            signers: verified.signers,
            body,
            default_policy,
            facilities,
            inmate_key,
        })
    }

    /// The list an edge decides with from a registry part and the window
    /// parts of its facilities: the bodies merged by facility code
    /// ([`privcall_core::list::fleet::merge`]; `offset` is the registry
    /// body's [`privcall_core::list::fleet::windows_offset`]), the registry
    /// part's header and canaries, expiring with the first part to expire,
    /// and a digest over every part's, so each decision names exactly the
    /// parts it was made with.
    pub fn combine(
        registry: &VerifiedList,
        offset: usize,
        windows: &[&VerifiedWindows],
        trust: &TrustStore,
    ) -> Result<VerifiedList, OpenError> {
        if registry.header.part != Part::Registry {
            return Err(OpenError::WrongPart {
                found: registry.header.part.to_string(),
                expected: "registry part",
            });
        }
        let parts: Vec<&WindowPart> = windows.iter().map(|w| &w.part).collect();
        let body = fleet::merge(&registry.body, offset, &parts).map_err(OpenError::Body)?;
        let mut header = registry.header.clone();
        let mut digest = Sha256::new();
        digest.update(registry.digest.as_str().as_bytes());
        let mut inmate_keys = windows.iter().map(|w| w.header.inmate_key);
        header.inmate_key = inmate_keys.next().flatten();
        for w in windows {
            header.expires_at = header.expires_at.min(w.header.expires_at);
            digest.update(w.digest);
        }
        let inmate_key = inmate_key(&header, trust)?;
        let (default_policy, facilities) =
            CompiledList::policies_from_bytes(&body).map_err(OpenError::Body)?;
        Ok(VerifiedList {
            digest: Digest::hex(&digest.finalize()),
            header,
            signers: registry.signers.clone(),
            body,
            default_policy,
            facilities,
            inmate_key,
        })
    }

    /// The call as the guest must see it: with the inmate id hashed when
    /// the list's ids are (`privcall keygen --inmate-key`). Every decision on
    /// this list goes through here (the canaries, in list form already, do
    /// not).
    pub fn guest_call<'c>(&self, call: &Call<'c>, tag: &'c mut [u8; TAG_LEN]) -> Call<'c> {
        match &self.inmate_key {
            None => *call,
            Some(key) => Call {
                inmate: key.tag_into(call.facility, call.inmate, tag),
                ..*call
            },
        }
    }

    /// Whether the windows' inmate ids are hashed.
    pub fn inmate_ids_keyed(&self) -> bool {
        self.inmate_key.is_some()
    }

    /// Whether the list is past its expiry at `now`.
    pub fn is_stale(&self, now: i64) -> bool {
        now >= self.header.expires_at
    }

    /// Refuses the list if it has expired at `now` (an update must be
    /// fresh; a list already live keeps deciding when stale).
    pub fn check_fresh(&self, now: i64) -> Result<(), BundleError> {
        if self.is_stale(now) {
            return Err(BundleError::Expired {
                expires_at: crate::time::format(self.header.expires_at),
                now: crate::time::format(now),
            });
        }
        Ok(())
    }

    /// The identity reported with each decision.
    pub fn id(&self, now: i64) -> ListId {
        ListId {
            sequence: self.header.sequence,
            digest: self.digest,
            stale: self.is_stale(now),
        }
    }

    /// The policy a facility decides under.
    pub fn policy(&self, facility: &str) -> &Policy {
        self.facilities
            .binary_search_by(|f| f.code.as_str().cmp(facility))
            .ok()
            .and_then(|i| self.facilities.get(i))
            .map_or(&self.default_policy, |f| &f.policy)
    }

    /// The fail mode of a facility.
    pub fn fail_mode(&self, facility: &str) -> FailMode {
        self.policy(facility).fail_mode
    }

    /// Every facility's fail mode, to keep for when no list is live.
    pub fn fail_modes(&self) -> crate::trust::fail_modes::FailModes {
        crate::trust::fail_modes::FailModes {
            default: self.default_policy.fail_mode,
            facilities: self
                .facilities
                .iter()
                .map(|f| (f.code.clone(), f.policy.fail_mode))
                .collect(),
        }
    }

    /// The facility's fail-safe decision under this list.
    pub fn fail_safe(&self, facility: &str, now: i64) -> Decision {
        Decision::fail_safe(self.fail_mode(facility), Some(self.id(now)))
    }

    /// The answer to a call from what the guest said: its decision, or the
    /// facility's fail-safe one when it failed. Every integration answers
    /// this way, so a guest failure never leaves a call undecided.
    pub fn answer(
        &self,
        facility: &str,
        now: i64,
        guest: Result<core::Decision, &GuestError>,
    ) -> Decision {
        match guest {
            Ok(d) => Decision::from_core(&d, self.id(now)),
            Err(_) => self.fail_safe(facility, now),
        }
    }
}
