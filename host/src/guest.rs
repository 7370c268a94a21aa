//! The wasmtime embedding of the decision guest.
//!
//! One [`Engine`] per process, the component compiled once and
//! pre-instantiated ([`GuestRuntime`]); each [`GuestInstance`] owns a store
//! with a memory limit and runs every call under an epoch deadline, so a
//! guest that loops or eats memory ends in an error the caller turns into
//! the facility's fail mode, never a hang or a crash.

use std::sync::OnceLock;
use std::time::Duration;

use privcall_core::normalize::E164;
use privcall_core::packed;
use privcall_core::types as core;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "guest",
    });
}

use bindings::exports::privcall::decider::decider as wit;

/// The guest component built from `guest/` by the build script.
pub static GUEST_COMPONENT: &[u8] = include_bytes!(env!("PRIVCALL_GUEST_COMPONENT"));

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// A decision that takes longer than this many ticks is abandoned.
pub const DECIDE_DEADLINE_TICKS: u64 = 50;
/// Loading a list (decode + validate) may take this many ticks.
pub const LOAD_DEADLINE_TICKS: u64 = 60_000;
/// The most linear memory a guest may grow to.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 << 30;

/// Why the guest could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The component did not compile or instantiate.
    #[error("guest setup failed: {0}")]
    Setup(String),
    /// The guest trapped, ran past its deadline or hit its memory limit.
    #[error("guest failed: {0}")]
    Trap(String),
    /// The guest refused the list body.
    #[error("guest refused the list: {0}")]
    Refused(String),
    /// A decision was asked before any list was loaded.
    #[error("guest has no list loaded")]
    NoList,
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
        config.wasm_component_model(true);
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

/// A compiled, pre-instantiated guest component.
#[derive(Clone)]
pub struct GuestRuntime {
    pre: bindings::GuestPre<GuestState>,
    memory_limit: usize,
}

impl GuestRuntime {
    /// The runtime for the built-in guest, compiled once per process.
    pub fn builtin() -> Result<GuestRuntime, GuestError> {
        static BUILTIN: OnceLock<Result<GuestRuntime, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                GuestRuntime::from_component(GUEST_COMPONENT).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(GuestError::Setup)
    }

    /// A runtime for another component with the same contract (tests use
    /// small WAT guests that trap, loop or grow memory).
    pub fn from_component(bytes: &[u8]) -> Result<GuestRuntime, GuestError> {
        let engine = engine();
        let component =
            Component::new(engine, bytes).map_err(|e| GuestError::Setup(format!("{e:#}")))?;
        let linker: Linker<GuestState> = Linker::new(engine);
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| GuestError::Setup(format!("{e:#}")))?;
        let pre = bindings::GuestPre::new(pre).map_err(|e| GuestError::Setup(format!("{e:#}")))?;
        Ok(GuestRuntime {
            pre,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        })
    }

    /// Sets the linear-memory limit of instances made from now on.
    pub fn with_memory_limit(mut self, bytes: usize) -> GuestRuntime {
        self.memory_limit = bytes;
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
        let guest = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| GuestError::Setup(format!("{e:#}")))?;
        Ok(GuestInstance {
            store,
            guest,
            poisoned: false,
            call: wit::Call {
                facility: String::new(),
                inmate: String::new(),
                dialed: String::new(),
                at: 0,
                started: None,
            },
        })
    }
}

/// One guest instance with its store. Not shared between threads: each
/// thread (or pool slot) owns its own.
pub struct GuestInstance {
    store: Store<GuestState>,
    guest: bindings::Guest,
    /// After a trap the instance's state is unknown; it is never used again.
    poisoned: bool,
    /// The call being decided, kept between calls so its strings' buffers
    /// are reused: a decision allocates nothing on the host side.
    call: wit::Call,
}

impl GuestInstance {
    /// Loads a compiled list body, replacing the loaded list. On error the
    /// previous list stays loaded (unless the guest trapped: then the
    /// instance is unusable and must be replaced).
    pub fn load(&mut self, body: &[u8]) -> Result<ListStats, GuestError> {
        self.check()?;
        self.store.set_epoch_deadline(LOAD_DEADLINE_TICKS);
        let result = self
            .guest
            .privcall_decider_decider()
            .call_load(&mut self.store, body);
        match self.trapped(result)? {
            Ok(s) => Ok(ListStats {
                facilities: s.facilities,
                numbers: s.numbers,
                prefix_blocks: s.prefix_blocks,
                windows: s.windows,
                set_bytes: s.set_bytes,
            }),
            Err(message) => Err(GuestError::Refused(message)),
        }
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
            (Some(f), Some(i), Some(d)) => self.decide_packed(call, f, i, d),
            _ => self.decide_via_strings(call),
        }
    }

    fn decide_packed(
        &mut self,
        call: &core::Call<'_>,
        f: [u64; 2],
        i: [u64; 2],
        d: [u64; 4],
    ) -> Result<core::Decision, GuestError> {
        self.check()?;
        self.store.set_epoch_deadline(DECIDE_DEADLINE_TICKS);
        let word = self.guest.privcall_decider_decider().call_decide_packed(
            &mut self.store,
            (f[0], f[1]),
            (i[0], i[1]),
            (d[0], d[1], d[2], d[3]),
            call.at,
            call.started.unwrap_or(0),
            call.started.is_some(),
        );
        let word = self.trapped(word)?;
        if word == packed::NO_LIST {
            return Err(GuestError::NoList);
        }
        let mut decision = packed::unpack_decision(word, None).map_err(|_| {
            self.poisoned = true;
            GuestError::Trap("the guest answered a malformed decision".into())
        })?;
        if packed::has_private_until(decision.reason) {
            let until = self
                .guest
                .privcall_decider_decider()
                .call_last_private_until(&mut self.store);
            let until = self.trapped(until)?;
            decision.private_until = (until != packed::NO_PRIVATE_UNTIL).then_some(until);
        }
        Ok(decision)
    }

    /// Turns a trap into an error and poisons the instance.
    fn trapped<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, GuestError> {
        result.map_err(|trap| {
            self.poisoned = true;
            GuestError::Trap(format!("{trap:#}"))
        })
    }

    /// Decides one call through the general path (strings passed as
    /// strings), whatever their length. [`Self::decide`] uses it when the
    /// strings do not fit the packed path; tests compare the two.
    pub fn decide_via_strings(
        &mut self,
        call: &core::Call<'_>,
    ) -> Result<core::Decision, GuestError> {
        self.check()?;
        self.store.set_epoch_deadline(DECIDE_DEADLINE_TICKS);
        let wit_call = &mut self.call;
        for (to, from) in [
            (&mut wit_call.facility, call.facility),
            (&mut wit_call.inmate, call.inmate),
            (&mut wit_call.dialed, call.dialed),
        ] {
            to.clear();
            // An unusually long string does not keep its buffer forever.
            to.shrink_to(1024);
            to.push_str(from);
        }
        wit_call.at = call.at;
        wit_call.started = call.started;
        let result = self
            .guest
            .privcall_decider_decider()
            .call_decide(&mut self.store, &self.call);
        match self.trapped(result)? {
            Ok(d) => Ok(from_wit(&d)),
            Err(_) => Err(GuestError::NoList),
        }
    }

    /// Whether a trap has made this instance unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn check(&self) -> Result<(), GuestError> {
        if self.poisoned {
            return Err(GuestError::Trap(
                "instance is unusable after an earlier trap".into(),
            ));
        }
        Ok(())
    }
}

fn from_wit(d: &wit::Decision) -> core::Decision {
    core::Decision {
        record: d.record,
        monitor: d.monitor,
        reason: match d.reason {
            wit::Reason::Registered => core::Reason::Registered,
            wit::Reason::Prearranged => core::Reason::Prearranged,
            wit::Reason::PrearrangedOverrun => core::Reason::PrearrangedOverrun,
            wit::Reason::NotPrivileged => core::Reason::NotPrivileged,
        },
        category: d.category.map(|c| match c {
            wit::Category::Attorney => core::Category::Attorney,
            wit::Category::PublicDefender => core::Category::PublicDefender,
            wit::Category::LegalAid => core::Category::LegalAid,
            wit::Category::InnocenceProject => core::Category::InnocenceProject,
            wit::Category::Court => core::Category::Court,
            wit::Category::Consulate => core::Category::Consulate,
            wit::Category::PreaHotline => core::Category::PreaHotline,
            wit::Category::Oversight => core::Category::Oversight,
            wit::Category::Clergy => core::Category::Clergy,
            wit::Category::Medical => core::Category::Medical,
            wit::Category::Other => core::Category::Other,
        }),
        private_until: d.private_until,
        on_expiry: d.on_expiry.map(|o| match o {
            wit::OverrunAction::RecordWithNotice => core::Overrun::RecordWithNotice,
            wit::OverrunAction::StayPrivate => core::Overrun::StayPrivate,
            wit::OverrunAction::DisconnectWithNotice => core::Overrun::DisconnectWithNotice,
        }),
        redact_metadata: d.redact_metadata,
        notice: d.notice.map(|n| match n {
            wit::Notice::PrivateWindowEndedRecording => core::Notice::PrivateWindowEndedRecording,
            wit::Notice::PrivateWindowEndedPrivate => core::Notice::PrivateWindowEndedPrivate,
            wit::Notice::PrivateWindowEndedDisconnect => core::Notice::PrivateWindowEndedDisconnect,
        }),
        normalized: d.normalized.map(E164),
        default_policy: d.default_policy,
    }
}
