//! The C types: the engine's configuration, a call, a decision, and the
//! result codes. Their layout is the ABI; `include/privcall.h` is
//! generated from here.

use std::ffi::c_char;

/// The C ABI's version; grows when a type or a function changes.
pub const PRIVCALL_ABI_VERSION: u32 = 5;

/// Success.
pub const PRIVCALL_OK: i32 = 0;
/// A required pointer was NULL.
pub const PRIVCALL_ERR_NULL: i32 = -1;
/// An argument is out of range: a string over its limit, a path that is
/// not UTF-8, a count or size that is too large.
pub const PRIVCALL_ERR_INVALID: i32 = -2;
/// The configuration could not be used (trust keys, state directory,
/// guest); the message says which field.
pub const PRIVCALL_ERR_CONFIG: i32 = -3;
/// The update was refused; the live list keeps deciding.
pub const PRIVCALL_ERR_REFUSED: i32 = -4;
/// A file could not be read.
pub const PRIVCALL_ERR_IO: i32 = -5;
/// The caller's buffer is too small; `*len_out` says how many bytes the
/// answer needs (without the terminating NUL).
pub const PRIVCALL_ERR_BUFFER: i32 = -6;
/// privcall failed inside (a caught panic); nothing was changed.
pub const PRIVCALL_ERR_INTERNAL: i32 = -7;

/// The longest facility code, inmate id or dialed string a call may
/// carry, in bytes.
pub const PRIVCALL_MAX_FIELD_BYTES: usize = 1024;
/// The longest path or URL accepted in a configuration or an update, in
/// bytes (a string with no NUL that far is refused, not read past).
pub const PRIVCALL_MAX_PATH_BYTES: usize = 4096;
/// The room `privcall_decision::normalized` has: `+`, up to 15 digits and
/// the NUL, rounded up.
pub const PRIVCALL_NORMALIZED_BYTES: usize = 24;

/// `reason`: a registered, exempt number.
pub const PRIVCALL_REASON_REGISTERED: i32 = 0;
/// `reason`: inside a prearranged private window.
pub const PRIVCALL_REASON_PREARRANGED: i32 = 1;
/// `reason`: set up inside a window that has since ended.
pub const PRIVCALL_REASON_PREARRANGED_OVERRUN: i32 = 2;
/// `reason`: nothing makes this call privileged.
pub const PRIVCALL_REASON_NOT_PRIVILEGED: i32 = 3;
/// `reason`: no list, or the guest failed: the facility's fail mode.
pub const PRIVCALL_REASON_FAIL_SAFE: i32 = 4;
/// `reason`: the dialed string is no number, even by its digits alone: the
/// policy's `unreadable` choice (record by default).
pub const PRIVCALL_REASON_UNREADABLE: i32 = 5;

/// How an engine is set up. Strings are NUL-terminated UTF-8 paths; NULL
/// means "none". The engine copies what it needs: the struct and its
/// strings may be freed once `privcall_engine_new` returns.
#[repr(C)]
pub struct PrivcallConfig {
    /// Paths of the list authority's public key files (PEM or raw).
    pub trust_keys: *const *const c_char,
    /// How many paths `trust_keys` holds (at least 1).
    pub trust_key_count: usize,
    /// Signatures a bundle needs (at least 1, at most `trust_key_count`).
    pub threshold: u32,
    /// Where the last good bundle and the high-water mark are kept, or
    /// NULL. One directory per process: forked workers each need their
    /// own (or none, and a shared `watch_dir`).
    pub state_dir: *const c_char,
    /// A bundle applied at start, or NULL.
    pub bundle_path: *const c_char,
    /// A folder whose new or changed `.bundle` files are applied, or NULL:
    /// the way one update reaches every worker of a forked PBX.
    pub watch_dir: *const c_char,
    /// An `https://` URL polled for the bundle (Mozilla's roots), or an
    /// `http://` one to loopback, or NULL.
    pub poll_url: *const c_char,
    /// Milliseconds between scans of `watch_dir` and polls of `poll_url`
    /// (0: 1000).
    pub poll_interval_ms: u32,
    /// Guest instances, i.e. decisions that run at once without waiting
    /// (0: one per CPU). Each instance holds its own copy of the list.
    pub instances: u32,
    /// The engine is made before the PBX forks its workers, so that they
    /// share its list: load the newest bundle in `watch_dir` now and start
    /// no feed until `privcall_engine_after_fork`.
    pub prefork: bool,
    /// This edge's identity file (`privcall keygen --recipient`), which
    /// opens bundles encrypted to it, or NULL.
    pub identity_path: *const c_char,
    /// The inmate key file (`privcall keygen --inmate-key`), for lists
    /// whose inmate ids are hashed, or NULL.
    pub inmate_key_path: *const c_char,
    /// A fleet's registry key identity, which opens the registry part
    /// every edge of the fleet receives, or NULL (no fleet parts).
    pub registry_identity_path: *const c_char,
    /// The URL of a fleet's registry part, polled beside `poll_url` (then
    /// this edge's window part), or NULL.
    pub registry_poll_url: *const c_char,
}

/// One call to decide. Strings are (pointer, length) pairs in bytes, not
/// necessarily NUL-terminated (a Kamailio `str` passes as it is); each at
/// most `PRIVCALL_MAX_FIELD_BYTES`. Bytes that are not UTF-8 are read as
/// U+FFFD: such a dialed string is not a number, and is decided as one.
#[repr(C)]
pub struct PrivcallCall {
    /// Facility code.
    pub facility: *const c_char,
    /// Length of `facility` in bytes.
    pub facility_len: usize,
    /// Inmate account id.
    pub inmate: *const c_char,
    /// Length of `inmate` in bytes.
    pub inmate_len: usize,
    /// The number as dialed, any formatting (`9-1 (573) 555-0142`, `+1…`,
    /// `tel:+1…`, letters).
    pub dialed: *const c_char,
    /// Length of `dialed` in bytes.
    pub dialed_len: usize,
    /// When the decision applies: seconds since the Unix epoch, UTC.
    pub at: i64,
    /// The call's setup time when the PBX re-asks mid-call (valid when
    /// `has_started`).
    pub started: i64,
    /// Whether `started` is set.
    pub has_started: bool,
}

/// What privcall answers for one call. Filled by `privcall_decide`; the
/// strings are static (never freed, valid for the life of the process).
#[repr(C)]
pub struct PrivcallDecision {
    /// Whether the call may be recorded.
    pub record: bool,
    /// Whether the call may be monitored live.
    pub monitor: bool,
    /// The PBX must not store the dialed number in clear (CDRs, logs).
    pub redact_metadata: bool,
    /// Decided with a list past its expiry (an alarm is raised).
    pub stale: bool,
    /// The facility has no policy table of its own (decided under
    /// `[default]`).
    pub default_policy: bool,
    /// Whether `private_until` is set.
    pub has_private_until: bool,
    /// Why: one of `PRIVCALL_REASON_*`.
    pub reason: i32,
    /// The reason's contract name (`registered`, `fail-safe`, ...).
    pub reason_name: *const c_char,
    /// For `registered`: the category (`attorney`, ...), else NULL.
    pub category: *const c_char,
    /// The prompt to play, or NULL.
    pub notice: *const c_char,
    /// For prearranged calls: what happens at `private_until`
    /// (`record-with-notice`, ...), else NULL.
    pub on_expiry: *const c_char,
    /// For prearranged calls: when the private window ends, seconds since
    /// the Unix epoch.
    pub private_until: i64,
    /// The list's sequence number; 0 when no list is live.
    pub list_sequence: u64,
    /// The dialed number in E.164 (`+15735550142`), NUL-terminated; empty
    /// when it is not a number.
    pub normalized: [c_char; PRIVCALL_NORMALIZED_BYTES],
}
