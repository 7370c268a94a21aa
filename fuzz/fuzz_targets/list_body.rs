//! The compiled list body decoder, `CompiledList::from_bytes`, on
//! arbitrary bytes. It runs only after a valid signature, but a
//! compromised or buggy authority must not crash or hang an edge: decoding
//! must refuse or accept without panicking, and a list it accepts must
//! decide calls (its own numbers, blocks and windows, at the edges of its
//! validity and windows) without panicking or looping, and encode back to
//! itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::fixtures::{synthetic_list, NOW};
use privcall_core::decide::Decider;
use privcall_core::list::CompiledList;
use privcall_core::normalize::E164;
use privcall_core::types::Call;
use privcall_fuzz::{dialed_form, write_seeds_if_asked};

fuzz_target!(
    init: {
        write_seeds_if_asked("list_body", || {
            [(0, 0, 1), (1, 1, 2), (5, 3, 3), (12, 6, 4)]
                .iter()
                .map(|&(n, w, seed)| synthetic_list(n, w, seed).list.to_bytes())
                .collect()
        });
    },
    |data: &[u8]| {
        let Ok(list) = CompiledList::from_bytes(data) else {
            return;
        };
        let again = CompiledList::from_bytes(&list.to_bytes());
        assert_eq!(again.as_ref(), Ok(&list), "an accepted list does not re-encode to itself");

        // Numbers the list holds, and the times where its answers change.
        let mut numbers: Vec<E164> = list.nanp.iter().take(2).map(E164::from_nanp_national).collect();
        numbers.extend(list.intl.iter().take(2).map(E164));
        numbers.extend(list.windows.iter().take(2).map(|w| E164(w.number)));
        numbers.extend(list.prefixes.iter().take(2).map(|p| {
            // The block's first number: its digits padded to 11 with 2s.
            let digits = u32::from(p.len).min(15);
            E164(
                p.value
                    .saturating_mul(10u64.pow(11u32.saturating_sub(digits)))
                    .saturating_add(2),
            )
        }));
        let mut times = vec![NOW, i64::MIN, i64::MAX, 0];
        for class in list.classes.iter().take(4) {
            for g in class.iter().take(2) {
                times.extend(g.valid_from);
                times.extend(g.valid_until.map(|t| t.saturating_sub(1)));
            }
        }
        for w in list.windows.iter().take(4) {
            times.extend([w.start, w.end.saturating_sub(1), w.end]);
        }
        let mut facilities: Vec<&str> = list.facilities.iter().take(3).map(|f| f.code.as_str()).collect();
        facilities.push("NOWHERE");
        let inmates: Vec<&str> = list.windows.iter().take(2).map(|w| w.inmate.as_str()).chain([""]).collect();

        let decider = Decider::new(list.clone());
        for (i, n) in numbers.iter().enumerate() {
            for (j, facility) in facilities.iter().enumerate() {
                let plan = &decider.list().default_policy.dial_plan;
                let dialed = dialed_form(*n, plan, (i + j) as u8);
                for &at in times.iter().take(6) {
                    for inmate in &inmates {
                        let call = Call {
                            facility,
                            inmate,
                            dialed: &dialed,
                            at,
                            started: Some(at.saturating_sub(3600)),
                        };
                        let d = decider.decide(&call);
                        // The answer is consistent with itself: a call
                        // not recorded is never monitored.
                        assert!(d.record || !d.monitor, "monitored but not recorded: {d:?}");
                    }
                }
            }
        }
    }
);
