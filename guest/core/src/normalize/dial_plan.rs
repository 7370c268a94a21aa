//! A facility's dial plan: the prefixes its phones dial and what a number
//! dialed without a country or area code means there.

use bincode::{Decode, Encode};

use super::NormalizeError;

/// How a facility's phones dial: the prefixes to strip and what to assume
/// for numbers dialed without a country or area code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct DialPlan {
    /// Digits dialed to reach an outside line (e.g. `"9"`); may be empty.
    pub outside_line_prefix: String,
    /// The facility's country calling code (e.g. `"1"`).
    pub country_code: String,
    /// The national trunk prefix (`"1"` in North America, `"0"` in most
    /// other countries); may be empty.
    pub trunk_prefix: String,
    /// Area code assumed for 7-digit local dialing (North America); may be
    /// empty, and then 7-digit numbers do not normalize.
    pub home_area_code: String,
    /// The international access prefix (`"011"` in North America, `"00"`
    /// in most countries, `"0011"` in Australia, `"010"` in Japan): see
    /// [`DialPlan::itu_international_prefix`].
    pub international_prefix: String,
}

impl DialPlan {
    /// The North American plan: country code 1, trunk prefix 1, no outside
    /// line prefix, no home area code.
    pub fn nanp() -> DialPlan {
        DialPlan {
            outside_line_prefix: String::new(),
            country_code: "1".into(),
            trunk_prefix: "1".into(),
            home_area_code: String::new(),
            international_prefix: "011".into(),
        }
    }

    /// The international access prefix the ITU lists for a country code
    /// (ITU-T E.164 Annex to Operational Bulletin 994), where it is not
    /// `00`; `00` for every other code. A country with several prefixes
    /// (carrier selection) gets its most common one; a facility can set
    /// `international_prefix` itself.
    pub fn itu_international_prefix(country_code: &str) -> &'static str {
        match country_code {
            "1" => "011",
            "61" => "0011",
            "81" => "010",
            "7" => "810",
            "82" | "852" | "62" | "66" | "976" | "855" | "856" => "001",
            "886" => "002",
            "65" => "000",
            "254" | "255" | "256" => "000",
            "234" | "57" => "009",
            _ => "00",
        }
    }

    /// Whether this plan is for the North American Numbering Plan.
    pub fn is_nanp(&self) -> bool {
        // A pattern, not `==`: no call to `memcmp` on the decision path.
        matches!(self.country_code.as_bytes(), [b'1'])
    }

    /// Checks every field; the error names the field that is wrong.
    pub fn validate(&self) -> Result<(), NormalizeError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !digits(&self.outside_line_prefix) || self.outside_line_prefix.len() > 4 {
            return Err(NormalizeError::BadPlan(
                "outside_line_prefix must be at most 4 digits",
            ));
        }
        let cc = self.country_code.as_bytes();
        if cc.is_empty() || cc.len() > 3 || !digits(&self.country_code) || cc.first() == Some(&b'0')
        {
            return Err(NormalizeError::BadPlan(
                "country_code must be 1 to 3 digits, not starting with 0",
            ));
        }
        // Every number whose country code starts with 1 is North
        // American (ITU-T E.164 assigns no other): under a plan of `17`
        // a national number would normalize to a "+17..." that no `+`
        // form of it reads as, and that breaks the rules of a +1 number.
        if cc.len() > 1 && cc.first() == Some(&b'1') {
            return Err(NormalizeError::BadPlan(
                "country_code starting with 1 must be 1 (North America)",
            ));
        }
        if !digits(&self.trunk_prefix) || self.trunk_prefix.len() > 2 {
            return Err(NormalizeError::BadPlan(
                "trunk_prefix must be at most 2 digits",
            ));
        }
        let intl = &self.international_prefix;
        if !digits(intl) || !(2..=4).contains(&intl.len()) || !intl.starts_with('0') {
            return Err(NormalizeError::BadPlan(
                "international_prefix must be 2 to 4 digits starting with 0",
            ));
        }
        let home = self.home_area_code.as_bytes();
        if !home.is_empty() {
            if !self.is_nanp() {
                return Err(NormalizeError::BadPlan(
                    "home_area_code is only for country_code 1",
                ));
            }
            if home.len() != 3 || !digits(&self.home_area_code) {
                return Err(NormalizeError::BadPlan("home_area_code must be 3 digits"));
            }
            if !home.first().is_some_and(|h| (b'2'..=b'9').contains(h)) {
                return Err(NormalizeError::BadPlan(
                    "home_area_code cannot start with 0 or 1",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::plan;

    #[test]
    fn plan_validation_names_the_field() {
        let bad = DialPlan {
            home_area_code: "57".into(),
            ..DialPlan::nanp()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("home_area_code"));
        assert!(plan().validate().is_ok());
    }
}
