//! `policy.toml`: the `[default]` table and the `[facility.CODE]` tables
//! merged over it.

use std::collections::BTreeMap;
use std::path::Path;

use privcall_core::normalize::DialPlan;
use privcall_core::types::{Category, CategorySet, FailMode, Overrun, Policy, Unreadable};

use super::SourceError;

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
        unreadable: Unreadable::Record,
        dial_plan: DialPlan::nanp(),
    }
}

const POLICY_KEYS: [&str; 10] = [
    "exempt",
    "overrun",
    "early_grace_minutes",
    "fail_mode",
    "unreadable",
    "outside_line_prefix",
    "country_code",
    "trunk_prefix",
    "home_area_code",
    "international_prefix",
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
            "unreadable" => match value.as_str().and_then(Unreadable::from_name) {
                Some(u) => p.unreadable = u,
                None => err(key, "must be \"record\", \"do-not-record\" or \"fail-mode\"".into()),
            },
            "outside_line_prefix" | "country_code" | "trunk_prefix" | "home_area_code" | "international_prefix" => match value.as_str() {
                Some(s) => {
                    let s = s.trim().to_string();
                    match key.as_str() {
                        "outside_line_prefix" => p.dial_plan.outside_line_prefix = s,
                        "country_code" => {
                            // A facility that changes country gets that
                            // country's trunk prefix unless it sets one.
                            if !t.contains_key("trunk_prefix") {
                                p.dial_plan.trunk_prefix = DialPlan::itu_trunk_prefix(&s).into();
                            }
                            // And its international prefix (the ITU's).
                            if !t.contains_key("international_prefix") {
                                p.dial_plan.international_prefix =
                                    DialPlan::itu_international_prefix(&s).into();
                            }
                            p.dial_plan.country_code = s;
                        }
                        "trunk_prefix" => p.dial_plan.trunk_prefix = s,
                        "international_prefix" => p.dial_plan.international_prefix = s,
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

pub(super) fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Facility codes are plain identifiers: they appear in logs and metrics.
pub(super) fn bad_facility_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    (!ok).then(|| "facility codes are 1-64 characters of letters, digits, '-', '_' or '.'".into())
}
