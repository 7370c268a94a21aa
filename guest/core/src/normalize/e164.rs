//! The normalized forms: an E.164 number as an integer, and a prefix block
//! of them.

use core::fmt;

/// An E.164 number as an integer (country code first, no `+`): 7 to 15
/// digits, never starting with 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164(pub u64);

/// `10^n` for `n` in `0..=19`.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time, where an index out of range fails the build"
)]
pub(super) const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Start of the North American range: `+1` followed by 10 digits.
const NANP_BASE: u64 = E164::NANP_NATIONAL_LIMIT;

impl E164 {
    /// How many decimal digits the number has.
    pub fn digits(self) -> u32 {
        match self.0.checked_ilog10() {
            Some(l) => l + 1,
            None => 1,
        }
    }

    /// The first `len` digits as an integer, or `None` when the number is
    /// shorter than `len` digits.
    #[expect(
        clippy::indexing_slicing,
        reason = "a u64 has at most 20 digits and `len` is at least 1, so the index is below 20"
    )]
    pub fn leading(self, len: u32) -> Option<u64> {
        let digits = self.digits();
        if len == 0 || len > digits {
            return None;
        }
        Some(self.0 / POW10[(digits - len) as usize])
    }

    /// One more than the largest North American national number: national
    /// numbers (area code, exchange, line) have 10 digits, so they are the
    /// integers below this. The list's North American set is keyed by them.
    pub const NANP_NATIONAL_LIMIT: u64 = 10_000_000_000;

    /// The North American number with the 10-digit national number
    /// `national`: `+1` followed by it, so its integer is
    /// `10_000_000_000 + national`. The inverse of
    /// [`E164::nanp_national`]; `national` must be below
    /// [`E164::NANP_NATIONAL_LIMIT`].
    ///
    /// ```
    /// use privcall_core::normalize::E164;
    ///
    /// let n = E164::from_nanp_national(5_735_550_142);
    /// assert_eq!(n.to_string(), "+15735550142");
    /// assert_eq!(n.nanp_national(), Some(5_735_550_142));
    /// ```
    #[inline]
    pub const fn from_nanp_national(national: u64) -> E164 {
        debug_assert!(national < E164::NANP_NATIONAL_LIMIT);
        E164(NANP_BASE + national)
    }

    /// The 10-digit national number when this is a North American number
    /// (the inverse of [`E164::from_nanp_national`]).
    pub fn nanp_national(self) -> Option<u64> {
        (NANP_BASE..2 * NANP_BASE)
            .contains(&self.0)
            .then(|| self.0 - NANP_BASE)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// A prefix block: every number whose E.164 form starts with these digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    /// The leading digits as an integer.
    pub value: u64,
    /// How many leading digits.
    pub len: u8,
}

impl Prefix {
    /// Whether `number` lies in the block.
    pub fn matches(self, number: E164) -> bool {
        number.leading(u32::from(self.len)) == Some(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_helpers() {
        let e = E164(15735550142);
        assert_eq!(e.digits(), 11);
        assert_eq!(e.leading(4), Some(1573));
        assert_eq!(e.leading(12), None);
        assert_eq!(e.nanp_national(), Some(5735550142));
        assert_eq!(E164(525555550100).nanp_national(), None);
    }
}
