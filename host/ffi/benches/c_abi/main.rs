//! One decision through the C ABI beside `Engine::decide`, in the same
//! run: the claim is that a PBX module calling `privcall_decide` pays at
//! most 1.2× (p50) what a Rust caller of [`Engine::decide`] pays.
//!
//! The bench builds the synthetic list `privcall bench` uses (N random
//! North American numbers, N/50 prearranged windows; N = 5,000,000),
//! signs it with the throwaway key, and writes the bundle and the public
//! key to a temporary folder. It then `dlopen`s this package's
//! `libprivcall.so` (built first by `cargo build --lib` with this bench's
//! profile: cargo does not build a cdylib for a bench of its own package)
//! and creates one engine through
//! `privcall_engine_new` (key and bundle by path, as a PBX does), and one
//! [`Engine`] directly from the same files. Both decide the same calls
//! (45 % registered, 45 % not, 10 % prearranged, in everyday formats):
//! first every call on both, checked to agree; then timed one by one, cold
//! (200,000 distinct calls, so the caches do not hold the list), the two
//! paths in alternating blocks of 1,000 whose order flips every block, so
//! the machine's noise falls on both alike. It prints p50/p99 of each
//! path, the ratio C/Rust, and a verdict against 1.2×.
//!
//! Per call the two paths do the same: the caller builds its call from
//! the same owned strings (a `PrivcallCall` of (pointer, length) pairs; a
//! [`Call`] of `&str`s) outside the timed region; the timed region is the
//! decision (`privcall_decide` filling a caller-owned `PrivcallDecision`;
//! `Engine::decide(&call, now)` returning a `Decision`). What the C ABI
//! adds is its own: checking the pointers, reading the fields as UTF-8,
//! catching panics, reading the clock (`now` is the library's to take) and
//! converting the decision to the C struct.
//!
//! ```sh
//! cargo bench -p privcall-ffi --bench c_abi
//! PRIVCALL_BENCH_SIZES=1000000,5000000 cargo bench -p privcall-ffi --bench c_abi
//! ```
//!
//! Under `cargo test --benches` (no `--bench` argument: CI's quick mode)
//! it runs once on 10k numbers and 2,000 calls, checks that the paths
//! agree, and asserts no time.

use std::hint::black_box;

use std::time::Instant;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePublicKey;
use host::feed::TrustFiles;
use host::fixtures::{
    bench_sizes, sample_calls, samples_of_kind, sign_list, synthetic_list, throwaway_key,
    timer_overhead, SampleCall, NOW,
};
use host::{Decision, Engine, EngineConfig, Reason, UpdateSource};

/// The C types, compiled from the library's own source so their layout
/// cannot drift from what `libprivcall.so` was built with.
#[allow(
    dead_code,
    reason = "the bench uses a few of the ABI's types and result codes"
)]
#[path = "../../src/types.rs"]
mod types;

use types::{PrivcallDecision, PRIVCALL_OK, PRIVCALL_REASON_FAIL_SAFE};

mod library;

use library::{c_call, empty_decision, library_path, CAbi, CEngine};

/// The ratio of medians (C over Rust) the C ABI must stay within.
const LIMIT: f64 = 1.2;
/// Calls timed on each path in the full run: every one distinct.
const CALLS: usize = 200_000;
/// Calls in quick mode (`cargo test --benches`).
const QUICK_CALLS: usize = 2_000;
/// Calls per block: each path decides a block in turn.
const BLOCK: usize = 1_000;

/// Panics unless the C decision says what the Rust one says.
fn assert_agree(c: &PrivcallDecision, r: &Decision, call: &SampleCall) {
    let reason = Reason::ALL
        .iter()
        .position(|&x| x == r.reason)
        .map_or(PRIVCALL_REASON_FAIL_SAFE, |i| i as i32);
    let normalized: String = c
        .normalized
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as u8 as char)
        .collect();
    let expected = r
        .normalized
        .map(|n| n.text().to_string())
        .unwrap_or_default();
    let same = c.record == r.record
        && c.monitor == r.monitor
        && c.redact_metadata == r.redact_metadata
        && c.reason == reason
        && c.has_private_until == r.private_until.is_some()
        && c.private_until == r.private_until.map_or(0, |t| t.0)
        && c.list_sequence == r.list.as_ref().map_or(0, |l| l.sequence)
        && normalized == expected;
    assert!(
        same,
        "the C ABI and Engine::decide disagree on a {} call",
        call.kind
    );
    assert!(
        r.reason != Reason::FailSafe,
        "a fail-safe answer: the list is not live"
    );
    assert!(
        call.kind != "hit" || !r.record,
        "a registered synthetic number came out record"
    );
}

/// Latency percentiles of one path, in nanoseconds.
struct Latency {
    /// Median.
    p50: u64,
    /// 99th percentile.
    p99: u64,
}

impl Latency {
    /// The percentiles of `samples` (at least one).
    fn of(mut samples: Vec<u64>) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Latency {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

/// The median cost of the clock read `privcall_decide` makes for `now`
/// (`OffsetDateTime::now_utc`, as the library does), for reading the gap.
fn now_cost(overhead: u64) -> u64 {
    let mut v: Vec<u64> = (0..20_001)
        .map(|_| {
            let t = Instant::now();
            black_box(host::fixtures::now());
            (t.elapsed().as_nanos() as u64).saturating_sub(overhead)
        })
        .collect();
    v.sort_unstable();
    v[v.len() / 2]
}

/// Both paths over `calls`, in alternating blocks: the C samples and the
/// Rust samples, sample `i` of each being `calls[i]`'s.
fn interleaved(
    c: &CEngine<'_>,
    engine: &Engine,
    now: i64,
    calls: &[SampleCall],
    overhead: u64,
) -> (Vec<u64>, Vec<u64>) {
    let mut c_ns = Vec::with_capacity(calls.len());
    let mut rust_ns = Vec::with_capacity(calls.len());
    let mut out = empty_decision();
    for (i, block) in calls.chunks(BLOCK).enumerate() {
        let c_block = |c_ns: &mut Vec<u64>, out: &mut PrivcallDecision| {
            for s in block {
                let call = c_call(&s.call(NOW));
                let t = Instant::now();
                let rc = c.decide(black_box(&call), out);
                black_box(&*out);
                c_ns.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
                debug_assert_eq!(rc, PRIVCALL_OK);
            }
        };
        let rust_block = |rust_ns: &mut Vec<u64>| {
            for s in block {
                let call = s.call(NOW);
                let t = Instant::now();
                black_box(engine.decide(black_box(&call), now));
                rust_ns.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
            }
        };
        if i % 2 == 0 {
            c_block(&mut c_ns, &mut out);
            rust_block(&mut rust_ns);
        } else {
            rust_block(&mut rust_ns);
            c_block(&mut c_ns, &mut out);
        }
    }
    (c_ns, rust_ns)
}

/// Builds, signs and writes a list of `n` numbers, loads it on both
/// paths, checks they agree and times them; prints the figures.
fn run(abi: &CAbi, n: usize, quick: bool) {
    let started = Instant::now();
    let synthetic = synthetic_list(n, n / 50, 42);
    let bundle = sign_list(&synthetic.list, 1);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let key_path = dir.path().join("authority.pub");
    let bundle_path = dir.path().join("list.bundle");
    let pem = throwaway_key()
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a PEM public key");
    std::fs::write(&key_path, pem).expect("write the public key");
    std::fs::write(&bundle_path, &bundle).expect("write the bundle");
    drop(bundle);

    // The C engine: key and bundle by path, as a PBX module does.
    let c = abi.engine_new(&key_path, &bundle_path);
    // The Rust engine, from the same files.
    let now = host::fixtures::now();
    let trust = TrustFiles {
        keys: vec![key_path.clone()],
        threshold: 1,
        identities: Vec::new(),
        inmate_keys: Vec::new(),
    }
    .load()
    .expect("the trust key");
    let engine = Engine::new(EngineConfig::new(trust), now).expect("an engine");
    let bytes =
        host::feed::read_bundle_file(&bundle_path, engine.max_bundle_bytes()).expect("bundle");
    engine
        .apply(&bytes, now, UpdateSource::File)
        .expect("the bundle applies");
    drop(bytes);
    let setup_s = started.elapsed().as_secs_f64();

    let count = if quick { QUICK_CALLS } else { CALLS };
    let calls = sample_calls(&synthetic, count, 0xC0FF_EE00 ^ n as u64);
    drop(synthetic);

    // Every call on both paths, checked to agree (and the code warmed).
    let mut out = empty_decision();
    for s in &calls {
        let call = s.call(NOW);
        let rc = c.decide(&c_call(&call), &mut out);
        assert_eq!(rc, PRIVCALL_OK, "privcall_decide: {}", abi.last_error());
        assert_agree(&out, &engine.decide(&call, now), s);
    }

    let overhead = timer_overhead();
    let (c_ns, rust_ns) = interleaved(&c, &engine, now, &calls, overhead);

    let c_lat = Latency::of(c_ns.clone());
    let r_lat = Latency::of(rust_ns.clone());
    let ratio = c_lat.p50 as f64 / r_lat.p50.max(1) as f64;
    println!(
        "c_abi/{n}: {count} distinct calls each path, cold, blocks of {BLOCK} alternating \
         (setup {setup_s:.1} s; clock pair {overhead} ns taken off each sample; \
         the library's now() read costs {} ns)",
        now_cost(overhead)
    );
    println!(
        "  C ABI (privcall_decide)   p50 {:>5} ns  p99 {:>6} ns",
        c_lat.p50, c_lat.p99
    );
    println!(
        "  Rust  (Engine::decide)    p50 {:>5} ns  p99 {:>6} ns",
        r_lat.p50, r_lat.p99
    );
    for (kind, name) in [
        ("hit", "registered"),
        ("miss", "not registered"),
        ("window", "prearranged"),
    ] {
        let ck = samples_of_kind(&c_ns, &calls, kind);
        if ck.is_empty() {
            continue;
        }
        let (calls_of_kind, ck) = (ck.len(), Latency::of(ck));
        let rk = Latency::of(samples_of_kind(&rust_ns, &calls, kind));
        println!(
            "    {name:<15} ({calls_of_kind:>6} calls) p50 C {:>5} / Rust {:>5} ns ({:.2}×)",
            ck.p50,
            rk.p50,
            ck.p50 as f64 / rk.p50.max(1) as f64
        );
    }
    let p99_ratio = c_lat.p99 as f64 / r_lat.p99.max(1) as f64;
    println!("  ratio C/Rust: p50 {ratio:.3}×, p99 {p99_ratio:.3}×");
    if quick {
        println!("  quick mode ({n} numbers, {count} calls): no verdict, the paths agree");
    } else if ratio <= LIMIT {
        println!("  verdict: MET, p50 {ratio:.3}× <= {LIMIT}×");
    } else {
        println!("  verdict: NOT MET, p50 {ratio:.3}× > {LIMIT}×");
    }
}

/// Loads the library, then measures each size.
fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let abi = CAbi::load(&library_path());
    for n in bench_sizes(&[5_000_000]) {
        run(&abi, n, quick);
    }
}
