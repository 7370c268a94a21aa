//! The list compiler: reads `registry.csv`, `prearranged.csv` and
//! `policy.toml`, reports every bad row with file, line and field, and
//! builds a [`CompiledList`]. Nothing is built when any row is bad.
//!
//! Error messages name the file, line, field and problem, never the value
//! of a number, inmate id or reference: those are privileged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use privcall_core::list::fleet::{self, FleetParts};
use privcall_core::list::{build_keyed, CompiledList, RegistryRow, WindowRow};

use crate::trust::inmate_key::{InmateKey, InmateKeyId};

mod csv_file;
mod policy;
mod rows;

// Crate-visible for `fixtures::sources`, the fuzz targets' way in.
pub(crate) use policy::{default_policy, parse_policy, PolicySet};
pub(crate) use rows::{parse_prearranged, parse_registry};

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
    /// The key the windows' inmate ids were hashed with (the list's marker
    /// window names it too, and [`crate::seal()`] puts it in the header).
    pub inmate_key: Option<InmateKeyId>,
}

/// Compiles the sources, collecting every error before giving up.
pub fn compile(sources: &Sources) -> Result<Compiled, CompileErrors> {
    compile_keyed(sources, None)
}

/// Compiles the sources with the windows' inmate ids hashed with
/// `inmate_key` (when given): the list then names no inmate, and only a
/// host holding the key matches a call to its window.
pub fn compile_keyed(
    sources: &Sources,
    inmate_key: Option<&InmateKey>,
) -> Result<Compiled, CompileErrors> {
    let parsed = parse(sources, inmate_key)?;
    let registry_rows = parsed.registry.len();
    let prearranged_rows = parsed.windows.len();
    match build_keyed(
        parsed.policy.default,
        parsed.policy.facilities.into_iter().collect(),
        &parsed.registry,
        &parsed.windows,
        inmate_key.map(|k| k.id().0),
    ) {
        Ok(list) => Ok(Compiled {
            list,
            registry_rows,
            prearranged_rows,
            inmate_key: inmate_key.map(InmateKey::id),
        }),
        Err(e) => Err(structural(sources, e)),
    }
}

/// A fleet's list in parts, with counts for the report.
#[derive(Clone, Debug)]
pub struct CompiledFleet {
    /// The registry part and one window part per facility.
    pub parts: FleetParts,
    /// Registry rows read.
    pub registry_rows: usize,
    /// Prearranged rows read.
    pub prearranged_rows: usize,
}

/// Compiles the sources for a fleet of `facilities` (codes): a registry
/// part naming every one of them and one window part each (see
/// [`privcall_core::list::fleet`]). A window at a facility outside the
/// fleet is an error naming the facility: no edge would receive it.
pub fn compile_fleet(
    sources: &Sources,
    inmate_key: Option<&InmateKey>,
    facilities: &[String],
) -> Result<CompiledFleet, CompileErrors> {
    let parsed = parse(sources, inmate_key)?;
    let mut outside: Vec<&str> = parsed
        .facility_codes
        .iter()
        .map(String::as_str)
        .filter(|code| !facilities.iter().any(|f| f == code))
        .collect();
    outside.dedup();
    if !outside.is_empty() {
        let file = sources
            .prearranged
            .clone()
            .unwrap_or_else(|| sources.registry.clone());
        return Err(CompileErrors(
            outside
                .into_iter()
                .map(|code| SourceError {
                    file: file.clone(),
                    line: None,
                    field: Some("facility".into()),
                    message: format!(
                        "facility `{code}` has windows but no recipient in the fleet folder"
                    ),
                })
                .collect(),
        ));
    }
    let registry_rows = parsed.registry.len();
    let prearranged_rows = parsed.windows.len();
    fleet::build(
        parsed.policy.default,
        parsed.policy.facilities.into_iter().collect(),
        &parsed.registry,
        &parsed.windows,
        facilities,
        inmate_key.map(|k| k.id().0),
    )
    .map(|parts| CompiledFleet {
        parts,
        registry_rows,
        prearranged_rows,
    })
    .map_err(|e| structural(sources, e))
}

/// A structural error of the list (not of one row), reported against the
/// registry file.
fn structural(sources: &Sources, e: privcall_core::list::ListError) -> CompileErrors {
    CompileErrors(vec![SourceError {
        file: sources.registry.clone(),
        line: None,
        field: None,
        message: e.to_string(),
    }])
}

/// The sources read and checked, inmate ids hashed when a key is given.
struct Parsed {
    policy: PolicySet,
    registry: Vec<RegistryRow>,
    windows: Vec<WindowRow>,
    /// The facilities windows are booked at, sorted.
    facility_codes: Vec<String>,
}

fn parse(sources: &Sources, inmate_key: Option<&InmateKey>) -> Result<Parsed, CompileErrors> {
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
    let mut windows = windows;
    let mut facility_codes: Vec<String> = windows.iter().map(|w| w.facility.clone()).collect();
    facility_codes.sort_unstable();
    facility_codes.dedup();
    if let Some(key) = inmate_key {
        for w in &mut windows {
            w.inmate = key.tag(&w.facility, &w.inmate);
        }
    }
    Ok(Parsed {
        policy,
        registry,
        windows,
        facility_codes,
    })
}

fn read(path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|e| SourceError {
        file: path.to_path_buf(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
    })
}
