//! Reading call records: CSV with a header row, gzip-compressed or not,
//! columns found by name (a vendor's names through `--map`). Start times in
//! RFC 3339, or local `YYYY-MM-DD HH:MM:SS` and US `MM/DD/YYYY hh:mm:ss AM`
//! in `--tz` (UTC without it). A local time that a daylight-saving change
//! makes ambiguous (a fold) or nonexistent (a gap) has two readings, and
//! the call is judged under both: privacy wins. A bad row is skipped and
//! counted with its line number, never its values.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Result};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use privcall::text::{Rfc3339Text, Round};

use super::report::Summary;

/// The fields a record needs, in the order `Columns` keeps their names.
const FIELDS: [&str; 6] = [
    "facility",
    "inmate",
    "dialed",
    "start",
    "duration",
    "recording",
];

/// The column name of each field.
pub struct Columns([String; 6]);

/// One call record.
pub struct Record {
    pub facility: String,
    pub inmate: String,
    pub dialed: String,
    /// Setup time, seconds since the epoch (UTC).
    pub start: i64,
    /// The other reading of a local start time a daylight-saving change
    /// makes ambiguous or nonexistent.
    pub start_alt: Option<i64>,
    /// Seconds (0 when the CDR has no duration column).
    pub duration: i64,
    /// The recording's id or URL; empty when the call was not recorded.
    pub recording: String,
}

impl Columns {
    /// The default names, with `FIELD=COLUMN` overrides.
    pub fn from_map(map: &[String]) -> Result<Columns> {
        let mut names = FIELDS.map(str::to_string);
        for pair in map.iter().filter(|p| !p.is_empty()) {
            let Some((field, column)) = pair.split_once('=') else {
                bail!("--map {pair:?}: expected FIELD=COLUMN");
            };
            let Some(i) = FIELDS.iter().position(|f| *f == field.trim()) else {
                bail!(
                    "--map: unknown field {field:?}; fields: {}",
                    FIELDS.join(", ")
                );
            };
            if let Some(slot) = names.get_mut(i) {
                *slot = column.trim().to_string();
            }
        }
        Ok(Columns(names))
    }
}

/// Reads every record of `path` (`-`: standard input) into `each`.
pub fn read(
    path: &Path,
    columns: &Columns,
    tz: Option<&TimeZone>,
    summary: &mut Summary,
    mut each: impl FnMut(Record, &mut Summary),
) -> Result<()> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut raw = BufReader::new(raw);
    // gzip, by its magic bytes rather than the file's name.
    let input: Box<dyn Read> = if raw.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.headers()?.clone();
    let index = |name: &str| header.iter().position(|h| h.trim() == name);
    let mut at = [None; 6];
    for (i, name) in columns.0.iter().enumerate() {
        let found = index(name);
        // Duration may be absent: a call then counts as ending at setup.
        if found.is_none() && FIELDS.get(i) != Some(&"duration") {
            bail!(
                "no column {name:?} (for {}); map it with --map {}=COLUMN",
                FIELDS.get(i).unwrap_or(&"?"),
                FIELDS.get(i).unwrap_or(&"?")
            );
        }
        if let Some(slot) = at.get_mut(i) {
            *slot = found;
        }
    }
    let file = path.display().to_string();
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(_) => {
                summary.skip(&file, line, "unreadable row");
                continue;
            }
        }
        summary.rows += 1;
        let field = |i: usize| {
            at.get(i)
                .copied()
                .flatten()
                .and_then(|c| row.get(c))
                .unwrap_or("")
                .trim()
        };
        let (facility, inmate, dialed) = (field(0), field(1), field(2));
        if facility.is_empty() || inmate.is_empty() || dialed.is_empty() {
            summary.skip(&file, line, "a facility, inmate or dialed field is empty");
            continue;
        }
        let Some((start, start_alt)) = parse_time(field(3), tz) else {
            summary.skip(&file, line, "start is not a time");
            continue;
        };
        if start_alt.is_some() {
            summary.ambiguous_local_times += 1;
        }
        let duration = match field(4) {
            "" => 0,
            d => match d.parse::<i64>() {
                Ok(d) if d >= 0 => d,
                _ => {
                    summary.skip(&file, line, "duration is not whole seconds");
                    continue;
                }
            },
        };
        each(
            Record {
                facility: facility.to_string(),
                inmate: inmate.to_string(),
                dialed: dialed.to_string(),
                start,
                start_alt,
                duration,
                recording: field(5).to_string(),
            },
            summary,
        );
    }
}

/// The start: RFC 3339, or a local time in `tz` (UTC without one); two
/// readings when the local time falls in a daylight-saving fold or gap.
fn parse_time(text: &str, tz: Option<&TimeZone>) -> Option<(i64, Option<i64>)> {
    if let Ok(t) = Rfc3339Text::parse(text, Round::Down) {
        return Some((t.0, None));
    }
    let local = ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"]
        .iter()
        .find_map(|f| DateTime::strptime(f, text).ok())?;
    let Some(tz) = tz else {
        return TimeZone::UTC
            .to_timestamp(local)
            .ok()
            .map(|t| (t.as_second(), None));
    };
    let readings = tz.to_ambiguous_timestamp(local);
    let first = readings.earlier().ok()?.as_second();
    let second = readings.later().ok()?.as_second();
    Some((first, (second != first).then_some(second)))
}
