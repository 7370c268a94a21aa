//! A verified list loaded into one guest instance: the single-threaded
//! decision path of the CLI and the tests. [`crate::Engine`] is the
//! thread-safe one with hot swaps.

use privcall_core::types::Call;

use crate::decision::Decision;
use crate::runtime::guest::{GuestInstance, GuestRuntime, ListStats};
use crate::trust::{OpenError, VerifiedList};

/// A verified list loaded into a guest instance.
pub struct ListDecider {
    list: VerifiedList,
    instance: GuestInstance,
    stats: ListStats,
}

impl ListDecider {
    /// Loads the list into a fresh instance of `runtime`.
    pub fn new(runtime: &GuestRuntime, list: VerifiedList) -> Result<ListDecider, OpenError> {
        let mut instance = runtime.instantiate()?;
        let stats = instance.load(&list.body)?;
        Ok(ListDecider {
            list,
            instance,
            stats,
        })
    }

    /// The list deciding.
    pub fn list(&self) -> &VerifiedList {
        &self.list
    }

    /// What the guest reported on load.
    pub fn stats(&self) -> ListStats {
        self.stats
    }

    /// Decides a call. A guest failure gives the facility's fail-safe
    /// decision, never an error: the PBX always gets an answer.
    pub fn decide(&mut self, call: &Call<'_>, now: i64) -> Decision {
        let mut tag = [0u8; crate::trust::inmate_key::TAG_LEN];
        let guest = self.instance.decide(&self.list.guest_call(call, &mut tag));
        self.list
            .answer(call.facility, now, guest.as_ref().copied())
    }
}
