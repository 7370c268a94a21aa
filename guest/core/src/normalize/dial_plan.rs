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

    /// The plan of a facility in the country with calling code
    /// `country_code`: its usual trunk and international prefixes
    /// ([`DialPlan::itu_trunk_prefix`], [`DialPlan::itu_international_prefix`]),
    /// no outside line, no home area code.
    pub fn for_country(country_code: &str) -> DialPlan {
        DialPlan {
            outside_line_prefix: String::new(),
            country_code: country_code.into(),
            trunk_prefix: Self::itu_trunk_prefix(country_code).into(),
            home_area_code: String::new(),
            international_prefix: Self::itu_international_prefix(country_code).into(),
        }
    }

    /// The national (trunk) prefix dialed before an area code in the
    /// country with this calling code: `1` in North America, `8` in Russia,
    /// Kazakhstan, Belarus and Turkmenistan, `06` in Hungary, none where
    /// the leading digit is part of the number (Italy, Spain, Denmark,
    /// Norway, Poland, Mexico, ...), `0` elsewhere. As the ITU's national
    /// numbering plans (and libphonenumber, the test oracle) list them.
    pub fn itu_trunk_prefix(country_code: &str) -> &'static str {
        match country_code {
            "1" | "692" => "1",
            "7" | "375" | "993" => "8",
            "36" => "06",
            "30" | "34" | "39" | "45" | "47" | "48" | "52" | "56" | "65" | "216" | "220"
            | "247" | "506" | "680" | "221" | "222" | "223" | "224" | "225" | "226" | "227"
            | "228" | "229" | "230" | "235" | "236" | "237" | "238" | "239" | "240" | "241"
            | "242" | "244" | "245" | "246" | "248" | "253" | "257" | "258" | "266" | "267"
            | "268" | "269" | "290" | "297" | "298" | "299" | "350" | "351" | "352" | "354"
            | "356" | "357" | "371" | "372" | "376" | "378" | "420" | "500" | "501" | "502"
            | "503" | "504" | "505" | "507" | "509" | "592" | "597" | "599" | "670" | "672"
            | "673" | "674" | "675" | "676" | "677" | "678" | "679" | "681" | "682" | "683"
            | "685" | "687" | "688" | "689" | "690" | "691" | "852" | "853" | "960" | "965"
            | "968" | "973" | "974" | "975" | "992" | "998" => "",
            _ => "0",
        }
    }

    /// The international access prefix dialed before a country code in the
    /// country with this calling code, where it is not `00`; `00` for every
    /// other code. A country with several (one per carrier) gets a common
    /// one; a facility can set `international_prefix` itself.
    pub fn itu_international_prefix(country_code: &str) -> &'static str {
        match country_code {
            "1" | "680" | "692" => "011",
            "61" => "0011",
            "81" => "010",
            "7" | "375" | "992" | "993" => "810",
            "53" => "119",
            "82" | "65" | "66" | "855" | "976" | "592" => "001",
            "886" => "002",
            "62" => "008",
            "230" => "020",
            "55" => "0021",
            "238" | "685" => "0",
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
        if !digits(intl) || !(1..=4).contains(&intl.len()) {
            return Err(NormalizeError::BadPlan(
                "international_prefix must be 1 to 4 digits",
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
