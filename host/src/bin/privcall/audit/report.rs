//! The audit's outputs: the report (the recordings to destroy, numbers
//! only with `--show-numbers`) and the summary (counts, never values).
//! Both files are created owner-only: the report names privileged calls.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use privcall::core::normalize::E164;
use privcall::core::types::{Category, Reason};
use privcall::text::{E164Text, Rfc3339Text};
use serde::Serialize;

use super::Format;

/// One privileged call that was recorded.
pub struct Finding {
    pub recording: String,
    pub reason: Reason,
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
    category: &'static str,
    window_end: String,
    facility: &'a str,
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<String>,
}

/// Writes the report, owner-only, whole or not at all.
pub fn write(path: &Path, format: Format, findings: &[Finding], numbers: bool) -> Result<()> {
    let rows = findings.iter().map(|f| Row {
        recording: &f.recording,
        reason: f.reason.name(),
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
    });
    let bytes = match format {
        Format::Json => serde_json::to_vec_pretty(&rows.collect::<Vec<_>>())?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header = vec![
                "recording",
                "reason",
                "category",
                "window_end",
                "facility",
                "start",
            ];
            if numbers {
                header.push("number");
            }
            w.write_record(&header)?;
            for r in rows {
                let mut rec = vec![
                    r.recording.to_string(),
                    r.reason.into(),
                    r.category.into(),
                    r.window_end,
                    r.facility.to_string(),
                    r.start,
                ];
                rec.extend(r.number);
                w.write_record(&rec)?;
            }
            w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    Ok(privcall::files::write_private(path, &bytes)?)
}

/// Counts of one run; skipped rows by line number, never their values.
#[derive(Default, Serialize)]
pub struct Summary {
    /// Data rows read.
    pub rows: u64,
    /// Records of a call already seen.
    pub duplicates: u64,
    /// Local start times a daylight-saving change made ambiguous or
    /// nonexistent (judged under both readings).
    pub ambiguous_local_times: u64,
    /// Privileged calls that were recorded: the report's rows.
    pub recorded_privileged: u64,
    /// Privileged calls correctly not recorded.
    pub not_recorded_privileged: u64,
    /// Recorded privileged calls by reason, facility, category, month.
    pub by_reason: BTreeMap<&'static str, u64>,
    pub by_facility: BTreeMap<String, u64>,
    pub by_category: BTreeMap<&'static str, u64>,
    pub by_month: BTreeMap<String, u64>,
    /// Rows skipped, by why.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first skipped rows: `file:line: why`.
    pub skipped_lines: Vec<String>,
}

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

    /// Counts a privileged call.
    pub fn privileged(
        &mut self,
        reason: Reason,
        facility: &str,
        start: i64,
        recorded: bool,
        category: Option<Category>,
    ) {
        if !recorded {
            self.not_recorded_privileged += 1;
            return;
        }
        self.recorded_privileged += 1;
        *self.by_reason.entry(reason.name()).or_default() += 1;
        *self.by_facility.entry(facility.to_string()).or_default() += 1;
        if let Some(c) = category {
            *self.by_category.entry(c.name()).or_default() += 1;
        }
        let month = Rfc3339Text(start)
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
