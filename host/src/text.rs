//! Text as files, JSON and logs show it: E.164 numbers, RFC 3339 instants
//! (and which way a sub-second one rounds), error chains in one line, and
//! [`InlineStr`], a short string stored inline, so a decision carries its
//! list digest without allocating (every call makes one), and its number's
//! E.164 text is written without allocating when the decision is.

pub use crate::decision::{E164Text, Rfc3339Text};
pub use crate::time::{Round, TimeError};

use std::fmt;
use std::ops::Deref;

use privcall_core::normalize::E164;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTF-8 string of at most `N` bytes (`N` ≤ 255) kept inline: `Copy`,
/// no heap. Reads as a `str`; serializes as a JSON string.
///
/// ```
/// use privcall::text::InlineStr;
/// use privcall_core::normalize::E164;
///
/// let n = InlineStr::<16>::e164(E164(15_735_550_142));
/// assert_eq!(&*n, "+15735550142");
/// assert!(InlineStr::<4>::new("too long").is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// `s`, or `None` when it is longer than `N` bytes.
    pub fn new(s: &str) -> Option<InlineStr<N>> {
        const { assert!(N <= u8::MAX as usize) };
        let mut out = InlineStr {
            len: u8::try_from(s.len()).ok()?,
            bytes: [0; N],
        };
        out.bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(out)
    }

    /// `bytes` in lowercase hex, cut to `N` characters.
    pub fn hex(bytes: &[u8]) -> InlineStr<N> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = InlineStr {
            len: 0,
            bytes: [0; N],
        };
        for (pair, b) in out.bytes.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
        }
        out.len = (bytes.len() * 2).min(N - N % 2) as u8;
        out
    }

    /// The E.164 form of a number: `+` and its digits, 16 bytes at most
    /// for a real number (15 digits); cut to `N` bytes if longer.
    pub fn e164(number: E164) -> InlineStr<N> {
        // `itoa` writes two digits per division: this runs on every
        // decision, where a digit-by-digit loop is several times dearer.
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(number.0).as_bytes();
        let mut out = InlineStr {
            len: 0,
            bytes: [0; N],
        };
        // Longer than `N`: cut, never panic (E.164 always fits 16).
        let len = (digits.len() + 1).min(N);
        if len > 0 {
            out.bytes[0] = b'+';
            out.bytes[1..len].copy_from_slice(&digits[..len - 1]);
        }
        out.len = len as u8;
        out
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // Only ever filled from a `str` or ASCII digits, cut at a
        // character boundary; the fallback is unreachable.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl<const N: usize> Deref for InlineStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<str> for InlineStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for InlineStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> Serialize for InlineStr<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for InlineStr<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        InlineStr::new(&s)
            .ok_or_else(|| serde::de::Error::custom(format_args!("string longer than {N} bytes")))
    }
}

/// An error and each of its sources, joined by `: ` (what `anyhow`'s `{:#}`
/// prints), for the status and logs, which keep the whole story in one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_as_e164_does() {
        for n in [
            1u64,
            10,
            15_735_550_142,
            442_079_460_958,
            999_999_999_999_999,
            u64::MAX,
        ] {
            let inline = InlineStr::<21>::e164(E164(n));
            assert_eq!(inline.as_str(), E164(n).to_string());
        }
        // Cut, not a panic, when the buffer is short.
        assert_eq!(InlineStr::<4>::e164(E164(123_456)).as_str(), "+123");
    }

    #[test]
    fn strings_round_trip_through_json() {
        let s = InlineStr::<64>::new("ab12").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"ab12\"");
        assert_eq!(serde_json::from_str::<InlineStr<64>>(&json).unwrap(), s);
        let err = serde_json::from_str::<InlineStr<2>>(&json).unwrap_err();
        assert!(err.to_string().contains("longer than 2 bytes"), "{err}");
        assert!(InlineStr::<3>::new("abcd").is_none());
        assert_eq!(InlineStr::<4>::new("abcd").unwrap(), "abcd");
        assert_eq!(InlineStr::<4>::new("").unwrap().as_str(), "");
    }
}
