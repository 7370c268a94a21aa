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

use core::fmt;

use bincode::{Decode, Encode};

use crate::swar::{bytes_equal, digit_bytes, HIGH_BITS, LOW_BITS};

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
        if !digits(&self.trunk_prefix) || self.trunk_prefix.len() > 2 {
            return Err(NormalizeError::BadPlan(
                "trunk_prefix must be at most 2 digits",
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

/// An E.164 number as an integer (country code first, no `+`): 7 to 15
/// digits, never starting with 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164(pub u64);

/// `10^n` for `n` in `0..=19`.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time, where an index out of range fails the build"
)]
const POW10: [u64; 20] = {
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

/// Most digits we collect; anything longer is not a phone number.
const MAX_DIGITS: usize = 32;

/// The dialable part of a string: digits (keypad letters mapped), whether
/// it started with `+` and whether letters were used.
struct Dialed {
    buf: [u8; MAX_DIGITS],
    len: usize,
    plus: bool,
    letters: bool,
}

impl Dialed {
    #[expect(
        clippy::indexing_slicing,
        reason = "`scan` makes a `Dialed` only with `len` at most `MAX_DIGITS`, the buffer's size"
    )]
    fn digits(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

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

/// Reads the dialable characters of `s`, stopping at an extension.
///
/// ASCII digits and the common separators (nearly every dialed string is
/// only those) are read by [`common`], eight bytes at a time, and every
/// other character by [`other`], out of line. In wasm, Cranelift allocates
/// registers for a loop as a whole, and every pass checks the epoch
/// deadline: one byte-at-a-time loop with the rare cases inlined would
/// spill and reload its state around every byte.
#[inline(never)]
fn scan(s: &str) -> Result<Dialed, NormalizeError> {
    let s = strip_uri(trim(s));
    let bytes = s.as_bytes();
    // The digits live in locals until the end, and the count of digits
    // and letters so far is `len` itself: in wasm every field of a struct
    // in memory is a load and a store per character.
    let mut buf = [0u8; MAX_DIGITS];
    let mut len = 0usize;
    let mut plus = false;
    let mut letters = false;
    let mut next = 0usize;
    loop {
        // Letters in a row (`LAWHELP`) go from `other` to `other`.
        if bytes
            .get(next)
            .is_some_and(|&b| b.is_ascii_digit() || is_common_separator(b))
        {
            (next, len) = common(bytes, next, &mut buf, len);
            if len > MAX_DIGITS {
                return Err(NormalizeError::TooLong);
            }
        }
        if next >= bytes.len() {
            break;
        }
        let digit = match other(s, next, len, plus)? {
            Other::Digit {
                digit,
                letter,
                next: n,
            } => {
                letters |= letter;
                next = n;
                digit
            }
            Other::Skip { next: n } => {
                next = n;
                continue;
            }
            Other::Plus { next: n } => {
                plus = true;
                next = n;
                continue;
            }
            Other::End => break,
        };
        let Some(slot) = buf.get_mut(len) else {
            return Err(NormalizeError::TooLong);
        };
        *slot = digit;
        len += 1;
    }
    if len == 0 {
        return Err(NormalizeError::Empty);
    }
    Ok(Dialed {
        buf,
        len,
        plus,
        letters,
    })
}

/// Reads ASCII digits and common separators from byte `next` on, after
/// `len` digits, up to the first other character: its position, and the
/// count of digits (`MAX_DIGITS + 1` when there were too many).
///
/// Eight bytes at a time, as one word, while they are all such characters.
/// In wasm every loop pass checks the epoch deadline, a possible call that
/// costs registers, so a byte-at-a-time loop would spill and reload its
/// state on every byte.
#[inline(never)]
#[expect(
    clippy::expect_used,
    reason = "`bytes.get(next..next + 8)` yields 8 bytes, so the conversion cannot fail"
)]
fn common(
    bytes: &[u8],
    mut next: usize,
    buf: &mut [u8; MAX_DIGITS],
    mut len: usize,
) -> (usize, usize) {
    while let Some(chunk) = bytes.get(next..next + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let Some(taken) = take_word(w, buf, len) else {
            break;
        };
        len = taken;
        next += 8;
    }
    common_bytes(bytes, next, buf, len)
}

/// [`common`] one byte at a time: the bytes its words leave over (and, in
/// the tests, the meaning its word steps must have).
#[inline(always)]
fn common_bytes(
    bytes: &[u8],
    mut next: usize,
    buf: &mut [u8; MAX_DIGITS],
    mut len: usize,
) -> (usize, usize) {
    while let Some(&b) = bytes.get(next) {
        if b.is_ascii_digit() {
            let Some(slot) = buf.get_mut(len) else {
                return (next, MAX_DIGITS + 1);
            };
            *slot = b;
            len += 1;
        } else if !is_common_separator(b) {
            break;
        }
        next += 1;
    }
    (next, len)
}

/// Appends the digits of the 8 bytes in `w` (little-endian) to the `len`
/// digits in `buf`: the new count, or `None` (and nothing changed that
/// counts) if a byte is neither a digit nor a common separator, or the
/// digits might not fit.
#[inline(always)]
#[expect(
    clippy::indexing_slicing,
    reason = "`len + 8 <= MAX_DIGITS` is checked first, and `taken` is at most 7 before the last write"
)]
fn take_word(w: u64, buf: &mut [u8; MAX_DIGITS], len: usize) -> Option<usize> {
    let digits = digit_bytes(w);
    if len + 8 > MAX_DIGITS || digits | separator_bytes(w) != HIGH_BITS {
        return None;
    }
    // Every byte is written at the next free place and only a digit takes
    // it: no branch per byte.
    let out = &mut buf[len..len + 8];
    let mut taken = 0;
    for i in 0..8 {
        out[taken] = (w >> (8 * i)) as u8;
        taken += ((digits >> (8 * i + 7)) & 1) as usize;
    }
    Some(len + taken)
}

/// The separators [`common`] reads; [`is_separator`] has them all.
fn is_common_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/')
}

/// The high bit of every byte of `w` that [`is_common_separator`] accepts.
fn separator_bytes(w: u64) -> u64 {
    // `(` and `)`, `.` and `/` differ only in the lowest bit.
    bytes_equal(w | LOW_BITS, b')')
        | bytes_equal(w | LOW_BITS, b'/')
        | bytes_equal(w, b'-')
        | bytes_equal(w, b' ')
}

/// What [`other`] made of a character.
enum Other {
    /// A digit (a fullwidth one, or a letter's keypad digit); `next` is the
    /// byte after the character.
    Digit {
        digit: u8,
        letter: bool,
        next: usize,
    },
    /// Nothing to keep (a separator, or a star code and its digits).
    Skip { next: usize },
    /// The leading `+`.
    Plus { next: usize },
    /// The number ended (an extension or a pause follows).
    End,
}

/// Reads the character at byte `at` of `s` that is neither an ASCII digit
/// nor a common separator, after `len` digits (and a `+` if `plus`).
#[inline(never)]
#[expect(
    clippy::indexing_slicing,
    reason = "`scan` calls it only at a byte it has not yet read, so `at` is below the length"
)]
fn other(s: &str, at: usize, len: usize, plus: bool) -> Result<Other, NormalizeError> {
    let bytes = s.as_bytes();
    let b = bytes[at];
    let (c, mut next) = if b.is_ascii() {
        (char::from(b), at + 1)
    } else {
        let c = s[at..]
            .chars()
            .next()
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        (c, at + c.len_utf8())
    };
    // The position (in characters, from 1) of the last character read up
    // to byte `end`, for error messages only.
    let position = |end: usize| s[..end].chars().count();
    // Fullwidth digits (some softphones and CSV exports send them), and
    // letters by their keypad digit.
    let (digit, letter) = match c {
        '\u{ff10}'..='\u{ff19}' => (b'0' + (c as u32 - 0xff10) as u8, false),
        '+' if len == 0 && !plus => return Ok(Other::Plus { next }),
        '+' => return Err(NormalizeError::MisplacedPlus),
        // Star codes such as *67 (block caller id) before the number.
        '*' if len == 0 && !plus => {
            let mut n = 0;
            while n < 2 && bytes.get(next).is_some_and(u8::is_ascii_digit) {
                next += 1;
                n += 1;
            }
            if n != 2 {
                return Err(NormalizeError::BadCharacter {
                    position: position(next),
                });
            }
            return Ok(Other::Skip { next });
        }
        // Only after something that could be a whole number.
        ',' | ';' | '#' if len >= 7 => return Ok(Other::End),
        _ if is_separator(c) => return Ok(Other::Skip { next }),
        _ if c.is_ascii_alphabetic() => {
            // Every marker word starts with an e or an x.
            if len >= 7 && matches!(b, b'e' | b'E' | b'x' | b'X') && is_extension(&s[at..]) {
                return Ok(Other::End);
            }
            (keypad(c), true)
        }
        _ => {
            return Err(NormalizeError::BadCharacter {
                position: position(next),
            })
        }
    };
    Ok(Other::Digit {
        digit,
        letter,
        next,
    })
}

/// `s` without leading and trailing whitespace, as [`str::trim`] has it.
/// A string whose first and last bytes are printable ASCII (nearly every
/// dialed string) has none, so the general trim, which decodes characters
/// from both ends, runs only for the others.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Takes the number out of a `tel:` or `sip:` URI (user part, without
/// parameters); other strings are returned as they are.
fn strip_uri(s: &str) -> &str {
    // Every scheme starts with an s or a t: nearly every dialed string is
    // out after one byte.
    if !s
        .as_bytes()
        .first()
        .is_some_and(|b| matches!(b.to_ascii_lowercase(), b's' | b't'))
    {
        return s;
    }
    // Compared as bytes, without allocating: this runs on every call. The
    // schemes are ASCII, so a match ends on a character boundary.
    let starts = |scheme: &[u8]| {
        s.as_bytes()
            .get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    };
    let rest = if starts(b"tel:") || starts(b"sip:") {
        &s[4..]
    } else if starts(b"sips:") {
        &s[5..]
    } else {
        return s;
    };
    let end = rest.find([';', '@', '?']).unwrap_or(rest.len());
    &rest[..end]
}

/// Whether `rest` (starting at a letter) is an extension: a marker word,
/// optional punctuation, then only digits.
fn is_extension(rest: &str) -> bool {
    let lower_starts = |w: &str| {
        rest.get(..w.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(w))
    };
    for word in ["extension", "extn", "ext", "x"] {
        if lower_starts(word) {
            let tail = rest[word.len()..].trim_start_matches(['.', ':', ' ', '=', '-', '#']);
            let tail = tail.trim_end();
            return !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
        }
    }
    false
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '-'
            | '.'
            | '('
            | ')'
            | '/'
            | '['
            | ']'
            | '\u{a0}'
            | '\u{2007}'
            | '\u{2009}'
            | '\u{202f}'
            | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30fc}' | '\u{ff0d}'
    )
}

/// The keypad digit of a letter (ITU E.161).
fn keypad(c: char) -> u8 {
    match c.to_ascii_uppercase() {
        'A'..='C' => b'2',
        'D'..='F' => b'3',
        'G'..='I' => b'4',
        'J'..='L' => b'5',
        'M'..='O' => b'6',
        'P'..='S' => b'7',
        'T'..='V' => b'8',
        _ => b'9',
    }
}

#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "`digits` is checked to be at least as long as `prefix` first"
)]
fn strip<'a>(digits: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    // Prefixes are at most 4 digits: a short loop beats a call to `memcmp`.
    if digits.len() < prefix.len() || digits.iter().zip(prefix).any(|(a, b)| a != b) {
        return None;
    }
    Some(&digits[prefix.len()..])
}

fn to_int(digits: &[u8]) -> u64 {
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
fn national(digits: &[u8], plan: &DialPlan, letters: bool) -> Result<E164, NormalizeError> {
    // North America dials 011 for international calls (a leading 0 reaches
    // the operator); elsewhere 00 is the ITU prefix.
    if plan.is_nanp() {
        if let Some(rest) = strip(digits, b"011") {
            return international(rest, letters);
        }
        return nanp(digits, plan, letters);
    }
    if let Some(rest) = strip(digits, b"00") {
        return international(rest, letters);
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
fn international(digits: &[u8], letters: bool) -> Result<E164, NormalizeError> {
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

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]
mod tests {
    use super::*;
    use crate::test_support::plan;

    proptest::proptest! {
        // Digits and separators with now and then another byte (the ones
        // next to them in ASCII, the ones `other` reads, any), at every
        // start and fill level (up to the 32-digit limit).
        #[test]
        fn common_reads_words_as_it_reads_bytes(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(b"0123456789 -.()/".to_vec()),
                    1 => proptest::sample::select(b"+*,;#'!&x\t[]:\x00\x7f\x80\xb0\xff".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..48,
            ),
            start in 0usize..8,
            len in 0usize..=MAX_DIGITS,
        ) {
            let start = start.min(bytes.len());
            let (mut a, mut b) = ([0u8; MAX_DIGITS], [0u8; MAX_DIGITS]);
            let words = common(&bytes, start, &mut a, len);
            let reference = common_bytes(&bytes, start, &mut b, len);
            proptest::prop_assert_eq!(words, reference);
            let end = words.1.min(MAX_DIGITS);
            proptest::prop_assert_eq!(&a[len.min(end)..end], &b[len.min(end)..end]);
        }
    }

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

    #[test]
    fn e164_helpers() {
        let e = E164(15735550142);
        assert_eq!(e.digits(), 11);
        assert_eq!(e.leading(4), Some(1573));
        assert_eq!(e.leading(12), None);
        assert_eq!(e.nanp_national(), Some(5735550142));
        assert_eq!(E164(525555550100).nanp_national(), None);
    }

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
