//! `policy.toml` as the list compiler reads it (`parse_policy`). Reading
//! must not panic; it parses exactly when it reports no error (the
//! compiler relies on that); and the policies it accepts pass the edge's
//! own validation: a list built with them loads (`CompiledList::from_bytes`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use privcall::fixtures::sources::policy_toml;
use privcall_core::list::{build, CompiledList};
use privcall_fuzz::write_seeds_if_asked;

fuzz_target!(
    init: {
        write_seeds_if_asked("policy_toml", || {
            vec![
                include_bytes!("../../examples/policy.toml").to_vec(),
                b"[default]\ncountry_code = \"44\"\ntrunk_prefix = \"0\"\n\
                  [facility.LON]\noutside_line_prefix = \"9\"\nexempt = [\"attorney\"]\n"
                    .to_vec(),
                b"[default]\nfail_mode = \"record\"\noverrun = \"stay-private\"\n\
                  early_grace_minutes = 1440\n[facility.\"A B\"]\nhome_area_code = \"573\"\n"
                    .to_vec(),
            ]
        });
    },
    |data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let (policies, errors) = policy_toml(text);
        // policy.toml holds no privileged value: its errors echo keys and
        // values to say which is wrong, so they are not checked for
        // numbers as the CSV targets' are.
        assert_eq!(
            policies.is_some(),
            errors.is_empty(),
            "a policy parses exactly when it has no error: {errors:?}"
        );
        let Some(policies) = policies else {
            return;
        };
        let facilities = policies.facilities.into_iter().collect();
        let list = build(policies.default, facilities, &[], &[])
            .expect("policies the compiler accepts build a list");
        assert_eq!(CompiledList::from_bytes(&list.to_bytes()).as_ref(), Ok(&list));
    }
);
