//! The guest as a component, run through wasmtime's own canonical ABI: the
//! reference the host's direct core-module calls (`privcall::guest`) are
//! compared with.

use privcall::fixtures::{wasm_engine as engine, GUEST_COMPONENT};
use privcall::guest::ListStats;
use privcall_core::normalize::E164;
use privcall_core::packed;
use privcall_core::types as core;
use wasmtime::component::{Component, Linker};
use wasmtime::Store;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "guest",
    });
}

use bindings::exports::privcall::decider::decider as wit;

/// The built-in guest component with its store.
pub struct Reference {
    store: Store<()>,
    guest: bindings::Guest,
}

impl Reference {
    /// A fresh instance of the built-in guest component.
    pub fn new() -> Reference {
        let engine = engine();
        let component = Component::new(engine, GUEST_COMPONENT).unwrap();
        let mut store = Store::new(engine, ());
        // The engine interrupts on epochs; the reference never needs to.
        store.set_epoch_deadline(u64::MAX / 2);
        let guest =
            bindings::Guest::instantiate(&mut store, &component, &Linker::new(engine)).unwrap();
        Reference { store, guest }
    }

    /// `load`, lifted by wasmtime.
    pub fn load(&mut self, body: &[u8]) -> Result<ListStats, String> {
        let api = self.guest.privcall_decider_decider();
        api.call_load(&mut self.store, body)
            .unwrap()
            .map(|s| ListStats {
                facilities: s.facilities,
                numbers: s.numbers,
                prefix_blocks: s.prefix_blocks,
                windows: s.windows,
                set_bytes: s.set_bytes,
            })
    }

    /// `decide` with the whole `decision` record, lifted by wasmtime.
    pub fn decide(&mut self, call: &core::Call<'_>) -> Result<core::Decision, String> {
        let wit_call = wit::Call {
            facility: call.facility.into(),
            inmate: call.inmate.into(),
            dialed: call.dialed.into(),
            at: call.at,
            started: call.started,
        };
        let api = self.guest.privcall_decider_decider();
        api.call_decide(&mut self.store, &wit_call)
            .unwrap()
            .map(|d| from_wit(&d))
    }

    /// `decide-strings`, lifted by wasmtime.
    pub fn decide_strings(&mut self, call: &core::Call<'_>) -> Option<core::Decision> {
        let answer = self
            .guest
            .privcall_decider_decider()
            .call_decide_strings(
                &mut self.store,
                call.facility,
                call.inmate,
                call.dialed,
                call.at,
                call.started.unwrap_or(0),
                call.started.is_some(),
            )
            .unwrap();
        if answer.word == packed::NO_LIST {
            return None;
        }
        let until = answer.private_until;
        let mut d = packed::unpack_decision(answer.word, None).unwrap();
        if packed::has_private_until(d.reason) {
            d.private_until = (until != packed::NO_PRIVATE_UNTIL).then_some(until);
        }
        Some(d)
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
            wit::Reason::Unreadable => core::Reason::Unreadable,
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
