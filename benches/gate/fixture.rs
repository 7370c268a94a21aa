//! The list every gate benchmark decides against, and its calls: built
//! from fixed seeds so two runs count the same instructions.

use std::collections::HashSet;

use privcall::fixtures::{self, random_national};
use privcall_core::list::{build, CompiledList, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize_prefix, E164};
use privcall_core::types::{Call, Category, Reason};

/// Numbers in the registry every benchmark decides against.
pub const NUMBERS: usize = 100_000;
/// Prearranged windows in the list (one of them is the benchmarks').
pub const WINDOWS: usize = 1_000;
/// 2026-12-01T09:00:00Z: when the calls are placed.
pub const NOW: i64 = 1_796_115_600;
/// The benchmarks' own window: 08:50 to 09:30 on that day.
pub const WINDOW_START: i64 = NOW - 600;
pub const WINDOW_END: i64 = NOW + 1_800;
/// The calls decided.
#[derive(Clone, Copy)]
pub enum Scenario {
    /// A registered number, dialed with outside line, trunk and punctuation.
    Registered,
    /// The same number dialed already in E.164 (`+15735550142`), as an SBC
    /// that normalized it upstream passes it.
    RegisteredE164,
    /// A number that is not registered (its neighbour is).
    Unregistered,
    /// A number inside a registered prefix block.
    PrefixBlock,
    /// Inside a prearranged window.
    WindowInside,
    /// Set up just after the window ended (not privileged).
    WindowAfterEnd,
    /// Re-asked just after the end of the window the call was set up in.
    WindowOverrun,
}

/// `n` distinct random North American national numbers, sorted.
fn numbers(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut set = HashSet::with_capacity(n);
    while set.len() < n {
        set.insert(random_national(&mut state));
    }
    let mut v: Vec<u64> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// A national number dialed the way an inmate might: outside line, trunk,
/// parentheses, spaces and dashes.
fn punctuated(national: u64) -> String {
    let s = national.to_string();
    format!("9-1 ({}) {}-{}", &s[..3], &s[3..6], &s[6..])
}

/// The list every benchmark decides against, and the calls it decides.
pub struct Fixture {
    /// The compiled list.
    pub list: CompiledList,
    registered: String,
    registered_e164: String,
    unregistered: String,
    prefix_block: String,
    window_number: String,
}

impl Fixture {
    /// Builds the list (deterministic).
    pub fn new() -> Fixture {
        let keys = numbers(NUMBERS, 42);
        let plan = fixtures::dial_plan();
        let block = normalize_prefix("+1 314 526*", &plan).expect("prefix block");
        let in_block = |national: u64| block.matches(E164::from_nanp_national(national));
        let keys: Vec<u64> = keys.into_iter().filter(|&k| !in_block(k)).collect();
        let set: HashSet<u64> = keys.iter().copied().collect();
        let mut registry: Vec<RegistryRow> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| RegistryRow {
                target: Target::Number(E164::from_nanp_national(k)),
                category: Category::ALL[i % Category::ALL.len()],
                facilities: None,
                valid_from: None,
                valid_until: None,
            })
            .collect();
        registry.push(RegistryRow {
            target: Target::Prefix(block),
            category: Category::PublicDefender,
            facilities: Some(vec!["JCCC".into()]),
            valid_from: None,
            valid_until: None,
        });
        let registered = keys[keys.len() / 2];
        let unregistered = (registered + 1..)
            .find(|n| !set.contains(n))
            .expect("a free neighbour");
        let prefix_block = 3_145_260_199; // (314) 526-0199
        assert!(in_block(prefix_block));
        // The benchmarks' window is one of many: others for the same
        // inmate, others for the same number, others elsewhere.
        let window_national = numbers(1, 7)[0];
        assert!(!set.contains(&window_national));
        let mut windows = vec![WindowRow {
            facility: "JCCC".into(),
            inmate: "A1001".into(),
            number: E164::from_nanp_national(window_national),
            start: WINDOW_START,
            end: WINDOW_END,
        }];
        let others = numbers(WINDOWS, 9);
        for (i, &n) in others.iter().enumerate().take(WINDOWS - 1) {
            let start = NOW - 86_400 + 3_600 * (i as i64 % 48);
            windows.push(WindowRow {
                facility: ["JCCC", "ERDCC", "WERDCC"][i % 3].into(),
                inmate: format!("A{}", 1000 + i % 97),
                number: E164::from_nanp_national(n),
                start,
                end: start + 1_800,
            });
        }
        let facilities = ["ERDCC", "JCCC", "WERDCC"]
            .iter()
            .map(|c| (c.to_string(), fixtures::policy()))
            .collect();
        let list = build(fixtures::policy(), facilities, &registry, &windows).expect("list");
        Fixture {
            list,
            registered: punctuated(registered),
            registered_e164: format!("+1{registered}"),
            unregistered: punctuated(unregistered),
            prefix_block: punctuated(prefix_block),
            window_number: punctuated(window_national),
        }
    }

    /// The call of a scenario and the reason it must be decided with.
    pub fn call(&self, scenario: Scenario) -> (Call<'_>, Reason) {
        let base = |dialed| Call {
            facility: "JCCC",
            inmate: "A1001",
            dialed,
            at: NOW,
            started: None,
        };
        match scenario {
            Scenario::Registered => (base(&self.registered), Reason::Registered),
            Scenario::RegisteredE164 => (base(&self.registered_e164), Reason::Registered),
            Scenario::Unregistered => (base(&self.unregistered), Reason::NotPrivileged),
            Scenario::PrefixBlock => (base(&self.prefix_block), Reason::Registered),
            Scenario::WindowInside => (base(&self.window_number), Reason::Prearranged),
            Scenario::WindowAfterEnd => (
                Call {
                    at: WINDOW_END,
                    ..base(&self.window_number)
                },
                Reason::NotPrivileged,
            ),
            Scenario::WindowOverrun => (
                Call {
                    at: WINDOW_END,
                    started: Some(WINDOW_END - 60),
                    ..base(&self.window_number)
                },
                Reason::PrearrangedOverrun,
            ),
        }
    }
}
