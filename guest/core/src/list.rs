//! The compiled list: what a signed bundle's body holds, how it is built from
//! normalized sources, and how it is checked when it arrives.
//!
//! Numbers are not stored with their attributes. Every distinct combination
//! of registry rows that applies to a number (category, facility scope,
//! validity) is a *class*; the number set answers a number's rank and a
//! bit-packed array maps the rank to its class id. Lists have few classes, so
//! a number costs its set entry plus a few bits.

use std::collections::HashMap;

use bincode::{Decode, Encode};

use crate::normalize::{Prefix, E164};
use crate::set::{PackedInts, RadixSet, SetError};
use crate::types::{Category, Policy};
pub use crate::windows::{window_key, Window};

/// Magic bytes at the start of a compiled list body.
pub const BODY_MAGIC: [u8; 4] = *b"PCLB";
/// Version of the body layout; bumped on any incompatible change.
pub const BODY_VERSION: u16 = 2;
/// The largest body a guest accepts (a 5M-number list is ~15 MB).
pub const MAX_BODY_BYTES: usize = 512 << 20;

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

/// Why a compiled list body was refused. Messages name the part of the
/// structure, never a number, inmate or facility.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListError {
    /// The body does not start with the magic bytes.
    BadMagic,
    /// The body layout version is not the one this code reads.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// Larger than [`MAX_BODY_BYTES`].
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The encoding is broken or truncated.
    Decode(String),
    /// Bytes follow the encoded list.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A structural rule is broken.
    Invalid(&'static str),
    /// The number set is broken.
    Set(SetError),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListError::BadMagic => write!(f, "not a compiled privcall list (bad magic)"),
            ListError::UnsupportedVersion { found } => write!(
                f,
                "list body version {found} is not supported (this build reads {BODY_VERSION})"
            ),
            ListError::TooLarge { bytes } => {
                write!(f, "list body of {bytes} bytes exceeds {MAX_BODY_BYTES}")
            }
            ListError::Decode(e) => write!(f, "list body is malformed: {e}"),
            ListError::TrailingBytes { count } => {
                write!(f, "list body has {count} trailing bytes")
            }
            ListError::Invalid(what) => write!(f, "list body is invalid: {what}"),
            ListError::Set(e) => write!(f, "list body's number set is invalid: {e}"),
        }
    }
}

impl std::error::Error for ListError {}

impl From<SetError> for ListError {
    fn from(e: SetError) -> Self {
        ListError::Set(e)
    }
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<MAX_BODY_BYTES>()
}

impl CompiledList {
    /// Encodes the body: magic, version, then the list.
    #[expect(
        clippy::expect_used,
        reason = "encoding these types into a Vec cannot fail: bincode's limit applies to decoding only"
    )]
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded =
            bincode::encode_to_vec(self, bincode_config()).expect("encoding a list into memory");
        let mut out = Vec::with_capacity(encoded.len() + 6);
        out.extend_from_slice(&BODY_MAGIC);
        out.extend_from_slice(&BODY_VERSION.to_le_bytes());
        out.extend_from_slice(&encoded);
        out
    }

    /// Decodes and fully validates a body. Everything is checked before the
    /// list is used, so a decision never meets a broken structure.
    pub fn from_bytes(bytes: &[u8]) -> Result<CompiledList, ListError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ListError::TooLarge { bytes: bytes.len() });
        }
        let rest = bytes.strip_prefix(&BODY_MAGIC).ok_or(ListError::BadMagic)?;
        let (version, rest) = rest.split_first_chunk().ok_or(ListError::BadMagic)?;
        let version = u16::from_le_bytes(*version);
        if version != BODY_VERSION {
            return Err(ListError::UnsupportedVersion { found: version });
        }
        let (list, used): (CompiledList, usize) =
            bincode::decode_from_slice(rest, bincode_config())
                .map_err(|e| ListError::Decode(e.to_string()))?;
        if used != rest.len() {
            return Err(ListError::TrailingBytes {
                count: rest.len() - used,
            });
        }
        list.validate()?;
        Ok(list)
    }

    /// Checks every structural rule the decision code relies on.
    pub fn validate(&self) -> Result<(), ListError> {
        use ListError::Invalid;
        check_policy(&self.default_policy)?;
        if self.facilities.len() > usize::from(FacilityIndex::MAX) {
            return Err(Invalid("too many facilities"));
        }
        if !self.facilities.is_sorted_by(|a, b| a.code < b.code) {
            return Err(Invalid("facilities are not sorted and unique"));
        }
        for f in &self.facilities {
            if f.code.is_empty() {
                return Err(Invalid("empty facility code"));
            }
            check_policy(&f.policy)?;
        }
        let nfac = self.facilities.len();
        for class in &self.classes {
            if class.is_empty() {
                return Err(Invalid("empty class"));
            }
            for g in class {
                if let Some(fs) = &g.facilities {
                    if fs.is_empty() || !fs.is_sorted_by(|a, b| a < b) {
                        return Err(Invalid("grant facilities are not sorted and unique"));
                    }
                    if fs.iter().any(|&i| usize::from(i) >= nfac) {
                        return Err(Invalid("grant names an unknown facility"));
                    }
                }
                if let (Some(a), Some(b)) = (g.valid_from, g.valid_until) {
                    if a >= b {
                        return Err(Invalid("grant validity is empty"));
                    }
                }
            }
        }
        let nclass = self.classes.len();
        for (set, classes) in [
            (&self.nanp, &self.nanp_classes),
            (&self.intl, &self.intl_classes),
        ] {
            set.validate()?;
            classes.validate()?;
            if set.len() != classes.len() {
                return Err(Invalid("class ids do not match the number set"));
            }
            if !classes.is_empty() && classes.max_value() as usize >= nclass {
                return Err(Invalid("class id out of range"));
            }
        }
        if self
            .nanp
            .iter()
            .last()
            .is_some_and(|k| k >= E164::NANP_NATIONAL_LIMIT)
        {
            return Err(Invalid("North American key longer than 10 digits"));
        }
        if self
            .intl
            .iter()
            .any(|k| !(1_000_000..=999_999_999_999_999).contains(&k))
        {
            return Err(Invalid("international number of the wrong length"));
        }
        if !self
            .prefixes
            .is_sorted_by(|a, b| (a.len, a.value) < (b.len, b.value))
        {
            return Err(Invalid("prefix blocks are not sorted and unique"));
        }
        for p in &self.prefixes {
            let digits = E164(p.value).digits();
            if !(4..=14).contains(&p.len) || digits != u32::from(p.len) {
                return Err(Invalid("prefix block of the wrong length"));
            }
            if p.class as usize >= nclass {
                return Err(Invalid("prefix block class out of range"));
            }
        }
        if !self.windows.is_sorted_by_key(|w| (w.key, w.start)) {
            return Err(Invalid("windows are not sorted"));
        }
        for w in &self.windows {
            if usize::from(w.facility) >= nfac {
                return Err(Invalid("window names an unknown facility"));
            }
            if w.start >= w.end {
                return Err(Invalid("window ends before it starts"));
            }
            if w.key != window_key(w.facility, E164(w.number), &w.inmate) {
                return Err(Invalid("window key does not match its fields"));
            }
        }
        Ok(())
    }

    /// Reads only the policies from the start of a body (the default policy
    /// and the facility table come first in the encoding), so the host can
    /// know every facility's fail mode without decoding the number set.
    pub fn policies_from_bytes(bytes: &[u8]) -> Result<(Policy, Vec<Facility>), ListError> {
        let rest = bytes.strip_prefix(&BODY_MAGIC).ok_or(ListError::BadMagic)?;
        let (version, rest) = rest.split_first_chunk().ok_or(ListError::BadMagic)?;
        let version = u16::from_le_bytes(*version);
        if version != BODY_VERSION {
            return Err(ListError::UnsupportedVersion { found: version });
        }
        let ((default_policy, facilities), _): ((Policy, Vec<Facility>), usize) =
            bincode::decode_from_slice(rest, bincode_config())
                .map_err(|e| ListError::Decode(e.to_string()))?;
        check_policy(&default_policy)?;
        for f in &facilities {
            check_policy(&f.policy)?;
        }
        Ok((default_policy, facilities))
    }

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

fn check_policy(p: &Policy) -> Result<(), ListError> {
    if !p.exempt.is_valid() {
        return Err(ListError::Invalid("policy exempts an unknown category"));
    }
    if !(0..=Policy::MAX_GRACE_SECS).contains(&p.early_grace_secs) {
        return Err(ListError::Invalid("policy early grace out of range"));
    }
    p.dial_plan
        .validate()
        .map_err(|_| ListError::Invalid("policy dial plan is invalid"))
}

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

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;
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
        assert_eq!(list.number_count(), 3);
        assert_eq!(list.prefix_count(), 1);
        assert_eq!(list.window_count(), 1);
        assert_eq!(list.class_count(), 3);
        let codes: Vec<(&str, bool)> = list
            .facilities()
            .iter()
            .map(|f| (f.code.as_str(), f.own_policy))
            .collect();
        assert_eq!(codes, [("AAA", false), ("BBB", false), ("CCC", true)]);
    }
}
