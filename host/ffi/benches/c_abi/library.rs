//! The C ABI as the bench loads it: `dlopen`ed entry points, an engine
//! made through them, and calls and decisions in the C types.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

use host::Call;

use crate::types::{
    PrivcallCall, PrivcallConfig, PrivcallDecision, PRIVCALL_ABI_VERSION, PRIVCALL_OK,
};

/// The engine handle `privcall_engine_new` returns; opaque.
#[repr(C)]
pub struct EngineHandle {
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
pub struct CAbi {
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
    pub fn load(path: &Path) -> CAbi {
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
    pub fn last_error(&self) -> String {
        let mut buf = vec![0u8; 1024];
        #[expect(unsafe_code, reason = "a C call")]
        // SAFETY: `buf` holds `buf.len()` writable bytes.
        let n = unsafe { (self.last_error)(buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.min(buf.len() - 1));
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// An engine trusting the public key at `key`, with the bundle at
    /// `bundle` applied; every other setting the library's default.
    pub fn engine_new(&self, key: &Path, bundle: &Path) -> CEngine<'_> {
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
            prefork: false,
            identity_path: std::ptr::null(),
            inmate_key_path: std::ptr::null(),
            registry_identity_path: std::ptr::null(),
            registry_poll_url: std::ptr::null(),
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
pub struct CEngine<'a> {
    /// The library it came from.
    abi: &'a CAbi,
    /// Its handle.
    handle: *mut EngineHandle,
}

impl CEngine<'_> {
    /// `privcall_decide` on `call` into `out`; its result code.
    #[inline(always)]
    pub fn decide(&self, call: &PrivcallCall, out: &mut PrivcallDecision) -> i32 {
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
pub fn c_path(path: &Path) -> CString {
    CString::new(path.to_str().expect("a UTF-8 temporary path")).expect("no NUL in a path")
}

/// The C ABI library to load: `PRIVCALL_LIB` if set, else this package's
/// cdylib, built now with the profile this bench was built with. Cargo
/// builds a bench's own library first only when it is linkable (an rlib),
/// and this one is a cdylib and a staticlib, so `cargo bench` alone would
/// load a stale `libprivcall.so` or none at all; building it here is a
/// no-op when it is fresh.
pub fn library_path() -> PathBuf {
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
pub fn c_call(call: &Call<'_>) -> PrivcallCall {
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
pub fn empty_decision() -> PrivcallDecision {
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
        normalized: [0; crate::types::PRIVCALL_NORMALIZED_BYTES],
    }
}
