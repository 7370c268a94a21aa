//! The audit's outputs: the report (the recordings to destroy, numbers
//! only with `--show-numbers`) and the summary (counts, never values).
//! Both files are created owner-only: the report names privileged calls.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use anyhow::Result;
use privcall::core::normalize::E164;
use privcall::core::types::{Category, Reason};
use privcall::files::PrivateFile;
use privcall::text::{E164Text, Rfc3339Text};
use serde::Serialize;

use super::Format;

/// What to do with a named recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The whole recording is privileged.
    Destroy,
    /// Under `record-with-notice` the part after the window's end may be
    /// kept: cut everything before it.
    CutBeforeWindowEnd,
}

impl Action {
    /// The report's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Destroy => "destroy",
            Action::CutBeforeWindowEnd => "cut-before-window-end",
        }
    }
}

/// One privileged call that was recorded.
pub struct Finding<'r> {
    pub recording: &'r str,
    pub reason: Reason,
    pub action: Action,
    pub category: Option<Category>,
    /// For a prearranged call: when its window ended.
    pub window_end: Option<i64>,
    pub facility: &'r str,
    pub start: i64,
    pub number: Option<E164>,
}

impl Finding<'_> {
    /// What the summary counts of it.
    pub fn counted(&self) -> Counted {
        Counted {
            reason: self.reason,
            category: self.category,
            start: self.start,
        }
    }
}

/// What the summary counts of a named call (its facility aside).
#[derive(Clone, Copy)]
pub struct Counted {
    pub reason: Reason,
    pub category: Option<Category>,
    pub start: i64,
}

/// A report row as written.
#[derive(Serialize)]
struct Row<'a> {
    recording: &'a str,
    reason: &'static str,
    action: &'static str,
    category: &'static str,
    window_end: String,
    facility: &'a str,
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<String>,
}

impl<'a> Row<'a> {
    fn new(f: &'a Finding<'a>, numbers: bool) -> Row<'a> {
        Row {
            recording: f.recording,
            reason: f.reason.name(),
            action: f.action.name(),
            category: f.category.map_or("", Category::name),
            window_end: f
                .window_end
                .map(|t| Rfc3339Text(t).to_string())
                .unwrap_or_default(),
            facility: f.facility,
            start: Rfc3339Text(f.start).to_string(),
            number: numbers.then(|| {
                f.number
                    .map(|n| E164Text(n).to_string())
                    .unwrap_or_default()
            }),
        }
    }
}

/// Report rows rendered by a worker, for the report to write in order.
pub struct Rendered {
    format: Format,
    numbers: bool,
    /// One CSV writer for the batch: a writer per row costs an allocation.
    csv: csv::Writer<Vec<u8>>,
    json: Vec<u8>,
}

impl Rendered {
    /// Rows of `format`, with numbers or not.
    pub fn new(format: Format, numbers: bool) -> Rendered {
        Rendered {
            format,
            numbers,
            csv: csv::WriterBuilder::new()
                .has_headers(false)
                .buffer_capacity(4096)
                .from_writer(Vec::new()),
            json: Vec::new(),
        }
    }

    /// Renders `finding` as one row; its bytes' range.
    pub fn add(&mut self, finding: &Finding<'_>) -> Result<Range<usize>> {
        let row = Row::new(finding, self.numbers);
        match self.format {
            Format::Csv => {
                let start = self.csv.get_ref().len();
                self.csv.serialize(row)?;
                self.csv.flush()?;
                Ok(start..self.csv.get_ref().len())
            }
            Format::Json => {
                let start = self.json.len();
                serde_json::to_writer(&mut self.json, &row)?;
                Ok(start..self.json.len())
            }
        }
    }

    /// The bytes of one row.
    pub fn get(&self, range: Range<usize>) -> &[u8] {
        let bytes = match self.format {
            Format::Csv => self.csv.get_ref(),
            Format::Json => &self.json,
        };
        bytes.get(range).unwrap_or_default()
    }
}

/// The report, written row by row as findings come (memory stays flat),
/// owner-only, appearing at its path whole when [`Report::finish`]es or not
/// at all.
pub struct Report {
    format: Format,
    rows: u64,
    file: PrivateFile,
}

impl Report {
    /// Starts the report at `path`.
    pub fn create(path: &Path, format: Format, numbers: bool) -> Result<Report> {
        let mut file = PrivateFile::create(path)?;
        match format {
            Format::Csv => {
                let mut header =
                    String::from("recording,reason,action,category,window_end,facility,start");
                if numbers {
                    header.push_str(",number");
                }
                header.push('\n');
                file.write_all(header.as_bytes())?;
            }
            Format::Json => file.write_all(b"[")?,
        }
        Ok(Report {
            format,
            rows: 0,
            file,
        })
    }

    /// Adds one row rendered by [`Rendered::add`].
    pub fn add(&mut self, row: &[u8]) -> Result<()> {
        if self.format == Format::Json {
            self.file
                .write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
        }
        self.file.write_all(row)?;
        self.rows += 1;
        Ok(())
    }

    /// Completes the file and puts it in place.
    pub fn finish(mut self) -> Result<()> {
        if self.format == Format::Json {
            self.file
                .write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        Ok(self.file.commit()?)
    }
}

/// Counts of one run; skipped rows by line number, never their values.
#[derive(Default, Serialize)]
pub struct Summary {
    /// Data rows read.
    pub rows: u64,
    /// Records repeating a privileged call already seen (repeats of other
    /// calls change nothing and are not tracked, so memory follows the
    /// privileged calls, not the input).
    pub duplicates: u64,
    /// Local start times a daylight-saving change made ambiguous or
    /// nonexistent (judged under both readings).
    pub ambiguous_local_times: u64,
    /// Privileged calls that were recorded: the report's rows.
    pub recorded_privileged: u64,
    /// Privileged calls correctly not recorded.
    pub not_recorded_privileged: u64,
    /// Prearranged calls whose recording began after the window ended,
    /// under `record-with-notice` (allowed: not named).
    pub recorded_after_window: u64,
    /// Recorded privileged calls by reason, facility, category, month.
    pub by_reason: BTreeMap<&'static str, u64>,
    pub by_facility: BTreeMap<String, u64>,
    pub by_category: BTreeMap<&'static str, u64>,
    pub by_month: BTreeMap<Month, u64>,
    /// Set when more privileged calls came than repeats are checked for:
    /// after that many, a repeated record is named again (never lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats_checked_up_to: Option<u64>,
    /// Rows skipped, by why.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first skipped rows: `file:line: why`.
    pub skipped_lines: Vec<String>,
}

/// A calendar month (UTC), written `YYYY-MM`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(i32, u8);

impl Month {
    /// The month of an instant.
    fn of(t: i64) -> Month {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map_or(Month(0, 0), |d| Month(d.year(), d.month() as u8))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.0, self.1)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Facilities counted one by one, at most.
pub const MAX_FACILITIES: usize = 10_000;
/// Where the facilities past [`MAX_FACILITIES`] are counted.
pub const OTHER_FACILITIES: &str = "(other facilities)";

/// Skipped rows named one by one, at most.
const SKIPPED_LINES: usize = 100;

impl Summary {
    /// Counts a skipped row.
    pub fn skip(&mut self, file: &str, line: u64, why: &'static str) {
        *self.skipped.entry(why).or_default() += 1;
        if self.skipped_lines.len() < SKIPPED_LINES {
            self.skipped_lines.push(format!("{file}:{line}: {why}"));
        }
    }

    /// Counts a recorded privileged call (a report row).
    pub fn named(&mut self, f: &Counted, facility: &str) {
        self.recorded_privileged += 1;
        *self.by_reason.entry(f.reason.name()).or_default() += 1;
        // A hostile file could name millions of facilities: past the cap
        // the rest count together.
        if let Some(n) = self.by_facility.get_mut(facility) {
            *n += 1;
        } else if self.by_facility.len() < MAX_FACILITIES {
            self.by_facility.insert(facility.to_string(), 1);
        } else {
            *self
                .by_facility
                .entry(OTHER_FACILITIES.to_string())
                .or_default() += 1;
        }
        if let Some(c) = f.category {
            *self.by_category.entry(c.name()).or_default() += 1;
        }
        *self.by_month.entry(Month::of(f.start)).or_default() += 1;
    }

    /// The summary as a table on stderr.
    pub fn print(&self, report: &Path) {
        eprintln!(
            "privcall audit: {} rows, {} duplicates, {} skipped",
            self.rows,
            self.duplicates,
            self.skipped.values().sum::<u64>()
        );
        eprintln!(
            "  privileged and recorded: {} (to destroy: {}, owner-only)",
            self.recorded_privileged,
            report.display()
        );
        eprintln!(
            "  privileged, not recorded: {}",
            self.not_recorded_privileged
        );
        if let Some(n) = self.repeats_checked_up_to {
            eprintln!(
                "  repeats were checked among the first {n} privileged calls only: \
                 a later repeat may be named twice"
            );
        }
        if self.recorded_after_window > 0 {
            eprintln!(
                "  prearranged, recorded only after the window: {}",
                self.recorded_after_window
            );
        }
        for (title, map) in [("reason", &self.by_reason), ("category", &self.by_category)] {
            for (k, v) in map {
                eprintln!("  {title:<9} {k:<24} {v:>10}");
            }
        }
        for (k, v) in &self.by_facility {
            eprintln!("  facility  {k:<24} {v:>10}");
        }
        for (k, v) in &self.by_month {
            eprintln!("  month     {k:<24} {v:>10}");
        }
        for line in &self.skipped_lines {
            eprintln!("  skipped   {line}");
        }
    }
}

/// Writes the summary as JSON, owner-only.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<()> {
    Ok(privcall::files::write_private(
        path,
        &serde_json::to_vec_pretty(summary)?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_past_the_cap_count_together() {
        let mut summary = Summary::default();
        let counted = Counted {
            reason: Reason::Registered,
            category: None,
            start: 0,
        };
        for i in 0..MAX_FACILITIES + 5 {
            summary.named(&counted, &format!("F{i}"));
        }
        summary.named(&counted, "F0");
        assert_eq!(summary.by_facility.len(), MAX_FACILITIES + 1);
        assert_eq!(summary.by_facility[OTHER_FACILITIES], 5);
        assert_eq!(summary.by_facility["F0"], 2);
        assert_eq!(summary.recorded_privileged, MAX_FACILITIES as u64 + 6);
    }
}
