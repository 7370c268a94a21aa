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
    } else if let Some(rest) = strip(digits, plan.international_prefix.as_bytes()) {
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

    /// The forms PBXs and SIP headers hand over: Kamailio's `$ru`, `$rU`
    /// and `$tU`, Asterisk's `${EXTEN}`, FreeSWITCH's `destination_number`,
    /// name-addrs of To and From headers, URI escapes and parameters,
    /// service codes, the keys that end dialing, a C string's NUL, and
    /// invisible characters a copy and paste leaves.
    #[test]
    fn what_pbxs_hand_over() {
        for s in [
            "<sip:+15735550142@pbx>",
            "\"Law Office <Main>\" <sip:+15735550142@pbx.invalid;user=phone>;tag=1",
            "Smith <tel:+1-573-555-0142>",
            "sip:15735550142@10.0.0.1:5060;transport=udp",
            "sip:+15735550142;user=phone@pbx",
            "15735550142",
            "915735550142",
            "5735550142*",
            "5735550142#",
            "5735550142**",
            "#31#15735550142",
            "*31#15735550142",
            "*82 573 555 0142",
            "573\u{200b}555\u{200b}0142",
            "\u{feff}5735550142",
            "\u{202a}+1 573 555 0142\u{202c}",
            "\u{200e}573\u{ad}555\u{ad}0142",
            "5735550142\0",
            "5735550142\0\0garbage",
            "sip:%2B15735550142@pbx",
            "sip:1573%2D555%2d0142@pbx",
            "sip:%2b1%20573%20555%200142@pbx",
            "tel:555-0142;phone-context=+1-573",
            "tel:555-0142;PHONE-CONTEXT=+1-573;ext=9",
            "sip:555-0142;phone-context=+1-573@pbx;user=phone",
            "tel:5550142;phone-context=example.com",
            "tel:+1.573.555.0142",
        ] {
            assert_eq!(n(s).as_deref(), Ok("+15735550142"), "{s:?}");
        }
        // The context decides the area code, not the facility's home.
        assert_eq!(
            n("tel:555-0142;phone-context=+1-314").as_deref(),
            Ok("+13145550142")
        );
        for s in [
            "<sip:@pbx>",
            "sip:%2@pbx",
            "sip:%41573@pbx",
            "573\0 555 0142",
            "#3#5735550142",
        ] {
            assert!(n(s).is_err(), "{s:?}");
        }
    }

    proptest::proptest! {
        /// Every decoration of the grammar around the same number reads
        /// as that number, and as nothing else.
        #[test]
        fn every_decoration_reads_the_same(
            npa in 200u64..1000,
            nxx in 200u64..1000,
            line in 0u64..10_000,
            wrap in 0usize..12,
            noise in 0usize..6,
        ) {
            let national = format!("{npa}{nxx}{line:04}");
            let (a, b, c) = (&national[..3], &national[3..6], &national[6..]);
            // Separators and invisible marks between the groups.
            let sep = [" ", "-", ".", "\u{200b}", "\u{ad}", "%20"][noise];
            let body = format!("{a}{sep}{b}{sep}{c}");
            let escaped = sep.starts_with('%');
            let dialed = match wrap {
                0 => format!("sip:1{body}@pbx"),
                1 => format!("<sip:+1{body}@pbx;user=phone>"),
                2 => format!("\"Office\" <sip:%2B1{body}@pbx>"),
                3 => format!("tel:{b}{sep}{c};phone-context=+1-{a}"),
                4 => format!("#31#1{body}"),
                5 => format!("*67{body}"),
                6 => format!("{body}#"),
                7 => format!("{body}*"),
                8 => format!("{body}\0"),
                9 => format!("9{body}"),
                10 => format!("\u{feff}+1{body}"),
                _ => format!("sip:{body};phone-context=+1@pbx"),
            };
            // `%`-escapes belong in URIs only.
            proptest::prop_assume!(!escaped || matches!(wrap, 0..=3 | 11));
            let want = E164::from_nanp_national(national.parse().unwrap());
            proptest::prop_assert_eq!(normalize(&dialed, &plan()), Ok(want), "{:?}", dialed);
        }
    }

    /// The international prefix follows the country (the ITU's), or the
    /// plan's own `international_prefix`.
    #[test]
    fn international_prefixes() {
        for (cc, dialed) in [
            ("61", "0011 44 20 7946 0000"),
            ("81", "010-44-20-7946-0000"),
            ("44", "00 44 20 7946 0000"),
            ("49", "0044 20 7946 0000"),
            ("65", "001 44 20 7946 0000"),
            ("7", "8 10 44 20 7946 0000"),
            ("55", "0021 44 20 7946 0000"),
            ("82", "001 44 20 7946 0000"),
            ("1", "011 44 20 7946 0000"),
        ] {
            let p = DialPlan::for_country(cc);
            assert!(p.validate().is_ok(), "{cc}");
            assert_eq!(
                normalize(dialed, &p).map(|e| e.0),
                Ok(442079460000),
                "{cc}: {dialed}"
            );
        }
        // Australia's own numbers still read with the trunk 0.
        assert_eq!(
            normalize("02 9876 5432", &DialPlan::for_country("61")).map(|e| e.0),
            Ok(61298765432)
        );
        let bad = DialPlan {
            international_prefix: "00000".into(),
            ..DialPlan::nanp()
        };
        assert_eq!(
            bad.validate().unwrap_err().plan_field(),
            Some("international_prefix")
        );
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
