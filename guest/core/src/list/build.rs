//! Building a compiled list from normalized registry and window rows.

use std::collections::HashMap;

use super::{
    window_key, CompiledList, Facility, FacilityIndex, Grant, ListError, PrefixEntry, Window,
};
use crate::normalize::{Prefix, E164};
use crate::set::{PackedInts, RadixSet};
use crate::types::{Category, Policy};

/// What a registry row applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One number.
    Number(E164),
    /// Every number starting with these digits.
    Prefix(Prefix),
}

/// A registry row after normalization, facilities still as codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRow {
    /// The number or block.
    pub target: Target,
    /// Its category.
    pub category: Category,
    /// Facility codes in scope, or `None` for all.
    pub facilities: Option<Vec<String>>,
    /// First second of validity, inclusive.
    pub valid_from: Option<i64>,
    /// End of validity, exclusive.
    pub valid_until: Option<i64>,
}

/// A prearranged window after normalization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowRow {
    /// Facility code.
    pub facility: String,
    /// Inmate account id.
    pub inmate: String,
    /// The number, in E.164.
    pub number: E164,
    /// Start, inclusive.
    pub start: i64,
    /// End, exclusive.
    pub end: i64,
}

/// Builds a [`CompiledList`] from normalized rows. The caller (the host's
/// compiler) has already reported bad rows with file, line and field; what
/// can still fail here is structural (too many facilities).
pub fn build(
    default_policy: Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: &[RegistryRow],
    windows: &[WindowRow],
) -> Result<CompiledList, ListError> {
    // Facilities: every code named anywhere gets an index; those without a
    // table of their own decide under the default policy.
    let mut table: std::collections::BTreeMap<String, (Policy, bool)> = facility_policies
        .into_iter()
        .map(|(code, p)| (code, (p, true)))
        .collect();
    let named = registry
        .iter()
        .flat_map(|r| r.facilities.iter().flatten())
        .chain(windows.iter().map(|w| &w.facility));
    for code in named {
        table
            .entry(code.clone())
            .or_insert_with(|| (default_policy.clone(), false));
    }
    if table.len() > usize::from(FacilityIndex::MAX) {
        return Err(ListError::Invalid("too many facilities"));
    }
    let facilities: Vec<Facility> = table
        .into_iter()
        .map(|(code, (policy, own_policy))| Facility {
            code,
            policy,
            own_policy,
        })
        .collect();
    #[expect(
        clippy::expect_used,
        reason = "the table above has every facility code the rows name"
    )]
    let index_of = |code: &str| -> FacilityIndex {
        let i = facilities
            .binary_search_by(|f| f.code.as_str().cmp(code))
            .expect("every named facility is in the table");
        i as FacilityIndex
    };

    // Grants and classes.
    let mut grant_ids: HashMap<Grant, u32> = HashMap::new();
    let mut grants: Vec<Grant> = Vec::new();
    let mut number_grants: Vec<(Target, u32)> = Vec::with_capacity(registry.len());
    for row in registry {
        let facilities = row.facilities.as_ref().map(|codes| {
            let mut ids: Vec<FacilityIndex> = codes.iter().map(|c| index_of(c)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let grant = Grant {
            category: row.category,
            facilities,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
        };
        let id = *grant_ids.entry(grant.clone()).or_insert_with(|| {
            grants.push(grant);
            (grants.len() - 1) as u32
        });
        number_grants.push((row.target, id));
    }
    // Sorting by (target, grant) groups each target's grants together; the
    // grant ids are then turned into classes in a canonical order.
    number_grants.sort_unstable_by_key(|&(t, g)| (target_order(t), g));
    number_grants.dedup();

    let mut classes: Vec<Vec<Grant>> = Vec::new();
    let mut class_ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut nanp_keys = Vec::new();
    let mut nanp_cls = Vec::new();
    let mut intl_keys = Vec::new();
    let mut intl_cls = Vec::new();
    let mut prefixes = Vec::new();
    for group in number_grants.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(target, _)) = group.first() else {
            continue;
        };
        let ids: Vec<u32> = group.iter().map(|&(_, g)| g).collect();
        let class = match class_ids.get(&ids) {
            Some(&c) => c,
            None => {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "grant ids are positions in `grants`, assigned as it grew"
                )]
                let mut class: Vec<Grant> =
                    ids.iter().map(|&g| grants[g as usize].clone()).collect();
                class.sort();
                classes.push(class);
                let c = (classes.len() - 1) as u32;
                class_ids.insert(ids, c);
                c
            }
        };
        match target {
            Target::Number(n) => match n.nanp_national() {
                Some(national) => {
                    nanp_keys.push(national);
                    nanp_cls.push(class);
                }
                None => {
                    intl_keys.push(n.0);
                    intl_cls.push(class);
                }
            },
            Target::Prefix(p) => prefixes.push(PrefixEntry {
                value: p.value,
                len: p.len,
                class,
            }),
        }
    }
    // NANP numbers sort by national number in the same order as by E.164,
    // and targets were sorted numbers-first, so the keys are increasing.
    let nanp = RadixSet::from_sorted(&nanp_keys)?;
    let intl = RadixSet::from_sorted(&intl_keys)?;
    prefixes.sort_by_key(|p| (p.len, p.value));

    let mut compiled_windows: Vec<Window> = windows
        .iter()
        .map(|w| {
            let facility = index_of(&w.facility);
            Window {
                key: window_key(facility, w.number, &w.inmate),
                facility,
                number: w.number.0,
                inmate: w.inmate.clone(),
                start: w.start,
                end: w.end,
            }
        })
        .collect();
    // Every field in the order, so identical windows end up adjacent for
    // dedup even when two keys collide.
    compiled_windows.sort_by(|a, b| {
        (a.key, a.start, a.end, a.facility, a.number)
            .cmp(&(b.key, b.start, b.end, b.facility, b.number))
            .then_with(|| a.inmate.cmp(&b.inmate))
    });
    compiled_windows.dedup();

    let list = CompiledList {
        default_policy,
        facilities,
        classes,
        nanp,
        nanp_classes: PackedInts::from_values(&nanp_cls),
        intl,
        intl_classes: PackedInts::from_values(&intl_cls),
        prefixes,
        windows: compiled_windows,
    };
    list.validate()?;
    Ok(list)
}

/// Sort key putting NANP numbers first (by national number), then other
/// numbers, then prefix blocks.
fn target_order(t: Target) -> (u8, u64, u8) {
    match t {
        Target::Number(n) => match n.nanp_national() {
            Some(national) => (0, national, 0),
            None => (1, n.0, 0),
        },
        Target::Prefix(p) => (2, p.value, p.len),
    }
}
