//! Building a compiled list from normalized registry and window rows.

use std::collections::{BTreeMap, HashMap};

use super::{
    window_key, CompiledList, Facility, FacilityIndex, Grant, ListError, PrefixEntry, Window,
};
use crate::canary::{self, CANARY_FACILITY};
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

/// Builds a [`CompiledList`] from normalized rows, with the synthetic
/// canary entries of [`crate::canary`] added (every list holds them). The
/// caller (the host's compiler) has already reported bad rows with file,
/// line and field; what can still fail here is structural (too many
/// facilities, or a source naming the reserved canary facility).
pub fn build(
    default_policy: Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: &[RegistryRow],
    windows: &[WindowRow],
) -> Result<CompiledList, ListError> {
    build_keyed(default_policy, facility_policies, registry, windows, None)
}

/// [`build`] for windows whose inmate ids are already hashed with the
/// inmate key `inmate_key` (its id): the list also holds the marker window
/// ([`canary::inmate_key_marker`]) that says so.
pub fn build_keyed(
    default_policy: Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: &[RegistryRow],
    windows: &[WindowRow],
    inmate_key: Option<[u8; 8]>,
) -> Result<CompiledList, ListError> {
    build_inner(
        default_policy,
        facility_policies,
        registry,
        windows,
        inmate_key,
        &[],
    )
}

/// [`build_keyed`] with `extra` facility codes in the table even where no
/// row names them (a fleet's registry part names every facility of the
/// fleet, so each facility's window part finds its index).
pub(super) fn build_inner(
    default_policy: Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: &[RegistryRow],
    windows: &[WindowRow],
    inmate_key: Option<[u8; 8]>,
    extra: &[String],
) -> Result<CompiledList, ListError> {
    let reserved = |code: &String| code == CANARY_FACILITY;
    if facility_policies.iter().any(|(code, _)| reserved(code))
        || registry
            .iter()
            .any(|r| r.facilities.iter().flatten().any(reserved))
        || windows.iter().any(|w| reserved(&w.facility))
        || extra.iter().any(reserved)
    {
        return Err(ListError::Invalid("the canary facility is reserved"));
    }
    let mut canaries = canary::synthetic_rows();
    canaries
        .windows
        .extend(inmate_key.map(canary::inmate_key_marker));
    let mut facility_policies = facility_policies;
    facility_policies.push((CANARY_FACILITY.to_string(), canary::policy()));
    let registry = || registry.iter().chain(&canaries.registry);
    let windows = || windows.iter().chain(&canaries.windows);
    let facilities = facility_table(
        &default_policy,
        facility_policies,
        registry(),
        windows(),
        extra,
    )?;
    let (grants, target_grants) = intern_grants(registry(), &facilities);
    let classified = classify(&target_grants, &grants);
    // NANP numbers sort by national number in the same order as by E.164,
    // and targets were sorted numbers-first, so the keys are increasing.
    let nanp = RadixSet::from_sorted(&classified.nanp_keys)?;
    let intl = RadixSet::from_sorted(&classified.intl_keys)?;
    let mut prefixes = classified.prefixes;
    prefixes.sort_by_key(|p| (p.len, p.value));
    let windows = compile_windows(windows(), &facilities);
    let list = CompiledList {
        default_policy,
        facilities,
        classes: classified.classes,
        nanp,
        nanp_classes: PackedInts::from_values(&classified.nanp_classes),
        intl,
        intl_classes: PackedInts::from_values(&classified.intl_classes),
        prefixes,
        windows,
    };
    list.validate()?;
    Ok(list)
}

/// The facility table, sorted by code: every code named anywhere gets an
/// index; those without a table of their own decide under the default
/// policy.
fn facility_table<'r>(
    default_policy: &Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: impl Iterator<Item = &'r RegistryRow>,
    windows: impl Iterator<Item = &'r WindowRow>,
    extra: &'r [String],
) -> Result<Vec<Facility>, ListError> {
    let mut table: BTreeMap<String, (Policy, bool)> = facility_policies
        .into_iter()
        .map(|(code, p)| (code, (p, true)))
        .collect();
    let named = registry
        .flat_map(|r| r.facilities.iter().flatten())
        .chain(windows.map(|w| &w.facility))
        .chain(extra);
    for code in named {
        table
            .entry(code.clone())
            .or_insert_with(|| (default_policy.clone(), false));
    }
    if table.len() > usize::from(FacilityIndex::MAX) {
        return Err(ListError::Invalid("too many facilities"));
    }
    Ok(table
        .into_iter()
        .map(|(code, (policy, own_policy))| Facility {
            code,
            policy,
            own_policy,
        })
        .collect())
}

/// The index of `code` in `facilities`, the table [`facility_table`] made
/// from the same rows.
#[expect(
    clippy::expect_used,
    reason = "the table has every facility code the rows name"
)]
pub(super) fn index_of(facilities: &[Facility], code: &str) -> FacilityIndex {
    let i = facilities
        .binary_search_by(|f| f.code.as_str().cmp(code))
        .expect("every named facility is in the table");
    i as FacilityIndex
}

/// Each row's effect as a grant, stored once however many rows share it:
/// the distinct grants, and each target with the id of every grant it has,
/// sorted by (target, grant) and unique.
fn intern_grants<'r>(
    registry: impl Iterator<Item = &'r RegistryRow>,
    facilities: &[Facility],
) -> (Vec<Grant>, Vec<(Target, u32)>) {
    let mut grant_ids: HashMap<Grant, u32> = HashMap::new();
    let mut grants: Vec<Grant> = Vec::new();
    let mut target_grants: Vec<(Target, u32)> = Vec::with_capacity(registry.size_hint().0);
    for row in registry {
        let scope = row.facilities.as_ref().map(|codes| {
            let mut ids: Vec<FacilityIndex> =
                codes.iter().map(|c| index_of(facilities, c)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let grant = Grant {
            category: row.category,
            facilities: scope,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
        };
        let id = *grant_ids.entry(grant.clone()).or_insert_with(|| {
            grants.push(grant);
            (grants.len() - 1) as u32
        });
        target_grants.push((row.target, id));
    }
    // Sorting by (target, grant) groups each target's grants together; the
    // grant ids are then turned into classes in a canonical order.
    target_grants.sort_unstable_by_key(|&(t, g)| (target_order(t), g));
    target_grants.dedup();
    (grants, target_grants)
}

/// The targets sorted into the list's parts, each with its class id.
#[derive(Default)]
struct Classified {
    /// Distinct combinations of grants, each sorted.
    classes: Vec<Vec<Grant>>,
    /// North American national numbers, increasing.
    nanp_keys: Vec<u64>,
    /// The class of each of `nanp_keys`.
    nanp_classes: Vec<u32>,
    /// Other numbers as E.164 integers, increasing.
    intl_keys: Vec<u64>,
    /// The class of each of `intl_keys`.
    intl_classes: Vec<u32>,
    /// Prefix blocks, in target order.
    prefixes: Vec<PrefixEntry>,
}

/// Gives each target (with its grant ids, grouped as [`intern_grants`]
/// sorts them) the class of its set of grants, made the first time that
/// set is met, and files it with the numbers of its kind.
fn classify(target_grants: &[(Target, u32)], grants: &[Grant]) -> Classified {
    let mut out = Classified::default();
    let mut class_ids: HashMap<Vec<u32>, u32> = HashMap::new();
    for group in target_grants.chunk_by(|a, b| a.0 == b.0) {
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
                out.classes.push(class);
                let c = (out.classes.len() - 1) as u32;
                class_ids.insert(ids, c);
                c
            }
        };
        match target {
            Target::Number(n) => match n.nanp_national() {
                Some(national) => {
                    out.nanp_keys.push(national);
                    out.nanp_classes.push(class);
                }
                None => {
                    out.intl_keys.push(n.0);
                    out.intl_classes.push(class);
                }
            },
            Target::Prefix(p) => out.prefixes.push(PrefixEntry {
                value: p.value,
                len: p.len,
                class,
            }),
        }
    }
    out
}

/// The windows with their facility indices and keys, sorted by key and
/// start, identical ones once.
pub(super) fn compile_windows<'r>(
    windows: impl Iterator<Item = &'r WindowRow>,
    facilities: &[Facility],
) -> Vec<Window> {
    let mut compiled: Vec<Window> = windows
        .map(|w| {
            let facility = index_of(facilities, &w.facility);
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
    sort_windows(&mut compiled);
    compiled
}

/// Sorts windows into the list's order, identical ones once. Every field
/// is in the order, so identical windows end up adjacent for dedup even
/// when two keys collide.
pub(super) fn sort_windows(windows: &mut Vec<Window>) {
    windows.sort_by(|a, b| {
        (a.key, a.start, a.end, a.facility, a.number)
            .cmp(&(b.key, b.start, b.end, b.facility, b.number))
            .then_with(|| a.inmate.cmp(&b.inmate))
    });
    windows.dedup();
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
