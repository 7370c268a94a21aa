//! Scanning: the dialable characters of a string (digits, keypad letters,
//! a leading `+`), without separators, URI parts, star codes or an
//! extension.

use crate::swar::{bytes_equal, digit_bytes, HIGH_BITS, LOW_BITS};

use super::NormalizeError;

/// Most digits we collect; anything longer is not a phone number.
pub(super) const MAX_DIGITS: usize = 32;

/// The dialable part of a string: digits (keypad letters mapped), whether
/// it started with `+` and whether letters were used.
pub(super) struct Dialed {
    buf: [u8; MAX_DIGITS],
    len: usize,
    /// The string started with `+`.
    pub(super) plus: bool,
    /// A keypad letter stood for a digit.
    pub(super) letters: bool,
}

impl Dialed {
    #[expect(
        clippy::indexing_slicing,
        reason = "`scan` makes a `Dialed` only with `len` at most `MAX_DIGITS`, the buffer's size"
    )]
    /// The digits, in order.
    pub(super) fn digits(&self) -> &[u8] {
        &self.buf[..self.len]
    }
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
pub(super) fn scan(s: &str) -> Result<Dialed, NormalizeError> {
    let s = trim(s);
    // Only a string that starts with a quote, an angle bracket or a letter
    // can be a name-addr or a URI: nearly every dialed string starts with
    // a digit, `+` or `(`, and skips both, out of line, after one byte.
    if s.as_bytes()
        .first()
        .is_some_and(|b| matches!(b, b'"' | b'<') || b.is_ascii_alphabetic())
    {
        return scan_decorated(s);
    }
    scan_plain(s)
}

/// [`scan`] of a string that may be a name-addr or a URI.
#[inline(never)]
fn scan_decorated(s: &str) -> Result<Dialed, NormalizeError> {
    let (s, context) = strip_uri(name_addr(s));
    match context {
        Some(context) => with_context(context, s),
        None => scan_plain(s),
    }
}

/// [`scan`] of a string with no URI or name-addr around it (inlined in
/// both callers: the common path pays no call).
#[inline(always)]
fn scan_plain(s: &str) -> Result<Dialed, NormalizeError> {
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
        // Service codes before the number: star codes such as *67 and *82
        // (block or show caller id), and the GSM forms #31# and *31#.
        '*' | '#' if len == 0 && !plus => {
            let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
            // Two digits, or three closed by `#`: `*67` may run straight
            // into the number (`*675735550142`).
            let n = match (digit(next), digit(next + 1), digit(next + 2)) {
                (true, true, true) if bytes.get(next + 3) == Some(&b'#') => 3,
                (true, true, _) => 2,
                (true, _, _) => 1,
                _ => 0,
            };
            next += n;
            let closed = n >= 2 && bytes.get(next) == Some(&b'#');
            if closed {
                next += 1;
            }
            // `*NN`, `*NN#`, `#NN#`, `*NNN#`, `#NNN#`.
            if !(n == 2 && (b == b'*' || closed) || n == 3) {
                return Err(NormalizeError::BadCharacter {
                    position: position(next),
                });
            }
            return Ok(Other::Skip { next });
        }
        // Only after something that could be a whole number: a pause, an
        // extension, the key that ends dialing, or a C string's end.
        ',' | ';' | '#' | '*' | '\0' if len >= 7 => return Ok(Other::End),
        // A `%`-escaped character of a URI's user part (`%2B1573...`).
        '%' => return percent(s, at, len, plus),
        // Letters before separators: a vanity number has many, and no
        // letter is a separator.
        _ if c.is_ascii_alphabetic() => {
            // Every marker word starts with an e or an x.
            if len >= 7 && matches!(b, b'e' | b'E' | b'x' | b'X') && is_extension(&s[at..]) {
                return Ok(Other::End);
            }
            (keypad(c), true)
        }
        _ if is_separator(c) => return Ok(Other::Skip { next }),
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

/// A `%`-escape at byte `at` (`%2B`, `%20`, `%2D`, `%3B`, ...), read as the
/// character it stands for when that is one a number may hold.
fn percent(s: &str, at: usize, len: usize, plus: bool) -> Result<Other, NormalizeError> {
    let hex = |i: usize| {
        s.as_bytes()
            .get(i)
            .and_then(|&h| char::from(h).to_digit(16))
    };
    let bad = || NormalizeError::BadCharacter {
        position: s.get(..at + 1).map_or(0, |p| p.chars().count()),
    };
    let (Some(hi), Some(lo)) = (hex(at + 1), hex(at + 2)) else {
        return Err(bad());
    };
    let next = at + 3;
    match char::from((hi * 16 + lo) as u8) {
        '+' if len == 0 && !plus => Ok(Other::Plus { next }),
        '+' => Err(NormalizeError::MisplacedPlus),
        d @ '0'..='9' => Ok(Other::Digit {
            digit: d as u8,
            letter: false,
            next,
        }),
        ';' | ',' | '#' | '\0' if len >= 7 => Ok(Other::End),
        c if is_separator(c) => Ok(Other::Skip { next }),
        _ => Err(bad()),
    }
}

/// The URI of a SIP name-addr (`"Display Name" <sip:...>`, as a To or
/// From header carries it); other strings as they are.
fn name_addr(s: &str) -> &str {
    // After a quoted display name (which may hold `<`), or from the start.
    let from = match s.strip_prefix('"').and_then(|rest| rest.find('"')) {
        Some(close) => close + 2,
        None => 0,
    };
    let Some(tail) = s.get(from..) else {
        return s;
    };
    match tail.find('<') {
        Some(open) => {
            let inner = &tail[open + 1..];
            inner
                .find('>')
                .map_or(inner, |close| &inner[..close])
                .trim()
        }
        None => s,
    }
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
/// parameters), with the global number digits of its `phone-context`
/// when it has one (RFC 3966: `tel:555-0142;phone-context=+1-573`); other
/// strings are returned as they are.
fn strip_uri(s: &str) -> (&str, Option<&str>) {
    // Every scheme starts with an s or a t.
    if !s
        .as_bytes()
        .first()
        .is_some_and(|b| matches!(b.to_ascii_lowercase(), b's' | b't'))
    {
        return (s, None);
    }
    // Compared as bytes, without allocating. The schemes are ASCII, so a match ends on a character boundary.
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
        return (s, None);
    };
    let user = &rest[..rest.find(['@', '?']).unwrap_or(rest.len())];
    let Some(semi) = user.find(';') else {
        return (user, None);
    };
    (&user[..semi], phone_context(&user[semi..]))
}

/// The value of a `;phone-context=` parameter among `params`, when it is a
/// global number (starts with `+`); a domain name gives no digits.
fn phone_context(params: &str) -> Option<&str> {
    const NAME: &[u8] = b";phone-context=";
    let at = params
        .as_bytes()
        .windows(NAME.len())
        .position(|w| w.eq_ignore_ascii_case(NAME))?;
    let value = &params[at + NAME.len()..];
    let value = &value[..value.find(';').unwrap_or(value.len())];
    value.starts_with('+').then_some(value)
}

/// A local number read within its context's global digits: the two
/// joined (`+1-573` and `555-0142`), then scanned as one.
fn with_context(context: &str, local: &str) -> Result<Dialed, NormalizeError> {
    let mut joined = [0u8; 2 * MAX_DIGITS];
    let mut len = 0;
    for b in context.bytes().chain(local.bytes()) {
        let slot = joined.get_mut(len).ok_or(NormalizeError::TooLong)?;
        *slot = b;
        len += 1;
    }
    let text = joined
        .get(..len)
        .and_then(|j| core::str::from_utf8(j).ok())
        .ok_or(NormalizeError::BadCharacter { position: 1 })?;
    // The joined text starts with the context's `+`: no URI is left.
    scan_plain(text)
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
            // Invisible format characters a copy and paste or a softphone
            // leaves in: soft hyphen, zero-width spaces and joiners,
            // direction marks and embeddings, word joiner, byte order mark.
            | '\u{ad}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The word step takes every word of digits and common separators
    /// that fits: falling back to bytes would read the same, slower.
    #[test]
    fn words_of_digits_and_separators_are_taken_whole() {
        for word in [
            b"57355501",
            b"573-5550",
            b"(573)555",
            b"5.5/50-1",
            b"--------",
            b"()()./ -",
        ] {
            let word: [u8; 8] = word[..8].try_into().unwrap();
            let w = u64::from_le_bytes(word);
            let mut buf = [0u8; MAX_DIGITS];
            let digits = word.iter().filter(|b| b.is_ascii_digit()).count();
            assert_eq!(take_word(w, &mut buf, 24), Some(24 + digits), "{word:?}");
            assert_eq!(
                buf[24..24 + digits],
                word.iter()
                    .copied()
                    .filter(u8::is_ascii_digit)
                    .collect::<Vec<_>>()[..]
            );
            assert_eq!(take_word(w, &mut buf, 25), None, "the digits might not fit");
        }
        for (i, &b) in b" -.()/".iter().enumerate() {
            let w = u64::from_le_bytes([b'7'; 8]) & !(0xff << (8 * i)) | (u64::from(b) << (8 * i));
            assert_eq!(separator_bytes(w), 0x80 << (8 * i), "{}", char::from(b));
        }
        for b in [b'*', b'+', b',', b'x', b'\t', b'0', b'\'', b'.' - 2] {
            assert_eq!(separator_bytes(u64::from_le_bytes([b; 8])), 0, "{b}");
            assert_eq!(
                take_word(u64::from_le_bytes([b; 8]), &mut [0; MAX_DIGITS], 0).is_some(),
                b.is_ascii_digit()
            );
        }
    }

    /// An extension is a marker word and digits, nothing else.
    #[test]
    fn extension_words() {
        for rest in [
            "x12",
            "X 12",
            "ext. 12",
            "ext:12",
            "extn=3",
            "extension-4 ",
            "x#5",
        ] {
            assert!(is_extension(rest), "{rest}");
        }
        for rest in ["x", "xyz", "ext", "ext.", "x12a", "extension", "yes12"] {
            assert!(!is_extension(rest), "{rest}");
        }
    }

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
}
