//! One guest instance: a store with its limits, the contract's functions,
//! and the reading of their answers.

use privcall_core::packed;
use privcall_core::types as core;
use wasmtime::{Memory, Store, TypedFunc};

use super::budget::Budget;
use super::module::GuestState;
use super::{GuestError, ListStats, DECIDE_DEADLINE_TICKS, LOAD_DEADLINE_TICKS};
use crate::runtime::abi::{load_result, packed_result, LoadAnswer, MAX_ERROR_BYTES};
use crate::runtime::pages;

/// `decide-packed`: eight words of strings, `at`, `started`, `has-started`;
/// returns where its `packed-decision` is.
type DecidePacked = TypedFunc<(u64, u64, u64, u64, u64, u64, u64, u64, i64, i64, i32), u32>;
/// `decide-strings`: three (pointer, length) pairs, `at`, `started`,
/// `has-started`; returns where its `packed-decision` is.
type DecideStrings = TypedFunc<(u32, u32, u32, u32, u32, u32, i64, i64, i32), u32>;

/// One guest instance with its store. Not shared between threads: each
/// thread (or pool slot) owns its own.
pub struct GuestInstance {
    pub(super) store: Store<GuestState>,
    pub(super) memory: Memory,
    pub(super) realloc: TypedFunc<(u32, u32, u32, u32), u32>,
    pub(super) load: TypedFunc<(u32, u32), u32>,
    pub(super) post_load: TypedFunc<u32, ()>,
    pub(super) decide_packed: DecidePacked,
    pub(super) decide_strings: DecideStrings,
    /// After a trap the instance's state is unknown; it is never used again.
    pub(super) poisoned: bool,
}

impl GuestInstance {
    /// Loads a compiled list body, replacing the loaded list. On error the
    /// previous list stays loaded (unless the guest trapped: then the
    /// instance is unusable and must be replaced).
    pub fn load(&mut self, body: &[u8]) -> Result<ListStats, GuestError> {
        self.check()?;
        self.store.data_mut().budget = Budget::load();
        self.store.set_epoch_deadline(LOAD_DEADLINE_TICKS);
        let (ptr, len) = self.lower_bytes(body)?;
        let area = self.load.call(&mut self.store, (ptr, len));
        let area = self.trapped(area)? as usize;
        let mut r = [0u8; load_result::SIZE];
        self.read_area(area, &mut r)?;
        let result = match load_result::read(&r) {
            Some(LoadAnswer::Loaded(stats)) => Ok(stats),
            Some(LoadAnswer::Refused { ptr, len }) => {
                let mut message = vec![0u8; len.min(MAX_ERROR_BYTES)];
                self.read(ptr, &mut message)?;
                Err(GuestError::Refused(
                    String::from_utf8_lossy(&message).into_owned(),
                ))
            }
            None => return Err(self.malformed("an invalid result discriminant from `load`")),
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
                self.store.data_mut().budget = Budget::decide();
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
        self.store.data_mut().budget = Budget::decide();
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
        let (word, until) = packed_result::read(&r);
        if word == packed::NO_LIST {
            return Err(GuestError::NoList);
        }
        let mut decision = packed::unpack_decision(word, None)
            .map_err(|_| self.malformed("a malformed decision"))?;
        if packed::has_private_until(decision.reason) {
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
