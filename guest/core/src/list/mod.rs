//! The compiled list: what a signed bundle's body holds, how it is built from
//! normalized sources, and how it is checked when it arrives.
//!
//! Numbers are not stored with their attributes. Every distinct combination
//! of registry rows that applies to a number (category, facility scope,
//! validity) is a *class*; the number set answers a number's rank and a
//! bit-packed array maps the rank to its class id. Lists have few classes, so
//! a number costs its set entry plus a few bits.

mod build;
mod encoding;
mod error;
pub mod fleet;
mod validate;

use bincode::{Decode, Encode};

use crate::set::{PackedInts, RadixSet};
use crate::types::{Category, Policy};

pub use crate::windows::{window_key, Window};
pub use build::{build, build_keyed, RegistryRow, Target, WindowRow};
pub use encoding::{BODY_MAGIC, BODY_VERSION, MAX_BODY_BYTES};
pub use error::ListError;

/// Index of a facility in [`CompiledList::facilities`].
pub type FacilityIndex = u16;

/// One facility code and its resolved policy.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Facility {
    /// The facility code, as the PBX sends it.
    pub code: String,
    /// The policy, `[default]` merged in.
    pub policy: Policy,
    /// Whether policy.toml has a `[facility.CODE]` table for it.
    pub own_policy: bool,
}

/// One registry row's effect, without the number it applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode)]
pub struct Grant {
    /// The row's category.
    pub category: Category,
    /// Facilities in scope (sorted indices), or `None` for all.
    pub facilities: Option<Vec<FacilityIndex>>,
    /// First second of validity, inclusive.
    pub valid_from: Option<i64>,
    /// End of validity, exclusive.
    pub valid_until: Option<i64>,
}

impl Grant {
    /// Whether the grant covers time `t`.
    pub fn valid_at(&self, t: i64) -> bool {
        self.valid_from.is_none_or(|f| f <= t) && self.valid_until.is_none_or(|u| t < u)
    }

    /// Whether the grant applies at facility `f` (`None`: a facility the list
    /// does not know, where only unscoped rows apply).
    pub fn in_scope(&self, f: Option<FacilityIndex>) -> bool {
        match (&self.facilities, f) {
            (None, _) => true,
            (Some(list), Some(f)) => list.binary_search(&f).is_ok(),
            (Some(_), None) => false,
        }
    }
}

/// A prefix block and its class.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PrefixEntry {
    /// The leading digits, as an integer.
    pub value: u64,
    /// How many leading digits.
    pub len: u8,
    /// Index into [`CompiledList::classes`].
    pub class: u32,
}

/// The compiled list: everything the decision needs.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CompiledList {
    /// Used for facilities the list does not name.
    pub default_policy: Policy,
    /// Sorted by code, unique.
    pub facilities: Vec<Facility>,
    /// Distinct combinations of grants; each non-empty and sorted.
    pub classes: Vec<Vec<Grant>>,
    /// North American numbers, keyed by their 10-digit national number.
    pub nanp: RadixSet,
    /// Class id per `nanp` rank.
    pub nanp_classes: PackedInts,
    /// Other numbers, keyed by the full E.164 integer.
    pub intl: RadixSet,
    /// Class id per `intl` rank.
    pub intl_classes: PackedInts,
    /// Prefix blocks, sorted by (len, value), unique.
    pub prefixes: Vec<PrefixEntry>,
    /// Prearranged windows, sorted by (key, start).
    pub windows: Vec<Window>,
}

impl CompiledList {
    /// How many distinct numbers the list holds (prefix blocks apart).
    pub fn number_count(&self) -> usize {
        self.nanp.len() + self.intl.len()
    }

    /// How many prefix blocks the list holds (each covers every number
    /// starting with its digits), for reports beside [`Self::number_count`].
    pub fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }

    /// How many prearranged windows the list holds, for reports.
    pub fn window_count(&self) -> usize {
        self.windows.len()
    }

    /// How many distinct classes (combinations of grants that numbers share)
    /// the list holds, for reports: it sizes each number's class id.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The facilities the list names, sorted by code, with their resolved
    /// policies: for reports and for the host's per-facility fail modes.
    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }

    /// Bytes the exact numbers and their class ids take in memory.
    pub fn set_bytes(&self) -> usize {
        self.nanp.heap_bytes()
            + self.nanp_classes.heap_bytes()
            + self.intl.heap_bytes()
            + self.intl_classes.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::{CANARY_FACILITY, CANARY_NUMBERS, CANARY_WINDOWS};
    use crate::normalize::E164;
    use crate::normalize::{normalize_prefix, DialPlan};
    use crate::test_support::policy;

    /// The counts and the facility table a report shows match what was
    /// built.
    #[test]
    fn accessors_report_what_was_built() {
        let policy = policy();
        let row = |target, category, facilities: Option<&[&str]>| RegistryRow {
            target,
            category,
            facilities: facilities.map(|fs| fs.iter().map(|f| f.to_string()).collect()),
            valid_from: None,
            valid_until: None,
        };
        let block = normalize_prefix("+1573526*", &DialPlan::nanp()).unwrap();
        let rows = [
            row(
                Target::Number(E164(15_735_550_142)),
                Category::Attorney,
                None,
            ),
            row(
                Target::Number(E164(15_735_550_143)),
                Category::Court,
                Some(&["BBB"]),
            ),
            row(
                Target::Number(E164(15_735_550_144)),
                Category::Attorney,
                None,
            ),
            row(Target::Prefix(block), Category::Court, None),
        ];
        let window = WindowRow {
            facility: "AAA".into(),
            inmate: "I1".into(),
            number: E164(15_735_550_199),
            start: 0,
            end: 60,
        };
        let list = build(
            policy.clone(),
            vec![("CCC".into(), policy)],
            &rows,
            &[window],
        )
        .unwrap();
        // The canary entries: 8 numbers in 2 classes, 2 windows, a facility.
        assert_eq!(list.number_count(), 3 + CANARY_NUMBERS);
        assert_eq!(list.prefix_count(), 1);
        assert_eq!(list.window_count(), 1 + CANARY_WINDOWS);
        assert_eq!(list.class_count(), 3 + 2);
        let codes: Vec<(&str, bool)> = list
            .facilities()
            .iter()
            .map(|f| (f.code.as_str(), f.own_policy))
            .collect();
        assert_eq!(
            codes,
            [
                ("AAA", false),
                ("BBB", false),
                ("CCC", true),
                (CANARY_FACILITY, true)
            ]
        );
    }
}
