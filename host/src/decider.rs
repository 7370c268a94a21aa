//! A verified list loaded into one guest instance: the single-threaded
//! decision path the CLI uses (the daemon builds on the same pieces).

use privcall_core::list::{CompiledList, Facility};
use privcall_core::types::{Call, FailMode, Policy};

use crate::bundle::{self, BundleError, Header};
use crate::decision::{Decision, Digest, ListId};
use crate::guest::{GuestError, GuestInstance, GuestRuntime, ListStats};
use crate::keys::{KeyId, TrustStore};

/// Why a bundle could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Framing, signature or header.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The body's policy section is malformed.
    #[error("{0}")]
    Body(String),
    /// The guest refused the body or failed while loading it.
    #[error(transparent)]
    Guest(#[from] GuestError),
}

/// A bundle whose signatures verified, with what the host itself needs to
/// know of it: identity and every facility's fail mode.
#[derive(Clone, Debug)]
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
}

impl VerifiedList {
    /// Verifies `bytes` against `trust` and reads the policies. Expiry is
    /// not checked here: a stale list still decides (see [`Self::is_stale`]).
    pub fn open(bytes: &[u8], trust: &TrustStore) -> Result<VerifiedList, OpenError> {
        let verified = bundle::verify(bytes, trust)?;
        let (default_policy, facilities) = CompiledList::policies_from_bytes(verified.body)
            .map_err(|e| OpenError::Body(e.to_string()))?;
        Ok(VerifiedList {
            digest: Digest::new(&verified.digest_hex()).expect("64 hex digits"),
            header: verified.header,
            signers: verified.signers,
            body: verified.body.to_vec(),
            default_policy,
            facilities,
        })
    }

    /// Whether the list is past its expiry at `now`.
    pub fn is_stale(&self, now: i64) -> bool {
        now >= self.header.expires_at
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
            .map(|i| &self.facilities[i].policy)
            .unwrap_or(&self.default_policy)
    }

    /// The fail mode of a facility.
    pub fn fail_mode(&self, facility: &str) -> FailMode {
        self.policy(facility).fail_mode
    }
}

/// A verified list loaded into a guest instance.
pub struct ListDecider {
    list: VerifiedList,
    instance: GuestInstance,
    stats: ListStats,
}

impl ListDecider {
    /// Loads the list into a fresh instance of `runtime`.
    pub fn new(runtime: &GuestRuntime, list: VerifiedList) -> Result<ListDecider, OpenError> {
        let mut instance = runtime.instantiate()?;
        let stats = instance.load(&list.body)?;
        Ok(ListDecider {
            list,
            instance,
            stats,
        })
    }

    /// The list deciding.
    pub fn list(&self) -> &VerifiedList {
        &self.list
    }

    /// What the guest reported on load.
    pub fn stats(&self) -> ListStats {
        self.stats
    }

    /// Decides a call. A guest failure gives the facility's fail-safe
    /// decision, never an error: the PBX always gets an answer.
    pub fn decide(&mut self, call: &Call<'_>, now: i64) -> Decision {
        let id = self.list.id(now);
        match self.instance.decide(call) {
            Ok(d) => Decision::from_core(&d, id),
            Err(_) => Decision::fail_safe(self.list.fail_mode(call.facility), Some(id)),
        }
    }
}
