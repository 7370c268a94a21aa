//! The decision as the PBX receives it: the JSON contract of PRODUCT.md.

use std::borrow::Cow;

use privcall_core::types::{self as core, FailMode};
use serde::{Deserialize, Serialize};

use crate::text::InlineStr;

/// A list digest: SHA-256 in lowercase hex, kept inline.
pub type Digest = InlineStr<64>;

/// A number in E.164 form (`+15735550142`), kept inline (room for any
/// `u64`, so it is never cut).
pub type E164Text = InlineStr<21>;

/// Which list decided a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListId {
    /// The bundle's sequence number.
    pub sequence: u64,
    /// SHA-256 of the bundle's signed part, hex.
    pub digest: Digest,
    /// The list is past its `expires_at` and still deciding (an alarm is
    /// raised; the last good list keeps deciding).
    #[serde(default)]
    pub stale: bool,
}

/// Why (JSON names are the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// A registered, exempt number.
    Registered,
    /// Inside a prearranged private window.
    Prearranged,
    /// Set up inside a window that has since ended.
    PrearrangedOverrun,
    /// Nothing makes the call privileged.
    NotPrivileged,
    /// No valid list, or the guest failed: the facility's fail mode.
    FailSafe,
}

/// One decision, as answered to the PBX. Building one allocates only for
/// `private_until` (prearranged calls): names are static, the number and
/// digest inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the call may be recorded.
    pub record: bool,
    /// Whether the call may be monitored live.
    pub monitor: bool,
    /// Why.
    pub reason: Reason,
    /// For `registered`.
    pub category: Option<Cow<'static, str>>,
    /// For prearranged calls: when the private window ends (RFC 3339).
    pub private_until: Option<String>,
    /// For prearranged calls: what happens at `private_until`.
    pub on_expiry: Option<Cow<'static, str>>,
    /// The PBX must not store the dialed number in clear.
    pub redact_metadata: bool,
    /// The prompt to play, if any.
    pub notice: Option<Cow<'static, str>>,
    /// The dialed number in E.164 (`+15735550142`), or null.
    pub normalized: Option<E164Text>,
    /// The list that decided (null when none was loaded).
    pub list: Option<ListId>,
    /// The facility has no policy table of its own and was decided under
    /// `[default]`.
    #[serde(default)]
    pub default_policy: bool,
}

impl Decision {
    /// The JSON form of a decision of the rules.
    pub fn from_core(d: &core::Decision, list: ListId) -> Decision {
        Decision {
            record: d.record,
            monitor: d.monitor,
            reason: match d.reason {
                core::Reason::Registered => Reason::Registered,
                core::Reason::Prearranged => Reason::Prearranged,
                core::Reason::PrearrangedOverrun => Reason::PrearrangedOverrun,
                core::Reason::NotPrivileged => Reason::NotPrivileged,
            },
            category: d.category.map(|c| Cow::Borrowed(c.name())),
            private_until: d.private_until.map(crate::time::format),
            on_expiry: d.on_expiry.map(|o| Cow::Borrowed(o.name())),
            redact_metadata: d.redact_metadata,
            notice: d.notice.map(|n| Cow::Borrowed(n.name())),
            normalized: d.normalized.map(E164Text::e164),
            list: Some(list),
            default_policy: d.default_policy,
        }
    }

    /// The fail-safe decision: the facility's fail mode, marked as such.
    /// The number is treated as privileged (redacted) because nobody could
    /// tell that it is not.
    pub fn fail_safe(mode: FailMode, list: Option<ListId>) -> Decision {
        let record = mode == FailMode::Record;
        Decision {
            record,
            monitor: record,
            reason: Reason::FailSafe,
            category: None,
            private_until: None,
            on_expiry: None,
            redact_metadata: true,
            notice: None,
            normalized: None,
            list,
            default_policy: false,
        }
    }
}
