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

use std::ffi::{c_char, CString};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePublicKey;
use host::feed::TrustFiles;
use host::fixtures::{
    bench_sizes, sample_calls, samples_of_kind, sign_list, synthetic_list, throwaway_key,
    timer_overhead, SampleCall, NOW,
};
use host::{Call, Decision, Engine, EngineConfig, Reason, UpdateSource};

/// The C types, compiled from the library's own source so their layout
/// cannot drift from what `libprivcall.so` was built with.
#[allow(
    dead_code,
    reason = "the bench uses a few of the ABI's types and result codes"
)]
#[path = "../src/types.rs"]
mod types;

use types::{
    PrivcallCall, PrivcallConfig, PrivcallDecision, PRIVCALL_ABI_VERSION, PRIVCALL_OK,
    PRIVCALL_REASON_FAIL_SAFE,
};

/// The ratio of medians (C over Rust) the C ABI must stay within.
const LIMIT: f64 = 1.2;
/// Calls timed on each path in the full run: every one distinct.
const CALLS: usize = 200_000;
/// Calls in quick mode (`cargo test --benches`).
const QUICK_CALLS: usize = 2_000;
/// Calls per block: each path decides a block in turn.
const BLOCK: usize = 1_000;

/// The engine handle `privcall_engine_new` returns; opaque.
#[repr(C)]
struct EngineHandle {
    /// Never read: the type only names the pointer.
    _opaque: [u8; 0],
}

/// `privcall_abi_version`.
type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// `privcall_engine_new`.
type EngineNewFn = unsafe extern "C" fn(*const PrivcallConfig, *mut *mut EngineHandle) -> i32;
/// `privcall_engine_free`.
type EngineFreeFn = unsafe extern "C" fn(*mut EngineHandle);
/// `privcall_decide`.
type DecideFn =
    unsafe extern "C" fn(*const EngineHandle, *const PrivcallCall, *mut PrivcallDecision) -> i32;
/// `privcall_last_error`.
type LastErrorFn = unsafe extern "C" fn(*mut c_char, usize) -> usize;

/// The library's entry points the bench calls, and the library that keeps
/// them valid.
struct CAbi {
    /// `privcall_engine_new`.
    engine_new: EngineNewFn,
    /// `privcall_engine_free`.
    engine_free: EngineFreeFn,
    /// `privcall_decide`.
    decide: DecideFn,
    /// `privcall_last_error`.
    last_error: LastErrorFn,
    /// Loaded for as long as the function pointers above are used.
    _library: libloading::Library,
}

impl CAbi {
    /// Loads the library at `path` and its entry points; checks its ABI
    /// version against the types compiled in here.
    fn load(path: &Path) -> CAbi {
        #[expect(unsafe_code, reason = "dlopen runs the library's initialisers")]
        // SAFETY: the library is this workspace's own cdylib, whose
        // initialisers are Rust's (no global constructors of its own).
        let library = unsafe { libloading::Library::new(path) }
            .unwrap_or_else(|e| panic!("dlopen {}: {e}", path.display()));
        /// One symbol of `library` as a function pointer of type `T`.
        fn symbol<T: Copy>(library: &libloading::Library, name: &str) -> T {
            #[expect(unsafe_code, reason = "the symbol's type is the header's")]
            // SAFETY: `T` is the signature `include/privcall.h` declares
            // for `name` (the types come from the library's source).
            let f = unsafe { library.get::<T>(name.as_bytes()) }
                .unwrap_or_else(|e| panic!("{name} in libprivcall: {e}"));
            *f
        }
        let version: AbiVersionFn = symbol(&library, "privcall_abi_version");
        #[expect(unsafe_code, reason = "a C call")]
        // SAFETY: takes nothing, returns a constant.
        let version = unsafe { version() };
        assert_eq!(
            version, PRIVCALL_ABI_VERSION,
            "libprivcall's ABI version is not this source's: a stale build?"
        );
        CAbi {
            engine_new: symbol(&library, "privcall_engine_new"),
            engine_free: symbol(&library, "privcall_engine_free"),
            decide: symbol(&library, "privcall_decide"),
            last_error: symbol(&library, "privcall_last_error"),
            _library: library,
        }
    }

    /// This thread's last error message from the library.
    fn last_error(&self) -> String {
        let mut buf = vec![0u8; 1024];
        #[expect(unsafe_code, reason = "a C call")]
        // SAFETY: `buf` holds `buf.len()` writable bytes.
        let n = unsafe { (self.last_error)(buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.min(buf.len() - 1));
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// An engine trusting the public key at `key`, with the bundle at
    /// `bundle` applied; every other setting the library's default.
    fn engine_new(&self, key: &Path, bundle: &Path) -> CEngine<'_> {
        let key = c_path(key);
        let bundle = c_path(bundle);
        let keys = [key.as_ptr()];
        let config = PrivcallConfig {
            trust_keys: keys.as_ptr(),
            trust_key_count: 1,
            threshold: 1,
            state_dir: std::ptr::null(),
            bundle_path: bundle.as_ptr(),
            watch_dir: std::ptr::null(),
            poll_url: std::ptr::null(),
            poll_interval_ms: 0,
            instances: 0,
        };
        let mut handle = std::ptr::null_mut();
        #[expect(unsafe_code, reason = "a C call")]
        // SAFETY: `config` and the strings it points to outlive the call;
        // `handle` is writable.
        let rc = unsafe { (self.engine_new)(&config, &mut handle) };
        assert_eq!(
            rc,
            PRIVCALL_OK,
            "privcall_engine_new: {}",
            self.last_error()
        );
        CEngine { abi: self, handle }
    }
}

/// An engine made through the C ABI, freed on drop.
struct CEngine<'a> {
    /// The library it came from.
    abi: &'a CAbi,
    /// Its handle.
    handle: *mut EngineHandle,
}

impl CEngine<'_> {
    /// `privcall_decide` on `call` into `out`; its result code.
    #[inline(always)]
    fn decide(&self, call: &PrivcallCall, out: &mut PrivcallDecision) -> i32 {
        #[expect(unsafe_code, reason = "a C call")]
        // SAFETY: a live handle; `call`'s strings are borrowed from strings
        // that outlive the call; `out` is writable.
        unsafe {
            (self.abi.decide)(self.handle, call, out)
        }
    }
}

impl Drop for CEngine<'_> {
    fn drop(&mut self) {
        #[expect(unsafe_code, reason = "a C call that frees the handle")]
        // SAFETY: the handle is live and nothing else uses it after this.
        unsafe {
            (self.abi.engine_free)(self.handle)
        }
    }
}

/// `path` as a NUL-terminated C string.
fn c_path(path: &Path) -> CString {
    CString::new(path.to_str().expect("a UTF-8 temporary path")).expect("no NUL in a path")
}

/// The C ABI library to load: `PRIVCALL_LIB` if set, else this package's
/// cdylib, built now with the profile this bench was built with. Cargo
/// builds a bench's own library first only when it is linkable (an rlib),
/// and this one is a cdylib and a staticlib, so `cargo bench` alone would
/// load a stale `libprivcall.so` or none at all; building it here is a
/// no-op when it is fresh.
fn library_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PRIVCALL_LIB") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    // target/<profile dir>/deps/c_abi-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let profile = match profile_dir {
        "debug" => "dev",
        other => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = std::process::Command::new(&cargo)
        .args(["build", "--lib", "--message-format=json-render-diagnostics"])
        .args(["--manifest-path", manifest, "--profile", profile])
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {} to build libprivcall: {e}",
                cargo.to_string_lossy()
            )
        });
    assert!(
        output.status.success(),
        "`cargo build -p privcall-ffi --lib --profile {profile}` failed ({}): the C ABI \
         library cannot be built, so the bench cannot load it",
        output.status
    );
    let name = libloading::library_filename("privcall");
    let built = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "privcall")
        .filter(|m| {
            m["package_id"]
                .as_str()
                .is_some_and(|id| id.contains("privcall-ffi"))
        })
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .collect::<Vec<_>>()
        })
        .find(|f| f.file_name() == Some(name.as_os_str()));
    match built {
        Some(path) if path.is_file() => path,
        _ => panic!(
            "the C ABI library ({}) is absent: `cargo build -p privcall-ffi --lib \
             --profile {profile}` named no such file; set PRIVCALL_LIB to its path",
            name.to_string_lossy()
        ),
    }
}

/// `call` as the C ABI takes it: (pointer, length) pairs borrowed from
/// `call`'s strings.
fn c_call(call: &Call<'_>) -> PrivcallCall {
    PrivcallCall {
        facility: call.facility.as_ptr().cast(),
        facility_len: call.facility.len(),
        inmate: call.inmate.as_ptr().cast(),
        inmate_len: call.inmate.len(),
        dialed: call.dialed.as_ptr().cast(),
        dialed_len: call.dialed.len(),
        at: call.at,
        started: call.started.unwrap_or(0),
        has_started: call.started.is_some(),
    }
}

/// A decision struct for the library to fill.
fn empty_decision() -> PrivcallDecision {
    PrivcallDecision {
        record: false,
        monitor: false,
        redact_metadata: false,
        stale: false,
        default_policy: false,
        has_private_until: false,
        reason: -1,
        reason_name: std::ptr::null(),
        category: std::ptr::null(),
        notice: std::ptr::null(),
        on_expiry: std::ptr::null(),
        private_until: 0,
        list_sequence: 0,
        normalized: [0; types::PRIVCALL_NORMALIZED_BYTES],
    }
}

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
