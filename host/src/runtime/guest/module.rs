//! The compiled guest: the process-wide wasmtime engine and the guest
//! module compiled once and pre-instantiated.

use std::sync::{Mutex, OnceLock};

use wasmtime::{
    Config, Engine, Instance, InstancePre, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
    TypedFunc, WasmParams, WasmResults,
};

use super::instance::GuestInstance;
use super::{
    GuestError, DEFAULT_MEMORY_LIMIT, EPOCH_TICK, LOAD_DEADLINE_TICKS, MEMORY_RESERVATION,
};
use crate::runtime::abi::exports;
use crate::runtime::pages;

/// The guest's core module, built from `guest/` by the build script: what
/// the host runs.
pub static GUEST_MODULE: &[u8] = include_bytes!(env!("PRIVCALL_GUEST_MODULE"));

/// The same guest as a component (the module wrapped by `wit-component`
/// against `wit/privcall.wit`): the reference the tests compare with.
pub static GUEST_COMPONENT: &[u8] = include_bytes!(env!("PRIVCALL_GUEST_COMPONENT"));

/// The process-wide engine, with a thread that advances its epoch.
///
/// The thread belongs to the process that started it: a child forked
/// after the engine was made (a PBX's workers) has the engine but not the
/// thread, so each call here checks the process id and starts a ticker in
/// a process that has none. Without it no deadline would ever fire.
pub fn engine() -> Result<&'static Engine, GuestError> {
    let engine = wasm_engine()?;
    start_ticker(engine)?;
    Ok(engine)
}

/// The process-wide engine, configured once; starts no thread.
fn wasm_engine() -> Result<&'static Engine, GuestError> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config.epoch_interruption(true);
            config.memory_reservation(MEMORY_RESERVATION);
            config.memory_may_move(false);
            // `perf` and other profilers can name the guest's compiled
            // functions (`/tmp/perf-<pid>.map`).
            if std::env::var_os("PRIVCALL_PERFMAP").is_some() {
                config.profiler(wasmtime::ProfilingStrategy::PerfMap);
            }
            Engine::new(&config).map_err(|e| format!("configuring wasmtime: {e:#}"))
        })
        .as_ref()
        .map_err(|what| GuestError::Setup {
            what: what.clone(),
            source: None,
        })?;
    Ok(engine)
}

/// Starts the epoch thread of this process, once per process.
fn start_ticker(engine: &Engine) -> Result<(), GuestError> {
    static TICKING_IN: Mutex<Option<u32>> = Mutex::new(None);
    let mut ticking = crate::runtime::lock(&TICKING_IN);
    let pid = std::process::id();
    if *ticking == Some(pid) {
        return Ok(());
    }
    let ticker = engine.clone();
    std::thread::Builder::new()
        .name("privcall-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            ticker.increment_epoch();
        })
        .map_err(|e| GuestError::Setup {
            what: format!("starting the epoch thread: {e}"),
            source: None,
        })?;
    *ticking = Some(pid);
    Ok(())
}

/// Per-store state: only the limits (the guest imports nothing).
pub struct GuestState {
    limits: StoreLimits,
    /// What the running call may still take: [`Budget::extend`] decides at
    /// each deadline whether it goes on.
    pub(super) budget: super::budget::Budget,
}

/// A compiled, pre-instantiated guest.
#[derive(Clone)]
pub struct GuestRuntime {
    pre: InstancePre<GuestState>,
    memory_limit: usize,
    huge_pages: bool,
    ticker: bool,
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
        let engine = wasm_engine()?;
        let module =
            Module::new(engine, bytes).map_err(|e| GuestError::setup("compiling the module", e))?;
        let linker: Linker<GuestState> = Linker::new(engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| GuestError::setup("linking the module", e))?;
        let mut runtime = GuestRuntime {
            pre,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            huge_pages: true,
            ticker: false,
        };
        // One throwaway instance checks every export's name and type now,
        // not at the first call (and starts no thread: see `with_ticker`).
        runtime.instantiate()?;
        runtime.ticker = true;
        Ok(runtime)
    }

    /// Sets the linear-memory limit of instances made from now on.
    pub fn with_memory_limit(mut self, bytes: usize) -> GuestRuntime {
        self.memory_limit = bytes;
        self
    }

    /// Whether instances made from now on ask for transparent huge pages
    /// for their linear memory (the default; see [`super::super::pages`]):
    /// a large list's scattered reads then miss the TLB far less often.
    /// `privcall bench --small-pages` measures the difference.
    pub fn with_huge_pages(mut self, huge_pages: bool) -> GuestRuntime {
        self.huge_pages = huge_pages;
        self
    }

    /// Whether making an instance starts this process's deadline ticker
    /// (the default). `false` is for an engine made in a process that
    /// forks the processes that decide (a PBX's main process before its
    /// workers): no thread is started before the fork, and each worker
    /// calls [`Engine::after_fork`](crate::Engine::after_fork). Until a
    /// ticker runs, guest calls in a process have no deadline.
    pub fn with_ticker(mut self, ticker: bool) -> GuestRuntime {
        self.ticker = ticker;
        self
    }

    /// A fresh instance with no list loaded.
    pub fn instantiate(&self) -> Result<GuestInstance, GuestError> {
        let state = GuestState {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.memory_limit)
                .instances(1)
                .build(),
            budget: super::budget::Budget::load(),
        };
        let engine = self.pre.module().engine();
        // After a fork, the first instance of the child starts its ticker.
        if self.ticker {
            start_ticker(engine)?;
        }
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(LOAD_DEADLINE_TICKS);
        store.epoch_deadline_callback(|mut ctx| {
            Ok(match ctx.data_mut().budget.extend() {
                Some(ticks) => wasmtime::UpdateDeadline::Continue(ticks),
                None => wasmtime::UpdateDeadline::Interrupt,
            })
        });
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
