//! The list compiler: reads `registry.csv`, `prearranged.csv` and
//! `policy.toml`, reports every bad row with file, line and field, and
//! builds a [`CompiledList`]. Nothing is built when any row is bad.
//!
//! Error messages name the file, line, field and problem, never the value
//! of a number, inmate id or reference: those are privileged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use privcall_core::decide::Decider;
use privcall_core::list::{build, CompiledList, FacilityIndex, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize, normalize_prefix, DialPlan, E164};
use privcall_core::types::{Call, Category, CategorySet, FailMode, Overrun, Policy};

use crate::trust::bundle::{Canary, MAX_CANARIES};

use crate::time::{parse_date_or_instant, parse_instant, Round};

/// Where the list sources are.
#[derive(Clone, Debug)]
pub struct Sources {
    /// `registry.csv`.
    pub registry: PathBuf,
    /// `prearranged.csv`, optional.
    pub prearranged: Option<PathBuf>,
    /// `policy.toml`.
    pub policy: PathBuf,
}

/// One problem in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// The column or key.
    pub field: Option<String>,
    /// What is wrong (never the privileged value itself).
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in the sources; the list was not built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CompileErrors(pub Vec<SourceError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the list sources:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// What the compiler produced, with counts for the report.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The list.
    pub list: CompiledList,
    /// Registry rows read.
    pub registry_rows: usize,
    /// Prearranged rows read.
    pub prearranged_rows: usize,
}

/// Compiles the sources, collecting every error before giving up.
pub fn compile(sources: &Sources) -> Result<Compiled, CompileErrors> {
    let mut errors = Vec::new();
    let policy = match read(&sources.policy) {
        Ok(text) => parse_policy(&sources.policy, &text, &mut errors),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    // Without a policy the dial plans are unknown; rows are still checked
    // with North American defaults so that every error shows at once.
    let fallback = PolicySet {
        default: default_policy(),
        facilities: BTreeMap::new(),
    };
    let policy_set = policy.as_ref().unwrap_or(&fallback);

    let registry = match read(&sources.registry) {
        Ok(text) => parse_registry(&sources.registry, &text, policy_set, &mut errors),
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    let windows = match &sources.prearranged {
        Some(path) => match read(path) {
            Ok(text) => parse_prearranged(path, &text, policy_set, &mut errors),
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    if !errors.is_empty() {
        return Err(CompileErrors(errors));
    }
    let policy = policy.expect("no errors means the policy parsed");
    let registry_rows = registry.len();
    let prearranged_rows = windows.len();
    let facility_policies = policy.facilities.into_iter().collect();
    match build(policy.default, facility_policies, &registry, &windows) {
        Ok(list) => Ok(Compiled {
            list,
            registry_rows,
            prearranged_rows,
        }),
        Err(e) => Err(CompileErrors(vec![SourceError {
            file: sources.registry.clone(),
            line: None,
            field: None,
            message: e.to_string(),
        }])),
    }
}

fn read(path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|e| SourceError {
        file: path.to_path_buf(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
    })
}

/// The parsed policy: `[default]` and the resolved facility tables.
#[derive(Clone, Debug)]
pub struct PolicySet {
    /// `[default]`.
    pub default: Policy,
    /// `[facility.CODE]`, each merged over `[default]`.
    pub facilities: BTreeMap<String, Policy>,
}

impl PolicySet {
    /// The policy a facility decides under.
    pub fn for_facility(&self, code: &str) -> &Policy {
        self.facilities.get(code).unwrap_or(&self.default)
    }
}

/// The policy used for keys `[default]` leaves out. Every default leans to
/// privacy: all categories exempt, overruns stay private, and when privcall
/// cannot decide, nothing is recorded.
pub fn default_policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 5 * 60,
        fail_mode: FailMode::DoNotRecord,
        dial_plan: DialPlan::nanp(),
    }
}

const POLICY_KEYS: [&str; 8] = [
    "exempt",
    "overrun",
    "early_grace_minutes",
    "fail_mode",
    "outside_line_prefix",
    "country_code",
    "trunk_prefix",
    "home_area_code",
];

/// Parses `policy.toml`.
pub fn parse_policy(path: &Path, text: &str, errors: &mut Vec<SourceError>) -> Option<PolicySet> {
    let start = errors.len();
    let err = |errors: &mut Vec<SourceError>, field: &str, message: String| {
        errors.push(SourceError {
            file: path.to_path_buf(),
            line: line_of_key(text, field),
            field: Some(field.to_string()),
            message,
        })
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
            errors.push(SourceError {
                file: path.to_path_buf(),
                line,
                field: None,
                message: format!("not valid TOML: {}", e.message()),
            });
            return None;
        }
    };
    for key in table.keys() {
        if key != "default" && key != "facility" {
            err(
                errors,
                key,
                "unknown table; expected [default] and [facility.CODE]".into(),
            );
        }
    }
    let default = match table.get("default") {
        Some(toml::Value::Table(t)) => {
            apply_policy(path, text, "default", t, &default_policy(), errors)
        }
        Some(_) => {
            err(errors, "default", "must be a table".into());
            None
        }
        None => {
            err(errors, "default", "missing [default] table".into());
            None
        }
    };
    let mut facilities = BTreeMap::new();
    match table.get("facility") {
        None => {}
        Some(toml::Value::Table(t)) => {
            if let Some(default) = &default {
                for (code, value) in t {
                    let name = format!("facility.{code}");
                    if let Some(problem) = bad_facility_code(code) {
                        err(errors, &name, problem);
                        continue;
                    }
                    match value {
                        toml::Value::Table(ft) => {
                            if let Some(p) = apply_policy(path, text, &name, ft, default, errors) {
                                facilities.insert(code.clone(), p);
                            }
                        }
                        _ => err(errors, &name, "must be a table".into()),
                    }
                }
            }
        }
        Some(_) => err(errors, "facility", "must be tables [facility.CODE]".into()),
    }
    if errors.len() > start {
        return None;
    }
    Some(PolicySet {
        default: default?,
        facilities,
    })
}

/// The line where `key` (or `[table]`) first appears, for error messages.
fn line_of_key(text: &str, key: &str) -> Option<u64> {
    let last = key.rsplit('.').next().unwrap_or(key);
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("[{key}]"))
                || l.starts_with(&format!("{last} "))
                || l.starts_with(&format!("{last}="))
        })
        .map(|i| i as u64 + 1)
}

fn apply_policy(
    path: &Path,
    text: &str,
    table_name: &str,
    t: &toml::Table,
    base: &Policy,
    errors: &mut Vec<SourceError>,
) -> Option<Policy> {
    let start = errors.len();
    let mut p = base.clone();
    let mut err = |key: &str, message: String| {
        let field = format!("{table_name}.{key}");
        errors.push(SourceError {
            file: path.to_path_buf(),
            line: line_of_key(text, &field),
            field: Some(field),
            message,
        })
    };
    for (key, value) in t {
        match key.as_str() {
            "exempt" => match value.as_array() {
                Some(items) => {
                    let mut set = CategorySet::EMPTY;
                    for item in items {
                        match item.as_str().and_then(Category::from_name) {
                            Some(c) => set.insert(c),
                            None => err(
                                key,
                                format!(
                                    "unknown category {}; expected one of {}",
                                    item.as_str().map_or_else(|| format!("{item:?}"), |s| format!("{s:?}")),
                                    category_names()
                                ),
                            ),
                        }
                    }
                    p.exempt = set;
                }
                None => err(key, "must be a list of categories".into()),
            },
            "overrun" => match value.as_str().and_then(Overrun::from_name) {
                Some(o) => p.overrun = o,
                None => err(
                    key,
                    "must be \"record-with-notice\", \"stay-private\" or \"disconnect-with-notice\"".into(),
                ),
            },
            "early_grace_minutes" => match value.as_integer() {
                Some(m) if (0..=Policy::MAX_GRACE_SECS / 60).contains(&m) => p.early_grace_secs = m * 60,
                _ => err(key, format!("must be a whole number of minutes from 0 to {}", Policy::MAX_GRACE_SECS / 60)),
            },
            "fail_mode" => match value.as_str().and_then(FailMode::from_name) {
                Some(m) => p.fail_mode = m,
                None => err(key, "must be \"record\" or \"do-not-record\"".into()),
            },
            "outside_line_prefix" | "country_code" | "trunk_prefix" | "home_area_code" => match value.as_str() {
                Some(s) => {
                    let s = s.trim().to_string();
                    match key.as_str() {
                        "outside_line_prefix" => p.dial_plan.outside_line_prefix = s,
                        "country_code" => {
                            // A facility that changes country gets that
                            // country's trunk prefix unless it sets one.
                            if !t.contains_key("trunk_prefix") {
                                p.dial_plan.trunk_prefix = if s == "1" { "1" } else { "0" }.into();
                            }
                            p.dial_plan.country_code = s;
                        }
                        "trunk_prefix" => p.dial_plan.trunk_prefix = s,
                        _ => p.dial_plan.home_area_code = s,
                    }
                }
                None => err(key, "must be a string of digits (quoted)".into()),
            },
            _ => err(key, format!("unknown key; expected one of {}", POLICY_KEYS.join(", "))),
        }
    }
    if let Err(e) = p.dial_plan.validate() {
        err(e.plan_field().unwrap_or("dial plan"), e.to_string());
    }
    (errors.len() == start).then_some(p)
}

fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Facility codes are plain identifiers: they appear in logs and metrics.
fn bad_facility_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    (!ok).then(|| "facility codes are 1-64 characters of letters, digits, '-', '_' or '.'".into())
}

/// A CSV file with a fixed header, read row by row with line numbers.
struct CsvFile<'a> {
    path: &'a Path,
    columns: Vec<String>,
}

impl<'a> CsvFile<'a> {
    /// Reads the header and checks it has exactly the expected columns,
    /// then the records with their line numbers; a record that cannot be
    /// read is reported in `errors` and skipped.
    fn rows(
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
        for c in &columns {
            if !expected.contains(&c.as_str()) && !optional.contains(&c.as_str()) {
                errors.push(SourceError {
                    file: path.to_path_buf(),
                    line: Some(1),
                    field: Some(c.clone()),
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

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| record.get(i))
            .unwrap_or("")
    }

    fn error(&self, line: u64, field: &str, message: impl Into<String>) -> SourceError {
        SourceError {
            file: self.path.to_path_buf(),
            line: Some(line),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    fn record_error(&self, e: &csv::Error) -> SourceError {
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
                format!(
                    "unknown category {category_text:?}; expected one of {}",
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

/// Picks up to [`MAX_CANARIES`] calls spread over the list (registered
/// numbers, windows, and numbers next to registered ones that are not) and
/// records what the native core decides for each at `at`. The host replays
/// them on the guest before a list goes live.
pub fn canaries(list: &CompiledList, at: i64) -> Vec<Canary> {
    let decider = Decider::new(list.clone());
    let code = |f: FacilityIndex| list.facilities[usize::from(f)].code.clone();
    let any_facility = list
        .facilities
        .first()
        .map(|f| f.code.clone())
        .unwrap_or_default();
    let mut calls: Vec<(String, String, E164, i64)> = Vec::new();
    for (set, classes, intl) in [
        (&list.nanp, &list.nanp_classes, false),
        (&list.intl, &list.intl_classes, true),
    ] {
        let quota = if intl { 2 } else { 6 };
        let step = set.len().div_ceil(quota).max(1);
        // Walks the set once, without collecting it (millions of keys).
        for (i, key) in set.iter().enumerate().step_by(step) {
            let number = if intl {
                E164(key)
            } else {
                E164(10_000_000_000 + key)
            };
            let grant = classes
                .get(i)
                .and_then(|c| list.classes.get(c as usize))
                .and_then(|c| c.first());
            let (facility, t) = match grant {
                Some(g) => {
                    let facility = g
                        .facilities
                        .as_ref()
                        .and_then(|fs| fs.first())
                        .map_or_else(|| any_facility.clone(), |&f| code(f));
                    let t = g.valid_from.map_or(at, |from| at.max(from));
                    let t = g.valid_until.map_or(t, |until| t.min(until - 1));
                    (facility, t)
                }
                None => (any_facility.clone(), at),
            };
            calls.push((facility.clone(), String::new(), number, t));
            // A neighbour that is not registered must come out "record".
            if !set.contains(key + 1) && calls.len() < MAX_CANARIES - 4 {
                calls.push((facility, String::new(), E164(number.0 + 1), t));
            }
        }
    }
    let step = list.windows.len().div_ceil(4).max(1);
    for w in list.windows.iter().step_by(step) {
        calls.push((code(w.facility), w.inmate.clone(), E164(w.number), w.start));
    }
    calls.truncate(MAX_CANARIES);
    calls
        .into_iter()
        .map(|(facility, inmate, number, at)| {
            let dialed = number.to_string();
            let d = decider.decide(&Call {
                facility: &facility,
                inmate: &inmate,
                dialed: &dialed,
                at,
                started: None,
            });
            Canary {
                facility,
                inmate,
                dialed,
                at,
                record: d.record,
                reason: d.reason.name().to_string(),
            }
        })
        .collect()
}
