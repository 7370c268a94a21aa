//! Prearranged private-call windows and the index a decision finds them by.
//!
//! A [`Window`] is what the compiled list stores. [`WindowIndex`] is built
//! from the list's windows when a [`crate::decide::Decider`] is made and
//! answers, for one call, which windows could be its own and whether the
//! call falls in one of them.

use core::ops::Range;

use bincode::{Decode, Encode};

use crate::list::FacilityIndex;
use crate::normalize::E164;

/// A prearranged private-call window.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Window {
    /// `window_key(facility, number, inmate)`; windows are sorted by it.
    pub key: u64,
    /// The facility the window is booked at.
    pub facility: FacilityIndex,
    /// The E.164 number, as an integer.
    pub number: u64,
    /// The inmate account id.
    pub inmate: String,
    /// Start, inclusive (seconds since the epoch).
    pub start: i64,
    /// End, exclusive.
    pub end: i64,
}

/// Hash that groups a window's facility, number and inmate, so a lookup is
/// one binary search; the fields are compared in full afterwards, so a
/// collision can never make an unrelated call private.
pub fn window_key(facility: FacilityIndex, number: E164, inmate: &str) -> u64 {
    let seed = number.0.rotate_left(16) ^ u64::from(facility);
    xxhash_rust::xxh3::xxh3_64_with_seed(inmate.as_bytes(), seed)
}

/// The list's windows as a decision looks them up: a directory by key, a
/// filter by number, and the windows themselves in a compact form.
#[derive(Clone, Debug)]
pub(crate) struct WindowIndex {
    /// A directory over the windows' keys (hashes, so evenly spread):
    /// windows with `key >> shift == b` are `slots[dir[b]..dir[b + 1]]`.
    /// About one window per bucket, so finding a call's windows is one
    /// directory read and one short scan (two cache misses) instead of a
    /// binary search over every window.
    dir: Vec<u32>,
    shift: u32,
    /// The list's windows, same order, as the decision reads them
    /// ([`WindowSlot`]).
    slots: Vec<WindowSlot>,
    /// One bit per hash of a number that has any window: most calls are to
    /// numbers without one, and a clear bit skips the window lookup (two
    /// cache misses) for a read of this small, cache-resident bitmap.
    /// Exact where it matters: a clear bit means no window has the number.
    numbers: Vec<u64>,
    number_shift: u32,
}

/// A window as a decision reads it. The inmate id is inline when it is
/// short: matching a call then reads this one record, where the list's
/// [`Window`] would add a dependent cache miss on the id's own allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowSlot {
    /// `Window::key`: the cheap first test, since equal fields mean an
    /// equal key.
    pub(crate) key: u64,
    /// The fields below are the [`Window`]'s.
    pub(crate) number: u64,
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// `pack_str` of the inmate id when `inline`.
    pub(crate) inmate: [u64; 2],
    pub(crate) facility: FacilityIndex,
    /// False for ids of over 16 bytes (or with a NUL): those are compared
    /// with the list's window at the same index.
    pub(crate) inline: bool,
}

impl WindowSlot {
    /// Whether this is a window of the call at `facility` to `number` by
    /// `inmate` (`packed`: its [`crate::packed::pack_str`]). Every field
    /// is compared, so a hash collision never makes an unrelated call
    /// private; `stored_inmate` gives the list's id for a slot that does
    /// not hold it inline, read only then.
    #[inline(always)]
    pub(crate) fn is_for<'a>(
        &self,
        facility: FacilityIndex,
        number: u64,
        inmate: &str,
        packed: Option<[u64; 2]>,
        stored_inmate: impl FnOnce() -> &'a str,
    ) -> bool {
        self.facility == facility
            && self.number == number
            && match (self.inline, packed) {
                (true, Some(k)) => self.inmate == k,
                (true, None) => false,
                (false, _) => stored_inmate() == inmate,
            }
    }
}

impl WindowIndex {
    /// Indexes `windows`, which a valid list keeps sorted by key.
    pub(crate) fn new(windows: &[Window]) -> WindowIndex {
        let (dir, shift) = window_directory(windows);
        let slots = windows
            .iter()
            .map(|w| {
                let inmate = crate::packed::pack_str::<2>(&w.inmate);
                WindowSlot {
                    key: w.key,
                    number: w.number,
                    start: w.start,
                    end: w.end,
                    inmate: inmate.unwrap_or_default(),
                    facility: w.facility,
                    inline: inmate.is_some(),
                }
            })
            .collect();
        let (numbers, number_shift) = window_number_filter(windows);
        WindowIndex {
            dir,
            shift,
            slots,
            numbers,
            number_shift,
        }
    }

    /// False when no window is for `number` (true may be a hash collision).
    #[inline]
    pub(crate) fn may_have_window(&self, number: E164) -> bool {
        let bit = number_hash(number.0, self.number_shift);
        self.numbers
            .get(bit / 64)
            .is_some_and(|w| w >> (bit % 64) & 1 == 1)
    }

    /// The range of `slots` that holds every window with key `key` (and
    /// maybe others: the caller compares the fields).
    #[inline]
    fn window_bucket(&self, key: u64) -> Range<usize> {
        let b = key.checked_shr(self.shift).unwrap_or(0) as usize;
        match (self.dir.get(b), self.dir.get(b + 1)) {
            (Some(&lo), Some(&hi)) => lo as usize..hi as usize,
            _ => 0..0,
        }
    }

    /// The range of slots whose key is `key`: every window of the call the
    /// key is from, and any other window whose key collides (the caller
    /// compares the fields).
    #[inline]
    #[expect(
        clippy::indexing_slicing,
        reason = "`partition_point` returns at most the slice's length"
    )]
    pub(crate) fn with_key(&self, key: u64) -> Range<usize> {
        let bucket = self.window_bucket(key);
        let slots = self.slots.get(bucket.clone()).unwrap_or_default();
        // A binary search, though a bucket averages one window: a pair
        // booked hundreds of times fills its bucket, and a scan would make
        // every other key hashed there pay for it; on a bucket of one window
        // the search is barely dearer than a scan.
        let first = slots.partition_point(|w| w.key < key);
        let len = slots[first..].iter().take_while(|w| w.key == key).count();
        bucket.start + first..bucket.start + first + len
    }

    /// The slots in `range` (from [`Self::with_key`]); `slots(range)[i]` is
    /// the list's window `range.start + i`.
    #[inline]
    pub(crate) fn slots(&self, range: Range<usize>) -> &[WindowSlot] {
        self.slots.get(range).unwrap_or_default()
    }
}

/// If `t` falls in one of the `mine` windows (`start − grace ≤ t < end`),
/// the end of the chain of windows that follow on without a gap (a window
/// chains on when it opens, grace included, before the previous one ends):
/// the call stays private until then.
pub(crate) fn chain_end(
    windows: &[WindowSlot],
    mine: impl Fn(usize, &WindowSlot) -> bool,
    t: i64,
    grace: i64,
) -> Option<i64> {
    // The latest end among my windows open at `t`. Times are tested first:
    // two compares, before the fields. A plain loop, not an iterator chain:
    // it is the cheaper of the two in the wasm guest.
    let open_at = |t: i64| {
        let mut latest = None;
        for (i, w) in windows.iter().enumerate() {
            if w.start.saturating_sub(grace) <= t && t < w.end && Some(w.end) > latest && mine(i, w)
            {
                latest = Some(w.end);
            }
        }
        latest
    };
    let mut until = open_at(t)?;
    while let Some(end) = open_at(until) {
        until = end;
    }
    Some(until)
}

/// Builds [`WindowIndex::dir`] for windows sorted by key: `2^bits` buckets
/// by the key's top bits, `bits` chosen so there is about one window per
/// bucket (at most 2^20 buckets, 4 MiB).
fn window_directory(windows: &[Window]) -> (Vec<u32>, u32) {
    let bits = (usize::BITS - windows.len().leading_zeros()).min(20);
    let shift = 64 - bits;
    let buckets = 1usize << bits;
    let mut dir = Vec::with_capacity(buckets + 1);
    let mut i = 0usize;
    for b in 0..buckets as u64 {
        dir.push(i as u32);
        while windows
            .get(i)
            .is_some_and(|w| w.key.checked_shr(shift).unwrap_or(0) == b)
        {
            i += 1;
        }
    }
    dir.push(i as u32);
    debug_assert_eq!(i, windows.len());
    (dir, shift)
}

/// The bit of `number` in a filter of `2^(64 - shift)` bits.
#[inline]
fn number_hash(number: u64, shift: u32) -> usize {
    (number.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// Builds [`WindowIndex::numbers`]: about 8 bits per window (so roughly one
/// number in ten without a window still has its bit set), at least 64, at
/// most 2^24 bits (2 MiB).
#[expect(
    clippy::indexing_slicing,
    reason = "a number's hash is below the filter's number of bits"
)]
fn window_number_filter(windows: &[Window]) -> (Vec<u64>, u32) {
    let bits = (windows.len().saturating_mul(8).max(64))
        .next_power_of_two()
        .min(1 << 24);
    let shift = 64 - bits.trailing_zeros();
    let mut filter = vec![0u64; bits / 64];
    for w in windows {
        let bit = number_hash(w.number, shift);
        filter[bit / 64] |= 1 << (bit % 64);
    }
    (filter, shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Decider;
    use crate::list::{build, WindowRow};
    use crate::test_support::policy;
    use crate::types::{Call, Reason};

    /// Inmate ids are compared inline up to 16 bytes and through the list
    /// beyond: every id of every length around that limit (and with a NUL,
    /// which the inline form cannot hold) matches its own window and no
    /// other id's, whichever form each side takes.
    #[test]
    fn inmate_ids_match_exactly_on_both_sides_of_the_inline_limit() {
        let number = E164(13_145_550_123);
        let mut ids: Vec<String> = (0..=24).map(|n| "x".repeat(n)).collect();
        ids.extend((14..=18).map(|n| format!("{}y", "x".repeat(n - 1))));
        ids.extend(
            [
                "x\0",
                "x\0\0",
                "\0",
                "xxxxxxxxxxxxxxx\0",
                "xxxxxxxxxxxxxxxx\0",
            ]
            .map(String::from),
        );
        let booked: Vec<&String> = ids.iter().step_by(2).collect();
        let rows: Vec<WindowRow> = booked
            .iter()
            .map(|&inmate| WindowRow {
                facility: "AAA".into(),
                inmate: inmate.clone(),
                number,
                start: 1_000,
                end: 2_000,
            })
            .collect();
        let d = Decider::new(build(policy(), vec![], &[], &rows).unwrap());
        let dialed = format!("+{}", number.0);
        for id in &ids {
            let reason = d
                .decide(&Call {
                    facility: "AAA",
                    inmate: id,
                    dialed: &dialed,
                    at: 1_500,
                    started: None,
                })
                .reason;
            let expected = if booked.contains(&id) {
                Reason::Prearranged
            } else {
                Reason::NotPrivileged
            };
            assert_eq!(reason, expected, "inmate id of {} bytes {id:?}", id.len());
        }
    }

    /// A hash collision never makes a call private, nor lends it another
    /// window's end: with every window's key forced to one call's, only the
    /// window with that call's own fields counts. The windows overlap and
    /// end at different times, so `private_until` shows which matched.
    #[test]
    fn colliding_keys_are_told_apart_by_the_fields() {
        let number = E164(13_145_550_123);
        let long = "an-inmate-id-of-over-16-bytes";
        let rows: Vec<WindowRow> = [
            ("AAA", "a", number, 2_000),
            ("AAA", long, number, 2_100),
            ("BBB", "a", number, 2_200),
            ("AAA", "a", E164(number.0 + 1), 2_300),
            ("AAA", "b", number, 2_400),
            ("AAA", "an-inmate-id-of-over-16-bytez", number, 2_500),
            ("BBB", long, number, 2_600),
        ]
        .into_iter()
        .map(|(facility, inmate, number, end)| WindowRow {
            facility: facility.into(),
            inmate: inmate.into(),
            number,
            start: 1_000,
            end,
        })
        .collect();
        let list = build(policy(), vec![], &[], &rows).unwrap();
        for w in &rows {
            let mut index = WindowIndex::new(&list.windows);
            let facility = list
                .facilities
                .binary_search_by(|f| f.code.as_str().cmp(&w.facility))
                .unwrap() as FacilityIndex;
            let key = window_key(facility, w.number, &w.inmate);
            for slot in &mut index.slots {
                slot.key = key;
            }
            let bucket = key >> index.shift;
            let all = index.slots.len() as u32;
            for (b, offset) in index.dir.iter_mut().enumerate() {
                *offset = if b as u64 <= bucket { 0 } else { all };
            }
            assert!(index.may_have_window(w.number));
            let same_key = index.with_key(window_key(facility, w.number, &w.inmate));
            let at = same_key.start;
            let inmate = crate::packed::pack_str::<2>(&w.inmate);
            let mine = |i: usize, slot: &WindowSlot| {
                slot.is_for(facility, w.number.0, &w.inmate, inmate, || {
                    &list.windows[at + i].inmate
                })
            };
            let until = chain_end(index.slots(same_key), mine, 1_500, 0);
            assert_eq!(until, Some(w.end), "{w:?}");
        }
    }

    /// A window to `number` with nothing else set: what the directory and
    /// the number filter are built from.
    fn bare_window(number: u64) -> Window {
        Window {
            key: 0,
            facility: 0,
            number,
            inmate: String::new(),
            start: 0,
            end: 1,
        }
    }

    /// The directory has about one bucket per window: a power of two at or
    /// above the count, at most 2^20 (4 MiB), and one entry past the last.
    #[test]
    fn the_directory_grows_with_the_windows() {
        for (count, buckets) in [
            (0, 1),
            (1, 2),
            (2, 4),
            (3, 4),
            (1_000, 1_024),
            ((1 << 20) + 1, 1 << 20),
        ] {
            let windows = vec![bare_window(0); count];
            let (dir, shift) = window_directory(&windows);
            assert_eq!(dir.len(), buckets + 1, "{count} windows");
            assert_eq!(1u64 << (64 - shift), buckets as u64, "{count} windows");
        }
    }

    /// The number filter passes every number with a window and turns most
    /// others away before any bucket is searched (about 8 bits a window:
    /// roughly one number in ten gets through).
    #[test]
    fn the_number_filter_turns_most_numbers_away() {
        let booked: Vec<u64> = (0..1_000).map(|i| 13_145_550_000 + 7 * i).collect();
        let windows: Vec<Window> = booked.iter().map(|&n| bare_window(n)).collect();
        let index = WindowIndex::new(&windows);
        assert!(booked.iter().all(|&n| index.may_have_window(E164(n))));
        let others = (0..10_000u64).map(|i| 14_155_550_000 + 3 * i);
        let through = others.filter(|&n| index.may_have_window(E164(n))).count();
        assert!(through < 2_000, "{through} of 10000 numbers got through");
    }

    /// The window directory and the number filter find every window, and
    /// only windows: each booked call is private, and the same number for
    /// another inmate or facility, or a neighbouring number, is not.
    #[test]
    fn window_index_finds_exactly_the_booked_calls() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rows: Vec<WindowRow> = (0..5000)
            .map(|i| {
                let r = next();
                WindowRow {
                    facility: if i % 3 == 0 { "AAA" } else { "BBB" }.into(),
                    inmate: format!("I{}", r % 700),
                    // A valid North American number: area code and
                    // exchange in 200-999.
                    number: E164::from_nanp_national(
                        (200 + (r >> 16) % 800) * 10_000_000
                            + (200 + (r >> 32) % 800) * 10_000
                            + (r >> 48) % 10_000,
                    ),
                    start: 1_000,
                    end: 2_000,
                }
            })
            .collect();
        let list = build(policy(), vec![], &[], &rows).unwrap();
        let d = Decider::new(list);
        let decide = |facility: &str, inmate: &str, number: u64| {
            let dialed = format!("+{number}");
            d.decide(&Call {
                facility,
                inmate,
                dialed: &dialed,
                at: 1_500,
                started: None,
            })
            .reason
        };
        let booked = |f: &str, i: &str, n: u64| {
            rows.iter()
                .any(|w| w.facility == f && w.inmate == i && w.number.0 == n)
        };
        for w in &rows {
            assert_eq!(
                decide(&w.facility, &w.inmate, w.number.0),
                Reason::Prearranged
            );
            for (f, i, n) in [
                (w.facility.as_str(), "nobody", w.number.0),
                ("AAA", w.inmate.as_str(), w.number.0),
                ("BBB", w.inmate.as_str(), w.number.0),
                (w.facility.as_str(), w.inmate.as_str(), w.number.0 + 1),
            ] {
                let expected = if booked(f, i, n) {
                    Reason::Prearranged
                } else {
                    Reason::NotPrivileged
                };
                assert_eq!(decide(f, i, n), expected);
            }
        }
    }
}
