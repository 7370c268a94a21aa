//! The structural rules a compiled list keeps, checked whole before a list
//! is used.

use super::{window_key, CompiledList, FacilityIndex, ListError};
use crate::normalize::E164;
use crate::types::Policy;

use ListError::Invalid;

impl CompiledList {
    /// Checks every structural rule the decision code relies on.
    pub fn validate(&self) -> Result<(), ListError> {
        check_policy(&self.default_policy)?;
        self.check_facilities()?;
        self.check_classes()?;
        self.check_number_sets()?;
        self.check_prefixes()?;
        self.check_windows()
    }

    /// Facilities: few enough to index, sorted and unique by a non-empty
    /// code, each with a valid policy.
    fn check_facilities(&self) -> Result<(), ListError> {
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
        Ok(())
    }

    /// Classes: non-empty; each grant's facilities sorted, unique and known,
    /// its validity not empty.
    fn check_classes(&self) -> Result<(), ListError> {
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
        Ok(())
    }

    /// The two number sets: each well formed, with one class id in range
    /// per number, and keys of the length their set holds.
    fn check_number_sets(&self) -> Result<(), ListError> {
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
        Ok(())
    }

    /// Prefix blocks: sorted and unique, each 4 to 14 digits long (as its
    /// length says) and with a class in range.
    fn check_prefixes(&self) -> Result<(), ListError> {
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
            if p.class as usize >= self.classes.len() {
                return Err(Invalid("prefix block class out of range"));
            }
        }
        Ok(())
    }

    /// Windows: sorted by key and start, each at a known facility, not
    /// empty, and filed under the key its fields give.
    fn check_windows(&self) -> Result<(), ListError> {
        if !self.windows.is_sorted_by_key(|w| (w.key, w.start)) {
            return Err(Invalid("windows are not sorted"));
        }
        for w in &self.windows {
            if usize::from(w.facility) >= self.facilities.len() {
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
}

/// A policy's rules: known categories, early grace in range, a valid dial
/// plan.
pub(super) fn check_policy(p: &Policy) -> Result<(), ListError> {
    if !p.exempt.is_valid() {
        return Err(Invalid("policy exempts an unknown category"));
    }
    if !(0..=Policy::MAX_GRACE_SECS).contains(&p.early_grace_secs) {
        return Err(Invalid("policy early grace out of range"));
    }
    p.dial_plan
        .validate()
        .map_err(|_| Invalid("policy dial plan is invalid"))
}
