//! Dial-plan normalization: whatever an inmate dialed (or a registry row
//! holds) to one E.164 number.
//!
//! The registry and the calls go through this same code, so every format of
//! a registered number meets the same set entry. It never allocates and runs
//! in time linear in the input, so it is cheap on the call path.
//!
//! ```
//! use privcall_core::normalize::{normalize, DialPlan};
//!
//! let plan = DialPlan {
//!     outside_line_prefix: "9".into(),
//!     home_area_code: "573".into(),
//!     ..DialPlan::nanp()
//! };
//! for dialed in ["9-1-(573) 555-0142", "+1 573 555 0142", "555-0142 x12", "tel:+1-573-555-0142"] {
//!     assert_eq!(normalize(dialed, &plan).unwrap().to_string(), "+15735550142");
//! }
//! assert!(normalize("hello?", &plan).is_err());
//! ```

mod dial_plan;
mod e164;
mod error;
mod numbering;
mod scan;

pub use dial_plan::DialPlan;
pub use e164::{Prefix, E164};
pub use error::NormalizeError;

use numbering::{international, national, strip, to_int};
use scan::{scan, MAX_DIGITS};

/// Normalizes a dialed string to E.164 under `plan` (its most likely
/// reading; see [`readings`]).
pub fn normalize(dialed: &str, plan: &DialPlan) -> Result<E164, NormalizeError> {
    readings(dialed, plan).map(|r| r.primary)
}

/// The ways a dialed string can be read under a plan. Digits that start
/// with the outside-line prefix may also be a whole number that merely
/// starts with the same digit (an area code 9xx dialed without the prefix):
/// when both readings are valid numbers the decision checks both, so an
/// ambiguous string can never make a registered number "record".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readings {
    /// The reading with the outside-line prefix removed, when valid;
    /// otherwise the whole digits.
    pub primary: E164,
    /// The whole digits, when they are a different valid number too.
    pub alternate: Option<E164>,
}

/// All readings of `dialed` under `plan` (see [`Readings`]).
pub fn readings(dialed: &str, plan: &DialPlan) -> Result<Readings, NormalizeError> {
    let d = scan(dialed)?;
    let digits = d.digits();
    if d.plus {
        return international(digits, d.letters).map(|primary| Readings {
            primary,
            alternate: None,
        });
    }
    let whole = national(digits, plan, d.letters);
    let outside = plan.outside_line_prefix.as_bytes();
    let stripped = match strip(digits, outside) {
        Some(rest) if !outside.is_empty() => national(rest, plan, d.letters).ok(),
        _ => None,
    };
    match (stripped, whole) {
        (Some(primary), Ok(whole)) => Ok(Readings {
            primary,
            alternate: (whole != primary).then_some(whole),
        }),
        (Some(primary), Err(_)) => Ok(Readings {
            primary,
            alternate: None,
        }),
        (None, whole) => whole.map(|primary| Readings {
            primary,
            alternate: None,
        }),
    }
}

/// Normalizes a registry prefix block (`+1573526*`, `1-573-526*`,
/// `573526*`) under `plan`. The trailing `*` is required.
pub fn normalize_prefix(text: &str, plan: &DialPlan) -> Result<Prefix, NormalizeError> {
    let trimmed = text.trim();
    let Some(body) = trimmed.strip_suffix('*') else {
        return Err(NormalizeError::PrefixLength);
    };
    let d = scan(body)?;
    let digits = d.digits();
    let mut buf = [0u8; MAX_DIGITS + 3];
    let full: &[u8] = if d.plus {
        digits
    } else if let Some(rest) = strip(digits, b"011").filter(|_| plan.is_nanp()) {
        rest
    } else if let Some(rest) = strip(digits, b"00").filter(|_| !plan.is_nanp()) {
        rest
    } else {
        let cc = plan.country_code.as_bytes();
        let national = match strip(digits, plan.trunk_prefix.as_bytes()) {
            Some(rest) if !plan.trunk_prefix.is_empty() => rest,
            _ => digits,
        };
        let Some(full) = buf.get_mut(..cc.len() + national.len()) else {
            return Err(NormalizeError::TooLong);
        };
        let (head, tail) = full.split_at_mut(cc.len());
        head.copy_from_slice(cc);
        tail.copy_from_slice(national);
        full
    };
    if !(4..=14).contains(&full.len()) {
        return Err(NormalizeError::PrefixLength);
    }
    if full.first() == Some(&b'0') {
        return Err(NormalizeError::BadCountryCode);
    }
    if full.first() == Some(&b'1') {
        // Prefix blocks inside North America obey its digit rules too, or
        // they could never match a normalized number.
        if full.get(1).is_some_and(|&d| d < b'2') {
            return Err(NormalizeError::BadAreaCode);
        }
        if full.get(4).is_some_and(|&d| d < b'2') {
            return Err(NormalizeError::BadExchange);
        }
        if full.len() > 11 {
            return Err(NormalizeError::PrefixLength);
        }
    }
    Ok(Prefix {
        value: to_int(full),
        len: full.len() as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::plan;

    fn n(s: &str) -> Result<String, NormalizeError> {
        normalize(s, &plan()).map(|e| e.to_string())
    }

    #[test]
    fn north_american_formats() {
        for s in [
            "5735550142",
            "(573) 555-0142",
            "1-573-555-0142",
            "+1 573 555 0142",
            "9 1 573 555 0142",
            "9 011 1 573 555 0142",
            "555-0142",
            "9 555 0142",
            "573-555-0142 ext. 7",
            "573-555-0142 x7",
            "5735550142x7",
            "573 555 0142,,7",
            "tel:+1-573-555-0142;ext=7",
            "sip:+15735550142@pbx.invalid;user=phone",
            "SIP:+15735550142@pbx.invalid",
            "*67 573 555 0142",
            "5735550142#",
            "573\u{2013}555\u{2013}0142",
            "\u{ff15}\u{ff17}\u{ff13}5550142",
        ] {
            assert_eq!(n(s).as_deref(), Ok("+15735550142"), "{s:?}");
        }
    }

    #[test]
    fn vanity_and_international() {
        assert_eq!(n("1-800-LAW-HELP").as_deref(), Ok("+18005294357"));
        assert_eq!(n("1-800-LAW-HELPS").as_deref(), Ok("+18005294357"));
        assert_eq!(n("1-800-LAWHELP x7").as_deref(), Ok("+18005294357"));
        assert_eq!(n("9 011 52 55 5555 0100").as_deref(), Ok("+525555550100"));
        assert_eq!(n("+44 20 7946 0000").as_deref(), Ok("+442079460000"));
    }

    #[test]
    fn refusals_never_echo_digits() {
        for (s, e) in [
            ("", NormalizeError::Empty),
            ("hello?", NormalizeError::BadCharacter { position: 6 }),
            // Positions count characters, not bytes; a star code's digits
            // count too.
            (
                "\u{ff15}73 \u{2010}55!",
                NormalizeError::BadCharacter { position: 8 },
            ),
            ("*6x", NormalizeError::BadCharacter { position: 2 }),
            ("*", NormalizeError::BadCharacter { position: 1 }),
            ("573 55\u{e9}", NormalizeError::BadCharacter { position: 7 }),
            ("573+5550142", NormalizeError::MisplacedPlus),
            ("073 555 0142", NormalizeError::BadAreaCode),
            ("+1 073 555 0142", NormalizeError::BadAreaCode),
            ("+1 573 055 0142", NormalizeError::BadExchange),
            ("12345", NormalizeError::WrongLength { digits: 5 }),
            ("+0 123 4567", NormalizeError::BadCountryCode),
        ] {
            assert_eq!(normalize(s, &plan()), Err(e), "{s:?}");
            assert!(!e.to_string().contains("555"));
        }
        let no_home = DialPlan::nanp();
        assert_eq!(
            normalize("555-0142", &no_home),
            Err(NormalizeError::NoHomeAreaCode)
        );
    }

    #[test]
    fn ambiguous_strings_keep_both_readings() {
        // Outside line + 212-555-HELP, or a vanity number in area code 921
        // dialed without the outside line (the extra letter dropped).
        let r = readings("9 212 555 HELP", &plan()).unwrap();
        assert_eq!(r.primary, E164(12125554357));
        assert_eq!(r.alternate, Some(E164(19212555435)));
        assert_eq!(readings("9 573 555 0142", &plan()).unwrap().alternate, None);
        // North America has no 00 international prefix.
        assert!(normalize("00 1 573 555 0142", &plan()).is_err());
    }

    #[test]
    fn outside_prefix_then_whole() {
        // An area code starting with 9, dialed without the outside prefix.
        assert_eq!(n("917 555 0142").as_deref(), Ok("+19175550142"));
        assert_eq!(n("9 917 555 0142").as_deref(), Ok("+19175550142"));
    }

    #[test]
    fn prefixes() {
        let p = normalize_prefix("+1573526*", &DialPlan::nanp()).unwrap();
        assert_eq!((p.value, p.len), (1573526, 7));
        assert_eq!(normalize_prefix("573-526*", &DialPlan::nanp()), Ok(p));
        assert_eq!(normalize_prefix("1 573 526*", &DialPlan::nanp()), Ok(p));
        assert!(p.matches(E164(15735260000)));
        assert!(!p.matches(E164(15735270000)));
        assert_eq!(
            normalize_prefix("+15*", &DialPlan::nanp()),
            Err(NormalizeError::PrefixLength)
        );
        assert_eq!(
            normalize_prefix("+1073*", &DialPlan::nanp()),
            Err(NormalizeError::BadAreaCode)
        );
    }
}
