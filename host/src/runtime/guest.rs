//! The wasmtime embedding of the decision guest.
//!
//! One [`Engine`] per process, the guest compiled once and pre-instantiated
//! ([`GuestRuntime`]); each [`GuestInstance`] owns a store with a memory
//! limit and runs every call under an epoch deadline, so a guest that loops
//! or eats memory ends in an error the caller turns into the facility's
//! fail mode, never a hang or a crash.
//!
//! # Why the host calls the core module
//!
//! `wit/privcall.wit` is the contract, and the build checks that the guest
//! implements it (`wit-component` validates the module against it). At run
//! time, though, the host instantiates the guest's *core* module and calls
//! the contract's functions by their canonical-ABI export names: on wasmtime
//! 48 a component-model call costs about 1,600 instructions of lifting,
//! lowering and bookkeeping on top of the guest's own work, a core typed
//! call a few dozen (see the README's performance section). The functions
//! the host uses were shaped so their canonical ABI stays trivial: scalars
//! in (`decide-packed`), strings and bytes lowered through `cabi_realloc`
//! (`decide-strings`, `load`), and answers read from a result area. The
//! tests run the same guest as a component through wasmtime's own canonical
//! ABI and check both give the same answers (`tests/all/guest.rs`,
//! `tests/all/differential.rs`).

use std::sync::OnceLock;
use std::time::Duration;

use crate::runtime::abi::{exports, load_result, packed_result, MAX_ERROR_BYTES};
use crate::runtime::pages;
use privcall_core::packed;
use privcall_core::types as core;
use wasmtime::{
    Config, Engine, Instance, InstancePre, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, TypedFunc, WasmParams, WasmResults,
};

/// The guest's core module, built from `guest/` by the build script: what
/// the host runs.
pub static GUEST_MODULE: &[u8] = include_bytes!(env!("PRIVCALL_GUEST_MODULE"));

/// The same guest as a component (the module wrapped by `wit-component`
/// against `wit/privcall.wit`): the reference the tests compare with.
pub static GUEST_COMPONENT: &[u8] = include_bytes!(env!("PRIVCALL_GUEST_COMPONENT"));

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// A decision that takes longer than this many ticks is abandoned.
pub const DECIDE_DEADLINE_TICKS: u64 = 50;
/// Loading a list (decode + validate) may take this many ticks.
pub const LOAD_DEADLINE_TICKS: u64 = 60_000;
/// The address space reserved for each guest's linear memory: all a
/// 32-bit memory can address, so it never moves as it grows, bounds checks
/// are left to the guard pages, and the huge-page advice over the room to
/// grow stays inside the guest's own mapping. (wasmtime's default on 64-bit
/// hosts; set explicitly because the advice relies on it.)
const MEMORY_RESERVATION: u64 = 1 << 32;
/// The most linear memory a guest may grow to.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 << 30;

/// An error from wasmtime or the OS, kept as the source of a [`GuestError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the guest could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The guest module did not compile or instantiate, or lacks an
    /// export of the contract.
    #[error("guest setup failed: {what}")]
    Setup {
        /// What failed (`export \`load\``, `compiling the module`, ...).
        what: String,
        /// The engine's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The guest trapped, ran past its deadline or hit its memory limit.
    #[error("guest failed")]
    Trap(#[source] BoxError),
    /// The guest broke the contract (an answer outside its memory, a
    /// malformed result); the instance is poisoned like after a trap.
    #[error("guest failed: the guest answered {0}")]
    Malformed(&'static str),
    /// The instance trapped earlier and is never used again.
    #[error("guest failed: instance is unusable after an earlier trap")]
    Poisoned,
    /// The guest refused the list body (the guest's own message).
    #[error("guest refused the list: {0}")]
    Refused(String),
    /// A decision was asked before any list was loaded.
    #[error("guest has no list loaded")]
    NoList,
}

impl GuestError {
    fn setup(what: impl Into<String>, source: wasmtime::Error) -> GuestError {
        GuestError::Setup {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

/// Counts of a loaded list, as the guest reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListStats {
    /// Facilities named by the list.
    pub facilities: u32,
    /// Exact numbers.
    pub numbers: u64,
    /// Prefix blocks.
    pub prefix_blocks: u32,
    /// Prearranged windows.
    pub windows: u32,
    /// Bytes of the number set in guest memory.
    pub set_bytes: u64,
}

/// The process-wide engine, with a thread that advances its epoch.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.memory_reservation(MEMORY_RESERVATION);
        config.memory_may_move(false);
        // `perf` and other profilers can name the guest's compiled
        // functions (`/tmp/perf-<pid>.map`).
        if std::env::var_os("PRIVCALL_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).expect("the engine configuration is valid");
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("privcall-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                ticker.increment_epoch();
            })
            .expect("spawning the epoch thread");
        engine
    })
}

/// Per-store state: only the limits (the guest imports nothing).
pub struct GuestState {
    limits: StoreLimits,
}

/// A compiled, pre-instantiated guest.
#[derive(Clone)]
pub struct GuestRuntime {
    pre: InstancePre<GuestState>,
    memory_limit: usize,
    huge_pages: bool,
}

impl GuestRuntime {
    /// The runtime for the built-in guest, compiled once per process.
    pub fn builtin() -> Result<GuestRuntime, GuestError> {
        static BUILTIN: OnceLock<Result<GuestRuntime, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                GuestRuntime::from_module(GUEST_MODULE).map_err(|e| crate::text::error_chain(&e))
            })
            .clone()
            .map_err(|what| GuestError::Setup { what, source: None })
    }

    /// A runtime for another core module implementing the contract's
    /// canonical ABI (tests use small WAT guests that trap, loop or grow
    /// memory). A module that lacks an export, or has one of the wrong
    /// type, is refused here, naming the export.
    pub fn from_module(bytes: &[u8]) -> Result<GuestRuntime, GuestError> {
        let engine = engine();
        let module =
            Module::new(engine, bytes).map_err(|e| GuestError::setup("compiling the module", e))?;
        let linker: Linker<GuestState> = Linker::new(engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| GuestError::setup("linking the module", e))?;
        let runtime = GuestRuntime {
            pre,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            huge_pages: true,
        };
        // One throwaway instance checks every export's name and type now,
        // not at the first call.
        runtime.instantiate()?;
        Ok(runtime)
    }

    /// Sets the linear-memory limit of instances made from now on.
    pub fn with_memory_limit(mut self, bytes: usize) -> GuestRuntime {
        self.memory_limit = bytes;
        self
    }

    /// Whether instances made from now on ask for transparent huge pages
    /// for their linear memory (the default; see [`crate::pages`]). At 5M
    /// numbers they took about a tenth off the cold p99 of a decision on
    /// the development machine; `privcall bench --small-pages` measures
    /// the difference on yours.
    pub fn with_huge_pages(mut self, huge_pages: bool) -> GuestRuntime {
        self.huge_pages = huge_pages;
        self
    }

    /// A fresh instance with no list loaded.
    pub fn instantiate(&self) -> Result<GuestInstance, GuestError> {
        let state = GuestState {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.memory_limit)
                .instances(1)
                .build(),
        };
        let mut store = Store::new(engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(LOAD_DEADLINE_TICKS);
        store.epoch_deadline_trap();
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| GuestError::setup("instantiating the module", e))?;
        let memory = instance
            .get_memory(&mut store, exports::MEMORY)
            .ok_or_else(|| GuestError::Setup {
                what: format!("export `{}`: missing", exports::MEMORY),
                source: None,
            })?;
        if self.huge_pages {
            // Advised now, before any list is written: the advice applies
            // to pages as they are faulted in, and the range is all the
            // memory may grow to, so the list's pages are huge wherever
            // the guest's allocator puts them. It lies within the memory's
            // own reservation (`MEMORY_RESERVATION`, set in `engine()`).
            let room = self.memory_limit.min(MEMORY_RESERVATION as usize);
            if let Err(e) = pages::advise_huge(memory.data_ptr(&store), room) {
                tracing::debug!(error = %e, "huge pages refused for guest memory");
            }
        }
        Ok(GuestInstance {
            memory,
            realloc: typed(&instance, &mut store, exports::REALLOC)?,
            load: typed(&instance, &mut store, exports::LOAD)?,
            post_load: typed(&instance, &mut store, exports::POST_LOAD)?,
            decide_packed: typed(&instance, &mut store, exports::DECIDE_PACKED)?,
            decide_strings: typed(&instance, &mut store, exports::DECIDE_STRINGS)?,
            store,
            poisoned: false,
        })
    }
}

/// The export `name` as a typed function; a missing or mistyped export is
/// a setup error naming it.
fn typed<P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<GuestState>,
    name: &str,
) -> Result<TypedFunc<P, R>, GuestError> {
    instance
        .get_typed_func(store, name)
        .map_err(|e| GuestError::setup(format!("export `{name}`"), e))
}

/// `decide-packed`: eight words of strings, `at`, `started`, `has-started`;
/// returns where its `packed-decision` is.
type DecidePacked = TypedFunc<(u64, u64, u64, u64, u64, u64, u64, u64, i64, i64, i32), u32>;
/// `decide-strings`: three (pointer, length) pairs, `at`, `started`,
/// `has-started`; returns where its `packed-decision` is.
type DecideStrings = TypedFunc<(u32, u32, u32, u32, u32, u32, i64, i64, i32), u32>;

/// One guest instance with its store. Not shared between threads: each
/// thread (or pool slot) owns its own.
pub struct GuestInstance {
    store: Store<GuestState>,
    memory: Memory,
    realloc: TypedFunc<(u32, u32, u32, u32), u32>,
    load: TypedFunc<(u32, u32), u32>,
    post_load: TypedFunc<u32, ()>,
    decide_packed: DecidePacked,
    decide_strings: DecideStrings,
    /// After a trap the instance's state is unknown; it is never used again.
    poisoned: bool,
}

impl GuestInstance {
    /// Loads a compiled list body, replacing the loaded list. On error the
    /// previous list stays loaded (unless the guest trapped: then the
    /// instance is unusable and must be replaced).
    pub fn load(&mut self, body: &[u8]) -> Result<ListStats, GuestError> {
        self.check()?;
        self.store.set_epoch_deadline(LOAD_DEADLINE_TICKS);
        let (ptr, len) = self.lower_bytes(body)?;
        let area = self.load.call(&mut self.store, (ptr, len));
        let area = self.trapped(area)? as usize;
        let mut r = [0u8; load_result::SIZE];
        self.read_area(area, &mut r)?;
        let u32_at = |at: usize| u32::from_le_bytes(r[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
        let result = match r[load_result::DISCRIMINANT] {
            0 => Ok(ListStats {
                facilities: u32_at(load_result::FACILITIES),
                numbers: u64_at(load_result::NUMBERS),
                prefix_blocks: u32_at(load_result::PREFIX_BLOCKS),
                windows: u32_at(load_result::WINDOWS),
                set_bytes: u64_at(load_result::SET_BYTES),
            }),
            1 => {
                let ptr = u32_at(load_result::ERROR_PTR) as usize;
                let len = (u32_at(load_result::ERROR_LEN) as usize).min(MAX_ERROR_BYTES);
                let mut message = vec![0u8; len];
                self.read(ptr, &mut message)?;
                Err(GuestError::Refused(
                    String::from_utf8_lossy(&message).into_owned(),
                ))
            }
            _ => return Err(self.malformed("an invalid result discriminant from `load`")),
        };
        // Lets the guest free the message (the canonical ABI's post-return).
        let freed = self.post_load.call(&mut self.store, area as u32);
        self.trapped(freed)?;
        result
    }

    /// Decides one call under the decision deadline: through the packed
    /// fast path when the call's strings fit in integers (nearly always),
    /// otherwise through the string path. Both give the same decision (a
    /// property test checks it).
    pub fn decide(&mut self, call: &core::Call<'_>) -> Result<core::Decision, GuestError> {
        match (
            packed::pack_str::<2>(call.facility),
            packed::pack_str::<2>(call.inmate),
            packed::pack_str::<4>(call.dialed),
        ) {
            (Some(f), Some(i), Some(d)) => {
                self.check()?;
                self.store.set_epoch_deadline(DECIDE_DEADLINE_TICKS);
                let area = self.decide_packed.call(
                    &mut self.store,
                    (
                        f[0],
                        f[1],
                        i[0],
                        i[1],
                        d[0],
                        d[1],
                        d[2],
                        d[3],
                        call.at,
                        call.started.unwrap_or(0),
                        i32::from(call.started.is_some()),
                    ),
                );
                let area = self.trapped(area)?;
                self.unpack(area)
            }
            _ => self.decide_via_strings(call),
        }
    }

    /// Decides one call through the string path (`decide-strings`),
    /// whatever the strings' lengths. [`Self::decide`] uses it when the
    /// strings do not fit the packed path; tests compare the two.
    pub fn decide_via_strings(
        &mut self,
        call: &core::Call<'_>,
    ) -> Result<core::Decision, GuestError> {
        self.check()?;
        self.store.set_epoch_deadline(DECIDE_DEADLINE_TICKS);
        let (fp, fl) = self.lower_bytes(call.facility.as_bytes())?;
        let (ip, il) = self.lower_bytes(call.inmate.as_bytes())?;
        let (dp, dl) = self.lower_bytes(call.dialed.as_bytes())?;
        let area = self.decide_strings.call(
            &mut self.store,
            (
                fp,
                fl,
                ip,
                il,
                dp,
                dl,
                call.at,
                call.started.unwrap_or(0),
                i32::from(call.started.is_some()),
            ),
        );
        let area = self.trapped(area)?;
        self.unpack(area)
    }

    /// The decision of the `packed-decision` at `area`, with its
    /// `private-until` for the reasons that have one.
    fn unpack(&mut self, area: u32) -> Result<core::Decision, GuestError> {
        let mut r = [0u8; packed_result::SIZE];
        self.read_area(area as usize, &mut r)?;
        let i64_at = |at: usize| i64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
        let word = i64_at(packed_result::WORD) as u64;
        if word == packed::NO_LIST {
            return Err(GuestError::NoList);
        }
        let mut decision = packed::unpack_decision(word, None)
            .map_err(|_| self.malformed("a malformed decision"))?;
        if packed::has_private_until(decision.reason) {
            let until = i64_at(packed_result::PRIVATE_UNTIL);
            decision.private_until = (until != packed::NO_PRIVATE_UNTIL).then_some(until);
        }
        Ok(decision)
    }

    /// Copies `bytes` into memory the guest allocated for them, as the
    /// canonical ABI lowers a `string` or `list<u8>`: the guest owns (and
    /// frees) them from then on.
    fn lower_bytes(&mut self, bytes: &[u8]) -> Result<(u32, u32), GuestError> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            GuestError::Refused(format!("{} bytes do not fit in guest memory", bytes.len()))
        })?;
        let ptr = self.realloc.call(&mut self.store, (0, 0, 1, len));
        let ptr = self.trapped(ptr)?;
        let written = self.memory.write(&mut self.store, ptr as usize, bytes);
        if written.is_err() {
            return Err(self.malformed("an allocation outside its memory"));
        }
        Ok((ptr, len))
    }

    /// Reads a result area: 8-aligned, as the canonical ABI lays out both
    /// of ours (wasmtime's own lifting refuses a misaligned one too).
    fn read_area(&mut self, at: usize, buf: &mut [u8]) -> Result<(), GuestError> {
        if at % 8 != 0 {
            return Err(self.malformed("a misaligned result"));
        }
        self.read(at, buf)
    }

    /// Reads guest memory at `at`; out of bounds means a broken guest.
    fn read(&mut self, at: usize, buf: &mut [u8]) -> Result<(), GuestError> {
        if self.memory.read(&self.store, at, buf).is_err() {
            return Err(self.malformed("a result outside its memory"));
        }
        Ok(())
    }

    /// The guest broke the contract: poison it like a trap.
    fn malformed(&mut self, what: &'static str) -> GuestError {
        self.poisoned = true;
        GuestError::Malformed(what)
    }

    /// Turns a trap into an error and poisons the instance.
    fn trapped<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, GuestError> {
        result.map_err(|trap| {
            self.poisoned = true;
            GuestError::Trap(trap.into())
        })
    }

    /// How this instance's linear memory is backed: the huge-page advice,
    /// and the bytes the kernel put on huge pages (`None` where it does not
    /// say).
    pub fn memory_backing(&self) -> Option<pages::Backing> {
        let len = self.memory.data_size(&self.store);
        pages::backing(self.memory.data_ptr(&self.store), len)
    }

    /// Whether a trap has made this instance unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn check(&self) -> Result<(), GuestError> {
        if self.poisoned {
            return Err(GuestError::Poisoned);
        }
        Ok(())
    }
}
