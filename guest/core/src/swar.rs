//! Byte tests on eight bytes at once, in one `u64` ("SIMD within a
//! register"): the packed call path and the dialed-string scan use them
//! where a byte-at-a-time loop costs the most in wasm (every loop pass
//! checks the epoch deadline).
//!
//! Each test answers with the high bit (`0x80`) of the bytes it matched.

/// `0x01` in every byte of a word.
pub(crate) const LOW_BITS: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
/// The seven low bits of every byte of a word.
const LOW_SEVEN: u64 = !HIGH_BITS;

/// The high bit of the first zero byte of `w` is the lowest bit set in the
/// result (higher bits may be false alarms, above a real zero byte): enough
/// to find where a NUL-padded string ends, in fewer steps than
/// [`bytes_equal`].
#[inline]
pub(crate) fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LOW_BITS) & !w & HIGH_BITS
}

/// The high bit of every byte of `w` that is `c`, and no other bit.
#[inline]
pub(crate) fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (LOW_BITS * u64::from(c));
    // A byte's high bit ends up set when any of its bits is: the low seven
    // by the carry of adding 0x7f (which never crosses into the next
    // byte), the eighth by the `| x`.
    !(((x & LOW_SEVEN) + LOW_SEVEN) | x) & HIGH_BITS
}

/// The high bit of every byte of `w` that is an ASCII digit, and no other
/// bit.
#[inline]
pub(crate) fn digit_bytes(w: u64) -> u64 {
    let x = w ^ (LOW_BITS * u64::from(b'0'));
    // Digits are the bytes with `x < 10`: adding 0x76 to the low seven
    // bits carries into the high bit from 10 up.
    !(((x & LOW_SEVEN) + LOW_BITS * 0x76) | x) & HIGH_BITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A word with `f(byte)` as the high bit of each byte.
    fn bytewise(w: u64, f: impl Fn(u8) -> bool) -> u64 {
        w.to_le_bytes()
            .iter()
            .enumerate()
            .map(|(i, &b)| u64::from(f(b)) << (8 * i + 7))
            .fold(0, |a, b| a | b)
    }

    /// Words made of the bytes around the edges of each test (and random
    /// ones), so every carry case comes up.
    fn words() -> impl Strategy<Value = u64> {
        let edges = prop::sample::select(vec![
            0u8,
            1,
            b' ',
            b'(',
            b')',
            b'-',
            b'.',
            b'/',
            b'0' - 1,
            b'0',
            b'5',
            b'9',
            b'9' + 1,
            0x7f,
            0x80,
            0xb0,
            0xb9,
            0xff,
        ]);
        prop::array::uniform8(prop_oneof![edges, any::<u8>()]).prop_map(u64::from_le_bytes)
    }

    proptest! {
        #[test]
        fn digit_bytes_are_the_ascii_digits(w in words()) {
            prop_assert_eq!(digit_bytes(w), bytewise(w, |b| b.is_ascii_digit()));
        }

        #[test]
        fn bytes_equal_finds_exactly_that_byte(w in words(), c in any::<u8>()) {
            prop_assert_eq!(bytes_equal(w, c), bytewise(w, |b| b == c));
            let first = w.to_le_bytes()[3];
            prop_assert_eq!(bytes_equal(w, first), bytewise(w, |b| b == first));
        }

        #[test]
        fn the_lowest_zero_byte_is_found(w in words()) {
            let bytes = w.to_le_bytes();
            let found = zero_bytes(w);
            match bytes.iter().position(|&b| b == 0) {
                Some(i) => prop_assert_eq!(found.trailing_zeros() as usize, 8 * i + 7),
                None => prop_assert_eq!(found, 0),
            }
        }
    }
}
