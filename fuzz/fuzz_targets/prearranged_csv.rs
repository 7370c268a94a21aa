//! `prearranged.csv` rows as the list compiler reads them
//! (`parse_prearranged`), under one of a few policies (the input's first
//! byte). Reading must not panic; no error names a number; windows read
//! without an error have valid E.164 numbers and a start before their
//! end, and they build a list the edge's own validation accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::fixtures::sources::prearranged_csv;
use privcall_core::list::{build, CompiledList};
use privcall_core::normalize::DialPlan;
use privcall_fuzz::{assert_e164, assert_private_errors, source_policies, write_seeds_if_asked};

fuzz_target!(
    init: {
        write_seeds_if_asked("prearranged_csv", || {
            let example = include_bytes!("../../examples/prearranged.csv");
            vec![
                [&[1u8][..], example].concat(),
                [&[0u8][..], example].concat(),
                b"\x02facility,inmate,number,start,end,ref\n\
                  LON,A1,020 7946 0958,2026-12-01T10:00:00+01:00,2026-12-01T10:30:00.5Z,r\n\
                  LON,A1,+44 20 7946 0958,2026-12-01T10:31:00Z,2026-12-01T11:00:00Z,r2\n"
                    .to_vec(),
            ]
        });
    },
    |data: &[u8]| {
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let policies = source_policies(pick);
        let (windows, errors) = prearranged_csv(text, &policies);
        assert_private_errors(&errors);
        if !errors.is_empty() {
            return;
        }
        for w in &windows {
            assert_e164(w.number, &DialPlan::nanp(), "a window's number");
            assert!(w.start < w.end, "a window that ends before it starts");
        }
        let facilities = policies.facilities.clone().into_iter().collect();
        let list = build(policies.default.clone(), facilities, &[], &windows)
            .expect("windows the compiler accepts build a list");
        assert_eq!(CompiledList::from_bytes(&list.to_bytes()).as_ref(), Ok(&list));
    }
);
