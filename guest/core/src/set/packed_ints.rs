//! [`PackedInts`]: a read-only array of small integers in the fewest bits
//! each, which maps a number's rank in its set to its class.

use bincode::{Decode, Encode};

use super::SetError;

/// A read-only array of small unsigned integers, each stored in the fewest
/// bits that hold the largest (0 bits when all are 0).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PackedInts {
    len: u32,
    bits: u8,
    words: Vec<u64>,
}

impl PackedInts {
    /// Packs `values`.
    #[expect(
        clippy::indexing_slicing,
        reason = "`words` has room for every value's bits, the last value's included"
    )]
    pub fn from_values(values: &[u32]) -> PackedInts {
        let max = values.iter().copied().max().unwrap_or(0);
        let bits = (32 - max.leading_zeros()) as u8;
        let total = values.len() * usize::from(bits);
        let mut words = vec![0u64; total.div_ceil(64)];
        for (i, &v) in values.iter().enumerate().filter(|_| bits > 0) {
            let at = i * usize::from(bits);
            let (w, off) = (at / 64, at % 64);
            words[w] |= u64::from(v) << off;
            if off + usize::from(bits) > 64 {
                words[w + 1] |= u64::from(v) >> (64 - off);
            }
        }
        PackedInts {
            len: values.len() as u32,
            bits,
            words,
        }
    }

    /// The value at `i`, or `None` past the end.
    #[inline]
    #[expect(
        clippy::indexing_slicing,
        reason = "`i` is below `len`, checked first, and `validate` ensures `words` holds `len` values"
    )]
    pub fn get(&self, i: usize) -> Option<u32> {
        if i >= self.len as usize {
            return None;
        }
        let bits = usize::from(self.bits);
        if bits == 0 {
            return Some(0);
        }
        let at = i * bits;
        let (w, off) = (at / 64, at % 64);
        let mut v = self.words[w] >> off;
        if off + bits > 64 {
            v |= self.words[w + 1] << (64 - off);
        }
        Some((v & ((1u64 << bits) - 1)) as u32)
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bits per value.
    pub fn bits(&self) -> u32 {
        u32::from(self.bits)
    }

    /// The largest value (0 when empty).
    pub fn max_value(&self) -> u32 {
        (0..self.len())
            .filter_map(|i| self.get(i))
            .max()
            .unwrap_or(0)
    }

    /// Bytes of heap memory.
    pub fn heap_bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// Checks the structure after decoding.
    pub fn validate(&self) -> Result<(), SetError> {
        if self.bits > 32 {
            return Err(SetError::Malformed("packed values wider than 32 bits"));
        }
        let total = self.len as usize * usize::from(self.bits);
        if self.words.len() != total.div_ceil(64) {
            return Err(SetError::Malformed("packed array has the wrong length"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn validate_catches_a_short_word_array() {
        let p = PackedInts {
            len: 10,
            bits: 7,
            words: vec![0],
        };
        assert!(p.validate().is_err());
    }

    proptest! {
        #[test]
        fn packed_round_trip(values in proptest::collection::vec(any::<u32>().prop_map(|v| v >> (v % 32)), 0..500)) {
            let p = PackedInts::from_values(&values);
            prop_assert!(p.validate().is_ok());
            for (i, &v) in values.iter().enumerate() {
                prop_assert_eq!(p.get(i), Some(v));
            }
            prop_assert_eq!(p.get(values.len()), None);
            prop_assert_eq!(p.max_value(), values.iter().copied().max().unwrap_or(0));
        }
    }
}
