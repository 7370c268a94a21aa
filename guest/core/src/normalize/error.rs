//! Why a dialed string, a registry number or a dial plan did not normalize.

use core::fmt;

/// Why a dialed string (or registry number) did not normalize. Messages
/// never repeat the digits: they end up in logs and compile errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormalizeError {
    /// Nothing dialable in the string.
    Empty,
    /// A character that has no place in a phone number.
    BadCharacter {
        /// Its position in the string, in characters, from 1.
        position: usize,
    },
    /// `+` anywhere but at the start.
    MisplacedPlus,
    /// Too many digits to be a phone number.
    TooLong,
    /// The digits do not form a number under the dial plan.
    WrongLength {
        /// How many digits were left after prefixes were removed.
        digits: usize,
    },
    /// A North American area code starting with 0 or 1.
    BadAreaCode,
    /// A North American exchange (the 3 digits after the area code)
    /// starting with 0 or 1.
    BadExchange,
    /// A 7-digit number where the facility has no home area code.
    NoHomeAreaCode,
    /// A country code starting with 0.
    BadCountryCode,
    /// A prefix block of the wrong length (4 to 14 digits in E.164 form).
    PrefixLength,
    /// The dial plan itself is invalid (names the field).
    BadPlan(&'static str),
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::Empty => f.write_str("no digits"),
            NormalizeError::BadCharacter { position } => {
                write!(f, "unexpected character at position {position}")
            }
            NormalizeError::MisplacedPlus => f.write_str("'+' is only allowed at the start"),
            NormalizeError::TooLong => f.write_str("too many digits"),
            NormalizeError::WrongLength { digits } => write!(
                f,
                "{digits} digits do not make a number under the dial plan"
            ),
            NormalizeError::BadAreaCode => f.write_str("area code cannot start with 0 or 1"),
            NormalizeError::BadExchange => f.write_str("exchange cannot start with 0 or 1"),
            NormalizeError::NoHomeAreaCode => {
                f.write_str("7-digit number but the dial plan has no home_area_code")
            }
            NormalizeError::BadCountryCode => f.write_str("country code cannot start with 0"),
            NormalizeError::PrefixLength => {
                f.write_str("prefix block must have 4 to 14 digits with its country code")
            }
            NormalizeError::BadPlan(msg) => f.write_str(msg),
        }
    }
}

impl NormalizeError {
    /// For an invalid dial plan, the name of the field that is wrong.
    pub fn plan_field(&self) -> Option<&'static str> {
        match self {
            NormalizeError::BadPlan(msg) => msg.split(' ').next(),
            _ => None,
        }
    }
}

impl std::error::Error for NormalizeError {}
