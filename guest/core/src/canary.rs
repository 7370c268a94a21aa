//! Canary calls: a few calls picked from a compiled list, with what the
//! native decision core answers for each.
//!
//! A bundle carries them beside its list, and the host replays them on the
//! guest before the list goes live: a guest that answers any of them
//! differently is not given the list. Picking them here, next to the list's
//! layout, keeps the host from reading the list's storage.

use crate::decide::Decider;
use crate::list::{CompiledList, FacilityIndex, Grant};
use crate::normalize::E164;
use crate::types::{Call, Reason};

/// One canary: a call and the decision it must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryCall {
    /// Facility code.
    pub facility: String,
    /// Inmate account id (empty for calls to registered numbers).
    pub inmate: String,
    /// The number as dialed, in E.164 form (`+15735550142`).
    pub dialed: String,
    /// Decision time (seconds since the epoch).
    pub at: i64,
    /// Whether the call must be recorded.
    pub record: bool,
    /// Why.
    pub reason: Reason,
}

/// Picks up to `max` calls spread over `list` and decides each with the
/// native [`Decider`] at `at` (or, for a registration not valid then, at
/// the nearest second it is).
///
/// In order: up to 6 registered North American numbers and up to 2 others,
/// evenly spaced over the sets, each at a facility its registration covers;
/// after each, while fewer than `max - 4` calls are picked, the next number
/// up when it is not registered (it must come out "record"); then up to 4
/// windows, each at its start. The same list, `at` and `max` always give
/// the same calls.
///
/// ```
/// use privcall_core::canary::canary_calls;
/// use privcall_core::list::build;
/// use privcall_core::normalize::DialPlan;
/// use privcall_core::types::{CategorySet, FailMode, Overrun, Policy, Unreadable};
///
/// let policy = Policy {
///     exempt: CategorySet::all(),
///     overrun: Overrun::RecordWithNotice,
///     early_grace_secs: 0,
///     fail_mode: FailMode::DoNotRecord,
///     unreadable: Unreadable::Record,
///     dial_plan: DialPlan::nanp(),
/// };
/// let list = build(policy, vec![], &[], &[]).unwrap();
/// assert!(canary_calls(&list, 0, 16).is_empty());
/// ```
pub fn canary_calls(list: &CompiledList, at: i64, max: usize) -> Vec<CanaryCall> {
    let decider = Decider::new(list.clone());
    pick_calls(list, at, max)
        .into_iter()
        .map(|(facility, inmate, number, at)| {
            let dialed = number.to_string();
            let d = decider.decide(&Call {
                facility: &facility,
                inmate: &inmate,
                dialed: &dialed,
                at,
                started: None,
            });
            CanaryCall {
                facility,
                inmate,
                dialed,
                at,
                record: d.record,
                reason: d.reason,
            }
        })
        .collect()
}

/// The calls [`canary_calls`] decides, in its order: (facility, inmate,
/// number, time).
fn pick_calls(list: &CompiledList, at: i64, max: usize) -> Vec<(String, String, E164, i64)> {
    let mut calls: Vec<(String, String, E164, i64)> = Vec::new();
    for (set, classes, intl) in [
        (&list.nanp, &list.nanp_classes, false),
        (&list.intl, &list.intl_classes, true),
    ] {
        let quota = if intl { 2 } else { 6 };
        let step = set.len().div_ceil(quota).max(1);
        // Walks the set once, without collecting it (millions of keys).
        for (i, key) in set.iter().enumerate().step_by(step) {
            let number = if intl {
                E164(key)
            } else {
                E164::from_nanp_national(key)
            };
            let grant = classes
                .get(i)
                .and_then(|c| list.classes.get(c as usize))
                .and_then(|c| c.first());
            let (facility, t) = call_site(list, grant, at);
            calls.push((facility.clone(), String::new(), number, t));
            // A neighbour that is not registered must come out "record".
            if !set.contains(key + 1) && calls.len() < max.saturating_sub(4) {
                calls.push((facility, String::new(), E164(number.0 + 1), t));
            }
        }
    }
    let step = list.windows.len().div_ceil(4).max(1);
    for w in list.windows.iter().step_by(step) {
        calls.push((
            facility_code(list, w.facility),
            w.inmate.clone(),
            E164(w.number),
            w.start,
        ));
    }
    calls.truncate(max);
    calls
}

/// Where and when to call a number registered under `grant`: the first
/// facility in its scope (the list's first facility when it has no scope),
/// at `at` moved into its validity.
fn call_site(list: &CompiledList, grant: Option<&Grant>, at: i64) -> (String, i64) {
    let any_facility = || {
        list.facilities
            .first()
            .map(|f| f.code.clone())
            .unwrap_or_default()
    };
    match grant {
        Some(g) => {
            let facility = g
                .facilities
                .as_ref()
                .and_then(|fs| fs.first())
                .map_or_else(any_facility, |&f| facility_code(list, f));
            let t = g.valid_from.map_or(at, |from| at.max(from));
            let t = g
                .valid_until
                .map_or(t, |until| t.min(until.saturating_sub(1)));
            (facility, t)
        }
        None => (any_facility(), at),
    }
}

/// The code of facility `f` (empty if the list has no such facility).
fn facility_code(list: &CompiledList, f: FacilityIndex) -> String {
    list.facilities
        .get(usize::from(f))
        .map(|f| f.code.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{build, RegistryRow, Target, WindowRow};
    use crate::test_support::policy;
    use crate::types::Category;

    fn registered(number: E164, facility: Option<&str>, valid_from: Option<i64>) -> RegistryRow {
        RegistryRow {
            target: Target::Number(number),
            category: Category::Attorney,
            facilities: facility.map(|f| vec![f.to_string()]),
            valid_from,
            valid_until: None,
        }
    }

    /// Registered numbers come out private, each at a facility and time its
    /// row covers; the unregistered neighbours come out recorded; windows
    /// come out prearranged; and there are never more than `max`.
    #[test]
    fn registered_numbers_neighbours_and_windows() {
        let at = 1_000_000;
        let mut rows: Vec<RegistryRow> = (0..20)
            .map(|i| {
                let number = E164::from_nanp_national(5_735_550_000 + 2 * i);
                registered(number, (i % 2 == 0).then_some("BBB"), Some(at + 50))
            })
            .collect();
        rows.push(registered(E164(442_071_234_567), None, None));
        rows.push(registered(E164(442_071_234_569), None, None));
        let windows: Vec<WindowRow> = (0..6)
            .map(|i| WindowRow {
                facility: "AAA".into(),
                inmate: format!("I{i}"),
                number: E164::from_nanp_national(3_145_550_100 + i),
                start: at + 100 * i as i64,
                end: at + 100 * i as i64 + 60,
            })
            .collect();
        let list = build(policy(), vec![], &rows, &windows).unwrap();
        let calls = canary_calls(&list, at, 16);
        assert_eq!(calls.len(), 16);
        let row_of = |dialed: &str| {
            rows.iter().find(|r| match r.target {
                Target::Number(n) => n.to_string() == dialed,
                Target::Prefix(_) => false,
            })
        };
        let (mut private, mut neighbours, mut prearranged) = (0, 0, 0);
        for c in &calls {
            if !c.inmate.is_empty() {
                assert_eq!((c.record, c.reason), (false, Reason::Prearranged), "{c:?}");
                prearranged += 1;
            } else if let Some(row) = row_of(&c.dialed) {
                assert_eq!((c.record, c.reason), (false, Reason::Registered), "{c:?}");
                assert_eq!(c.at, row.valid_from.map_or(at, |from| at.max(from)));
                if let Some(facilities) = &row.facilities {
                    assert_eq!(facilities, std::slice::from_ref(&c.facility));
                }
                private += 1;
            } else {
                assert_eq!((c.record, c.reason), (true, Reason::NotPrivileged), "{c:?}");
                neighbours += 1;
            }
        }
        // Every fourth of the 20 North American numbers and both others;
        // a neighbour after each until 12 calls are picked; every second
        // window.
        assert_eq!((private, neighbours, prearranged), (7, 6, 3));
        for max in [0, 1, 3, 5] {
            let few = canary_calls(&list, at, max);
            assert!(few.len() <= max, "{max}: {}", few.len());
        }
    }
}
