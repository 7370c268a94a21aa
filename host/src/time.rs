//! Time as the product uses it: RFC 3339 in files and JSON, whole seconds
//! since the Unix epoch (UTC) inside. Sub-second inputs round so that an
//! error can only widen privacy, never narrow it: starts round down, ends
//! round up.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};

/// Which way a sub-second instant rounds to whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Towards the past (starts, call times).
    Down,
    /// Towards the future (ends).
    Up,
}

/// A time that does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not an RFC 3339 instant.
    #[error("not an RFC 3339 time; example: 2026-11-25T14:00:00Z")]
    NotRfc3339(#[source] time::error::Parse),
    /// Neither a `YYYY-MM-DD` date nor an RFC 3339 instant.
    #[error("not a YYYY-MM-DD date or RFC 3339 time")]
    NotDate(#[source] time::error::Parse),
}

/// Parses an RFC 3339 instant (`2026-11-25T14:00:00Z`, any offset).
pub fn parse_instant(text: &str, round: Round) -> Result<i64, TimeError> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(TimeError::NotRfc3339)?;
    let secs = t.unix_timestamp();
    Ok(if round == Round::Up && t.nanosecond() > 0 {
        secs + 1
    } else {
        secs
    })
}

/// Parses a `YYYY-MM-DD` date or an RFC 3339 instant. A date means the
/// start of that day (UTC) when `end` is false, and the end of that day
/// (the next midnight, exclusive) when `end` is true; an instant used as an
/// end is inclusive to its second.
pub fn parse_date_or_instant(text: &str, end: bool) -> Result<i64, TimeError> {
    let text = text.trim();
    if text.len() == 10 && !text.contains('T') {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = Date::parse(text, &format).map_err(TimeError::NotDate)?;
        let start = date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
        return Ok(if end { start + 86_400 } else { start });
    }
    if end {
        Ok(parse_instant(text, Round::Up)? + 1)
    } else {
        parse_instant(text, Round::Down)
    }
}

/// Formats seconds since the epoch as RFC 3339 UTC (`...Z`), or `@seconds`
/// for an instant RFC 3339 cannot express.
pub fn format(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// The current time, in seconds since the epoch. Read straight from the
/// system clock: every C ABI decision asks, and a calendar date is not
/// needed for it. A clock before 1970 reads as negative seconds.
pub fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    match since {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
