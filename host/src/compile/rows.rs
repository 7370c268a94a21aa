//! The rows of `registry.csv` and `prearranged.csv`, checked field by field.

use std::path::Path;

use privcall_core::list::{RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize, normalize_prefix, DialPlan};
use privcall_core::types::Category;

use super::csv_file::CsvFile;
use super::policy::{bad_facility_code, category_names, PolicySet};
use super::SourceError;
use crate::time::{parse_date_or_instant, parse_instant, Round};

const REGISTRY_COLUMNS: [&str; 6] = [
    "number",
    "category",
    "facilities",
    "valid_from",
    "valid_until",
    "label",
];

/// Parses `registry.csv`. Numbers use the `[default]` dial plan without its
/// outside-line prefix or home area code: a registry number must be
/// complete on its own.
pub fn parse_registry(
    path: &Path,
    text: &str,
    policy: &PolicySet,
    errors: &mut Vec<SourceError>,
) -> Vec<RegistryRow> {
    let Some((file, records)) = CsvFile::rows(path, text, &REGISTRY_COLUMNS, &[], errors) else {
        return Vec::new();
    };
    let plan = DialPlan {
        outside_line_prefix: String::new(),
        home_area_code: String::new(),
        ..policy.default.dial_plan.clone()
    };
    let mut rows = Vec::new();
    for (line, record) in records {
        let start = errors.len();
        let number = file.get(&record, "number");
        let target = if number.is_empty() {
            errors.push(file.error(line, "number", "is empty"));
            None
        } else if number.ends_with('*') {
            match normalize_prefix(number, &plan) {
                Ok(p) => Some(Target::Prefix(p)),
                Err(e) => {
                    errors.push(file.error(
                        line,
                        "number",
                        format!("not a valid prefix block: {e}"),
                    ));
                    None
                }
            }
        } else {
            match normalize(number, &plan) {
                Ok(n) => Some(Target::Number(n)),
                Err(e) => {
                    errors.push(file.error(line, "number", format!("not a valid number: {e}")));
                    None
                }
            }
        };
        let category_text = file.get(&record, "category");
        let category = Category::from_name(category_text);
        if category.is_none() {
            errors.push(file.error(
                line,
                "category",
                // The value is not echoed: in a row whose columns shifted it
                // is often the privileged number itself.
                format!(
                    "unknown category{}; expected one of {}",
                    if category_text.bytes().any(|b| b.is_ascii_digit()) {
                        " (it holds digits: are the columns shifted?)"
                    } else {
                        ""
                    },
                    category_names()
                ),
            ));
        }
        let facilities = parse_facilities(&file, line, file.get(&record, "facilities"), errors);
        let valid_from = optional_time(
            &file,
            line,
            "valid_from",
            file.get(&record, "valid_from"),
            false,
            errors,
        );
        let valid_until = optional_time(
            &file,
            line,
            "valid_until",
            file.get(&record, "valid_until"),
            true,
            errors,
        );
        if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until) {
            if from >= until {
                errors.push(file.error(line, "valid_until", "is before valid_from"));
            }
        }
        if errors.len() > start {
            continue;
        }
        rows.push(RegistryRow {
            target: target.expect("checked"),
            category: category.expect("checked"),
            facilities: facilities.expect("checked"),
            valid_from: valid_from.expect("checked"),
            valid_until: valid_until.expect("checked"),
        });
    }
    rows
}

fn parse_facilities(
    file: &CsvFile<'_>,
    line: u64,
    text: &str,
    errors: &mut Vec<SourceError>,
) -> Option<Option<Vec<String>>> {
    if text.is_empty() {
        return Some(None);
    }
    let codes: Vec<String> = text.split(';').map(|c| c.trim().to_string()).collect();
    for code in &codes {
        if let Some(problem) = bad_facility_code(code) {
            errors.push(file.error(line, "facilities", problem));
            return None;
        }
    }
    Some(Some(codes))
}

fn optional_time(
    file: &CsvFile<'_>,
    line: u64,
    field: &str,
    text: &str,
    end: bool,
    errors: &mut Vec<SourceError>,
) -> Option<Option<i64>> {
    if text.is_empty() {
        return Some(None);
    }
    match parse_date_or_instant(text, end) {
        Ok(t) => Some(Some(t)),
        Err(e) => {
            errors.push(file.error(line, field, e.to_string()));
            None
        }
    }
}

const PREARRANGED_COLUMNS: [&str; 6] = ["facility", "inmate", "number", "start", "end", "ref"];

/// Parses `prearranged.csv`. Numbers use the facility's dial plan.
pub fn parse_prearranged(
    path: &Path,
    text: &str,
    policy: &PolicySet,
    errors: &mut Vec<SourceError>,
) -> Vec<WindowRow> {
    let Some((file, records)) = CsvFile::rows(path, text, &PREARRANGED_COLUMNS, &[], errors) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (line, record) in records {
        let start_errors = errors.len();
        let facility = file.get(&record, "facility");
        if let Some(problem) = bad_facility_code(facility) {
            errors.push(file.error(line, "facility", problem));
        }
        let inmate = file.get(&record, "inmate");
        if inmate.is_empty() {
            errors.push(file.error(line, "inmate", "is empty"));
        }
        let plan = &policy.for_facility(facility).dial_plan;
        let number = match normalize(file.get(&record, "number"), plan) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(file.error(line, "number", format!("not a valid number: {e}")));
                None
            }
        };
        let mut time =
            |field: &str, round: Round| match parse_instant(file.get(&record, field), round) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(file.error(line, field, e.to_string()));
                    None
                }
            };
        let start = time("start", Round::Down);
        let end = time("end", Round::Up);
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                errors.push(file.error(line, "end", "is not after start"));
            }
        }
        if errors.len() > start_errors {
            continue;
        }
        rows.push(WindowRow {
            facility: facility.to_string(),
            inmate: inmate.to_string(),
            number: number.expect("checked"),
            start: start.expect("checked"),
            end: end.expect("checked"),
        });
    }
    rows
}
