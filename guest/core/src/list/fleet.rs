//! A fleet's list in parts: one *registry part* for every facility (the
//! numbers, the policies, the facility table and the synthetic canaries)
//! and one *window part* per facility (that facility's prearranged windows
//! and nothing else), so that an edge receives the windows of its own
//! facilities and no other's.
//!
//! An edge merges the parts into one [`CompiledList`] body ([`merge`]) and
//! loads that like any list. Window parts name their facility by code and
//! the merge files each window under the registry part's index for that
//! code, so any registry part combines with any window part of a facility
//! it names: a new registry part never pairs with windows filed against an
//! old facility table.
//!
//! ```
//! use privcall_core::list::fleet::{self, merge, windows_offset};
//! use privcall_core::list::{CompiledList, WindowRow};
//! use privcall_core::normalize::E164;
//! let policy = privcall_core::canary::policy();
//! let window = WindowRow {
//!     facility: "JCCC".into(),
//!     inmate: "A123".into(),
//!     number: E164(15_735_550_142),
//!     start: 0,
//!     end: 3_600,
//! };
//! let codes = ["JCCC".to_string(), "WMCC".to_string()];
//! let parts = fleet::build(policy, vec![], &[], &[window], &codes, None).unwrap();
//! assert_eq!(parts.windows.len(), 2); // one per facility, WMCC's empty
//! let body = parts.registry.to_bytes();
//! let jccc = &parts.windows[0];
//! let merged = merge(&body, windows_offset(&body).unwrap(), &[jccc]).unwrap();
//! let list = CompiledList::from_bytes(&merged).unwrap();
//! assert_eq!(list.window_count(), parts.registry.window_count() + 1);
//! ```

use bincode::{Decode, Encode};

use super::build::{build_inner, compile_windows, sort_windows};
use super::encoding::{bincode_config, strip_header};
use super::{
    CompiledList, Facility, Grant, ListError, PrefixEntry, RegistryRow, Window, WindowRow,
    BODY_MAGIC, MAX_BODY_BYTES,
};
use crate::canary::{self, CANARY_FACILITY};
use crate::normalize::E164;
use crate::set::{PackedInts, RadixSet};
use crate::types::Policy;

/// Magic bytes at the start of a window part's body.
pub const PART_MAGIC: [u8; 4] = *b"PCLW";
/// Version of the window part's layout.
pub const PART_VERSION: u16 = 1;
/// Most windows one facility's part holds (a facility books tens a day).
pub const MAX_PART_WINDOWS: usize = 1 << 20;
/// Longest facility code a part names.
pub const MAX_CODE_BYTES: usize = 64;

/// One prearranged window of a facility's part: the facility is the part's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PartWindow {
    /// The inmate account id (a keyed tag when the part's ids are hashed).
    pub inmate: String,
    /// The E.164 number, as an integer.
    pub number: u64,
    /// Start, inclusive (seconds since the epoch).
    pub start: i64,
    /// End, exclusive.
    pub end: i64,
}

/// One facility's prearranged windows: what a window part's body holds.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WindowPart {
    /// The facility code, as the PBX sends it.
    pub facility: String,
    /// The inmate key the ids are hashed with (its id), `None` when clear.
    pub inmate_key: Option<[u8; 8]>,
    /// The windows, sorted by (start, number, inmate), unique.
    pub windows: Vec<PartWindow>,
}

impl WindowPart {
    /// Encodes the part: magic, version, then the part.
    #[expect(
        clippy::expect_used,
        reason = "encoding these types into a Vec cannot fail: bincode's limit applies to decoding only"
    )]
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded =
            bincode::encode_to_vec(self, bincode_config()).expect("encoding a part into memory");
        let mut out = Vec::with_capacity(encoded.len() + 6);
        out.extend_from_slice(&PART_MAGIC);
        out.extend_from_slice(&PART_VERSION.to_le_bytes());
        out.extend_from_slice(&encoded);
        out
    }

    /// Decodes and checks a part: a facility code that is not the canary's,
    /// at most [`MAX_PART_WINDOWS`] windows, each ending after it starts.
    pub fn from_bytes(bytes: &[u8]) -> Result<WindowPart, ListError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ListError::TooLarge { bytes: bytes.len() });
        }
        let rest = bytes.strip_prefix(&PART_MAGIC).ok_or(ListError::BadMagic)?;
        let (version, rest) = rest.split_first_chunk().ok_or(ListError::BadMagic)?;
        let version = u16::from_le_bytes(*version);
        if version != PART_VERSION {
            return Err(ListError::UnsupportedVersion { found: version });
        }
        let (part, used): (WindowPart, usize) = bincode::decode_from_slice(rest, bincode_config())
            .map_err(|e| ListError::Decode(e.to_string()))?;
        if used != rest.len() {
            return Err(ListError::TrailingBytes {
                count: rest.len() - used,
            });
        }
        part.check()?;
        Ok(part)
    }

    /// Whether `bytes` start like a window part (not like a list body).
    pub fn is_part(bytes: &[u8]) -> bool {
        bytes.starts_with(&PART_MAGIC)
    }

    fn check(&self) -> Result<(), ListError> {
        let code = &self.facility;
        if code.is_empty() || code.len() > MAX_CODE_BYTES || code == CANARY_FACILITY {
            return Err(ListError::Invalid("window part's facility code is invalid"));
        }
        if self.windows.len() > MAX_PART_WINDOWS {
            return Err(ListError::Invalid("window part holds too many windows"));
        }
        if self.windows.iter().any(|w| w.start >= w.end) {
            return Err(ListError::Invalid("window ends before it starts"));
        }
        Ok(())
    }
}

/// A fleet's list in parts, as [`build`] makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetParts {
    /// Numbers, policies and every facility of the fleet; no real window.
    pub registry: CompiledList,
    /// One part per facility of the fleet, sorted by code (empty parts
    /// too: an edge then knows its facility has no window booked).
    pub windows: Vec<WindowPart>,
}

/// Builds a fleet's parts from normalized rows: the registry part names
/// every code in `facilities` (and every code a row names); each window
/// row goes to its facility's part. A window at a facility outside
/// `facilities` is an error: no edge would receive it, and its call would
/// be recorded. `inmate_key`: the ids are already hashed with that key.
pub fn build(
    default_policy: Policy,
    facility_policies: Vec<(String, Policy)>,
    registry: &[RegistryRow],
    windows: &[WindowRow],
    facilities: &[String],
    inmate_key: Option<[u8; 8]>,
) -> Result<FleetParts, ListError> {
    let mut codes: Vec<String> = facilities.to_vec();
    codes.sort_unstable();
    codes.dedup();
    if codes
        .iter()
        .any(|c| c.is_empty() || c.len() > MAX_CODE_BYTES)
    {
        return Err(ListError::Invalid("a fleet facility code is invalid"));
    }
    let registry = build_inner(
        default_policy,
        facility_policies,
        registry,
        &[],
        None,
        &codes,
    )?;
    let mut parts: Vec<WindowPart> = codes
        .into_iter()
        .map(|facility| WindowPart {
            facility,
            inmate_key,
            windows: Vec::new(),
        })
        .collect();
    for w in windows {
        let i = parts
            .binary_search_by(|p| p.facility.as_str().cmp(&w.facility))
            .map_err(|_| ListError::Invalid("a window's facility is not in the fleet"))?;
        if let Some(part) = parts.get_mut(i) {
            part.windows.push(PartWindow {
                inmate: w.inmate.clone(),
                number: w.number.0,
                start: w.start,
                end: w.end,
            });
        }
    }
    for part in &mut parts {
        part.windows.sort_by(|a, b| {
            (a.start, a.number, &a.inmate, a.end).cmp(&(b.start, b.number, &b.inmate, b.end))
        });
        part.windows.dedup();
        part.check()?;
    }
    Ok(FleetParts {
        registry,
        windows: parts,
    })
}

/// The fields of [`CompiledList`] before its windows, in its encoding's
/// order: decoding them tells where the windows start.
#[derive(Decode)]
#[allow(dead_code, reason = "decoded only to measure the encoding")]
struct BeforeWindows {
    default_policy: Policy,
    facilities: Vec<Facility>,
    classes: Vec<Vec<Grant>>,
    nanp: RadixSet,
    nanp_classes: PackedInts,
    intl: RadixSet,
    intl_classes: PackedInts,
    prefixes: Vec<PrefixEntry>,
}

/// Where a list body's windows start (they are its last field): a body
/// up to there is a registry part's numbers and policies, which a window
/// part's change leaves as they are. Decodes, but does not check, what
/// comes before; [`CompiledList::from_bytes`] on the merged body does.
pub fn windows_offset(body: &[u8]) -> Result<usize, ListError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ListError::TooLarge { bytes: body.len() });
    }
    let rest = strip_header(body)?;
    let (_, used): (BeforeWindows, usize) = bincode::decode_from_slice(rest, bincode_config())
        .map_err(|e| ListError::Decode(e.to_string()))?;
    Ok(body.len() - rest.len() + used)
}

/// Merges window parts into a registry part's body: the registry's own
/// windows (the canaries) and every part's, each filed under the registry
/// part's index for its facility, in the list's order. `offset` is
/// [`windows_offset`] of `registry_body`. A part whose facility the
/// registry part does not name, or two parts for one facility, or parts
/// whose inmate ids are hashed with different keys, are errors.
pub fn merge(
    registry_body: &[u8],
    offset: usize,
    parts: &[&WindowPart],
) -> Result<Vec<u8>, ListError> {
    let (_, facilities) = CompiledList::policies_from_bytes(registry_body)?;
    let (head, tail) = registry_body
        .split_at_checked(offset)
        .ok_or(ListError::Invalid("windows offset is past the body"))?;
    if !head.starts_with(&BODY_MAGIC) {
        return Err(ListError::BadMagic);
    }
    let (mut windows, used): (Vec<Window>, usize) =
        bincode::decode_from_slice(tail, bincode_config())
            .map_err(|e| ListError::Decode(e.to_string()))?;
    if used != tail.len() {
        return Err(ListError::TrailingBytes {
            count: tail.len() - used,
        });
    }
    let mut codes: Vec<&str> = parts.iter().map(|p| p.facility.as_str()).collect();
    codes.sort_unstable();
    if codes.windows(2).any(|p| p.first() == p.last()) {
        return Err(ListError::Invalid("two window parts for one facility"));
    }
    let mut keys = parts.iter().map(|p| p.inmate_key);
    let inmate_key = keys.next().flatten();
    if parts.iter().any(|p| p.inmate_key != inmate_key) {
        return Err(ListError::Invalid(
            "window parts hash inmate ids with different keys",
        ));
    }
    let total: usize = parts.iter().map(|p| p.windows.len()).sum();
    let mut rows: Vec<WindowRow> = Vec::with_capacity(total + 1);
    for part in parts {
        part.check()?;
        facilities
            .binary_search_by(|f| f.code.as_str().cmp(&part.facility))
            .map_err(|_| {
                ListError::Invalid("a window part names a facility the registry part does not")
            })?;
        rows.extend(part.windows.iter().map(|w| WindowRow {
            facility: part.facility.clone(),
            inmate: w.inmate.clone(),
            number: E164(w.number),
            start: w.start,
            end: w.end,
        }));
    }
    if let Some(id) = inmate_key {
        if facilities
            .binary_search_by(|f| f.code.as_str().cmp(CANARY_FACILITY))
            .is_err()
        {
            return Err(ListError::Invalid(
                "the registry part has no canary facility",
            ));
        }
        rows.push(canary::inmate_key_marker(id));
    }
    windows.extend(compile_windows(rows.iter(), &facilities));
    sort_windows(&mut windows);
    let encoded = bincode::encode_to_vec(&windows, bincode_config())
        .map_err(|e| ListError::Decode(e.to_string()))?;
    let mut out = Vec::with_capacity(head.len() + encoded.len());
    out.extend_from_slice(head);
    out.extend_from_slice(&encoded);
    if out.len() > MAX_BODY_BYTES {
        return Err(ListError::TooLarge { bytes: out.len() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Decider;
    use crate::list::{Target, MAX_BODY_BYTES};
    use crate::test_support::policy;
    use crate::types::{Call, Category, Reason};

    const CODES: [&str; 3] = ["AAA", "BBB", "CCC"];

    fn codes() -> Vec<String> {
        CODES.iter().map(|c| c.to_string()).collect()
    }

    fn window(facility: &str, inmate: &str, number: u64) -> WindowRow {
        WindowRow {
            facility: facility.into(),
            inmate: inmate.into(),
            number: E164(number),
            start: 1_000,
            end: 2_000,
        }
    }

    fn rows() -> (Vec<RegistryRow>, Vec<WindowRow>) {
        let registry = vec![RegistryRow {
            target: Target::Number(E164(15_735_550_142)),
            category: Category::Attorney,
            facilities: Some(vec!["BBB".into()]),
            valid_from: None,
            valid_until: None,
        }];
        let windows = vec![
            window("AAA", "A1", 15_735_550_100),
            window("AAA", "A2", 15_735_550_101),
            window("CCC", "C1", 15_735_550_102),
            window("AAA", "A1", 15_735_550_100),
        ];
        (registry, windows)
    }

    fn fleet(key: Option<[u8; 8]>) -> FleetParts {
        let (registry, windows) = rows();
        build(policy(), vec![], &registry, &windows, &codes(), key).unwrap()
    }

    fn merged(parts: &FleetParts, which: &[&str]) -> Result<CompiledList, ListError> {
        let body = parts.registry.to_bytes();
        let chosen: Vec<&WindowPart> = parts
            .windows
            .iter()
            .filter(|p| which.contains(&p.facility.as_str()))
            .collect();
        let bytes = merge(&body, windows_offset(&body)?, &chosen)?;
        CompiledList::from_bytes(&bytes)
    }

    /// Every part merged is the list compiled whole from the same rows:
    /// the same facility table, the same windows in the same order.
    #[test]
    fn all_parts_merged_are_the_whole_list() {
        for key in [None, Some([7u8; 8])] {
            let parts = fleet(key);
            let (registry, windows) = rows();
            let whole = build_inner(policy(), vec![], &registry, &windows, key, &codes()).unwrap();
            assert_eq!(merged(&parts, &CODES).unwrap(), whole, "key {key:?}");
            assert_eq!(canary::inmate_key_of(&whole), key);
        }
    }

    /// One part per fleet facility, each with its own windows only,
    /// duplicates once; the registry part holds no real window.
    #[test]
    fn each_part_holds_its_facility_only() {
        let parts = fleet(None);
        let names: Vec<&str> = parts.windows.iter().map(|p| p.facility.as_str()).collect();
        assert_eq!(names, CODES);
        let inmates = |i: usize| -> Vec<&str> {
            parts.windows[i]
                .windows
                .iter()
                .map(|w| w.inmate.as_str())
                .collect()
        };
        assert_eq!(inmates(0), ["A1", "A2"]);
        assert!(inmates(1).is_empty());
        assert_eq!(inmates(2), ["C1"]);
        let canary = parts
            .registry
            .facilities
            .binary_search_by(|f| f.code.as_str().cmp(CANARY_FACILITY))
            .unwrap();
        assert!(parts
            .registry
            .windows
            .iter()
            .all(|w| usize::from(w.facility) == canary));
        for code in CODES {
            assert!(parts.registry.facilities.iter().any(|f| f.code == code));
        }
    }

    /// An edge with A's part decides A's window private and has nothing of
    /// C's: C's booked call there is an ordinary call.
    #[test]
    fn a_facility_gets_only_its_own_windows() {
        let list = merged(&fleet(None), &["AAA"]).unwrap();
        assert!(!list.windows.iter().any(|w| w.inmate == "C1"));
        let decider = Decider::new(list);
        let call = |facility, inmate, dialed| Call {
            facility,
            inmate,
            dialed,
            at: 1_500,
            started: None,
        };
        let own = decider.decide(&call("AAA", "A1", "+15735550100"));
        assert_eq!((own.record, own.reason), (false, Reason::Prearranged));
        let other = decider.decide(&call("CCC", "C1", "+15735550102"));
        assert_eq!((other.record, other.reason), (true, Reason::NotPrivileged));
        let registered = decider.decide(&call("BBB", "B9", "+15735550142"));
        assert_eq!(
            (registered.record, registered.reason),
            (false, Reason::Registered)
        );
    }

    /// The merge refuses what would mislead an edge.
    #[test]
    fn merge_refuses_unknown_twice_and_mixed_keys() {
        let parts = fleet(None);
        let body = parts.registry.to_bytes();
        let off = windows_offset(&body).unwrap();
        let unknown = WindowPart {
            facility: "ZZZ".into(),
            inmate_key: None,
            windows: vec![],
        };
        let err = |r: Result<Vec<u8>, ListError>| r.unwrap_err().to_string();
        assert!(err(merge(&body, off, &[&unknown])).contains("does not"));
        let a = &parts.windows[0];
        assert!(err(merge(&body, off, &[a, a])).contains("two window parts"));
        let keyed = WindowPart {
            inmate_key: Some([1; 8]),
            ..parts.windows[2].clone()
        };
        assert!(err(merge(&body, off, &[a, &keyed])).contains("different keys"));
        assert!(merge(&body, off + 1, &[a]).is_err());
        assert!(merge(&body, body.len() + 1, &[a]).is_err());
    }

    /// The offset is where the encoded windows begin.
    #[test]
    fn windows_offset_is_where_the_windows_start() {
        let list = fleet(None).registry;
        let body = list.to_bytes();
        let tail = bincode::encode_to_vec(&list.windows, bincode_config()).unwrap();
        assert_eq!(windows_offset(&body).unwrap(), body.len() - tail.len());
        assert!(windows_offset(&body[..20]).is_err());
        assert!(windows_offset(b"PCLB\x09\x00").is_err());
    }

    /// A part survives its encoding; a broken one is refused by name.
    #[test]
    fn part_bytes_round_trip_and_bad_ones_are_refused() {
        let part = fleet(Some([3; 8])).windows.remove(0);
        let bytes = part.to_bytes();
        assert!(WindowPart::is_part(&bytes));
        assert_eq!(WindowPart::from_bytes(&bytes).unwrap(), part);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            WindowPart::from_bytes(&trailing),
            Err(ListError::TrailingBytes { count: 1 })
        ));
        assert_eq!(
            WindowPart::from_bytes(b"PCLB\x01\x00"),
            Err(ListError::BadMagic)
        );
        assert!(matches!(
            WindowPart::from_bytes(b"PCLW\x02\x00"),
            Err(ListError::UnsupportedVersion { found: 2 })
        ));
        let mut backwards = part.clone();
        backwards.windows[0].end = backwards.windows[0].start;
        assert!(WindowPart::from_bytes(&backwards.to_bytes()).is_err());
        for code in ["", CANARY_FACILITY, &"X".repeat(MAX_CODE_BYTES + 1)] {
            let bad = WindowPart {
                facility: code.to_string(),
                ..part.clone()
            };
            assert!(WindowPart::from_bytes(&bad.to_bytes()).is_err(), "{code}");
        }
        assert!(matches!(
            WindowPart::from_bytes(&vec![0; MAX_BODY_BYTES + 1]),
            Err(ListError::TooLarge { .. })
        ));
    }

    /// Each bound holds exactly: a part or body of the largest size is read,
    /// one byte more is too large; the longest code and the most windows
    /// pass, one more does not.
    #[test]
    fn part_bounds_are_exact() {
        let largest = vec![0; MAX_BODY_BYTES];
        assert_eq!(WindowPart::from_bytes(&largest), Err(ListError::BadMagic));
        assert_eq!(windows_offset(&largest), Err(ListError::BadMagic));
        let over = vec![0; MAX_BODY_BYTES + 1];
        assert!(matches!(
            windows_offset(&over),
            Err(ListError::TooLarge { .. })
        ));
        let parts = fleet(None);
        let part = parts.windows[0].clone();
        let mut trailing = part.to_bytes();
        trailing.extend_from_slice(&[0; 3]);
        assert_eq!(
            WindowPart::from_bytes(&trailing),
            Err(ListError::TrailingBytes { count: 3 })
        );
        assert!(!WindowPart::is_part(&parts.registry.to_bytes()));
        assert!(WindowPart::is_part(&part.to_bytes()));

        let longest = "X".repeat(MAX_CODE_BYTES);
        let named = |code: &str| WindowPart {
            facility: code.into(),
            ..part.clone()
        };
        assert_eq!(named(&longest).check(), Ok(()));
        assert!(named(&format!("{longest}X")).check().is_err());
        let fleet_of = |code: &str| build(policy(), vec![], &[], &[], &[code.to_string()], None);
        assert!(fleet_of(&longest).is_ok());
        assert!(fleet_of(&format!("{longest}X")).is_err());
        let empty = fleet_of("").unwrap_err().to_string();
        assert!(empty.contains("fleet facility code"), "{empty}");

        let window = part.windows[0].clone();
        let mut full = WindowPart {
            windows: vec![window.clone(); MAX_PART_WINDOWS],
            ..part.clone()
        };
        assert_eq!(full.check(), Ok(()));
        full.windows.push(window);
        assert!(full.check().is_err());
    }

    /// A merged body may reach the body limit and not pass it; bytes
    /// after a registry part's windows are refused by count.
    #[test]
    fn merge_bounds_are_exact() {
        let real = fleet(None).registry.to_bytes();
        let off = windows_offset(&real).unwrap();
        let mut trailing = real.clone();
        trailing.extend_from_slice(&[0; 3]);
        assert_eq!(
            merge(&trailing, off, &[]),
            Err(ListError::TrailingBytes { count: 3 })
        );
        // Bytes between the fields and the windows are carried as they are,
        // which sets the merged size exactly. `vec!` of zeros is allocated
        // untouched: only the merged copy is written in full.
        let merged_len = merge(&real, off, &[]).unwrap().len();
        for (pad, fits) in [
            (MAX_BODY_BYTES - merged_len, true),
            (MAX_BODY_BYTES - merged_len + 1, false),
        ] {
            let mut body = vec![0; real.len() + pad];
            body[..off].copy_from_slice(&real[..off]);
            let end = body.len();
            body[end - (real.len() - off)..].copy_from_slice(&real[off..]);
            let out = merge(&body, off + pad, &[]);
            if fits {
                assert_eq!(out.map(|b| b.len()), Ok(MAX_BODY_BYTES));
            } else {
                assert!(matches!(out, Err(ListError::TooLarge { .. })));
            }
        }
    }

    /// A window at a facility outside the fleet would reach no edge.
    #[test]
    fn a_window_outside_the_fleet_is_an_error() {
        let (registry, mut windows) = rows();
        windows.push(window("ZZZ", "Z1", 15_735_550_103));
        let err = build(policy(), vec![], &registry, &windows, &codes(), None).unwrap_err();
        assert!(err.to_string().contains("not in the fleet"));
        let reserved = [CANARY_FACILITY.to_string()];
        assert!(build(policy(), vec![], &[], &[], &reserved, None).is_err());
    }
}
