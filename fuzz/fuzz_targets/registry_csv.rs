//! `registry.csv` rows as the list compiler reads them (`parse_registry`),
//! under one of a few policies (the input's first byte). Reading must not
//! panic; no error names a number; rows read without an error are valid
//! E.164 numbers or blocks, and they build a list that the edge's own
//! validation (`CompiledList::from_bytes`) accepts: what the authority
//! compiles, every edge loads.

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::fixtures::sources::registry_csv;
use privcall_core::list::{build, CompiledList, Target};
use privcall_core::normalize::DialPlan;
use privcall_fuzz::{assert_e164, assert_private_errors, source_policies, write_seeds_if_asked};

fuzz_target!(
    init: {
        write_seeds_if_asked("registry_csv", || {
            let example = include_bytes!("../../examples/registry.csv");
            vec![
                [&[1u8][..], example].concat(),
                [&[0u8][..], example].concat(),
                b"\x02number,category,facilities,valid_from,valid_until,label\n\
                  +44 20 7946 0958,consulate,LON,2026-01-01T00:00:00Z,2027-01-01,x\n\
                  020 7946 0959,attorney,,,,y\n+4420794*,court,,,,z\n"
                    .to_vec(),
                b"\x01number,category,facilities,valid_from,valid_until,label\n\
                  \"+1 (573) 555-0142\",attorney,JCCC;WERDCC,,2026-12-31,\"a, b\"\n"
                    .to_vec(),
            ]
        });
    },
    |data: &[u8]| {
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        // The compiler reads files as UTF-8 and refuses others first.
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let policies = source_policies(pick);
        let (rows, errors) = registry_csv(text, &policies);
        assert_private_errors(&errors);
        if !errors.is_empty() {
            return;
        }
        for row in &rows {
            if let Target::Number(n) = row.target {
                assert_e164(n, &DialPlan::nanp(), "a registry number");
            }
            if let (Some(from), Some(until)) = (row.valid_from, row.valid_until) {
                assert!(from < until, "a row valid for no time");
            }
        }
        let facilities = policies.facilities.clone().into_iter().collect();
        let list = build(policies.default.clone(), facilities, &rows, &[])
            .expect("rows the compiler accepts build a list");
        assert_eq!(CompiledList::from_bytes(&list.to_bytes()).as_ref(), Ok(&list));
    }
);
