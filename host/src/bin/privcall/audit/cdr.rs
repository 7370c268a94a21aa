//! Reading call records: CSV with a header row, gzip-compressed or not,
//! columns found by name (a vendor's names through `--map`). Start times in
//! RFC 3339, or local `YYYY-MM-DD HH:MM:SS` and US `MM/DD/YYYY hh:mm:ss AM`
//! in `--tz` (UTC without it). A local time that a daylight-saving change
//! makes ambiguous (a fold) or nonexistent (a gap) has two readings, and
//! the call is judged under both: privacy wins. A bad row is skipped and
//! counted with its line number, never its values.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use csv::ByteRecord;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use privcall::text::{Rfc3339Text, Round};

/// The fields a record has, in the order `Columns` keeps their names.
pub const FIELDS: [&str; 7] = [
    "facility",
    "inmate",
    "dialed",
    "start",
    "duration",
    "recording",
    "recording_offset",
];

/// Fields a CDR may lack: a call without a duration ends at its setup; a
/// recording without an offset began at the setup.
const OPTIONAL: [&str; 2] = ["duration", "recording_offset"];

/// The column name of each field.
pub struct Columns([String; 7]);

impl Columns {
    /// The default names (the fields' own), with overrides: `FIELD=COLUMN`
    /// pairs, or the path of a TOML file of `FIELD = "COLUMN"` lines.
    pub fn from_map(map: &[String]) -> Result<Columns> {
        let mut names = FIELDS.map(str::to_string);
        for entry in map.iter().filter(|p| !p.is_empty()) {
            match entry.split_once('=') {
                Some((field, column)) => {
                    set(&mut names, field.trim(), column.trim())
                        .with_context(|| format!("--map {entry:?}"))?;
                }
                None => read_map_file(Path::new(entry), &mut names)
                    .with_context(|| format!("--map {entry}"))?,
            }
        }
        Ok(Columns(names))
    }
}

/// Sets one field's column name.
fn set(names: &mut [String; 7], field: &str, column: &str) -> Result<()> {
    let Some(i) = FIELDS.iter().position(|f| *f == field) else {
        bail!("unknown field {field:?}; fields: {}", FIELDS.join(", "));
    };
    if column.is_empty() {
        bail!("field {field:?} maps to an empty column name");
    }
    if let Some(slot) = names.get_mut(i) {
        *slot = column.to_string();
    }
    Ok(())
}

/// A mapping file: at most this many bytes (a dozen short lines is usual).
const MAP_FILE_MAX_BYTES: u64 = 64 * 1024;

/// Reads a TOML mapping file into `names`.
fn read_map_file(path: &Path, names: &mut [String; 7]) -> Result<()> {
    let mut text = String::new();
    std::fs::File::open(path)
        .context("not FIELD=COLUMN, and no such mapping file")?
        .take(MAP_FILE_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .context("reading the mapping file")?;
    if text.len() as u64 > MAP_FILE_MAX_BYTES {
        bail!("larger than {MAP_FILE_MAX_BYTES} bytes: not a mapping file");
    }
    let table: toml::Table = text.parse().context("not TOML")?;
    for (field, value) in &table {
        let Some(column) = value.as_str() else {
            bail!("{field}: the column name must be a string (`{field} = \"Column\"`)");
        };
        set(names, field, column)?;
    }
    Ok(())
}

/// Where each field is in a file's rows.
pub struct Layout([Option<usize>; 7]);

impl Layout {
    /// Finds each field's column in `header`; a required one missing is an
    /// error naming the column and the mapping that would fix it.
    pub fn new(header: &ByteRecord, columns: &Columns) -> Result<Layout> {
        let mut at = [None; 7];
        for ((slot, name), field) in at.iter_mut().zip(&columns.0).zip(FIELDS) {
            *slot = header
                .iter()
                .position(|h| std::str::from_utf8(h).is_ok_and(|h| h.trim() == name));
            if slot.is_none() && !OPTIONAL.contains(&field) {
                bail!("no column {name:?} (for {field}); map it with --map {field}=COLUMN");
            }
        }
        Ok(Layout(at))
    }

    /// The facility of a row read before (empty if it no longer reads).
    pub fn facility<'r>(&self, row: &'r ByteRecord) -> &'r str {
        self.field(row, 0).unwrap_or_default()
    }

    /// Field `i` of `row`, trimmed (empty when the column is absent).
    fn field<'r>(&self, row: &'r ByteRecord, i: usize) -> Result<&'r str, &'static str> {
        let Some(bytes) = self.0.get(i).copied().flatten().and_then(|c| row.get(c)) else {
            return Ok("");
        };
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| "a field is not UTF-8")
    }
}

/// One call record, borrowing its row.
pub struct Record<'r> {
    pub facility: &'r str,
    pub inmate: &'r str,
    pub dialed: &'r str,
    /// Setup time, seconds since the epoch (UTC).
    pub start: i64,
    /// The other reading of a local start time a daylight-saving change
    /// makes ambiguous or nonexistent.
    pub start_alt: Option<i64>,
    /// Seconds (0 when the CDR has no duration column).
    pub duration: i64,
    /// The recording's id or URL; empty when the call was not recorded.
    pub recording: &'r str,
    /// Seconds from setup to the recording's start, when the CDR says.
    pub recording_offset: Option<i64>,
}

/// Reads one row; `Err` says why it is skipped (never with its values).
pub fn parse<'r>(
    row: &'r ByteRecord,
    layout: &Layout,
    tz: Option<&TimeZone>,
) -> Result<Record<'r>, &'static str> {
    let field = |i| layout.field(row, i);
    let (facility, inmate, dialed) = (field(0)?, field(1)?, field(2)?);
    if facility.is_empty() || inmate.is_empty() || dialed.is_empty() {
        return Err("a facility, inmate or dialed field is empty");
    }
    let (start, start_alt) = parse_time(field(3)?, tz).ok_or("start is not a time")?;
    let seconds = |text: &str, why| match text {
        "" => Ok(None),
        t => match t.parse::<i64>() {
            Ok(s) if s >= 0 => Ok(Some(s)),
            _ => Err(why),
        },
    };
    let duration = seconds(field(4)?, "duration is not whole seconds")?.unwrap_or(0);
    let recording_offset = seconds(field(6)?, "recording_offset is not whole seconds")?;
    Ok(Record {
        facility,
        inmate,
        dialed,
        start,
        start_alt,
        duration,
        recording: field(5)?,
        recording_offset,
    })
}

/// Counts the bytes read through it (the progress bar's position: the
/// file's bytes, compressed or not).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The longest row read, in bytes: an unclosed quote would otherwise make
/// the rest of a file one row, held in memory whole.
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// Refuses to read on once a row has grown past [`MAX_ROW_BYTES`]:
/// `row_start` is where the current row began (kept by the reader), and
/// the CSV reader's own buffer is allowed on top.
struct RowLimit<R> {
    inner: R,
    read: u64,
    row_start: Arc<AtomicU64>,
}

/// The CSV reader's buffer.
const CSV_BUFFER: usize = 1 << 16;

impl<R: Read> Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = self.row_start.load(Ordering::Relaxed);
        if self.read.saturating_sub(start) > MAX_ROW_BYTES + CSV_BUFFER as u64 {
            return Err(std::io::Error::other(format!(
                "a row longer than {} KiB (an unclosed quote?)",
                MAX_ROW_BYTES / 1024
            )));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A CSV reader over `path` (`-`: standard input), decompressing gzip
/// (known by its magic bytes, not the file's name); its bytes read so far
/// count into `read`, and no row may grow past [`MAX_ROW_BYTES`] from
/// `row_start`.
pub fn open(
    path: &Path,
    read: Arc<AtomicU64>,
    row_start: Arc<AtomicU64>,
) -> Result<csv::Reader<Box<dyn Read + Send>>> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut raw = BufReader::with_capacity(1 << 16, Counting { inner: raw, read });
    let input: Box<dyn Read + Send> = if raw.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let input: Box<dyn Read + Send> = Box::new(RowLimit {
        inner: input,
        read: 0,
        row_start,
    });
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(input))
}

/// The start: RFC 3339, or a local time in `tz` (UTC without one); two
/// readings when the local time falls in a daylight-saving fold or gap.
pub fn parse_time(text: &str, tz: Option<&TimeZone>) -> Option<(i64, Option<i64>)> {
    // `T` after the date: RFC 3339, tried alone (a failed local pattern
    // costs more than the parse).
    let rfc3339 = matches!(text.as_bytes().get(10), Some(b'T' | b't'));
    let Some(local) = (!rfc3339).then(|| local_time(text)).flatten() else {
        return Rfc3339Text::parse(text, Round::Down)
            .ok()
            .map(|t| (t.0, None));
    };
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

/// A local time in one of the two shapes, read at fixed positions (the
/// common case: zero-padded, as exports write them) or else by pattern.
fn local_time(text: &str) -> Option<DateTime> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i16> {
        let digits = b.get(r)?;
        digits.iter().try_fold(0i16, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let fixed = match b.len() {
        // 2026-11-01 01:30:00
        19 if at(4, b'-') && at(7, b'-') && at(10, b' ') && at(13, b':') && at(16, b':') => {
            let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
            let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
            DateTime::new(y, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0).ok()
        }
        // 11/01/2026 01:30:00 AM
        22 if at(2, b'/') && at(5, b'/') && at(10, b' ') && at(13, b':') && at(16, b':') => {
            let (mo, d, y) = (num(0..2)?, num(3..5)?, num(6..10)?);
            let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
            let pm = match b.get(19..22)? {
                b" AM" | b" am" => false,
                b" PM" | b" pm" => true,
                _ => return None,
            };
            if !(1..=12).contains(&h) {
                return None;
            }
            let h = h % 12 + if pm { 12 } else { 0 };
            DateTime::new(y, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0).ok()
        }
        _ => None,
    };
    fixed.or_else(|| {
        ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"]
            .iter()
            .find_map(|f| DateTime::strptime(f, text).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_positions_read_as_the_patterns_do() {
        for text in [
            "2026-11-01 01:30:00",
            "2026-12-31 23:59:59",
            "11/01/2026 01:30:00 AM",
            "11/01/2026 12:00:00 AM",
            "11/01/2026 12:00:00 PM",
            "03/08/2026 11:59:59 PM",
        ] {
            let by_pattern = ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"]
                .iter()
                .find_map(|f| DateTime::strptime(f, text).ok());
            assert_eq!(local_time(text), by_pattern, "{text}");
            assert!(by_pattern.is_some(), "{text}");
        }
        for bad in [
            "2026-13-01 01:30:00",
            "2026-02-30 01:30:00",
            "11/01/2026 13:30:00 PM",
            "11/01/2026 00:30:00 AM",
            "11/01/2026 01:30:00 XM",
            "2026-11-01T01:30:00",
        ] {
            assert_eq!(local_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_map_file_names_the_bad_field() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("vendor.toml");
        std::fs::write(&good, "dialed = \"ToNumber\"\nstart = \"CallDate\"\n").unwrap();
        let cols = Columns::from_map(&[good.display().to_string()]).unwrap();
        assert_eq!(cols.0[2], "ToNumber");
        assert_eq!(cols.0[3], "CallDate");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "dialled = \"ToNumber\"\n").unwrap();
        let err = Columns::from_map(&[bad.display().to_string()])
            .err()
            .unwrap();
        let text = format!("{err:#}");
        assert!(
            text.contains("bad.toml") && text.contains("dialled"),
            "{text}"
        );
        let missing = Columns::from_map(&["nothere.toml".into()]).err().unwrap();
        assert!(format!("{missing:#}").contains("nothere.toml"));
    }
}
