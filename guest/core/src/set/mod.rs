//! The compact exact set of registered numbers, and the bit-packed array
//! that maps each number's rank to its class.
//!
//! [`RadixSet`] is a two-level radix structure: the high bits of a key index
//! a directory of offsets, and each bucket holds the low bits of its keys as
//! a sorted run of 16-, 32- or 64-bit integers. A lookup is one directory
//! read and one short search in one run: two dependent cache misses. How
//! many bits go to the directory is chosen per set, so for North American
//! numbers an average key's run fits in two cache lines at every list size
//! (keys clustered far apart, like international numbers, may not afford
//! the directory that takes). A list of millions of North American numbers
//! keeps 16-bit low parts, so a number takes little more than two bytes;
//! the set is exact (no false positives or negatives).
//!
//! ```
//! use privcall_core::set::RadixSet;
//!
//! let set = RadixSet::from_sorted(&[5_735_550_142, 5_735_550_163, 6_365_550_164]).unwrap();
//! assert_eq!(set.rank(5_735_550_163), Some(1));
//! assert_eq!(set.rank(5_735_550_164), None);
//! assert_eq!(set.iter().collect::<Vec<_>>(), [5_735_550_142, 5_735_550_163, 6_365_550_164]);
//! ```

mod packed_ints;

use core::fmt;

use bincode::{Decode, Encode};

pub use packed_ints::PackedInts;

/// Why a set could not be built or a decoded one is malformed. Messages
/// never include a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// Keys handed to [`RadixSet::from_sorted`] were not strictly increasing.
    NotSorted,
    /// More keys than a `u32` rank can address.
    TooMany,
    /// A decoded set breaks a structural rule (which one is named).
    Malformed(&'static str),
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::NotSorted => f.write_str("set keys are not strictly increasing"),
            SetError::TooMany => f.write_str("too many keys for one set"),
            SetError::Malformed(what) => write!(f, "malformed set: {what}"),
        }
    }
}

impl std::error::Error for SetError {}

/// The low parts of the keys, in the narrowest width the layout allows.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
enum Lows {
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Lows {
    /// The keys' low `shift` bits, in the narrowest width that holds them.
    fn new(keys: &[u64], shift: u32) -> Lows {
        let mask = low_mask(shift);
        match width(shift) {
            2 => Lows::U16(keys.iter().map(|&k| (k & mask) as u16).collect()),
            4 => Lows::U32(keys.iter().map(|&k| (k & mask) as u32).collect()),
            _ => Lows::U64(keys.iter().map(|&k| k & mask).collect()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Lows::U16(v) => v.len(),
            Lows::U32(v) => v.len(),
            Lows::U64(v) => v.len(),
        }
    }

    fn width(&self) -> usize {
        match self {
            Lows::U16(_) => 2,
            Lows::U32(_) => 4,
            Lows::U64(_) => 8,
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "callers pass positions below the length: a valid directory's offsets"
    )]
    fn get(&self, i: usize) -> u64 {
        match self {
            Lows::U16(v) => u64::from(v[i]),
            Lows::U32(v) => u64::from(v[i]),
            Lows::U64(v) => v[i],
        }
    }

    /// Position of `low` within `lo..hi`, if present.
    fn find(&self, lo: usize, hi: usize, low: u64) -> Option<usize> {
        fn search<T: Ord + Copy>(run: &[T], x: T) -> Option<usize> {
            // North American runs are short (about 40 entries at 5M keys,
            // 8 at 1M, 30 at 100k), so a branch-free lower bound beats the
            // early exits of `binary_search`.
            let i = run.partition_point(|&v| v < x);
            (run.get(i) == Some(&x)).then_some(i)
        }
        match self {
            Lows::U16(v) => search(v.get(lo..hi)?, u16::try_from(low).ok()?),
            Lows::U32(v) => search(v.get(lo..hi)?, u32::try_from(low).ok()?),
            Lows::U64(v) => search(v.get(lo..hi)?, low),
        }
    }
}

/// Where in a [`RadixSet`] a key would be: the positions of its bucket's
/// run ([`RadixSet::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    lo: u32,
    hi: u32,
}

/// An exact, compact set of `u64` keys with rank queries.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RadixSet {
    /// Bits of a key below its bucket number: bucket `key >> shift` holds
    /// the key's low `shift` bits.
    shift: u8,
    /// `directory[b]..directory[b + 1]` is bucket `b`'s run in `lows`.
    directory: Vec<u32>,
    lows: Lows,
}

/// The longest run a lookup should search, in bytes: two cache lines, which
/// the adjacent-line prefetcher brings in together, so a lookup costs one
/// directory miss and one run miss.
const MAX_RUN_BYTES: u64 = 128;

/// How much more memory than the most compact layout a layout with short
/// runs may take: 1/4. By bytes alone a small list's best layout is a few
/// long sorted runs, whose binary search costs a miss at most levels.
const SHORT_RUN_ALLOWANCE: (u64, u64) = (5, 4);

/// Bytes per low part for a layout that keeps `shift` low bits.
fn width(shift: u32) -> u64 {
    match shift {
        0..=16 => 2,
        17..=32 => 4,
        _ => 8,
    }
}

/// A candidate layout: its shift, bytes and the run length an average key
/// sits in, in bytes.
#[derive(Clone, Copy, Debug)]
struct Layout {
    shift: u32,
    bytes: u64,
    run_bytes: u64,
}

impl Layout {
    /// The layout keeping `shift` low bits of `keys` (sorted), or `None`
    /// when it takes more than `budget` bytes or `keys` is empty.
    fn measure(keys: &[u64], shift: u32, budget: u64) -> Option<Layout> {
        let bytes = layout_bytes(keys, shift);
        if bytes > budget {
            return None;
        }
        let first = *keys.first()?;
        // Runs are contiguous in sorted keys: one pass sums each run's
        // length squared, so `sum / n` is the run an average key sits in.
        let (mut sum, mut run, mut bucket) = (0u128, 0u128, bucket_of(first, shift));
        for &k in keys {
            let b = bucket_of(k, shift);
            if b != bucket {
                sum += run * run;
                (run, bucket) = (0, b);
            }
            run += 1;
        }
        sum += run * run;
        // Rounded up: a run a fraction over the limit is over it.
        let run_bytes = (sum * u128::from(width(shift))).div_ceil(keys.len() as u128);
        let run_bytes = u64::try_from(run_bytes).unwrap_or(u64::MAX);
        Some(Layout {
            shift,
            bytes,
            run_bytes,
        })
    }
}

fn bucket_of(key: u64, shift: u32) -> u64 {
    key.checked_shr(shift).unwrap_or(0)
}

/// Bytes of the layout keeping `shift` low bits of `keys` (sorted): the
/// directory's offsets and the low parts.
fn layout_bytes(keys: &[u64], shift: u32) -> u64 {
    let max = keys.last().copied().unwrap_or(0);
    let buckets = bucket_of(max, shift).saturating_add(1);
    buckets
        .saturating_add(1)
        .saturating_mul(4)
        .saturating_add(keys.len() as u64 * width(shift))
}

impl RadixSet {
    /// The empty set.
    pub fn empty() -> RadixSet {
        RadixSet {
            shift: 64,
            directory: vec![0, 0],
            lows: Lows::U64(Vec::new()),
        }
    }

    /// Builds a set from strictly increasing keys. Of the layouts whose
    /// runs stay within two cache lines for an average key, it takes the one
    /// with the fewest bytes, as long as that is at most a quarter more than
    /// the most compact layout; otherwise the layout with the shortest runs
    /// within that allowance. Large North American lists get 16-bit low
    /// parts (about 2.1 bytes a number at 5 million); lists under about
    /// 270,000 numbers get 32-bit ones in buckets of a few dozen keys,
    /// where the most compact layout would be a few long sorted runs.
    pub fn from_sorted(keys: &[u64]) -> Result<RadixSet, SetError> {
        if !keys.is_sorted_by(|a, b| a < b) {
            return Err(SetError::NotSorted);
        }
        if u32::try_from(keys.len()).is_err() {
            return Err(SetError::TooMany);
        }
        if keys.is_empty() {
            return Ok(RadixSet::empty());
        }
        let compact = (0..=64).map(|s| layout_bytes(keys, s)).min().unwrap_or(0);
        let budget = compact.saturating_mul(SHORT_RUN_ALLOWANCE.0) / SHORT_RUN_ALLOWANCE.1;
        let layouts: Vec<Layout> = (0..=64)
            .filter_map(|s| Layout::measure(keys, s, budget))
            .collect();
        let short = layouts
            .iter()
            .filter(|l| l.run_bytes <= MAX_RUN_BYTES)
            .min_by_key(|l| (l.bytes, l.run_bytes));
        let shortest = || layouts.iter().min_by_key(|l| (l.run_bytes, l.bytes));
        let shift = short.or_else(shortest).map_or(64, |l| l.shift);
        Ok(RadixSet::with_shift(keys, shift))
    }

    /// The set of `keys` (sorted) in the layout keeping `shift` low bits.
    #[expect(
        clippy::expect_used,
        reason = "`from_sorted`'s budget keeps the directory within a few entries per key, \
                  so it fits in memory, let alone a usize"
    )]
    fn with_shift(keys: &[u64], shift: u32) -> RadixSet {
        let max = keys.last().copied().unwrap_or(0);
        let buckets = usize::try_from(bucket_of(max, shift))
            .expect("a directory within the layout budget")
            + 1;
        let mut directory = Vec::with_capacity(buckets + 1);
        directory.push(0u32);
        let mut i = 0usize;
        for b in 0..buckets as u64 {
            while keys.get(i).is_some_and(|&k| bucket_of(k, shift) == b) {
                i += 1;
            }
            directory.push(i as u32);
        }
        RadixSet {
            shift: shift as u8,
            directory,
            lows: Lows::new(keys, shift),
        }
    }

    /// The key's position in sorted order, if the set holds it.
    #[inline]
    pub fn rank(&self, key: u64) -> Option<u32> {
        self.rank_in(self.run(key), key)
    }

    /// The first half of [`Self::rank`]: the directory read, which finds
    /// the run that would hold `key`. A caller with another lookup to make
    /// can read both directories before searching either run, so on a cold
    /// cache their misses overlap.
    #[inline]
    pub fn run(&self, key: u64) -> Run {
        let bucket = usize::try_from(bucket_of(key, u32::from(self.shift))).ok();
        match bucket.and_then(|b| self.directory.get(b..b + 2)) {
            Some(&[lo, hi]) => Run { lo, hi },
            _ => Run { lo: 0, hi: 0 },
        }
    }

    /// The second half of [`Self::rank`]: `key`'s rank if it is in `run`,
    /// which must be [`Self::run`]`(key)` of this set.
    #[inline]
    pub fn rank_in(&self, run: Run, key: u64) -> Option<u32> {
        let (lo, hi) = (run.lo as usize, run.hi as usize);
        let at = self
            .lows
            .find(lo, hi, key & low_mask(u32::from(self.shift)))?;
        Some((lo + at) as u32)
    }

    /// Whether the set holds `key`.
    pub fn contains(&self, key: u64) -> bool {
        self.rank(key).is_some()
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.lows.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of heap memory the set occupies.
    pub fn heap_bytes(&self) -> usize {
        self.directory.len() * 4 + self.lows.len() * self.lows.width()
    }

    /// Checks the structure after decoding: offsets start at 0, never
    /// decrease and end at the number of keys; keys within a bucket strictly
    /// increase. A set that passes answers every query without panicking.
    pub fn validate(&self) -> Result<(), SetError> {
        let dir = &self.directory;
        if dir.first() != Some(&0) {
            return Err(SetError::Malformed("directory does not start at 0"));
        }
        if !dir.is_sorted() {
            return Err(SetError::Malformed("directory offsets decrease"));
        }
        if dir.last().map(|&l| l as usize) != Some(self.lows.len()) {
            return Err(SetError::Malformed("directory does not cover the keys"));
        }
        let shift = u32::from(self.shift);
        if shift > 64 {
            return Err(SetError::Malformed("shift wider than 64 bits"));
        }
        if self.lows.width() as u64 != width(shift) {
            return Err(SetError::Malformed("low parts of the wrong width"));
        }
        let buckets = (dir.len() - 1) as u128;
        if buckets > 1u128 << (64 - shift) {
            return Err(SetError::Malformed("directory too long for 64-bit keys"));
        }
        let mask = low_mask(shift);
        match &self.lows {
            Lows::U16(v) => validate_runs(dir, v, mask),
            Lows::U32(v) => validate_runs(dir, v, mask),
            Lows::U64(v) => validate_runs(dir, v, mask),
        }
    }

    /// The keys in increasing order.
    #[expect(clippy::indexing_slicing, reason = "`windows(2)` yields pairs")]
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let shift = u32::from(self.shift);
        self.directory
            .windows(2)
            .enumerate()
            .flat_map(move |(b, p)| {
                let high = (b as u64).checked_shl(shift).unwrap_or(0);
                (p[0] as usize..p[1] as usize).map(move |i| high | self.lows.get(i))
            })
    }
}

/// Checks that each of `directory`'s runs in `lows` strictly increases and
/// fits in `mask` (a wider low part would read back as another bucket's
/// key). Sorted, so only a run's last entry can exceed the mask.
fn validate_runs<T: Copy + Ord + Into<u64>>(
    directory: &[u32],
    lows: &[T],
    mask: u64,
) -> Result<(), SetError> {
    for (&lo, &hi) in directory.iter().zip(directory.iter().skip(1)) {
        let Some(run) = lows.get(lo as usize..hi as usize) else {
            return Err(SetError::Malformed("directory offsets out of range"));
        };
        if !run.is_sorted_by(|a, b| a < b) {
            return Err(SetError::Malformed(
                "keys within a bucket are not increasing",
            ));
        }
        if run.last().is_some_and(|&last| last.into() > mask) {
            return Err(SetError::Malformed("a low part wider than the shift"));
        }
    }
    Ok(())
}

fn low_mask(shift: u32) -> u64 {
    1u64.checked_shl(shift).map_or(u64::MAX, |b| b - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::E164;
    use proptest::prelude::*;

    #[test]
    fn layouts_by_density() {
        let dense: Vec<u64> = (0..500_000u64)
            .map(|i| 2_000_000_000 + i * 16_000)
            .collect();
        let s = RadixSet::from_sorted(&dense).unwrap();
        assert!(matches!(s.lows, Lows::U16(_)));
        let sparse = [10u64, 1 << 40, 999_999_999_999_999];
        let s = RadixSet::from_sorted(&sparse).unwrap();
        assert!(matches!(s.lows, Lows::U64(_)));
        assert_eq!(s.rank(1 << 40), Some(1));
        assert_eq!(s.rank(u64::MAX), None);
    }

    /// Issue #4's memory bound: 5M random North American numbers in at
    /// most 3 bytes each, and still exact.
    #[test]
    fn five_million_north_american_numbers_fit_in_three_bytes_each() {
        let keys = north_american(5_000_000, 0x9e37_79b9_7f4a_7c15);
        let s = RadixSet::from_sorted(&keys).unwrap();
        let per_number = s.heap_bytes() as f64 / keys.len() as f64;
        eprintln!("{per_number:.3} bytes per number");
        assert!(per_number <= 3.0, "{per_number} bytes per number");
        for (i, &k) in keys.iter().enumerate().step_by(997) {
            assert_eq!(s.rank(k), Some(i as u32));
            assert_eq!(s.contains(k + 1), keys.binary_search(&(k + 1)).is_ok());
        }
    }

    /// `n` distinct random North American numbers (NPA and NXX in 200–999),
    /// sorted.
    fn north_american(n: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        let mut keys: Vec<u64> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let npa = 200 + x % 800;
                let nxx = 200 + (x >> 10) % 800;
                let line = (x >> 20) % 10_000;
                (npa * 1000 + nxx) * 10_000 + line
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The run an average key sits in, in bytes.
    fn run_bytes(s: &RadixSet) -> u64 {
        let sum: u64 = s
            .directory
            .windows(2)
            .map(|p| u64::from(p[1] - p[0]).pow(2))
            .sum();
        (sum * s.lows.width() as u64).div_ceil(s.len() as u64)
    }

    /// Lists under ~300k numbers are where the most compact layout is one
    /// long sorted run per 2^32 keys (about 17 dependent reads at 300k);
    /// their runs must stay within two cache lines for a bounded cost in
    /// memory, like large lists'.
    #[test]
    fn runs_stay_within_two_cache_lines_at_every_size() {
        for n in [10, 1_000, 10_000, 100_000, 250_000, 400_000, 1_000_000] {
            let keys = north_american(n, 0x2545_f491_4f6c_dd1d ^ n as u64);
            let s = RadixSet::from_sorted(&keys).unwrap();
            let compact = (0..=64).map(|b| layout_bytes(&keys, b)).min().unwrap();
            assert!(s.validate().is_ok());
            assert!(
                run_bytes(&s) <= MAX_RUN_BYTES,
                "{n} keys: runs of {} bytes (shift {})",
                run_bytes(&s),
                s.shift
            );
            assert!(
                s.heap_bytes() as u64 * 4 <= compact * 5,
                "{n} keys: {} bytes against {compact} for the most compact",
                s.heap_bytes()
            );
            for (i, &k) in keys.iter().enumerate().step_by(97) {
                assert_eq!(s.rank(k), Some(i as u32));
                assert_eq!(
                    s.rank(k + 1),
                    keys.binary_search(&(k + 1)).ok().map(|i| i as u32)
                );
            }
        }
    }

    #[test]
    fn validate_refuses_low_parts_that_do_not_fit_the_shift() {
        let mut s = RadixSet::from_sorted(&north_american(10_000, 3)).unwrap();
        assert!(s.shift < 32, "a shift below the width to test");
        let Lows::U32(ref mut v) = s.lows else {
            panic!("10k numbers keep 32-bit low parts");
        };
        let last = v.len() - 1;
        v[last] = u32::MAX;
        assert_eq!(
            s.validate(),
            Err(SetError::Malformed("a low part wider than the shift"))
        );
        let mut s = RadixSet::from_sorted(&[1, 2, 3]).unwrap();
        s.lows = Lows::U16(vec![1, 2, 3]);
        s.shift = 40;
        assert_eq!(
            s.validate(),
            Err(SetError::Malformed("low parts of the wrong width"))
        );
        s.lows = Lows::U64(vec![1, 2, 3]);
        for shift in [65, 200, 255] {
            s.shift = shift;
            assert_eq!(
                s.validate(),
                Err(SetError::Malformed("shift wider than 64 bits"))
            );
        }
    }

    /// More buckets than `64 - shift` bits can number would let one key
    /// appear twice, under two ranks (and two classes).
    #[test]
    fn validate_refuses_more_buckets_than_the_shift_allows() {
        let too_long = [(64u8, vec![0, 1, 2]), (63, vec![0, 1, 1, 2])];
        for (shift, directory) in too_long {
            let s = RadixSet {
                shift,
                directory,
                lows: Lows::U64(vec![5, 5]),
            };
            assert_eq!(
                s.validate(),
                Err(SetError::Malformed("directory too long for 64-bit keys"))
            );
        }
    }

    /// Where the 16-bit layout starts to pay for its 610 KB directory.
    #[test]
    fn north_american_lists_switch_to_16_bit_parts_above_about_270k() {
        let s = RadixSet::from_sorted(&north_american(250_000, 11)).unwrap();
        assert!(matches!(s.lows, Lows::U32(_)), "shift {}", s.shift);
        let s = RadixSet::from_sorted(&north_american(300_000, 11)).unwrap();
        assert!(matches!(s.lows, Lows::U16(_)), "shift {}", s.shift);
        assert_eq!(s.shift, 16);
    }

    #[test]
    fn refuses_unsorted() {
        assert_eq!(RadixSet::from_sorted(&[3, 2]), Err(SetError::NotSorted));
        assert_eq!(RadixSet::from_sorted(&[3, 3]), Err(SetError::NotSorted));
    }

    #[test]
    fn validate_catches_broken_structure() {
        let mut s = RadixSet::from_sorted(&[1, 2, 3]).unwrap();
        assert!(s.validate().is_ok());
        s.directory[1] = 7;
        assert!(s.validate().is_err());
    }

    proptest! {
        #[test]
        fn exact_against_a_sorted_vec(mut keys in proptest::collection::vec(0u64..20_000_000_000, 0..2000),
                                      probes in proptest::collection::vec(0u64..20_000_000_000, 0..200)) {
            keys.sort_unstable();
            keys.dedup();
            let s = RadixSet::from_sorted(&keys).unwrap();
            prop_assert!(s.validate().is_ok());
            prop_assert_eq!(s.len(), keys.len());
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), keys.clone());
            for (i, &k) in keys.iter().enumerate() {
                prop_assert_eq!(s.rank(k), Some(i as u32));
            }
            for p in probes {
                prop_assert_eq!(s.rank(p), keys.binary_search(&p).ok().map(|i| i as u32));
            }
        }

        /// Keys clustered the way a registry's are (North American numbers,
        /// a few international ones, the ends of the key space), so sets of
        /// many shifts are built and checked.
        #[test]
        fn exact_with_clustered_keys(
            nanp in proptest::collection::vec(2_000_000_000u64..E164::NANP_NATIONAL_LIMIT, 0..1500),
            intl in proptest::collection::vec(10_000_000_000u64..1_000_000_000_000_000, 0..40),
            ends in proptest::collection::vec(prop_oneof![0u64..100, (u64::MAX - 100)..=u64::MAX], 0..4),
            probes in proptest::collection::vec(any::<u64>(), 0..100),
        ) {
            let mut keys: Vec<u64> = nanp.into_iter().chain(intl).chain(ends).collect();
            keys.sort_unstable();
            keys.dedup();
            let s = RadixSet::from_sorted(&keys).unwrap();
            prop_assert!(s.validate().is_ok());
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), keys.clone());
            for (i, &k) in keys.iter().enumerate() {
                prop_assert_eq!(s.rank(k), Some(i as u32));
            }
            // A run handed to another set (a caller's mistake) answers
            // something, never a panic.
            let other = RadixSet::from_sorted(&keys[..keys.len() / 2]).unwrap();
            for p in probes.into_iter().chain(keys.iter().map(|k| k.wrapping_add(1))) {
                prop_assert_eq!(s.rank(p), keys.binary_search(&p).ok().map(|i| i as u32));
                let _ = other.rank_in(s.run(p), p);
            }
        }

        /// Every layout answers exactly, whatever `from_sorted` would
        /// choose: each shift from 0 to 64 that keeps the directory small.
        #[test]
        fn every_shift_is_exact(
            keys in proptest::collection::vec(prop_oneof![
                0u64..5_000,
                2_000_000_000u64..E164::NANP_NATIONAL_LIMIT,
                any::<u64>(),
            ], 1..300),
        ) {
            let mut keys = keys;
            keys.sort_unstable();
            keys.dedup();
            for shift in 0..=64 {
                if layout_bytes(&keys, shift) > 1 << 20 {
                    continue;
                }
                let s = RadixSet::with_shift(&keys, shift);
                prop_assert!(s.validate().is_ok(), "shift {}", shift);
                prop_assert_eq!(s.iter().collect::<Vec<_>>(), keys.clone());
                for (i, &k) in keys.iter().enumerate() {
                    prop_assert_eq!(s.rank(k), Some(i as u32));
                    for probe in [k.wrapping_sub(1), k.wrapping_add(1)] {
                        prop_assert_eq!(
                            s.rank(probe),
                            keys.binary_search(&probe).ok().map(|i| i as u32)
                        );
                    }
                }
            }
        }
    }
}
