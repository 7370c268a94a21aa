//! Canary calls: synthetic entries every compiled list holds, and calls to
//! them with what the native decision core answers.
//!
//! A bundle carries the calls beside its list, and the host replays them
//! on the guest before the list goes live: a guest that answers any of
//! them differently is not given the list. The entries are synthetic:
//! numbers from the ranges kept for fiction, inmate ids and a facility no
//! source can name. So the calls, which a bundle's header carries in clear
//! even when its body is encrypted, show nothing of the real lists.
//! [`crate::list::build`] adds the entries to every list.

use crate::decide::Decider;
use crate::list::{CompiledList, RegistryRow, Target, WindowRow};
use crate::normalize::{DialPlan, E164};
use crate::types::{Call, Category, CategorySet, FailMode, Overrun, Policy, Reason, Unreadable};

/// The facility of the canary entries. A facility code from the sources
/// cannot start with `~`, so none is ever this one.
pub const CANARY_FACILITY: &str = "~canary";

/// Registered North American numbers: 555-0100 to 555-0199 is the block
/// NANPA keeps for fiction, here in six area codes.
const NANP: [u64; 6] = [
    2_085_550_147,
    4_065_550_158,
    5_055_550_136,
    7_015_550_115,
    8_025_550_174,
    9_075_550_162,
];

/// Registered numbers elsewhere: Ofcom's drama range (+44 20 7946 0xxx)
/// and ACMA's fictional mobile range (+61 491 570 1xx).
const INTL: [u64; 2] = [442_079_460_042, 61_491_570_156];

/// The windows: two made-up inmates, each with a fictional number that is
/// not registered, open from 2001-09-09 to 2100-01-01.
const WINDOWS: [(&str, u64); 2] = [
    ("~canary-1", 13_035_550_111),
    ("~canary-2", 442_079_460_777),
];
const WINDOW_START: i64 = 1_000_000_000;
const WINDOW_END: i64 = 4_102_444_800;

/// How many numbers and windows the canary entries add to every list.
pub const CANARY_NUMBERS: usize = NANP.len() + INTL.len();
/// See [`CANARY_NUMBERS`].
pub const CANARY_WINDOWS: usize = WINDOWS.len();

/// How the window marking a list's inmate key names it: this prefix, then
/// the key id in hex (16 digits). A list whose inmate ids are hashed holds
/// one such window at [`CANARY_FACILITY`], so whoever seals the list reads
/// the key id from the list itself and never ships hashed ids under a
/// header that says they are clear.
pub const INMATE_KEY_MARK: &str = "~inmate-key:";

/// The marker window of a list whose inmate ids are hashed with key `id`.
pub fn inmate_key_marker(id: [u8; 8]) -> WindowRow {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    WindowRow {
        facility: CANARY_FACILITY.to_string(),
        inmate: format!("{INMATE_KEY_MARK}{hex}"),
        number: E164(WINDOWS[0].1),
        start: WINDOW_START,
        end: WINDOW_START + 1,
    }
}

/// The key id of the list's marker window, when its inmate ids are hashed.
pub fn inmate_key_of(list: &CompiledList) -> Option<[u8; 8]> {
    let canary = list
        .facilities
        .binary_search_by(|f| f.code.as_str().cmp(CANARY_FACILITY))
        .ok()?;
    list.windows
        .iter()
        .filter(|w| usize::from(w.facility) == canary)
        .find_map(|w| {
            let hex = w.inmate.strip_prefix(INMATE_KEY_MARK)?;
            let mut id = [0u8; 8];
            for (i, b) in id.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            (hex.len() == 16).then_some(id)
        })
}

/// The canary entries [`crate::list::build`] adds to every list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticRows {
    /// Registered numbers, each scoped to [`CANARY_FACILITY`].
    pub registry: Vec<RegistryRow>,
    /// Windows at [`CANARY_FACILITY`].
    pub windows: Vec<WindowRow>,
}

/// The canary entries.
pub fn synthetic_rows() -> SyntheticRows {
    let scoped = || Some(vec![CANARY_FACILITY.to_string()]);
    let mut registry: Vec<RegistryRow> = NANP
        .iter()
        .map(|&n| E164::from_nanp_national(n))
        .chain(INTL.iter().map(|&n| E164(n)))
        .map(|number| RegistryRow {
            target: Target::Number(number),
            category: Category::Attorney,
            facilities: scoped(),
            valid_from: None,
            valid_until: None,
        })
        .collect();
    // One registration with a validity, so a canary checks it too.
    if let Some(row) = registry.get_mut(1) {
        row.category = Category::PublicDefender;
        row.valid_from = Some(WINDOW_START);
        row.valid_until = Some(WINDOW_END);
    }
    let windows = WINDOWS
        .iter()
        .map(|&(inmate, number)| WindowRow {
            facility: CANARY_FACILITY.to_string(),
            inmate: inmate.to_string(),
            number: E164(number),
            start: WINDOW_START,
            end: WINDOW_END,
        })
        .collect();
    SyntheticRows { registry, windows }
}

/// The canary facility's policy: North American dialing, every category
/// exempt, so that its calls take the decision's private paths.
pub fn policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::RecordWithNotice,
        early_grace_secs: 0,
        fail_mode: FailMode::DoNotRecord,
        unreadable: Unreadable::Record,
        dial_plan: DialPlan::nanp(),
    }
}

/// One canary: a call and the decision it must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryCall {
    /// Facility code ([`CANARY_FACILITY`]).
    pub facility: String,
    /// Inmate account id (empty for calls to registered numbers).
    pub inmate: String,
    /// The number as dialed.
    pub dialed: String,
    /// Decision time (seconds since the epoch).
    pub at: i64,
    /// Whether the call must be recorded.
    pub record: bool,
    /// Why.
    pub reason: Reason,
}

/// Up to `max` calls to the canary entries of `list`, each decided with
/// the native [`Decider`]: the registered numbers in the forms a PBX hands
/// over, at `at`; two unregistered neighbours; the windows at their first
/// and last second, a second before, and with another inmate. A list
/// without the canary facility (built by hand) has none. The same list,
/// `at` and `max` always give the same calls.
///
/// ```
/// use privcall_core::canary::canary_calls;
/// use privcall_core::list::build;
/// use privcall_core::normalize::DialPlan;
/// use privcall_core::types::{CategorySet, FailMode, Overrun, Policy, Reason, Unreadable};
///
/// let policy = Policy {
///     exempt: CategorySet::all(),
///     overrun: Overrun::RecordWithNotice,
///     early_grace_secs: 0,
///     fail_mode: FailMode::DoNotRecord,
///     unreadable: Unreadable::Record,
///     dial_plan: DialPlan::nanp(),
/// };
/// // An empty list still holds the canary entries.
/// let list = build(policy, vec![], &[], &[]).unwrap();
/// let calls = canary_calls(&list, 1_790_000_000, 16);
/// assert_eq!(calls.len(), 15);
/// assert!(calls.iter().any(|c| c.reason == Reason::Registered));
/// assert!(calls.iter().any(|c| c.reason == Reason::Prearranged));
/// ```
pub fn canary_calls(list: &CompiledList, at: i64, max: usize) -> Vec<CanaryCall> {
    if list
        .facilities
        .binary_search_by(|f| f.code.as_str().cmp(CANARY_FACILITY))
        .is_err()
    {
        return Vec::new();
    }
    let decider = Decider::new(list.clone());
    calls(at)
        .into_iter()
        .take(max)
        .map(|(inmate, dialed, at)| {
            let d = decider.decide(&Call {
                facility: CANARY_FACILITY,
                inmate: &inmate,
                dialed: &dialed,
                at,
                started: None,
            });
            CanaryCall {
                facility: CANARY_FACILITY.to_string(),
                inmate,
                dialed,
                at,
                record: d.record,
                reason: d.reason,
            }
        })
        .collect()
}

/// The calls [`canary_calls`] decides, in its order: (inmate, dialed,
/// time).
fn calls(at: i64) -> Vec<(String, String, i64)> {
    let [a, b, c, d, e, f] = NANP.map(|n| E164::from_nanp_national(n).to_string());
    let [uk, au] = INTL.map(|n| E164(n).to_string());
    let digits = |s: &str| s.trim_start_matches('+').to_string();
    let plain = |dialed: String| (String::new(), dialed, at);
    let mut out = vec![
        plain(a.clone()),
        plain(format!("({}) {}-{}", &b[2..5], &b[5..8], &b[8..])),
        plain(format!("1-{}-{}-{}", &c[2..5], &c[5..8], &c[8..])),
        plain(format!("tel:+1-{}-{}-{}", &d[2..5], &d[5..8], &d[8..])),
        plain(format!("<sip:{e}@pbx.invalid;user=phone>")),
        plain(digits(&f)[1..].to_string()),
        plain(format!("+44 20 7946 {}", &uk[9..])),
        plain(format!("011 {}", digits(&au))),
        // Unregistered neighbours.
        plain(E164::from_nanp_national(NANP[0] + 1).to_string()),
        plain(E164(INTL[0] + 1).to_string()),
    ];
    let [(one, one_number), (two, two_number)] = WINDOWS;
    let window =
        |inmate: &str, number: u64, t: i64| (inmate.to_string(), E164(number).to_string(), t);
    out.extend([
        window(one, one_number, WINDOW_START),
        window(one, one_number, WINDOW_END - 1),
        window(one, one_number, WINDOW_START - 1),
        window(two, one_number, WINDOW_START),
        window(
            two,
            two_number,
            WINDOW_START + (WINDOW_END - WINDOW_START) / 2,
        ),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::build;
    use crate::test_support::policy;

    fn registered(number: E164, facility: Option<&str>) -> RegistryRow {
        RegistryRow {
            target: Target::Number(number),
            category: Category::Attorney,
            facilities: facility.map(|f| vec![f.to_string()]),
            valid_from: None,
            valid_until: None,
        }
    }

    /// Every canary gets the decision its entry calls for: the registered
    /// numbers in every form are private, their neighbours recorded, the
    /// windows private from their first to their last second and for
    /// their own inmate only.
    #[test]
    fn each_canary_takes_its_path() {
        let list = build(policy(), vec![], &[], &[]).unwrap();
        let calls = canary_calls(&list, 1_790_000_000, 16);
        let outcomes: Vec<(bool, Reason)> = calls.iter().map(|c| (c.record, c.reason)).collect();
        let private = (false, Reason::Registered);
        let recorded = (true, Reason::NotPrivileged);
        let prearranged = (false, Reason::Prearranged);
        assert_eq!(
            outcomes,
            [
                [private; 8].as_slice(),
                &[recorded; 2],
                &[prearranged, prearranged, recorded, recorded, prearranged],
            ]
            .concat(),
            "{calls:#?}"
        );
        for max in [0, 1, 3, 5] {
            assert_eq!(canary_calls(&list, 1_790_000_000, max).len(), max);
        }
    }

    /// The calls are the same whatever the real list holds: a bundle's
    /// canaries show nothing of its registry or windows.
    #[test]
    fn canaries_do_not_depend_on_the_real_list() {
        let empty = build(policy(), vec![], &[], &[]).unwrap();
        let rows: Vec<RegistryRow> = (0..50)
            .map(|i| registered(E164::from_nanp_national(3_144_440_000 + 3 * i), None))
            .chain([registered(E164(442_071_234_567), Some("AAA"))])
            .collect();
        let windows = vec![WindowRow {
            facility: "AAA".into(),
            inmate: "I7".into(),
            number: E164::from_nanp_national(3_145_550_100),
            start: 100,
            end: 200,
        }];
        let real = build(policy(), vec![], &rows, &windows).unwrap();
        let at = 1_790_000_000;
        assert_eq!(canary_calls(&real, at, 16), canary_calls(&empty, at, 16));
        let shown = format!("{:?}", canary_calls(&real, at, 16));
        assert!(
            !shown.contains("I7") && !shown.contains("3144440"),
            "{shown}"
        );
    }

    /// No source can name the canary facility.
    #[test]
    fn the_canary_facility_is_reserved() {
        let scoped = registered(
            E164::from_nanp_national(5_735_550_142),
            Some(CANARY_FACILITY),
        );
        assert!(build(policy(), vec![], &[scoped], &[]).is_err());
        assert!(build(policy(), vec![(CANARY_FACILITY.into(), policy())], &[], &[]).is_err());
        let window = WindowRow {
            facility: CANARY_FACILITY.into(),
            inmate: "A1".into(),
            number: E164::from_nanp_national(5_735_550_142),
            start: 1_790_000_000,
            end: 1_790_000_060,
        };
        assert!(build(policy(), vec![], &[], &[window]).is_err());
    }
}
