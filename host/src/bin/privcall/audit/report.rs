//! The audit's outputs: the report (the recordings to destroy, numbers
//! only with `--show-numbers`) and the summary (counts, never values).
//! Both files are created owner-only: the report names privileged calls.

use std::collections::BTreeMap;
use std::io::Write;
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
pub struct Finding {
    pub recording: String,
    pub reason: Reason,
    pub action: Action,
    pub category: Option<Category>,
    /// For a prearranged call: when its window ended.
    pub window_end: Option<i64>,
    pub facility: String,
    pub start: i64,
    pub number: Option<E164>,
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
    fn new(f: &'a Finding, numbers: bool) -> Row<'a> {
        Row {
            recording: &f.recording,
            reason: f.reason.name(),
            action: f.action.name(),
            category: f.category.map_or("", Category::name),
            window_end: f
                .window_end
                .map(|t| Rfc3339Text(t).to_string())
                .unwrap_or_default(),
            facility: &f.facility,
            start: Rfc3339Text(f.start).to_string(),
            number: numbers.then(|| {
                f.number
                    .map(|n| E164Text(n).to_string())
                    .unwrap_or_default()
            }),
        }
    }
}

/// The report, written row by row as findings come (memory stays flat),
/// owner-only, appearing at its path whole when [`Report::finish`]es or not
/// at all.
pub struct Report {
    numbers: bool,
    rows: u64,
    out: Out,
}

enum Out {
    Csv(Box<csv::Writer<PrivateFile>>),
    Json(PrivateFile),
}

impl Report {
    /// Starts the report at `path`.
    pub fn create(path: &Path, format: Format, numbers: bool) -> Result<Report> {
        let file = PrivateFile::create(path)?;
        let out = match format {
            Format::Csv => {
                // The header is written here: serialize's own would lack
                // `number` when it is not asked for, and name it otherwise.
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file);
                let mut header = vec![
                    "recording",
                    "reason",
                    "action",
                    "category",
                    "window_end",
                    "facility",
                    "start",
                ];
                if numbers {
                    header.push("number");
                }
                w.write_record(&header)?;
                Out::Csv(Box::new(w))
            }
            Format::Json => {
                let mut f = file;
                f.write_all(b"[")?;
                Out::Json(f)
            }
        };
        Ok(Report {
            numbers,
            rows: 0,
            out,
        })
    }

    /// Adds one row.
    pub fn add(&mut self, finding: &Finding) -> Result<()> {
        let row = Row::new(finding, self.numbers);
        match &mut self.out {
            Out::Csv(w) => w.serialize(row)?,
            Out::Json(f) => {
                f.write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut *f, &row)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Completes the file and puts it in place.
    pub fn finish(self) -> Result<()> {
        let file = match self.out {
            Out::Csv(w) => (*w).into_inner().map_err(|e| e.into_error())?,
            Out::Json(mut f) => {
                f.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
                f
            }
        };
        Ok(file.commit()?)
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
    pub by_month: BTreeMap<String, u64>,
    /// Set when more privileged calls came than repeats are checked for:
    /// after that many, a repeated record is named again (never lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats_checked_up_to: Option<u64>,
    /// Rows skipped, by why.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first skipped rows: `file:line: why`.
    pub skipped_lines: Vec<String>,
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
    pub fn named(&mut self, f: &Finding) {
        self.recorded_privileged += 1;
        *self.by_reason.entry(f.reason.name()).or_default() += 1;
        // A hostile file could name millions of facilities: past the cap
        // the rest count together.
        let facility = if self.by_facility.len() < MAX_FACILITIES
            || self.by_facility.contains_key(&f.facility)
        {
            f.facility.clone()
        } else {
            OTHER_FACILITIES.to_string()
        };
        *self.by_facility.entry(facility).or_default() += 1;
        if let Some(c) = f.category {
            *self.by_category.entry(c.name()).or_default() += 1;
        }
        let month = Rfc3339Text(f.start)
            .to_string()
            .get(..7)
            .unwrap_or("")
            .to_string();
        *self.by_month.entry(month).or_default() += 1;
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
        let finding = |facility: String| Finding {
            recording: "r".into(),
            reason: Reason::Registered,
            action: Action::Destroy,
            category: None,
            window_end: None,
            facility,
            start: 0,
            number: None,
        };
        for i in 0..MAX_FACILITIES + 5 {
            summary.named(&finding(format!("F{i}")));
        }
        summary.named(&finding("F0".into()));
        assert_eq!(summary.by_facility.len(), MAX_FACILITIES + 1);
        assert_eq!(summary.by_facility[OTHER_FACILITIES], 5);
        assert_eq!(summary.by_facility["F0"], 2);
        assert_eq!(summary.recorded_privileged, MAX_FACILITIES as u64 + 6);
    }
}
