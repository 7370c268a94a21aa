//! The shared vocabulary of a decision: categories, policies, calls and
//! decisions. Host and guest use these same types, so a name or a rule is
//! never written twice.

use bincode::{Decode, Encode};

use crate::normalize::{DialPlan, E164};

/// Kinds of privileged destination (PRODUCT.md contract names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum Category {
    /// A private attorney.
    Attorney,
    /// A public defender's office.
    PublicDefender,
    /// A legal aid organisation.
    LegalAid,
    /// An innocence project.
    InnocenceProject,
    /// A court.
    Court,
    /// A consulate (Vienna Convention access).
    Consulate,
    /// A PREA (sexual abuse) reporting hotline.
    PreaHotline,
    /// An oversight body (ombudsman, inspector general).
    Oversight,
    /// Clergy.
    Clergy,
    /// Medical providers.
    Medical,
    /// Anything else the list authority registers.
    Other,
}

impl Category {
    /// Every category, in contract order.
    pub const ALL: [Category; 11] = [
        Category::Attorney,
        Category::PublicDefender,
        Category::LegalAid,
        Category::InnocenceProject,
        Category::Court,
        Category::Consulate,
        Category::PreaHotline,
        Category::Oversight,
        Category::Clergy,
        Category::Medical,
        Category::Other,
    ];

    /// The contract name (`public-defender`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Category::Attorney => "attorney",
            Category::PublicDefender => "public-defender",
            Category::LegalAid => "legal-aid",
            Category::InnocenceProject => "innocence-project",
            Category::Court => "court",
            Category::Consulate => "consulate",
            Category::PreaHotline => "prea-hotline",
            Category::Oversight => "oversight",
            Category::Clergy => "clergy",
            Category::Medical => "medical",
            Category::Other => "other",
        }
    }

    /// Parses a contract name.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of categories (the policy's `exempt` list), as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Encode, Decode)]
pub struct CategorySet(u16);

impl CategorySet {
    /// No category.
    pub const EMPTY: CategorySet = CategorySet(0);

    /// Every category.
    pub fn all() -> CategorySet {
        Category::ALL.into_iter().collect()
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    /// Adds `c`.
    pub fn insert(&mut self, c: Category) {
        self.0 |= c.bit();
    }

    /// The categories in contract order.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// Whether only defined category bits are set (checked on untrusted input).
    pub fn is_valid(self) -> bool {
        self.0 & !CategorySet::all().0 == 0
    }
}

impl FromIterator<Category> for CategorySet {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut set = CategorySet::EMPTY;
        for c in iter {
            set.insert(c);
        }
        set
    }
}

/// What happens when a prearranged private call outlives its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum Overrun {
    /// Play a notice, then record.
    RecordWithNotice,
    /// Keep the call private until it ends.
    StayPrivate,
    /// Play a notice, then disconnect.
    DisconnectWithNotice,
}

impl Overrun {
    /// Every action, in contract order.
    pub const ALL: [Overrun; 3] = [
        Overrun::RecordWithNotice,
        Overrun::StayPrivate,
        Overrun::DisconnectWithNotice,
    ];

    /// The contract name (`record-with-notice`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Overrun::RecordWithNotice => "record-with-notice",
            Overrun::StayPrivate => "stay-private",
            Overrun::DisconnectWithNotice => "disconnect-with-notice",
        }
    }

    /// Parses a contract name.
    pub fn from_name(name: &str) -> Option<Overrun> {
        Overrun::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// What the host answers when no valid list is loaded or the guest fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum FailMode {
    /// Record the call (the facility's choice).
    Record,
    /// Do not record the call: privacy wins when privcall cannot decide.
    DoNotRecord,
}

impl FailMode {
    /// The contract name (`record`, `do-not-record`).
    pub fn name(self) -> &'static str {
        match self {
            FailMode::Record => "record",
            FailMode::DoNotRecord => "do-not-record",
        }
    }

    /// Parses a contract name.
    pub fn from_name(name: &str) -> Option<FailMode> {
        [FailMode::Record, FailMode::DoNotRecord]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// What a facility does with a call whose dialed string cannot be read as
/// a number, even by its digits alone (policy key `unreadable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum Unreadable {
    /// Record it (the default): its digits are no privileged number under
    /// any reading, so recording cannot breach privilege, and an inmate
    /// cannot dodge recording with a string the PBX still routes.
    Record,
    /// Do not record it.
    DoNotRecord,
    /// The facility's fail mode.
    FailMode,
}

impl Unreadable {
    /// Every choice, in contract order.
    pub const ALL: [Unreadable; 3] = [
        Unreadable::Record,
        Unreadable::DoNotRecord,
        Unreadable::FailMode,
    ];

    /// The contract name (`record`, `do-not-record`, `fail-mode`).
    pub fn name(self) -> &'static str {
        match self {
            Unreadable::Record => "record",
            Unreadable::DoNotRecord => "do-not-record",
            Unreadable::FailMode => "fail-mode",
        }
    }

    /// Parses a contract name.
    pub fn from_name(name: &str) -> Option<Unreadable> {
        Unreadable::ALL.into_iter().find(|u| u.name() == name)
    }
}

/// One facility's policy, fully resolved (the `[default]` table merged in).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Policy {
    /// Categories that are never recorded here.
    pub exempt: CategorySet,
    /// What happens when a prearranged call outlives its window.
    pub overrun: Overrun,
    /// How early before a window's start a call is already private.
    pub early_grace_secs: i64,
    /// What the host answers when it cannot decide.
    pub fail_mode: FailMode,
    /// What happens to a call whose dialed string is no number.
    pub unreadable: Unreadable,
    /// How inmates dial here.
    pub dial_plan: DialPlan,
}

impl Policy {
    /// The longest early grace a policy may set (a day): anything longer is
    /// a typo, and unbounded values would overflow time arithmetic.
    pub const MAX_GRACE_SECS: i64 = 24 * 3600;
}

/// Why a decision came out as it did. `fail-safe` is the host's, not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A registered, exempt number.
    Registered,
    /// Inside a prearranged private window.
    Prearranged,
    /// Set up inside a window that has since ended.
    PrearrangedOverrun,
    /// Nothing makes this call privileged.
    NotPrivileged,
    /// The dialed string is no number, even by its digits alone: the
    /// policy's `unreadable` choice applies.
    Unreadable,
}

impl Reason {
    /// The contract name.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Registered => "registered",
            Reason::Prearranged => "prearranged",
            Reason::PrearrangedOverrun => "prearranged-overrun",
            Reason::NotPrivileged => "not-privileged",
            Reason::Unreadable => "unreadable",
        }
    }
}

/// The prompt the PBX should play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notice {
    /// The private window ended; recording starts now.
    PrivateWindowEndedRecording,
    /// The private window ended; the call stays private.
    PrivateWindowEndedPrivate,
    /// The private window ended; the call is being disconnected.
    PrivateWindowEndedDisconnect,
}

impl Notice {
    /// Every notice.
    pub const ALL: [Notice; 3] = [
        Notice::PrivateWindowEndedRecording,
        Notice::PrivateWindowEndedPrivate,
        Notice::PrivateWindowEndedDisconnect,
    ];

    /// The name used in the decision JSON.
    pub fn name(self) -> &'static str {
        match self {
            Notice::PrivateWindowEndedRecording => "private-window-ended-recording",
            Notice::PrivateWindowEndedPrivate => "private-window-ended-private",
            Notice::PrivateWindowEndedDisconnect => "private-window-ended-disconnect",
        }
    }
}

/// One call setup, or a mid-call re-ask when `started` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// Facility code.
    pub facility: &'a str,
    /// Inmate account id.
    pub inmate: &'a str,
    /// The digits as dialed, any formatting.
    pub dialed: &'a str,
    /// When the decision applies (seconds since the Unix epoch, UTC).
    pub at: i64,
    /// The call's setup time, when the PBX re-asks mid-call.
    pub started: Option<i64>,
}

/// What the decision rules answer for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the call may be recorded.
    pub record: bool,
    /// Whether the call may be monitored live.
    pub monitor: bool,
    /// Why.
    pub reason: Reason,
    /// For `registered`: the category that made it exempt.
    pub category: Option<Category>,
    /// For prearranged calls: when the private window (chain) ends.
    pub private_until: Option<i64>,
    /// For prearranged calls: what happens at `private_until`.
    pub on_expiry: Option<Overrun>,
    /// The PBX must not store the dialed number in clear.
    pub redact_metadata: bool,
    /// The prompt to play, if any.
    pub notice: Option<Notice>,
    /// The dialed number in E.164, when it is a number.
    pub normalized: Option<E164>,
    /// The facility has no policy table of its own (decided under `[default]`).
    pub default_policy: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contract name reads back as its value, the names are the
    /// ones PRODUCT.md gives, and a name outside the contract reads as
    /// nothing.
    #[test]
    fn contract_names_round_trip() {
        let categories: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            categories,
            [
                "attorney",
                "public-defender",
                "legal-aid",
                "innocence-project",
                "court",
                "consulate",
                "prea-hotline",
                "oversight",
                "clergy",
                "medical",
                "other"
            ]
        );
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.name()), Some(c));
        }
        let overruns: Vec<&str> = Overrun::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(
            overruns,
            [
                "record-with-notice",
                "stay-private",
                "disconnect-with-notice"
            ]
        );
        for o in Overrun::ALL {
            assert_eq!(Overrun::from_name(o.name()), Some(o));
        }
        assert_eq!(FailMode::Record.name(), "record");
        assert_eq!(FailMode::DoNotRecord.name(), "do-not-record");
        for m in [FailMode::Record, FailMode::DoNotRecord] {
            assert_eq!(FailMode::from_name(m.name()), Some(m));
        }
        let unreadable: Vec<&str> = Unreadable::ALL.iter().map(|u| u.name()).collect();
        assert_eq!(unreadable, ["record", "do-not-record", "fail-mode"]);
        for u in Unreadable::ALL {
            assert_eq!(Unreadable::from_name(u.name()), Some(u));
        }
        for unknown in ["", "Attorney", "attorney ", "xyzzy"] {
            assert_eq!(Category::from_name(unknown), None, "{unknown:?}");
            assert_eq!(Overrun::from_name(unknown), None, "{unknown:?}");
            assert_eq!(FailMode::from_name(unknown), None, "{unknown:?}");
            assert_eq!(Unreadable::from_name(unknown), None, "{unknown:?}");
        }
        let reasons = [
            Reason::Registered,
            Reason::Prearranged,
            Reason::PrearrangedOverrun,
            Reason::NotPrivileged,
            Reason::Unreadable,
        ]
        .map(Reason::name);
        assert_eq!(
            reasons,
            [
                "registered",
                "prearranged",
                "prearranged-overrun",
                "not-privileged",
                "unreadable"
            ]
        );
        assert_eq!(
            Notice::ALL.map(Notice::name),
            [
                "private-window-ended-recording",
                "private-window-ended-private",
                "private-window-ended-disconnect"
            ]
        );
    }

    /// A set lists its members in contract order, and only the eleven
    /// category bits make a valid set (bit 11 and up come only from a
    /// corrupt or hostile body).
    #[test]
    fn category_sets() {
        let set: CategorySet = [Category::Clergy, Category::Court].into_iter().collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Category::Court, Category::Clergy]
        );
        assert!(set.is_valid());
        assert!(CategorySet::all().is_valid());
        assert_eq!(CategorySet::all().iter().count(), Category::ALL.len());
        for bit in 11..16 {
            assert!(!CategorySet(1 << bit).is_valid(), "bit {bit}");
            assert!(!CategorySet(set.0 | 1 << bit).is_valid(), "bit {bit}");
        }
    }

    /// The longest early grace is one day.
    #[test]
    fn early_grace_bound_is_a_day() {
        assert_eq!(Policy::MAX_GRACE_SECS, 86_400);
    }
}
