//! What `/v1/status` reports: the live list, the high-water mark, the last
//! update attempt. Nothing here names a number, inmate or facility.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::decision::Digest;
use crate::runtime::engine::Engine;
use crate::runtime::pool::lock;
use crate::runtime::update::{RefusalKind, UpdateSource};
use crate::trust::KeyId;

/// The outcome of the last update attempt, for `/v1/status`.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateAttempt {
    /// When (RFC 3339).
    pub at: String,
    /// Where from.
    pub source: UpdateSource,
    /// Whether it went live.
    pub applied: bool,
    /// The sequence that went live.
    pub sequence: Option<u64>,
    /// Why it was refused (never names a number or inmate).
    pub error: Option<String>,
    /// The refusal's kind label.
    pub kind: Option<RefusalKind>,
}

/// The live list, as `/v1/status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ListStatus {
    /// Sequence number.
    pub sequence: u64,
    /// SHA-256 of the signed part, hex.
    pub digest: Digest,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Past `expires_at` (alarm: the list still decides).
    pub stale: bool,
    /// Seconds since `issued_at`.
    pub age_seconds: i64,
    /// When it went live here (RFC 3339).
    pub applied_at: String,
    /// Trusted keys that signed it.
    pub signers: Vec<String>,
    /// Counts reported by the guest.
    pub facilities: u32,
    /// Exact numbers.
    pub numbers: u64,
    /// Prefix blocks.
    pub prefix_blocks: u32,
    /// Prearranged windows.
    pub windows: u32,
    /// Bytes of the number set in the guest.
    pub set_bytes: u64,
    /// Guest instances loaded with this list ([`Engine::instances_loaded`]).
    pub instances_loaded: usize,
}

/// Everything `/v1/status` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The live list's sequence (null without a list).
    pub sequence: Option<u64>,
    /// The live list's digest.
    pub digest: Option<Digest>,
    /// When the live list was issued (RFC 3339).
    pub issued_at: Option<String>,
    /// When the live list expires (RFC 3339).
    pub expires_at: Option<String>,
    /// The live list is past its expiry (alarm), or there is no list.
    pub stale: bool,
    /// The live list in detail, or null: every call gets its facility's
    /// fail mode.
    pub list: Option<ListStatus>,
    /// Highest sequence ever accepted (survives restarts).
    pub high_water: u64,
    /// A fleet's parts held (registry and window parts), and why they are
    /// not live yet when they wait for their counterpart.
    pub parts: crate::runtime::PartsStatus,
    /// Why the state folder was not trusted at start (damage, tampering,
    /// a saved list long expired), until an update goes live; null when
    /// all is well.
    pub state_alarm: Option<String>,
    /// The last update attempt.
    pub last_update: Option<UpdateAttempt>,
    /// The last update that was refused.
    pub last_refusal: Option<UpdateAttempt>,
    /// The last refused update from each source (`push`, `file`, `poll`,
    /// `restore`).
    pub last_refusal_by_source: BTreeMap<UpdateSource, UpdateAttempt>,
    /// Trusted key ids.
    pub trusted_keys: Vec<String>,
    /// Valid signatures a list needs.
    pub threshold: usize,
    /// Decisions answered since start.
    pub decisions: u64,
    /// Guest failures since start.
    pub guest_failures: u64,
}

impl Engine {
    /// Everything `/v1/status` reports.
    pub fn status(&self, now: i64) -> Status {
        let trust = self.trust.load();
        let list = self.live.load().as_deref().map(|l| ListStatus {
            sequence: l.list.header.sequence,
            digest: l.list.digest,
            issued_at: crate::time::format(l.list.header.issued_at),
            expires_at: crate::time::format(l.list.header.expires_at),
            stale: l.list.is_stale(now),
            age_seconds: now - l.list.header.issued_at,
            applied_at: crate::time::format(l.applied_at),
            signers: l.list.signers.iter().map(KeyId::to_string).collect(),
            facilities: l.stats.facilities,
            numbers: l.stats.numbers,
            prefix_blocks: l.stats.prefix_blocks,
            windows: l.stats.windows,
            set_bytes: l.stats.set_bytes,
            instances_loaded: l.instances_loaded(),
        });
        Status {
            sequence: list.as_ref().map(|l| l.sequence),
            digest: list.as_ref().map(|l| l.digest),
            issued_at: list.as_ref().map(|l| l.issued_at.clone()),
            expires_at: list.as_ref().map(|l| l.expires_at.clone()),
            stale: list.as_ref().is_none_or(|l| l.stale),
            list,
            high_water: self.high_water.load(Ordering::Acquire),
            parts: lock(&self.held).status(),
            state_alarm: lock(&self.state_alarm).clone(),
            last_update: lock(&self.last_update).clone(),
            last_refusal: lock(&self.last_refusal).clone(),
            last_refusal_by_source: lock(&self.refusals_by_source).clone(),
            trusted_keys: trust.key_ids().map(|k| k.to_string()).collect(),
            threshold: trust.threshold(),
            decisions: self.metrics.decisions_total(),
            guest_failures: self.metrics.guest_failures(),
        }
    }
}
