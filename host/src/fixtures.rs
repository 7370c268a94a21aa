//! Fixtures for tests and benchmarks (not part of the API): a
//! deterministic synthetic list of random North American numbers, calls
//! against it, a throwaway signing key, and the internals the tests reach
//! into (the guest's raw instances, bundle framing, huge pages).

use ed25519_dalek::SigningKey;
use privcall_core::list::{build, CompiledList, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{DialPlan, E164};
use privcall_core::types::{Call, Category, CategorySet, FailMode, Overrun, Policy, Unreadable};

use crate::trust::bundle::{seal, BundleInfo};
use crate::trust::TrustStore;

pub use crate::runtime::abi::exports;
pub use crate::runtime::guest::{GuestInstance, GUEST_COMPONENT, GUEST_MODULE};
pub use crate::runtime::metrics::Metrics;
pub use crate::runtime::pages;
pub use crate::runtime::status::{ListStatus, UpdateAttempt};
pub use crate::text::{error_chain, InlineStr};
pub use crate::time::{format as format_time, now, parse_date_or_instant, parse_instant};
pub use crate::trust::bundle::{
    decode_header, frame, sign, verify, Canary, Framing, Verified, MAGIC, MAX_CANARIES,
};
pub use crate::trust::edge::{decrypt, encrypt};
pub use crate::trust::fail_modes::FailModes;
pub use crate::trust::files::{replace_private, write_private_new, write_public_new};
pub use crate::trust::keys::read_verifying_key;
pub use crate::trust::state::{Restored, SavedWindows, Snapshot, StateDir, StateError};

pub mod cdr;
pub mod sources;

/// The process-wide wasmtime engine the guest runs on, for tests that
/// compile the guest themselves (as a component, say).
pub fn wasm_engine() -> &'static wasmtime::Engine {
    crate::runtime::guest::engine().unwrap_or_else(|e| panic!("{}", error_chain(&e)))
}

/// Sizes a criterion bench in `benches/` runs: one small size under
/// `cargo test --benches` (no `--bench` argument: CI's quick mode), else
/// `PRIVCALL_BENCH_SIZES` (comma-separated) or `default`.
pub fn bench_sizes(default: &[usize]) -> Vec<usize> {
    if !std::env::args().any(|a| a == "--bench") {
        return vec![10_000];
    }
    std::env::var("PRIVCALL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// The decision time the synthetic list and calls use (2026-09-21).
pub const NOW: i64 = 1_790_000_000;
/// The facility every synthetic call is made from.
pub const FACILITY: &str = "JCCC";

/// splitmix64: deterministic, dependency-free data.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One random 10-digit North American national number (area code and
/// exchange in 200–999).
pub fn random_national(state: &mut u64) -> u64 {
    let r = splitmix(state);
    let npa = 200 + r % 800;
    let nxx = 200 + (r >> 16) % 800;
    let line = (r >> 32) % 10_000;
    npa * 10_000_000 + nxx * 10_000 + line
}

/// `n` distinct random national numbers, sorted, from `seed`.
pub fn synthetic_numbers(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut keys: Vec<u64> = Vec::with_capacity(n + n / 512 + 16);
    while keys.len() < n {
        let missing = n - keys.len();
        keys.extend((0..missing + missing / 512 + 1).map(|_| random_national(&mut state)));
        keys.sort_unstable();
        keys.dedup();
    }
    // Drop a deterministic surplus spread over the range.
    while keys.len() > n {
        let surplus = keys.len() - n;
        let step = keys.len() / surplus;
        let mut i = 0usize;
        keys.retain(|_| {
            i += 1;
            i % step != 0
        });
    }
    keys
}

/// The dial plan of the synthetic facility: outside line `9`, home area
/// code 573.
pub fn dial_plan() -> DialPlan {
    DialPlan {
        outside_line_prefix: "9".into(),
        home_area_code: "573".into(),
        ..DialPlan::nanp()
    }
}

/// The synthetic facility's policy: every category exempt.
pub fn policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 300,
        fail_mode: FailMode::DoNotRecord,
        unreadable: Unreadable::Record,
        dial_plan: dial_plan(),
    }
}

/// A synthetic list and what was put in it.
pub struct Synthetic {
    /// The compiled list.
    pub list: CompiledList,
    /// The registered national numbers, sorted.
    pub numbers: Vec<u64>,
    /// The prearranged windows.
    pub windows: Vec<WindowRow>,
}

/// Builds a list of `numbers` random North American numbers and `windows`
/// prearranged windows (around [`NOW`]) at [`FACILITY`], from `seed`.
pub fn synthetic_list(numbers: usize, windows: usize, seed: u64) -> Synthetic {
    let keys = synthetic_numbers(numbers, seed);
    let rows: Vec<RegistryRow> = keys
        .iter()
        .map(|&k| RegistryRow {
            target: Target::Number(E164::from_nanp_national(k)),
            category: Category::Attorney,
            facilities: None,
            valid_from: None,
            valid_until: None,
        })
        .collect();
    let mut state = seed ^ 0x5eed_0f0a_11de;
    let window_rows: Vec<WindowRow> = (0..windows)
        .map(|i| {
            let start = NOW - 3600 + (splitmix(&mut state) % 7200) as i64;
            WindowRow {
                facility: FACILITY.into(),
                inmate: format!("A{:07}", i % 50_000),
                number: E164::from_nanp_national(random_national(&mut state)),
                start,
                end: start + 1800,
            }
        })
        .collect();
    let list = build(
        policy(),
        vec![(FACILITY.to_string(), policy())],
        &rows,
        &window_rows,
    )
    .expect("the synthetic list is valid");
    Synthetic {
        list,
        numbers: keys,
        windows: window_rows,
    }
}

/// The throwaway signing key of the benchmarks (fixed seed: never trust it).
pub fn throwaway_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// A trust store holding only [`throwaway_key`].
pub fn throwaway_trust() -> TrustStore {
    TrustStore::new(vec![throwaway_key().verifying_key()], 1).expect("one key, threshold 1")
}

/// Seals `list` as bundle `sequence` with [`throwaway_key`], issued a
/// day before [`NOW`] and valid for a year.
pub fn sign_list(list: &CompiledList, sequence: u64) -> Vec<u8> {
    let info = BundleInfo::new(sequence, NOW - 86_400, NOW + 365 * 86_400);
    seal(list, &info, &[throwaway_key()]).expect("one key and a small header always seal")
}

/// One synthetic call: facility, inmate and dialed string owned, so a
/// [`Call`] can borrow them.
#[derive(Clone, Debug)]
pub struct SampleCall {
    /// Inmate id (empty except for prearranged calls).
    pub inmate: String,
    /// The number as dialed.
    pub dialed: String,
    /// What it is: `"hit"`, `"miss"` or `"window"`.
    pub kind: &'static str,
}

impl SampleCall {
    /// The call at [`FACILITY`] and `at`.
    pub fn call(&self, at: i64) -> Call<'_> {
        Call {
            facility: FACILITY,
            inmate: &self.inmate,
            dialed: &self.dialed,
            at,
            started: None,
        }
    }
}

/// `national` (10 digits) written in one of several everyday formats.
pub fn format_dialed(national: u64, style: u64) -> String {
    let s = national.to_string();
    let (a, b, c) = (&s[..3], &s[3..6], &s[6..]);
    match style % 6 {
        0 => format!("({a}) {b}-{c}"),
        1 => format!("9 1 {a} {b} {c}"),
        2 => format!("+1-{a}-{b}-{c}"),
        3 => format!("{a}.{b}.{c}"),
        4 => format!("1{a}{b}{c}"),
        _ => format!("9-{a}-{b}-{c}"),
    }
}

/// `count` calls against `synthetic`: 45% registered, 45% not on the list,
/// 10% prearranged windows (when the list has any), in varied formats.
pub fn sample_calls(synthetic: &Synthetic, count: usize, seed: u64) -> Vec<SampleCall> {
    let mut state = seed;
    let keys = &synthetic.numbers;
    (0..count)
        .map(|_| {
            let r = splitmix(&mut state);
            let style = r >> 8;
            match r % 20 {
                0 | 1 if !synthetic.windows.is_empty() => {
                    let w = &synthetic.windows[(r >> 20) as usize % synthetic.windows.len()];
                    let national = w.number.nanp_national().expect("windows are NANP");
                    SampleCall {
                        inmate: w.inmate.clone(),
                        dialed: format_dialed(national, style),
                        kind: "window",
                    }
                }
                x if x < 11 && !keys.is_empty() => SampleCall {
                    inmate: String::new(),
                    dialed: format_dialed(keys[(r >> 20) as usize % keys.len()], style),
                    kind: "hit",
                },
                _ => {
                    let national = loop {
                        let n = random_national(&mut state);
                        if keys.binary_search(&n).is_err() {
                            break n;
                        }
                    };
                    SampleCall {
                        inmate: String::new(),
                        dialed: format_dialed(national, style),
                        kind: "miss",
                    }
                }
            }
        })
        .collect()
}

/// The samples of `calls` of one kind (`samples[i]` was measured on
/// `calls[i]`).
pub fn samples_of_kind(samples: &[u64], calls: &[SampleCall], kind: &str) -> Vec<u64> {
    samples
        .iter()
        .zip(calls)
        .filter(|(_, c)| c.kind == kind)
        .map(|(&ns, _)| ns)
        .collect()
}

/// The median cost of two back-to-back clock reads, in ns: what each
/// timed sample is corrected by.
pub fn timer_overhead() -> u64 {
    let mut v: Vec<u64> = (0..20_001)
        .map(|_| {
            let t = std::time::Instant::now();
            std::hint::black_box(());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}
