//! The numbering rules: scanned digits to an E.164 number under a dial
//! plan (access and trunk prefixes, North American and international
//! lengths and digit rules).

use super::e164::POW10;
use super::{DialPlan, NormalizeError, E164};

#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "`digits` is checked to be at least as long as `prefix` first"
)]
pub(super) fn strip<'a>(digits: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    // Prefixes are at most 4 digits: a short loop beats a call to `memcmp`.
    if digits.len() < prefix.len() || digits.iter().zip(prefix).any(|(a, b)| a != b) {
        return None;
    }
    Some(&digits[prefix.len()..])
}

pub(super) fn to_int(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'))
}

/// Digits dialed without `+`, under the plan: international access
/// prefixes, trunk prefix, national and local numbers.
#[expect(
    clippy::indexing_slicing,
    reason = "the national part has at most 15 digits, checked first, and POW10 has 20 entries"
)]
pub(super) fn national(
    digits: &[u8],
    plan: &DialPlan,
    letters: bool,
) -> Result<E164, NormalizeError> {
    // The plan's international prefix: 011 in North America (a leading 0
    // reaches the operator), 00 in most countries, 0011 in Australia, ...
    // North America's is 011, and no North American number starts with 0:
    // there one compare skips the loop.
    let nanp_plan = plan.is_nanp();
    if digits.first() == Some(&b'0') || !nanp_plan {
        if let Some(rest) = strip(digits, plan.international_prefix.as_bytes()) {
            return international(rest, letters);
        }
    }
    if nanp_plan {
        return nanp(digits, plan, letters);
    }
    let trunk = plan.trunk_prefix.as_bytes();
    let national = match strip(digits, trunk) {
        Some(rest) if !trunk.is_empty() => rest,
        _ => digits,
    };
    let cc = plan.country_code.as_bytes();
    let total = cc.len() + national.len();
    if !(7..=15).contains(&total) {
        return Err(NormalizeError::WrongLength {
            digits: national.len(),
        });
    }
    Ok(E164(to_int(cc) * POW10[national.len()] + to_int(national)))
}

/// A North American number dialed nationally: 1+10, 10, or 7 digits with
/// the home area code. Vanity numbers may be spelled with extra letters
/// (`1-800-LAWHELPS`): those beyond the number are dropped.
#[expect(
    clippy::indexing_slicing,
    reason = "the digits are cut to 10 only when there are more"
)]
fn nanp(digits: &[u8], plan: &DialPlan, letters: bool) -> Result<E164, NormalizeError> {
    let trunk = plan.trunk_prefix.as_bytes();
    let mut national = match strip(digits, trunk) {
        Some(rest) if !trunk.is_empty() && rest.len() >= 10 => rest,
        _ => digits,
    };
    if letters && national.len() > 10 {
        national = &national[..10];
    }
    match national.len() {
        10 => nanp_number(national),
        7 => {
            let home = plan.home_area_code.as_bytes();
            if home.len() != 3 {
                return Err(NormalizeError::NoHomeAreaCode);
            }
            let mut ten = [0u8; 10];
            ten[..3].copy_from_slice(home);
            ten[3..].copy_from_slice(national);
            nanp_number(&ten)
        }
        n => Err(NormalizeError::WrongLength { digits: n }),
    }
}

/// The North American number with the 10 digits `ten` (area code,
/// exchange, line), if they follow the plan's rules.
#[expect(
    clippy::indexing_slicing,
    reason = "every caller passes exactly 10 digits"
)]
fn nanp_number(ten: &[u8]) -> Result<E164, NormalizeError> {
    if ten[0] < b'2' {
        return Err(NormalizeError::BadAreaCode);
    }
    if ten[3] < b'2' {
        return Err(NormalizeError::BadExchange);
    }
    Ok(E164::from_nanp_national(to_int(ten)))
}

/// Digits after `+`, `011` or `00`: country code first.
#[expect(
    clippy::indexing_slicing,
    reason = "the first digit is known to exist, and the rest is cut to 10 only when longer"
)]
pub(super) fn international(digits: &[u8], letters: bool) -> Result<E164, NormalizeError> {
    match digits.first() {
        None => Err(NormalizeError::Empty),
        Some(b'0') => Err(NormalizeError::BadCountryCode),
        Some(b'1') => {
            let mut rest = &digits[1..];
            if letters && rest.len() > 10 {
                rest = &rest[..10];
            }
            if rest.len() != 10 {
                return Err(NormalizeError::WrongLength { digits: rest.len() });
            }
            nanp_number(rest)
        }
        Some(_) => {
            if !(7..=15).contains(&digits.len()) {
                return Err(NormalizeError::WrongLength {
                    digits: digits.len(),
                });
            }
            Ok(E164(to_int(digits)))
        }
    }
}
