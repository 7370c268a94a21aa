//! The decision as the PBX receives it: the JSON contract of PRODUCT.md.

use std::borrow::Cow;

use privcall_core::normalize::E164;
use privcall_core::types::{self as core, FailMode};
use serde::{Deserialize, Serialize};

use crate::text::InlineStr;

/// A list digest: SHA-256 in lowercase hex, kept inline.
pub type Digest = InlineStr<64>;

/// A number in E.164 form, written `+15735550142` (JSON, [`Display`]).
/// Kept as the integer: a decision formats it only when it is written out,
/// not on every call.
///
/// [`Display`]: std::fmt::Display
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct E164Text(pub E164);

/// As [`Display`](std::fmt::Display): the text is what a reader of a
/// decision needs.
impl std::fmt::Debug for E164Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl E164Text {
    /// The text, inline (room for any `u64`, so it is never cut).
    pub fn text(self) -> InlineStr<21> {
        InlineStr::e164(self.0)
    }
}

impl std::fmt::Display for E164Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for E164Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for E164Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<E164Text, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.strip_prefix('+')
            .filter(|digits| (1..=15).contains(&digits.len()))
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            // No country code starts with 0.
            .filter(|digits| !digits.starts_with('0'))
            .and_then(|digits| digits.parse().ok())
            .map(|n| E164Text(E164(n)))
            .ok_or_else(|| serde::de::Error::custom("not an E.164 number (+ and 1 to 15 digits)"))
    }
}

/// An instant in seconds since the epoch, written in RFC 3339
/// (`2026-12-01T14:30:00Z`: JSON, [`Display`]). Kept as the integer: a
/// prearranged decision formats it only when it is written out, so the
/// call path neither formats nor allocates.
///
/// [`Display`]: std::fmt::Display
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Text(pub i64);

impl Rfc3339Text {
    /// Parses an RFC 3339 instant (any offset), rounding a fraction of a
    /// second as `round` says.
    pub fn parse(
        text: &str,
        round: crate::time::Round,
    ) -> Result<Rfc3339Text, crate::time::TimeError> {
        crate::time::parse_instant(text, round).map(Rfc3339Text)
    }

    /// The current time, to the second.
    pub fn now() -> Rfc3339Text {
        Rfc3339Text(crate::time::now())
    }
}

/// As [`Display`](std::fmt::Display): the text is what a reader of a
/// decision needs.
impl std::fmt::Debug for Rfc3339Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Rfc3339Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::time::format(self.0))
    }
}

impl Serialize for Rfc3339Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::time::format(self.0))
    }
}

impl<'de> Deserialize<'de> for Rfc3339Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rfc3339Text, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        // `time::format` writes `@seconds` for an instant RFC 3339 cannot
        // express; it reads back too.
        if let Some(secs) = text.strip_prefix('@') {
            return secs
                .parse()
                .map(Rfc3339Text)
                .map_err(|_| serde::de::Error::custom("not an RFC 3339 time or @seconds"));
        }
        crate::time::parse_instant(&text, crate::time::Round::Down)
            .map(Rfc3339Text)
            .map_err(serde::de::Error::custom)
    }
}

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
    /// The dialed string is no number: the policy's `unreadable` choice.
    Unreadable,
}

impl Reason {
    /// Every reason, in the order metrics list them.
    pub const ALL: [Reason; 6] = [
        Reason::Registered,
        Reason::Prearranged,
        Reason::PrearrangedOverrun,
        Reason::NotPrivileged,
        Reason::FailSafe,
        Reason::Unreadable,
    ];

    /// The contract name (`registered`, `fail-safe`, ...): JSON, metrics.
    /// The rules' reasons have the core's names ([`core::Reason::name`]);
    /// only `fail-safe` is the host's own.
    pub fn name(self) -> &'static str {
        match self.rules() {
            Some(r) => r.name(),
            None => "fail-safe",
        }
    }

    /// The reason as the decision rules give it, or `None` for
    /// [`Reason::FailSafe`], which only the host gives.
    fn rules(self) -> Option<core::Reason> {
        match self {
            Reason::Registered => Some(core::Reason::Registered),
            Reason::Prearranged => Some(core::Reason::Prearranged),
            Reason::PrearrangedOverrun => Some(core::Reason::PrearrangedOverrun),
            Reason::NotPrivileged => Some(core::Reason::NotPrivileged),
            Reason::Unreadable => Some(core::Reason::Unreadable),
            Reason::FailSafe => None,
        }
    }

    /// Its position in [`Self::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl From<core::Reason> for Reason {
    fn from(r: core::Reason) -> Reason {
        match r {
            core::Reason::Registered => Reason::Registered,
            core::Reason::Prearranged => Reason::Prearranged,
            core::Reason::PrearrangedOverrun => Reason::PrearrangedOverrun,
            core::Reason::NotPrivileged => Reason::NotPrivileged,
            core::Reason::Unreadable => Reason::Unreadable,
        }
    }
}

/// One decision, as answered to the PBX. Building one does not allocate:
/// names are static, the number, digest and times inline.
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
    pub private_until: Option<Rfc3339Text>,
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
            reason: d.reason.into(),
            category: d.category.map(|c| Cow::Borrowed(c.name())),
            private_until: d.private_until.map(Rfc3339Text),
            on_expiry: d.on_expiry.map(|o| Cow::Borrowed(o.name())),
            redact_metadata: d.redact_metadata,
            notice: d.notice.map(|n| Cow::Borrowed(n.name())),
            normalized: d.normalized.map(E164Text),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant is written in RFC 3339 and read back only as such (or as
    /// the `@seconds` that `time::format` writes for an instant it cannot
    /// express).
    #[test]
    fn instants_are_rfc3339_text_in_json() {
        let t = Rfc3339Text(1_796_135_400);
        assert_eq!(t.to_string(), "2026-12-01T14:30:00Z");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-12-01T14:30:00Z\"");
        assert_eq!(serde_json::from_str::<Rfc3339Text>(&json).unwrap(), t);
        assert_eq!(format!("{t:?}"), "2026-12-01T14:30:00Z");
        for bad in [
            "\"2026-12-01\"",
            "\"tomorrow\"",
            "1796135400",
            "\"\"",
            "\"@\"",
            "\"@1e3\"",
        ] {
            assert!(serde_json::from_str::<Rfc3339Text>(bad).is_err(), "{bad}");
        }
        let far = Rfc3339Text(i64::MAX);
        let json = serde_json::to_string(&far).unwrap();
        assert_eq!(json, format!("\"@{}\"", i64::MAX));
        assert_eq!(serde_json::from_str::<Rfc3339Text>(&json).unwrap(), far);
    }

    /// Each reason's JSON name is its contract name, and every reason but
    /// `fail-safe` is the core's, under the core's name.
    #[test]
    fn reasons_have_one_name() {
        for r in Reason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.name()));
            match r.rules() {
                Some(core) => assert_eq!(Reason::from(core), r),
                None => assert_eq!(r, Reason::FailSafe),
            }
        }
    }

    /// The number is written as E.164 text and read back only as such.
    #[test]
    fn numbers_are_e164_text_in_json() {
        let n = E164Text(E164(15_735_550_142));
        assert_eq!(n.to_string(), "+15735550142");
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+15735550142\"");
        assert_eq!(serde_json::from_str::<E164Text>(&json).unwrap(), n);
        assert_eq!(format!("{n:?}"), "+15735550142");
        for bad in [
            "\"15735550142\"",
            "\"+\"",
            "\"+1234567890123456\"",
            "\"+1573a\"",
            "\"+01\"",
            "15735550142",
        ] {
            assert!(serde_json::from_str::<E164Text>(bad).is_err(), "{bad}");
        }
    }
}
