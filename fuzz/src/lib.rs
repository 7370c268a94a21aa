//! What the fuzz targets share: the invariants more than one of them
//! asserts, the small lists they build, and the writing of their seed
//! corpora.
//!
//! Seeds that matter (a correctly signed bundle, a valid list body) cannot
//! be found by mutation in any reasonable time, so each target can write
//! its own: run a target binary with `PRIVCALL_FUZZ_SEEDS=DIR` and it
//! writes `DIR/<target>/seed-NN` and exits (`scripts/fuzz.sh --seeds`).
//! The committed corpus in `fuzz/corpus/` was started that way.

use std::path::PathBuf;

use privcall::fixtures::{sign_list, NOW};
use privcall_core::list::{build, CompiledList, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize_prefix, readings, DialPlan, E164};
use privcall_core::types::{Category, CategorySet, FailMode, Overrun, Policy, Unreadable};

/// Writes `seeds()` to `$PRIVCALL_FUZZ_SEEDS/<target>/` and exits, when
/// that variable is set; otherwise does nothing (the fuzzing run).
pub fn write_seeds_if_asked(target: &str, seeds: impl FnOnce() -> Vec<Vec<u8>>) {
    let Some(dir) = std::env::var_os("PRIVCALL_FUZZ_SEEDS") else {
        return;
    };
    let dir = PathBuf::from(dir).join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    for (i, seed) in seeds().iter().enumerate() {
        let path = dir.join(format!("seed-{i:02}"));
        std::fs::write(&path, seed).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    std::process::exit(0);
}

/// Panics when `text` (an error message, a log line) holds a run of 7 or
/// more digits: the shortest number a dialed string normalizes to has 7,
/// and privcall never prints a dialed number (PRODUCT.md's privacy rule).
/// Line and column numbers stay far below that on fuzzer-sized inputs.
pub fn assert_no_number(text: &str, what: &str) {
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        assert!(run < 7, "{what} holds a run of {run} digits: {text:?}");
    }
}

/// Panics unless `e` is a valid E.164 number as the core defines one: 7
/// to 15 digits (so never a leading 0), and a North American number
/// (country code 1) has 10 digits after the 1 with an area code and an
/// exchange that start with 2 to 9. Equivalently, its own `+` form reads
/// back as itself, alone.
pub fn assert_e164(e: E164, plan: &DialPlan, what: &str) {
    let digits = e.digits();
    assert!((7..=15).contains(&digits), "{what}: {digits} digits");
    let text = e.0.to_string();
    if text.starts_with('1') {
        let b = text.as_bytes();
        assert_eq!(digits, 11, "{what}: a +1 number of {digits} digits");
        assert!(
            b[1] >= b'2',
            "{what}: area code starts with {}",
            b[1] as char
        );
        assert!(
            b[4] >= b'2',
            "{what}: exchange starts with {}",
            b[4] as char
        );
    }
    let back = readings(&format!("+{text}"), plan);
    assert_eq!(
        back.map(|r| (r.primary, r.alternate)),
        Ok((e, None)),
        "{what}: its + form does not read back as itself"
    );
}

/// A policy with `plan` and the knobs a fuzz input picked, over
/// [`privcall::fixtures::policy`] (its `unreadable` choice among them).
pub fn policy(plan: DialPlan, knobs: u8) -> Policy {
    let mut p = privcall::fixtures::policy();
    p.dial_plan = plan;
    p.overrun = Overrun::ALL[usize::from(knobs & 3) % Overrun::ALL.len()];
    p.fail_mode = if knobs & 4 == 0 {
        FailMode::DoNotRecord
    } else {
        FailMode::Record
    };
    p.early_grace_secs = i64::from(knobs >> 3 & 7) * 60;
    p.unreadable = Unreadable::ALL[usize::from(knobs >> 6) % Unreadable::ALL.len()];
    if knobs & 0x80 != 0 {
        // Only some categories exempt: a registered number of another
        // category is recorded.
        let mut exempt = CategorySet::EMPTY;
        for (i, c) in Category::ALL.iter().enumerate() {
            if i % 2 == 0 {
                exempt.insert(*c);
            }
        }
        p.exempt = exempt;
    }
    p
}

/// The dial plans the targets decide under: North American with and
/// without an outside line and home area code, and two other countries
/// (with the trunk prefix 0 and the ITU's international prefix).
pub fn plans() -> Vec<DialPlan> {
    let other = |cc: &str, outside: &str| {
        let mut p = DialPlan::nanp();
        p.country_code = cc.into();
        p.trunk_prefix = "0".into();
        p.international_prefix = DialPlan::itu_international_prefix(cc).into();
        p.outside_line_prefix = outside.into();
        p
    };
    let mut nine = DialPlan::nanp();
    nine.outside_line_prefix = "9".into();
    nine.home_area_code = "573".into();
    let plans = vec![DialPlan::nanp(), nine, other("44", "9"), other("52", "")];
    debug_assert!(plans.iter().all(|p| p.validate().is_ok()));
    plans
}

/// One registry row of a small fuzzed list.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub struct RowSpec {
    /// Which number: an index into the list's numbers, or a prefix block
    /// of one (when `block` is set).
    pub number: u8,
    /// Cut the number to its first `4 + block % 8` digits as a block.
    pub block: Option<u8>,
    /// Category index.
    pub category: u8,
    /// Bit i: facility i is in scope; 0: every facility.
    pub facilities: u8,
    /// Validity, in minutes around [`NOW`].
    pub valid_from: Option<i8>,
    /// Validity end, in minutes around [`NOW`].
    pub valid_until: Option<i8>,
}

/// One prearranged window of a small fuzzed list.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub struct WindowSpec {
    /// Facility index.
    pub facility: u8,
    /// Inmate index.
    pub inmate: u8,
    /// Number index.
    pub number: u8,
    /// Start, in minutes around [`NOW`].
    pub start: i8,
    /// Length in minutes (at least 1).
    pub minutes: u8,
}

/// A small list described by a fuzz input.
#[derive(Clone, Debug, arbitrary::Arbitrary)]
pub struct ListSpec {
    /// The numbers the rows and windows refer to: raw integers, kept when
    /// they are valid E.164 numbers (the list builder's input is
    /// normalized), else made into North American ones.
    pub numbers: Vec<u64>,
    /// Registry rows.
    pub rows: Vec<RowSpec>,
    /// Prearranged windows.
    pub windows: Vec<WindowSpec>,
    /// Plan index per facility (`F0`..`F2`) and the default's.
    pub plans: [u8; 4],
    /// Policy knobs per facility and the default's.
    pub knobs: [u8; 4],
}

/// The facility codes of fuzzed lists.
pub const FACILITIES: [&str; 3] = ["F0", "F1", "F2"];
/// The inmate ids of fuzzed lists.
pub const INMATES: [&str; 3] = ["I0", "I1", "I22"];

/// Minutes around [`NOW`] as seconds since the epoch.
pub fn minutes(m: i8) -> i64 {
    NOW + i64::from(m) * 60
}

impl ListSpec {
    /// The numbers, each a valid E.164 number (at most 8).
    pub fn e164s(&self) -> Vec<E164> {
        self.numbers
            .iter()
            .take(8)
            .map(|&n| {
                let e = E164(n);
                if (7..=15).contains(&e.digits()) && nanp_rules(e) {
                    e
                } else {
                    // Area code and exchange in 200-999: always valid.
                    let area = 200 + n % 800;
                    let exchange = 200 + n / 800 % 800;
                    let line = n / 640_000 % 10_000;
                    E164::from_nanp_national(area * 10_000_000 + exchange * 10_000 + line)
                }
            })
            .collect()
    }

    /// Builds the list: `None` when the builder refuses it (it may: two
    /// windows that overlap, say), which the targets skip.
    pub fn build(&self) -> Option<CompiledList> {
        let plans = plans();
        let numbers = self.e164s();
        if numbers.is_empty() {
            return None;
        }
        let pick = |i: u8| numbers[usize::from(i) % numbers.len()];
        let policy_of = |i: usize| {
            policy(
                plans[usize::from(self.plans[i]) % plans.len()].clone(),
                self.knobs[i],
            )
        };
        let rows: Vec<RegistryRow> = self
            .rows
            .iter()
            .take(12)
            .filter_map(|r| {
                let number = pick(r.number);
                let target = match r.block {
                    None => Target::Number(number),
                    Some(b) => {
                        let text = number.0.to_string();
                        let len = (4 + usize::from(b % 8)).min(text.len());
                        Target::Prefix(
                            normalize_prefix(&format!("+{}*", &text[..len]), &DialPlan::nanp())
                                .ok()?,
                        )
                    }
                };
                let facilities = (r.facilities & 7 != 0).then(|| {
                    (0..3)
                        .filter(|i| r.facilities & (1 << i) != 0)
                        .map(|i| FACILITIES[i].to_string())
                        .collect()
                });
                let (valid_from, valid_until) = match (r.valid_from, r.valid_until) {
                    (Some(a), Some(b)) if a >= b => (Some(minutes(b)), Some(minutes(a) + 60)),
                    (a, b) => (a.map(minutes), b.map(minutes)),
                };
                Some(RegistryRow {
                    target,
                    category: Category::ALL[usize::from(r.category) % Category::ALL.len()],
                    facilities,
                    valid_from,
                    valid_until,
                })
            })
            .collect();
        let windows: Vec<WindowRow> = self
            .windows
            .iter()
            .take(12)
            .map(|w| {
                let start = minutes(w.start);
                WindowRow {
                    facility: FACILITIES[usize::from(w.facility) % 3].into(),
                    inmate: INMATES[usize::from(w.inmate) % 3].into(),
                    number: pick(w.number),
                    start,
                    end: start + 60 * i64::from(w.minutes.max(1)),
                }
            })
            .collect();
        let facility_policies = FACILITIES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.knobs[*i] & 0x40 == 0)
            .map(|(i, f)| (f.to_string(), policy_of(i)))
            .collect();
        build(policy_of(3), facility_policies, &rows, &windows).ok()
    }
}

/// Whether a number starting with 1 follows North American digit rules
/// (numbers of other country codes always pass).
fn nanp_rules(e: E164) -> bool {
    let text = e.0.to_string();
    let b = text.as_bytes();
    !text.starts_with('1') || (b.len() == 11 && b[1] >= b'2' && b[4] >= b'2')
}

/// `number` written in one of a few everyday ways under `plan`, so calls
/// against a fuzzed list also hit it: E.164, with the international
/// prefix, nationally with the trunk prefix, with the outside line.
pub fn dialed_form(number: E164, plan: &DialPlan, style: u8) -> String {
    let text = number.0.to_string();
    let national = text.strip_prefix(plan.country_code.as_str());
    match (style % 5, national) {
        (0, _) | (_, None) => format!("+{text}"),
        (1, _) => format!("+{} ({})", &text[..1], &text[1..]),
        (2, Some(n)) => format!("{}{n}", plan.trunk_prefix),
        (3, Some(n)) => format!("{}-{}{n}", plan.outside_line_prefix, plan.trunk_prefix),
        (_, Some(n)) => format!("{} {n}", plan.outside_line_prefix),
    }
}

/// Seeds of a signed bundle: the synthetic lists of the benchmarks,
/// small, signed with the throwaway key.
pub fn signed_seeds() -> Vec<Vec<u8>> {
    [(3, 0, 1), (8, 3, 2), (20, 6, 3)]
        .iter()
        .map(|&(n, w, seed)| sign_list(&privcall::fixtures::synthetic_list(n, w, seed).list, seed))
        .collect()
}

/// The policies the source targets read rows under, by the input's
/// first byte: the compiler's fallback (no `policy.toml`), the examples'
/// policy (outside line 9, two facilities), and a British one.
pub fn source_policies(pick: u8) -> privcall::fixtures::sources::Policies {
    use privcall::fixtures::sources::{policy_toml, Policies};
    let text = match pick % 3 {
        0 => return Policies::fallback(),
        1 => include_str!("../../examples/policy.toml"),
        _ => "[default]\ncountry_code = \"44\"\noutside_line_prefix = \"9\"\n[facility.LON]\noutside_line_prefix = \"\"\n",
    };
    let (policies, errors) = policy_toml(text);
    assert!(errors.is_empty(), "a fixed policy is refused: {errors:?}");
    policies.expect("a policy without errors parses")
}

/// Panics when a source error names a number (see [`assert_no_number`]).
pub fn assert_private_errors(errors: &[privcall::SourceError]) {
    for e in errors {
        assert_no_number(&e.to_string(), "a source error");
    }
}
