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

/// Parses an RFC 3339 instant (`2026-11-25T14:00:00Z`, any offset).
pub fn parse_instant(text: &str, round: Round) -> Result<i64, String> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time ({e}); example: 2026-11-25T14:00:00Z"))?;
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
pub fn parse_date_or_instant(text: &str, end: bool) -> Result<i64, String> {
    let text = text.trim();
    if text.len() == 10 && !text.contains('T') {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = Date::parse(text, &format)
            .map_err(|e| format!("not a YYYY-MM-DD date or RFC 3339 time ({e})"))?;
        let start = date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
        return Ok(if end { start + 86_400 } else { start });
    }
    if end {
        Ok(parse_instant(text, Round::Up)? + 1)
    } else {
        parse_instant(text, Round::Down)
    }
}

/// Formats seconds since the epoch as RFC 3339 UTC (`...Z`).
pub fn format(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// The current time, in seconds since the epoch.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
