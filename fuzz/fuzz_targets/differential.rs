//! The native core and the wasm guest agree on arbitrary calls against
//! arbitrary small lists: the list is built with the core's builder from
//! the input's numbers, blocks, validities, windows and policies, loaded
//! into one guest instance, and every call is decided natively and by the
//! guest through both of its paths (packed strings and plain strings).
//! Any disagreement, or a guest error, panics.

#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use privcall::fixtures::GuestInstance;
use privcall::guest::GuestRuntime;
use privcall_core::decide::Decider;
use privcall_core::types::Call;
use privcall_fuzz::{dialed_form, minutes, plans, ListSpec, FACILITIES, INMATES};

/// One call against the list.
#[derive(Arbitrary, Debug)]
struct CallSpec {
    /// Facility index (past the list's three: one it does not know).
    facility: u8,
    /// Inmate index (past the three: another).
    inmate: u8,
    /// Which number, written how (see `dialed_form`), or `text`.
    number: u8,
    style: u8,
    /// Dialed as this text instead, when set.
    text: Option<String>,
    /// Minutes around NOW.
    at: i8,
    /// Started this many minutes before `at` (a mid-call re-ask).
    started: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    list: ListSpec,
    calls: Vec<CallSpec>,
}

thread_local! {
    static GUEST: RefCell<GuestInstance> = RefCell::new(
        // No deadline ticker: a decision's 50 ms epoch deadline is wall
        // time, and a fuzzer starved of CPU (niced, on a shared machine)
        // tripped it in cabi_realloc after 1.6M runs, a trap that says
        // nothing about agreement. libFuzzer's -timeout catches a hang.
        GuestRuntime::builtin()
            .map(|r| r.with_ticker(false))
            .and_then(|r| r.instantiate())
            .expect("the built-in guest instantiates"),
    );
}

fuzz_target!(|input: Input| {
    let Some(list) = input.list.build() else {
        return;
    };
    let numbers = input.list.e164s();
    let plans = plans();
    let body = list.to_bytes();
    let native = Decider::new(list);
    GUEST.with(|guest| {
        let mut guest = guest.borrow_mut();
        guest
            .load(&body)
            .expect("the guest loads a list the builder made");
        for c in input.calls.iter().take(16) {
            let facility = FACILITIES
                .get(usize::from(c.facility % 5))
                .copied()
                .unwrap_or("F9");
            let inmate = INMATES
                .get(usize::from(c.inmate % 5))
                .copied()
                .unwrap_or("I9");
            let dialed = match &c.text {
                Some(t) => t.clone(),
                None => {
                    let n = numbers[usize::from(c.number) % numbers.len()];
                    dialed_form(n, &plans[usize::from(c.style >> 3) % plans.len()], c.style)
                }
            };
            let at = minutes(c.at);
            let call = Call {
                facility,
                inmate,
                dialed: &dialed,
                at,
                started: c.started.map(|m| at - i64::from(m) * 60),
            };
            let n = native.decide(&call);
            let w = guest.decide(&call).expect("the guest decides");
            assert_eq!(w, n, "guest (packed) and native disagree on {call:?}");
            let s = guest
                .decide_via_strings(&call)
                .expect("the guest decides via strings");
            assert_eq!(s, n, "guest (strings) and native disagree on {call:?}");
        }
    });
});
