//! Shared fixtures: the sample lists compiled and signed in-process.

use std::path::{Path, PathBuf};

use privcall::fixtures::parse_instant;
use privcall::guest::GuestRuntime;
use privcall::guest::ListDecider;
use privcall::text::Round;
use privcall::Decision;
use privcall::VerifiedList;
use privcall::{compile, Sources};
use privcall::{seal, BundleInfo, TrustStore};
use privcall_core::decide::Decider;
use privcall_core::list::CompiledList;
use privcall_core::types::Call;

/// The repository's examples folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Seconds since the epoch for an RFC 3339 time.
pub fn t(s: &str) -> i64 {
    parse_instant(s, Round::Down).unwrap()
}

/// A temp dir with a fresh key pair and a signed bundle of some sources.
pub struct Signed {
    /// Holds the key and bundle files until the fixture is dropped.
    pub _dir: tempfile::TempDir,
    pub sources: Option<tempfile::TempDir>,
    pub key: PathBuf,
    pub public: PathBuf,
    pub bytes: Vec<u8>,
    pub list: CompiledList,
}

impl Signed {
    pub fn trust(&self) -> TrustStore {
        TrustStore::from_files(std::slice::from_ref(&self.public), 1).unwrap()
    }

    /// The list loaded into a fresh wasm guest instance.
    pub fn wasm(&self) -> ListDecider {
        let list = VerifiedList::open(&self.bytes, &self.trust()).unwrap();
        ListDecider::new(&GuestRuntime::builtin().unwrap(), list).unwrap()
    }

    /// The same list decided natively.
    pub fn native(&self) -> Decider {
        Decider::new(self.list.clone())
    }
}

/// Compiles and signs the repository's sample lists.
pub fn samples() -> Signed {
    let ex = examples();
    sign_sources(
        &ex.join("registry.csv"),
        Some(&ex.join("prearranged.csv")),
        &ex.join("policy.toml"),
        1,
    )
}

/// Compiles and signs sources given as text.
pub fn from_text(registry: &str, prearranged: &str, policy: &str) -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("registry.csv");
    let p = dir.path().join("prearranged.csv");
    let pol = dir.path().join("policy.toml");
    std::fs::write(&r, registry).unwrap();
    std::fs::write(&p, prearranged).unwrap();
    std::fs::write(&pol, policy).unwrap();
    let mut s = sign_sources(&r, Some(&p), &pol, 1);
    s.sources = Some(dir);
    s
}

pub fn sign_sources(
    registry: &Path,
    prearranged: Option<&Path>,
    policy: &Path,
    sequence: u64,
) -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let (key, public, _) = privcall::files::keygen(&dir.path().join("authority")).unwrap();
    let compiled = compile(&Sources {
        registry: registry.to_path_buf(),
        prearranged: prearranged.map(Path::to_path_buf),
        policy: policy.to_path_buf(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let signing = privcall::files::read_signing_key(&key).unwrap();
    let info = BundleInfo::new(
        sequence,
        t("2026-01-01T00:00:00Z"),
        t("2099-01-01T00:00:00Z"),
    );
    let bytes = seal(&compiled.list, &info, &[signing]).unwrap();
    Signed {
        _dir: dir,
        sources: None,
        key,
        public,
        bytes,
        list: compiled.list,
    }
}

/// A call at `at` (RFC 3339).
pub fn call<'a>(facility: &'a str, inmate: &'a str, dialed: &'a str, at: &str) -> Call<'a> {
    Call {
        facility,
        inmate,
        dialed,
        at: t(at),
        started: None,
    }
}

/// Decides through the wasm guest.
pub fn wasm_decide(d: &mut ListDecider, c: &Call<'_>) -> Decision {
    d.decide(c, t("2026-06-01T00:00:00Z"))
}

/// The test edge's key files: its identity and recipient, and an inmate
/// key, made once per test process.
pub struct EdgeFiles {
    pub identity: PathBuf,
    pub recipient: PathBuf,
    pub inmate_key: PathBuf,
}

/// The daemon tests' edge: their bundles are encrypted to it, with inmate
/// ids hashed, and their daemons run with its `--identity` and
/// `--inmate-key`.
pub fn edge_files() -> &'static EdgeFiles {
    static FILES: std::sync::OnceLock<EdgeFiles> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("edge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (identity, recipient, _) = privcall::edge::keygen_recipient(&dir.join("edge")).unwrap();
        let (inmate_key, _) = privcall::edge::keygen_inmate(&dir.join("fleet")).unwrap();
        EdgeFiles {
            identity,
            recipient,
            inmate_key,
        }
    })
}

/// Runs `privcall compile` on the sample lists with `key`, `sequence` and a
/// far expiry, encrypted to [`edge_files`] with inmate ids hashed, writing
/// `out`; panics with stderr if it fails.
pub fn cli_compile_samples_for_edge(key: &Path, sequence: u64, out: &Path) {
    let edge = edge_files();
    compile_samples(
        key,
        sequence,
        out,
        &[
            "--recipient",
            edge.recipient.to_str().unwrap(),
            "--inmate-key",
            edge.inmate_key.to_str().unwrap(),
        ],
    );
}

/// Runs `privcall compile` on the sample lists with `key`, `sequence` and a
/// far expiry, writing `out`; panics with stderr if it fails.
pub fn cli_compile_samples(key: &Path, sequence: u64, out: &Path) {
    compile_samples(key, sequence, out, &[]);
}

fn compile_samples(key: &Path, sequence: u64, out: &Path, extra: &[&str]) {
    let ex = examples();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_privcall"))
        .arg("compile")
        .args(["--registry", &path(&ex.join("registry.csv"))])
        .args(["--prearranged", &path(&ex.join("prearranged.csv"))])
        .args(["--policy", &path(&ex.join("policy.toml"))])
        .args(["--key", &path(key)])
        .args(["--sequence", &sequence.to_string()])
        .args(["--expires", "2099-01-01T00:00:00Z"])
        .args(["--out", &path(out)])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "compile: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the `privcall` binary.
pub fn privcall(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_privcall"))
        .args(args)
        .output()
        .expect("running privcall")
}

/// Runs `privcall`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = privcall(args);
    assert!(
        out.status.success(),
        "privcall {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `privcall`, which must fail; its stderr.
pub fn fails(args: &[&str]) -> String {
    let out = privcall(args);
    assert!(!out.status.success(), "privcall {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}
