//! Counters for `GET /metrics` (Prometheus text format 0.0.4).
//!
//! Plain relaxed atomics: the decision path never takes a lock to count,
//! and its counters are sharded per thread (each shard on its own cache
//! lines) so that threads deciding in parallel do not fight over one line.
//! Labels are fixed enums (reason, refusal kind), never a number, inmate or
//! facility code, so the metrics cannot leak who called whom.

#![expect(
    clippy::indexing_slicing,
    reason = "each counter array is sized by the enum or shard count whose index selects it"
)]

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crate::decision::{Decision, Reason};
use crate::runtime::update::RefusalKind;

/// Upper bounds of the latency histogram's buckets, in nanoseconds
/// (integers: every decision is sorted into one).
const LATENCY_BOUNDS: [u64; 12] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The counters one thread bumps on every decision.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    decisions: [AtomicU64; Reason::ALL.len()],
    default_policy: AtomicU64,
    stale: AtomicU64,
    latency: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    latency_sum_ns: AtomicU64,
}

const SHARDS: usize = 32;

/// A small number for this thread: threads get consecutive numbers as they
/// first ask. Spreads threads over metric shards and guest instances.
pub(crate) fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static INDEX: usize = NEXT.fetch_add(1, Relaxed));
    INDEX.with(|i| *i)
}

/// One decision in this many, per thread, is timed for the latency
/// histogram and counted that many times there: reading the clock inside
/// a decision is a sizeable part of its cost in a VM (the kernel's clock
/// read waits for every load in flight), and a sample of one in eight
/// keeps the histogram's shape. `privcall_decisions_total` still counts
/// every decision.
pub const LATENCY_SAMPLE: u64 = 8;

/// Whether this thread's next decision is one to time
/// ([`LATENCY_SAMPLE`]): the first, then every eighth.
pub fn time_this_decision() -> bool {
    thread_local!(static DECISIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) });
    DECISIONS.with(|n| {
        let i = n.get();
        n.set(i.wrapping_add(1));
        i % LATENCY_SAMPLE == 0
    })
}

/// Shards owned by one thread each: the first threads to decide.
const OWNED_SHARDS: usize = SHARDS / 2;

/// This thread's shard, and whether no other thread writes it: the first
/// [`OWNED_SHARDS`] threads each own one; later threads (pools that start
/// new threads over time) spread over the other half and share them.
fn shard_index() -> (usize, bool) {
    match thread_index() {
        t if t < OWNED_SHARDS => (t, true),
        t => (OWNED_SHARDS + t % (SHARDS - OWNED_SHARDS), false),
    }
}

/// Adds `n` to a counter. A counter only this thread writes needs no
/// atomic read-modify-write: a plain load and store cannot lose a count,
/// and a locked instruction costs tens of cycles, several per decision.
/// Readers see every count as soon as the store is visible.
#[inline]
fn add(counter: &AtomicU64, n: u64, exclusive: bool) {
    if exclusive {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        counter.fetch_add(n, Relaxed);
    }
}

/// The host's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    shards: [Shard; SHARDS],
    guest_failures: AtomicU64,
    swaps: AtomicU64,
    refused: [AtomicU64; RefusalKind::ALL.len()],
}

impl Metrics {
    /// Counts one decision, and, for a timed one
    /// ([`time_this_decision`]), how long it took.
    pub fn decision(&self, d: &Decision, took: Option<Duration>) {
        let (index, own) = shard_index();
        let shard = &self.shards[index];
        add(&shard.decisions[d.reason.index()], 1, own);
        if d.default_policy {
            add(&shard.default_policy, 1, own);
        }
        if d.list.as_ref().is_some_and(|l| l.stale) {
            add(&shard.stale, 1, own);
        }
        let Some(took) = took else {
            return;
        };
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let b = LATENCY_BOUNDS
            .iter()
            .position(|&bound| ns <= bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        // Standing for the decisions between samples.
        add(&shard.latency[b], LATENCY_SAMPLE, own);
        add(
            &shard.latency_sum_ns,
            ns.saturating_mul(LATENCY_SAMPLE),
            own,
        );
    }

    /// A counter summed over the shards.
    fn sum(&self, counter: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|s| counter(s).load(Relaxed)).sum()
    }

    /// Counts a guest trap, overrun or memory fault.
    pub fn guest_failure(&self) {
        self.guest_failures.fetch_add(1, Relaxed);
    }

    /// Counts a list swap.
    pub fn swap(&self) {
        self.swaps.fetch_add(1, Relaxed);
    }

    /// Counts a refused update of the given kind.
    pub fn refused(&self, kind: RefusalKind) {
        self.refused[kind.index()].fetch_add(1, Relaxed);
    }

    /// Decisions answered so far, for every reason.
    pub fn decisions_total(&self) -> u64 {
        (0..Reason::ALL.len())
            .map(|i| self.sum(|s| &s.decisions[i]))
            .sum()
    }

    /// Guest failures so far.
    pub fn guest_failures(&self) -> u64 {
        self.guest_failures.load(Relaxed)
    }

    /// Swaps so far.
    pub fn swaps(&self) -> u64 {
        self.swaps.load(Relaxed)
    }

    /// Refused updates of one kind so far.
    pub fn refused_count(&self, kind: RefusalKind) -> u64 {
        self.refused[kind.index()].load(Relaxed)
    }

    /// The Prometheus text. `list` is (sequence, age in seconds, stale) of
    /// the live list, if any; `state_alarm`, whether the state folder was
    /// found damaged or tampered with at start and no update has gone live
    /// since.
    pub fn render(&self, list: Option<(u64, i64, bool)>, state_alarm: bool) -> String {
        let mut o = Exposition::default();
        self.render_decisions(&mut o);
        self.render_counters(&mut o);
        self.render_refusals(&mut o);
        self.render_latency(&mut o);
        render_list(&mut o, list);
        o.family(
            "privcall_state_alarm",
            "gauge",
            "1 while the state folder was found damaged or tampered with at start and no update has gone live since.",
        );
        o.sample(format_args!("privcall_state_alarm"), u8::from(state_alarm));
        o.0
    }

    /// Decisions by reason.
    fn render_decisions(&self, o: &mut Exposition) {
        o.family(
            "privcall_decisions_total",
            "counter",
            "Decisions answered, by reason.",
        );
        for reason in Reason::ALL {
            o.sample(
                format_args!("privcall_decisions_total{{reason=\"{}\"}}", reason.name()),
                self.sum(|s| &s.decisions[reason.index()]),
            );
        }
    }

    /// The counters without labels.
    fn render_counters(&self, o: &mut Exposition) {
        let counters = [
            (
                "privcall_default_policy_decisions_total",
                "Decisions for facilities without a policy table of their own (a misconfigured PBX?).",
                self.sum(|s| &s.default_policy),
            ),
            (
                "privcall_stale_decisions_total",
                "Decisions made with a list past its expiry.",
                self.sum(|s| &s.stale),
            ),
            (
                "privcall_guest_failures_total",
                "Guest traps, deadline overruns and memory faults (each answered in the facility's fail mode).",
                self.guest_failures.load(Relaxed),
            ),
            (
                "privcall_swaps_total",
                "Lists swapped in.",
                self.swaps.load(Relaxed),
            ),
        ];
        for (name, help, count) in counters {
            o.family(name, "counter", help);
            o.sample(format_args!("{name}"), count);
        }
    }

    /// Refused updates by kind.
    fn render_refusals(&self, o: &mut Exposition) {
        o.family(
            "privcall_refused_updates_total",
            "counter",
            "List updates refused, by why.",
        );
        for kind in RefusalKind::ALL {
            o.sample(
                format_args!("privcall_refused_updates_total{{kind=\"{kind}\"}}"),
                self.refused[kind.index()].load(Relaxed),
            );
        }
    }

    /// The latency histogram, buckets cumulative and in seconds.
    fn render_latency(&self, o: &mut Exposition) {
        o.family(
            "privcall_decision_seconds",
            "histogram",
            &format!("Time to answer one decision (one in {LATENCY_SAMPLE} per thread is timed and counted {LATENCY_SAMPLE} times)."),
        );
        let mut cumulative = 0;
        for (i, &bound) in LATENCY_BOUNDS.iter().enumerate() {
            cumulative += self.sum(|s| &s.latency[i]);
            // In seconds, as Prometheus names it: 1000 -> 0.000001.
            let bound = bound as f64 / 1e9;
            o.sample(
                format_args!("privcall_decision_seconds_bucket{{le=\"{bound}\"}}"),
                cumulative,
            );
        }
        cumulative += self.sum(|s| &s.latency[LATENCY_BOUNDS.len()]);
        o.sample(
            format_args!("privcall_decision_seconds_bucket{{le=\"+Inf\"}}"),
            cumulative,
        );
        o.sample(
            format_args!("privcall_decision_seconds_sum"),
            self.sum(|s| &s.latency_sum_ns) as f64 / 1e9,
        );
        o.sample(format_args!("privcall_decision_seconds_count"), cumulative);
    }
}

/// The live list's gauges: loaded, and its sequence, age and staleness.
fn render_list(o: &mut Exposition, list: Option<(u64, i64, bool)>) {
    o.family(
        "privcall_list_loaded",
        "gauge",
        "Whether a list is live (0: every call gets the fail mode).",
    );
    o.sample(
        format_args!("privcall_list_loaded"),
        u8::from(list.is_some()),
    );
    let Some((sequence, age, stale)) = list else {
        return;
    };
    o.family(
        "privcall_list_sequence",
        "gauge",
        "Sequence number of the live list.",
    );
    o.sample(format_args!("privcall_list_sequence"), sequence);
    o.family(
        "privcall_list_age_seconds",
        "gauge",
        "Seconds since the live list was issued.",
    );
    o.sample(format_args!("privcall_list_age_seconds"), age);
    o.family(
        "privcall_list_stale",
        "gauge",
        "Whether the live list is past its expiry (alarm).",
    );
    o.sample(format_args!("privcall_list_stale"), u8::from(stale));
}

/// Prometheus text being written: families (`# HELP`, `# TYPE`) and their
/// samples.
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    /// Starts a metric family.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    /// One sample: the series (name and labels) and its value.
    fn sample(&mut self, series: std::fmt::Arguments<'_>, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{series} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use privcall_core::types::FailMode;

    /// Counts from many threads at once are exact: threads that own a
    /// shard and the threads beyond them, which share one.
    #[test]
    fn counts_from_many_threads_are_exact() {
        let m = std::sync::Arc::new(Metrics::default());
        let d = Decision::fail_safe(FailMode::DoNotRecord, None);
        let threads: Vec<_> = (0..3 * SHARDS)
            .map(|_| {
                let (m, d) = (std::sync::Arc::clone(&m), d.clone());
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        m.decision(&d, Some(Duration::from_nanos(500)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.decisions_total(), 3 * SHARDS as u64 * 2_000);
        let text = m.render(None, false);
        let line = format!(
            "privcall_decision_seconds_bucket{{le=\"0.000001\"}} {}",
            3 * SHARDS as u64 * 2_000 * LATENCY_SAMPLE
        );
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }

    /// A thread times its first decision, then every `LATENCY_SAMPLE`th.
    #[test]
    fn one_decision_in_eight_is_timed() {
        std::thread::spawn(|| {
            let timed: Vec<bool> = (0..2 * LATENCY_SAMPLE + 1)
                .map(|_| time_this_decision())
                .collect();
            let at: Vec<usize> = (0..timed.len()).filter(|&i| timed[i]).collect();
            assert_eq!(at, [0, 8, 16]);
        })
        .join()
        .unwrap();
    }

    /// Each decision lands in the first bucket its time fits, and the
    /// bounds are written in seconds.
    #[test]
    fn latency_buckets_are_cumulative_and_in_seconds() {
        let m = Metrics::default();
        let d = Decision::fail_safe(FailMode::DoNotRecord, None);
        for ns in [1_000, 1_001, 2_500, 7_000_000_000] {
            m.decision(&d, Some(Duration::from_nanos(ns)));
        }
        // Decisions that were not timed count, but not in the histogram.
        m.decision(&d, None);
        assert_eq!(m.decisions_total(), 5);
        let text = m.render(None, false);
        let s = LATENCY_SAMPLE;
        for line in [
            format!("privcall_decision_seconds_bucket{{le=\"0.000001\"}} {}", s),
            format!(
                "privcall_decision_seconds_bucket{{le=\"0.0000025\"}} {}",
                3 * s
            ),
            format!("privcall_decision_seconds_bucket{{le=\"0.1\"}} {}", 3 * s),
            format!("privcall_decision_seconds_bucket{{le=\"+Inf\"}} {}", 4 * s),
            format!("privcall_decision_seconds_count {}", 4 * s),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
