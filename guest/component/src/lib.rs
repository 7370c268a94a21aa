//! The wasm export shim: converts between the WIT types of
//! `wit/privcall.wit` and `privcall-core`, and keeps the loaded list. All
//! decision logic is in `privcall-core`, so it is tested natively too.
//!
//! Only meaningful on wasm32; on other targets this crate is empty.
#![cfg(target_arch = "wasm32")]
// The generated bindings need `unsafe` for the canonical ABI; this file adds
// one block, in `text`, with its reason.

use std::cell::RefCell;

use privcall_core::decide::Decider;
use privcall_core::list::CompiledList;
use privcall_core::packed;
use privcall_core::types as core;

/// The bindings wit-bindgen generates from `wit/privcall.wit`.
#[expect(
    unsafe_code,
    missing_docs,
    reason = "the canonical ABI glue that wit-bindgen generates"
)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "guest",
    });
}

use bindings::exports::privcall::decider::decider::{
    Call, Category, Decision, Guest, ListStats, Notice, OverrunAction, PackedDecision, Reason,
};

thread_local! {
    /// The live list. The guest is single-threaded; a new `load` replaces
    /// it only after the new body validated.
    static LIST: RefCell<Option<Decider>> = const { RefCell::new(None) };
}

struct Component;

impl Guest for Component {
    fn load(body: Vec<u8>) -> Result<ListStats, String> {
        let list = CompiledList::from_bytes(&body).map_err(|e| e.to_string())?;
        drop(body);
        let stats = ListStats {
            facilities: list.facilities.len() as u32,
            numbers: list.number_count() as u64,
            prefix_blocks: list.prefixes.len() as u32,
            windows: list.windows.len() as u32,
            set_bytes: list.set_bytes() as u64,
        };
        LIST.with(|slot| {
            // Replaced only now that the new body has validated: a refused
            // body leaves the previous list deciding.
            *slot.borrow_mut() = Some(Decider::new(list));
        });
        Ok(stats)
    }

    fn decide(call: Call) -> Result<Decision, String> {
        LIST.with(|slot| {
            let slot = slot.borrow();
            let decider = slot.as_ref().ok_or_else(|| "no list loaded".to_string())?;
            let d = decider.decide(&core::Call {
                facility: &call.facility,
                inmate: &call.inmate,
                dialed: &call.dialed,
                at: call.at,
                started: call.started,
            });
            Ok(to_wit(d))
        })
    }

    fn decide_packed(
        facility: (u64, u64),
        inmate: (u64, u64),
        dialed: (u64, u64, u64, u64),
        at: i64,
        started: i64,
        has_started: bool,
    ) -> PackedDecision {
        let (mut f, mut i, mut d) = ([0u8; 16], [0u8; 16], [0u8; 32]);
        // The host packs valid UTF-8; anything else decides as an empty
        // string (not privileged), never as a guess at another number.
        let facility = text(&[facility.0, facility.1], &mut f);
        let inmate = text(&[inmate.0, inmate.1], &mut i);
        let dialed = text(&[dialed.0, dialed.1, dialed.2, dialed.3], &mut d);
        decide_to_word(&core::Call {
            facility,
            inmate,
            dialed,
            at,
            started: has_started.then_some(started),
        })
    }

    fn decide_strings(
        facility: String,
        inmate: String,
        dialed: String,
        at: i64,
        started: i64,
        has_started: bool,
    ) -> PackedDecision {
        decide_to_word(&core::Call {
            facility: &facility,
            inmate: &inmate,
            dialed: &dialed,
            at,
            started: has_started.then_some(started),
        })
    }
}

/// The string packed in `words` (see [`packed::unpack_str`]), or `""` when
/// it is not UTF-8.
#[expect(
    unsafe_code,
    reason = "ASCII needs no UTF-8 check; `from_utf8` costs about a hundred wasm instructions per string"
)]
fn text<'a>(words: &[u64], buf: &'a mut [u8]) -> &'a str {
    let bytes = packed::unpack_bytes(words, buf);
    if packed::is_ascii(words) {
        // SAFETY: ASCII bytes are valid UTF-8. Dialed strings, facility
        // codes and inmate ids are nearly always ASCII, and checking the
        // words at once costs a few instructions where `from_utf8` costs
        // about a hundred per string in wasm.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    } else {
        std::str::from_utf8(bytes).unwrap_or("")
    }
}

/// The packed answer of `decide-packed` and `decide-strings`.
fn decide_to_word(call: &core::Call<'_>) -> PackedDecision {
    LIST.with(|slot| {
        let slot = slot.borrow();
        let Some(decider) = slot.as_ref() else {
            return PackedDecision {
                word: packed::NO_LIST,
                private_until: packed::NO_PRIVATE_UNTIL,
            };
        };
        let d = decider.decide(call);
        PackedDecision {
            word: packed::pack_decision(&d),
            private_until: d.private_until.unwrap_or(packed::NO_PRIVATE_UNTIL),
        }
    })
}

fn to_wit(d: core::Decision) -> Decision {
    Decision {
        record: d.record,
        monitor: d.monitor,
        reason: match d.reason {
            core::Reason::Registered => Reason::Registered,
            core::Reason::Prearranged => Reason::Prearranged,
            core::Reason::PrearrangedOverrun => Reason::PrearrangedOverrun,
            core::Reason::NotPrivileged => Reason::NotPrivileged,
            core::Reason::Unreadable => Reason::Unreadable,
        },
        category: d.category.map(|c| match c {
            core::Category::Attorney => Category::Attorney,
            core::Category::PublicDefender => Category::PublicDefender,
            core::Category::LegalAid => Category::LegalAid,
            core::Category::InnocenceProject => Category::InnocenceProject,
            core::Category::Court => Category::Court,
            core::Category::Consulate => Category::Consulate,
            core::Category::PreaHotline => Category::PreaHotline,
            core::Category::Oversight => Category::Oversight,
            core::Category::Clergy => Category::Clergy,
            core::Category::Medical => Category::Medical,
            core::Category::Other => Category::Other,
        }),
        private_until: d.private_until,
        on_expiry: d.on_expiry.map(|o| match o {
            core::Overrun::RecordWithNotice => OverrunAction::RecordWithNotice,
            core::Overrun::StayPrivate => OverrunAction::StayPrivate,
            core::Overrun::DisconnectWithNotice => OverrunAction::DisconnectWithNotice,
        }),
        redact_metadata: d.redact_metadata,
        notice: d.notice.map(|n| match n {
            core::Notice::PrivateWindowEndedRecording => Notice::PrivateWindowEndedRecording,
            core::Notice::PrivateWindowEndedPrivate => Notice::PrivateWindowEndedPrivate,
            core::Notice::PrivateWindowEndedDisconnect => Notice::PrivateWindowEndedDisconnect,
        }),
        normalized: d.normalized.map(|n| n.0),
        default_policy: d.default_policy,
    }
}

/// The guest's exports, as the canonical ABI names them.
#[expect(
    unsafe_code,
    reason = "the canonical ABI glue that wit-bindgen generates"
)]
mod export {
    use super::Component;
    crate::bindings::export!(Component with_types_in crate::bindings);
}
