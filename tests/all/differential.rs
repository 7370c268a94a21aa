//! The wasm guest and the same core built natively agree on every input,
//! and the host's direct core-module calls agree with the same guest run as
//! a component through wasmtime's canonical ABI.

use privcall::guest::GuestRuntime;
use privcall_core::decide::Decider;
use privcall_core::types::Call;
use proptest::prelude::*;

use crate::common::{from_text, t};
use crate::formats::formats;
use crate::reference::Reference;

const NUMBERS: [&str; 6] = [
    "+1 573 555 0142",
    "+1 314 555 0199",
    "+1 417 555 0100",
    "+1 816 555 0123",
    "+44 20 7946 0958",
    "+52 55 5555 0100",
];

fn fixture() -> crate::common::Signed {
    let registry = "number,category,facilities,valid_from,valid_until,label\n\
        +1 573 555 0142,attorney,,,,a\n\
        +1 314 555 0199,public-defender,F1;F2,2026-06-01,2026-12-31,b\n\
        +1 417 555 0100,clergy,F2,,,c\n\
        +1 417 555 0100,medical,,,,c2\n\
        +1816555*,legal-aid,F3,,,d\n\
        +44 20 7946 0958,consulate,,,,e\n\
        +52 55 5555 0100,consulate,,2026-01-01,,f\n";
    let prearranged = "facility,inmate,number,start,end,ref\n\
        F1,I1,+1 816 555 0123,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r1\n\
        F1,I1,+1 816 555 0123,2026-12-01T10:31:00Z,2026-12-01T11:00:00Z,r2\n\
        F2,I2,+1 417 555 0100,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r3\n\
        F3,I1,+44 20 7946 0958,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r4\n";
    let policy = "[default]\noutside_line_prefix = \"9\"\nexempt = [\"attorney\", \"public-defender\", \"consulate\"]\n\
        [facility.F1]\nhome_area_code = \"573\"\noverrun = \"record-with-notice\"\n\
        [facility.F2]\nexempt = [\"clergy\"]\noverrun = \"disconnect-with-notice\"\nearly_grace_minutes = 10\n\
        [facility.F3]\noutside_line_prefix = \"\"\nexempt = [\"legal-aid\"]\n";
    from_text(registry, prearranged, policy)
}

fn dialed_strategy() -> impl Strategy<Value = String> {
    let listed = (0..NUMBERS.len(), 0usize..40).prop_map(|(i, f)| {
        let n = NUMBERS[i];
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        if let Some(rest) = digits.strip_prefix('1') {
            let all = formats(&rest[..3], &rest[3..6], &rest[6..], Some("573"));
            all[f % all.len()].clone()
        } else {
            [
                format!("011 {digits}"),
                format!("+{digits}"),
                format!("00{digits}"),
            ][f % 3]
                .clone()
        }
    });
    prop_oneof![
        4 => listed,
        2 => "[0-9]{7,11}",
        1 => "(\\+|9|1|011)?[0-9 ()\\-.]{7,16}(x[0-9]{1,3})?",
        1 => any::<String>(),
        1 => "[A-Za-z0-9*#+,;:@.\\- ]{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn wasm_and_native_agree(
        facility in prop_oneof![
            Just("F1".to_string()), Just("F2".to_string()), Just("F3".to_string()),
            Just("F4".to_string()), Just(String::new()), "[A-Z0-9]{1,5}"
        ],
        inmate in prop_oneof![Just("I1".to_string()), Just("I2".to_string()), "[A-Z0-9]{0,6}"],
        dialed in dialed_strategy(),
        at_offset in -7200i64..7200,
        started_back in prop::option::of(0i64..7200),
        day in prop_oneof![Just("2026-12-01T10:00:00Z"), Just("2026-05-31T23:59:59Z"), Just("2027-01-01T00:00:00Z")],
    ) {
        thread_local! {
            static STATE: (std::cell::RefCell<privcall::fixtures::GuestInstance>, Decider, std::cell::RefCell<Reference>) = {
                let s = fixture();
                let mut g = GuestRuntime::builtin().unwrap().instantiate().unwrap();
                g.load(&s.list.to_bytes()).unwrap();
                let n = Decider::new(s.list.clone());
                let mut r = Reference::new();
                r.load(&s.list.to_bytes()).unwrap();
                (std::cell::RefCell::new(g), n, std::cell::RefCell::new(r))
            };
        }
        let at = t(day) + at_offset;
        let c = Call { facility: &facility, inmate: &inmate, dialed: &dialed, at, started: started_back.map(|b| at - b) };
        STATE.with(|(guest, native, reference)| {
            let n = native.decide(&c);
            // `decide` takes the packed path when the strings fit, the
            // string path otherwise; both must agree with native code.
            let w = guest.borrow_mut().decide(&c).unwrap();
            prop_assert_eq!(&w, &n, "call {:?}", c);
            let s = guest.borrow_mut().decide_via_strings(&c).unwrap();
            prop_assert_eq!(&s, &n, "string path, call {:?}", c);
            // The component, lifted by wasmtime: the whole record, and the
            // packed answer of the string path.
            let mut reference = reference.borrow_mut();
            let r = reference.decide(&c).unwrap();
            prop_assert_eq!(&r, &n, "component decide, call {:?}", c);
            let r = reference.decide_strings(&c).unwrap();
            prop_assert_eq!(&r, &n, "component decide-strings, call {:?}", c);
            Ok(())
        })?;
    }
}
