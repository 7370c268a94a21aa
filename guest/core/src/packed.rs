//! The packed form of a call and a decision, for the fast path across the
//! wasm boundary (`decide-packed` in `wit/privcall.wit`).
//!
//! A component-model call that passes strings makes the host call back into
//! the guest to allocate each of them, and a result record is lifted field
//! by field; scalars travel in registers. So short strings (nearly every
//! call) are packed into integers, and the decision into one `u64` word
//! beside its `private-until` (the two read from one result area). Host and
//! guest both use this module: the format is written once.
//!
//! ```
//! use privcall_core::packed::{pack_str, unpack_str};
//!
//! let words = pack_str::<2>("JCCC").unwrap();
//! let mut buf = [0u8; 16];
//! assert_eq!(unpack_str(&words, &mut buf), Some("JCCC"));
//! assert!(pack_str::<2>("a facility code longer than 16 bytes").is_none());
//! ```

use crate::normalize::E164;
use crate::swar::{zero_bytes, HIGH_BITS};
use crate::types::{Category, Decision, Notice, Overrun, Reason};

/// Returned by `decide-packed` when no list is loaded. Never a decision:
/// its number bits exceed every E.164 number.
pub const NO_LIST: u64 = u64::MAX;

/// `private-until` of a packed decision that has none.
pub const NO_PRIVATE_UNTIL: i64 = i64::MIN;

const NUMBER_SHIFT: u32 = 14;

/// Packs a string of at most `8 × N` bytes, without NUL bytes, into `N`
/// little-endian words (zero-padded). `None` when it does not fit: the
/// caller uses the string path instead.
#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "a tail is left only when the length is not a multiple of 8, and it is at most 8 × N"
)]
pub fn pack_str<const N: usize>(s: &str) -> Option<[u64; N]> {
    let bytes = s.as_bytes();
    if bytes.len() > 8 * N {
        return None;
    }
    // Word by word, not byte by byte: this runs on every decision.
    let mut words = [0u64; N];
    let mut chunks = bytes.chunks_exact(8);
    let mut nul = 0;
    for (w, chunk) in words.iter_mut().zip(&mut chunks) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *w = u64::from_le_bytes(b);
        nul |= zero_bytes(*w);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let w = tail.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b));
        // The padding is zero by design; only the string's own bytes count.
        nul |= zero_bytes(w | u64::MAX << (8 * tail.len()));
        words[bytes.len() / 8] = w;
    }
    (nul == 0).then_some(words)
}

/// The bytes of words made by [`pack_str`], copied into `buf` (at least
/// `8 × words` bytes): everything before the first NUL byte.
///
/// # Panics
///
/// If `buf` is shorter than `8 × words` bytes.
#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "`buf` holds 8 × words bytes, the documented precondition"
)]
pub fn unpack_bytes<'a>(words: &[u64], buf: &'a mut [u8]) -> &'a [u8] {
    for (i, &w) in words.iter().enumerate() {
        buf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        let zero = zero_bytes(w);
        if zero != 0 {
            return &buf[..i * 8 + (zero.trailing_zeros() / 8) as usize];
        }
    }
    &buf[..words.len() * 8]
}

/// Whether every byte of `words` is ASCII: then the bytes of
/// [`unpack_bytes`] are valid UTF-8 without looking at them one by one.
#[inline]
pub fn is_ascii(words: &[u64]) -> bool {
    words.iter().fold(0, |a, w| a | w) & HIGH_BITS == 0
}

/// Unpacks words made by [`pack_str`] into `buf` (at least `8 × words`
/// bytes). `None` if the bytes are not UTF-8 (a host bug, never a guess).
pub fn unpack_str<'a>(words: &[u64], buf: &'a mut [u8]) -> Option<&'a str> {
    core::str::from_utf8(unpack_bytes(words, buf)).ok()
}

fn index<T: PartialEq + Copy>(all: &[T], v: Option<T>) -> u64 {
    v.and_then(|v| all.iter().position(|&a| a == v))
        .map_or(0, |i| i as u64 + 1)
}

fn from_index<T: Copy>(all: &[T], i: u64) -> Result<Option<T>, MalformedDecision> {
    match i {
        0 => Ok(None),
        i => all
            .get(i as usize - 1)
            .copied()
            .map(Some)
            .ok_or(MalformedDecision),
    }
}

/// A packed word that no guest could have produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedDecision;

impl core::fmt::Display for MalformedDecision {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed packed decision")
    }
}

impl std::error::Error for MalformedDecision {}

const REASONS: [Reason; 5] = [
    Reason::Registered,
    Reason::Prearranged,
    Reason::PrearrangedOverrun,
    Reason::NotPrivileged,
    Reason::Unreadable,
];

const NOTICES: [Notice; 3] = [
    Notice::PrivateWindowEndedRecording,
    Notice::PrivateWindowEndedPrivate,
    Notice::PrivateWindowEndedDisconnect,
];

/// Packs a decision, all but `private_until`, into one word: bit 0
/// `record` (and `monitor`: the rules never set them apart), 1
/// `redact_metadata`, 2 `default_policy`, 3–5 reason, 6–9 category, 10–11
/// `on_expiry`, 12–13 notice (0 = none, else 1 + contract index), 14–63
/// the E.164 number (0 = none).
pub fn pack_decision(d: &Decision) -> u64 {
    debug_assert_eq!(d.record, d.monitor, "the rules monitor what they record");
    u64::from(d.record)
        | u64::from(d.redact_metadata) << 1
        | u64::from(d.default_policy) << 2
        | (index(&REASONS, Some(d.reason)) - 1) << 3
        | index(&Category::ALL, d.category) << 6
        | index(&Overrun::ALL, d.on_expiry) << 10
        | index(&NOTICES, d.notice) << 12
        | d.normalized.map_or(0, |n| n.0) << NUMBER_SHIFT
}

/// Unpacks [`pack_decision`]'s word, with `private_until` from
/// the second field of the guest's `packed-decision`. `Err` for a word no
/// guest could have packed.
#[expect(
    clippy::indexing_slicing,
    reason = "the reason's index is checked against the reasons' count first"
)]
pub fn unpack_decision(
    word: u64,
    private_until: Option<i64>,
) -> Result<Decision, MalformedDecision> {
    let bits = |shift: u32, width: u32| (word >> shift) & ((1 << width) - 1);
    let number = word >> NUMBER_SHIFT;
    if number > 999_999_999_999_999 {
        return Err(MalformedDecision);
    }
    let reason = bits(3, 3) as usize;
    if reason >= REASONS.len() {
        return Err(MalformedDecision);
    }
    Ok(Decision {
        record: bits(0, 1) == 1,
        monitor: bits(0, 1) == 1,
        redact_metadata: bits(1, 1) == 1,
        default_policy: bits(2, 1) == 1,
        reason: REASONS[reason],
        category: from_index(&Category::ALL, bits(6, 4))?,
        on_expiry: from_index(&Overrun::ALL, bits(10, 2))?,
        notice: from_index(&NOTICES, bits(12, 2))?,
        normalized: (number != 0).then_some(E164(number)),
        private_until,
    })
}

/// Whether a decision of this reason carries `private_until` (so the host
/// reads `packed-decision`'s `private-until`).
pub fn has_private_until(reason: Reason) -> bool {
    matches!(reason, Reason::Prearranged | Reason::PrearrangedOverrun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn option<T: Copy + core::fmt::Debug>(all: &'static [T]) -> impl Strategy<Value = Option<T>> {
        prop::option::of(prop::sample::select(all))
    }

    proptest! {
        #[test]
        fn every_decision_round_trips(
            record in any::<bool>(), redact in any::<bool>(), default_policy in any::<bool>(),
            reason in prop::sample::select(&REASONS[..]),
            category in option(&Category::ALL),
            on_expiry in option(&Overrun::ALL),
            notice in option(&NOTICES),
            normalized in prop::option::of(1_000_000u64..=999_999_999_999_999),
            until in any::<i64>(),
        ) {
            let d = Decision {
                record, monitor: record, reason, category, on_expiry, notice,
                redact_metadata: redact,
                normalized: normalized.map(E164),
                default_policy,
                private_until: has_private_until(reason).then_some(until),
            };
            let word = pack_decision(&d);
            prop_assert_ne!(word, NO_LIST);
            prop_assert_eq!(unpack_decision(word, d.private_until), Ok(d));
        }

        #[test]
        fn strings_round_trip(s in "[^\u{0}]{0,12}") {
            let mut buf = [0u8; 32];
            match pack_str::<4>(&s) {
                Some(w) => prop_assert_eq!(unpack_str(&w, &mut buf), Some(s.as_str())),
                None => prop_assert!(s.len() > 32),
            }
        }
    }

    /// The byte-by-byte meaning of the word tricks in `pack_str`.
    fn pack_reference(s: &[u8], n: usize) -> Option<Vec<u64>> {
        if s.len() > 8 * n || s.contains(&0) {
            return None;
        }
        let mut padded = s.to_vec();
        padded.resize(8 * n, 0);
        Some(
            padded
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    }

    proptest! {
        // NUL bytes anywhere (first, last, in the padding's place) and
        // every length around the word boundaries.
        #[test]
        fn packing_matches_the_bytewise_rule(s in "[\\x00a-c\u{e9}\u{1f600}]{0,40}") {
            let bytes = s.as_bytes();
            prop_assert_eq!(pack_str::<4>(&s).map(|w| w.to_vec()), pack_reference(bytes, 4));
            prop_assert_eq!(pack_str::<2>(&s).map(|w| w.to_vec()), pack_reference(bytes, 2));
        }

        #[test]
        fn unpacking_stops_at_the_first_nul(words in prop::array::uniform4(any::<u64>())) {
            let mut buf = [0u8; 32];
            let all: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let end = all.iter().position(|&b| b == 0).unwrap_or(all.len());
            prop_assert_eq!(unpack_bytes(&words, &mut buf), &all[..end]);
            prop_assert_eq!(is_ascii(&words), all.is_ascii());
        }
    }

    #[test]
    fn no_list_is_never_a_decision() {
        assert!(unpack_decision(NO_LIST, None).is_err());
        assert!(pack_str::<1>("a\0b").is_none());
    }
}
