//! CSV source files with a fixed header, read row by row with line
//! numbers, so every error names its file, line and column.

use std::path::Path;

use super::SourceError;

/// A CSV file with a fixed header, read row by row with line numbers.
pub(super) struct CsvFile<'a> {
    path: &'a Path,
    columns: Vec<String>,
}

impl<'a> CsvFile<'a> {
    /// Reads the header and checks it has exactly the expected columns,
    /// then the records with their line numbers; a record that cannot be
    /// read is reported in `errors` and skipped.
    pub(super) fn rows(
        path: &'a Path,
        text: &'a str,
        expected: &[&str],
        optional: &[&str],
        errors: &mut Vec<SourceError>,
    ) -> Option<(CsvFile<'a>, Vec<(u64, csv::StringRecord)>)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                errors.push(SourceError {
                    file: path.to_path_buf(),
                    line: Some(1),
                    field: None,
                    message: format!("cannot read the header: {e}"),
                });
                return None;
            }
        };
        let columns: Vec<String> = header.iter().map(|c| c.to_string()).collect();
        let start = errors.len();
        for want in expected {
            if !columns.iter().any(|c| c == want) {
                errors.push(SourceError {
                    file: path.to_path_buf(),
                    line: Some(1),
                    field: Some(want.to_string()),
                    message: format!("missing column; the header must be {}", expected.join(",")),
                });
            }
        }
        for (i, c) in columns.iter().enumerate() {
            if !expected.contains(&c.as_str()) && !optional.contains(&c.as_str()) {
                errors.push(SourceError {
                    file: path.to_path_buf(),
                    line: Some(1),
                    field: Some(column_name(i, c)),
                    message: format!("unknown column; the header must be {}", expected.join(",")),
                });
            }
        }
        if errors.len() > start {
            return None;
        }
        let file = CsvFile { path, columns };
        let mut rows = Vec::new();
        for record in reader.into_records() {
            match record {
                Ok(r) => rows.push((r.position().map_or(0, |p| p.line()), r)),
                Err(e) => errors.push(file.record_error(&e)),
            }
        }
        Some((file, rows))
    }

    pub(super) fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| record.get(i))
            .unwrap_or("")
    }

    pub(super) fn error(&self, line: u64, field: &str, message: impl Into<String>) -> SourceError {
        SourceError {
            file: self.path.to_path_buf(),
            line: Some(line),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub(super) fn record_error(&self, e: &csv::Error) -> SourceError {
        SourceError {
            file: self.path.to_path_buf(),
            line: e.position().map(|p| p.line()),
            field: None,
            message: match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    format!("row has {len} fields, the header has {expected_len}")
                }
                csv::ErrorKind::Utf8 { .. } => "row is not valid UTF-8".into(),
                _ => "row is not valid CSV".into(),
            },
        }
    }
}

/// The name an error gives an unknown column `text` at index `i`: the
/// text when it is a lowercase word as column names are (a misspelt one),
/// else `column N`. A file that lacks its header line has a data row
/// there, and an error must never print a number, an inmate id or a
/// reference from it.
fn column_name(i: usize, text: &str) -> String {
    let word = !text.is_empty()
        && text.len() <= 32
        && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if word {
        text.to_string()
    } else {
        format!("column {}", i + 1)
    }
}
