//! Tests that kill mutations of the rules: each one fails when a rule it
//! names is changed by hand (issue 23) or by `cargo mutants`. Public API
//! only, so they hold for any implementation of the same contract.

use privcall_core::decide::Decider;
use privcall_core::list::{build, RegistryRow, Target, WindowRow};
use privcall_core::normalize::{normalize, readings, DialPlan, E164};
use privcall_core::types::{
    Call, Category, CategorySet, Decision, FailMode, Overrun, Policy, Reason, Unreadable,
};

/// 2026-12-01T09:00:00Z.
const T: i64 = 1_796_115_600;

fn policy(dial_plan: DialPlan) -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 0,
        fail_mode: FailMode::DoNotRecord,
        unreadable: Unreadable::Record,
        dial_plan,
    }
}

/// North America, outside line 9, home area code `home`.
fn nanp(home: &str) -> DialPlan {
    DialPlan {
        outside_line_prefix: "9".into(),
        home_area_code: home.into(),
        ..DialPlan::nanp()
    }
}

fn attorney(number: u64) -> RegistryRow {
    RegistryRow {
        target: Target::Number(E164(number)),
        category: Category::Attorney,
        facilities: None,
        valid_from: None,
        valid_until: None,
    }
}

/// A decider whose facility `F` dials under `plan`.
fn decider(plan: DialPlan, registry: &[RegistryRow], windows: &[WindowRow]) -> Decider {
    let p = policy(plan);
    Decider::new(build(p.clone(), vec![("F".into(), p)], registry, windows).unwrap())
}

fn decide(d: &Decider, dialed: &str, at: i64, started: Option<i64>) -> Decision {
    d.decide(&Call {
        facility: "F",
        inmate: "A1",
        dialed,
        at,
        started,
    })
}

/// Hand mutation (a): the second reading dropped. Under outside line 9,
/// `9 212 555 HELP` is 212-555-HELP behind the outside line, and also
/// 921-255-5435 (HELP's last letter beyond the number) dialed without it.
/// Both are numbers, so both are tried: a registration or a window on
/// either one makes the call private. (An area code 900 cannot make such a
/// pair in North America: `9` + `900…` read whole has exchange `0…`, and
/// `900…` without its `9` starts with `0`; it is the vanity and non-NANP
/// cases that do.)
#[test]
fn second_reading_of_an_ambiguous_string_is_tried() {
    let plan = nanp("573");
    let r = readings("9 212 555 HELP", &plan).unwrap();
    assert_eq!(
        (r.primary, r.alternate),
        (E164(12125554357), Some(E164(19212555435)))
    );
    // Registered as the whole digits (the alternate reading).
    let d = decider(plan.clone(), &[attorney(19212555435)], &[]);
    let got = decide(&d, "9 212 555 HELP", T, None);
    assert_eq!((got.reason, got.record), (Reason::Registered, false));
    assert_eq!(got.normalized, Some(E164(19212555435)));
    // Registered behind the outside line (the primary reading).
    let d = decider(plan.clone(), &[attorney(12125554357)], &[]);
    let got = decide(&d, "9 212 555 HELP", T, None);
    assert_eq!(
        (got.reason, got.normalized),
        (Reason::Registered, Some(E164(12125554357)))
    );
    // Neither registered: recorded, reported under the primary reading.
    let d = decider(plan, &[attorney(15735550142)], &[]);
    let got = decide(&d, "9 212 555 HELP", T, None);
    assert_eq!((got.reason, got.record), (Reason::NotPrivileged, true));
    assert_eq!(got.normalized, Some(E164(12125554357)));
}

/// Hand mutation (a), rule 3: a prearranged window on the second reading
/// makes the call private too, and the decision names that reading.
#[test]
fn second_reading_finds_a_prearranged_window() {
    let window = WindowRow {
        facility: "F".into(),
        inmate: "A1".into(),
        number: E164(19212555435),
        start: T,
        end: T + 3600,
    };
    let d = decider(nanp("573"), &[], &[window]);
    let got = decide(&d, "9 212 555 HELP", T + 60, None);
    assert_eq!((got.reason, got.record), (Reason::Prearranged, false));
    assert_eq!(got.private_until, Some(T + 3600));
    assert_eq!(got.normalized, Some(E164(19212555435)));
    // Outside the window the same string is recorded.
    let got = decide(&d, "9 212 555 HELP", T + 3600, None);
    assert_eq!((got.reason, got.record), (Reason::NotPrivileged, true));
}

/// Hand mutation (a) abroad: in Germany, behind outside line 9,
/// `9 030 1234567` is Berlin's 030 1234567, and also the national number
/// 9030 1234567 dialed without the outside line. Both are tried.
#[test]
fn second_reading_under_an_outside_line_abroad() {
    let plan = DialPlan {
        outside_line_prefix: "9".into(),
        ..DialPlan::for_country("49")
    };
    let r = readings("9 030 1234567", &plan).unwrap();
    assert_eq!(
        (r.primary, r.alternate),
        (E164(49301234567), Some(E164(4990301234567)))
    );
    let d = decider(plan, &[attorney(4990301234567)], &[]);
    let got = decide(&d, "9 030 1234567", T, None);
    assert_eq!((got.reason, got.record), (Reason::Registered, false));
    assert_eq!(got.normalized, Some(E164(4990301234567)));
}

/// Hand mutation (b): validity checked at `at` only. A registration valid
/// when the call was set up (`started`) keeps covering the call when the
/// PBX re-asks after it lapsed; one that became valid after set-up covers
/// the re-ask at `at`; one valid at neither time does not, and a first
/// ask (no `started`) is judged at `at` alone.
#[test]
fn registration_validity_on_a_mid_call_reask() {
    let lapsing = RegistryRow {
        valid_until: Some(T),
        ..attorney(15735550142)
    };
    let d = decider(nanp("573"), &[lapsing], &[]);
    let reask = decide(&d, "573-555-0142", T + 600, Some(T - 600));
    assert_eq!((reask.reason, reask.record), (Reason::Registered, false));
    // The end is exclusive: a call set up at `valid_until` is not covered.
    let late = decide(&d, "573-555-0142", T + 600, Some(T));
    assert_eq!((late.reason, late.record), (Reason::NotPrivileged, true));
    let first_ask = decide(&d, "573-555-0142", T + 600, None);
    assert_eq!(first_ask.reason, Reason::NotPrivileged);

    let starting = RegistryRow {
        valid_from: Some(T),
        ..attorney(15735550142)
    };
    let d = decider(nanp("573"), &[starting], &[]);
    let reask = decide(&d, "573-555-0142", T + 600, Some(T - 600));
    assert_eq!((reask.reason, reask.record), (Reason::Registered, false));
    let early = decide(&d, "573-555-0142", T - 1, Some(T - 600));
    assert_eq!((early.reason, early.record), (Reason::NotPrivileged, true));

    // Valid only in between set-up and re-ask: neither time is covered.
    let between = RegistryRow {
        valid_from: Some(T),
        valid_until: Some(T + 60),
        ..attorney(15735550142)
    };
    let d = decider(nanp("573"), &[between], &[]);
    let got = decide(&d, "573-555-0142", T + 600, Some(T - 600));
    assert_eq!((got.reason, got.record), (Reason::NotPrivileged, true));
    let got = decide(&d, "573-555-0142", T + 30, Some(T - 600));
    assert_eq!(got.reason, Reason::Registered);
}

/// Hand mutation (c): keypad letters refused in 7-digit local dialing.
/// At a facility with home area code 800, `LAW-HELP` is 800-529-4357,
/// with or without the outside line; letters read as their keypad digits.
#[test]
fn keypad_letters_in_seven_digit_local_dialing() {
    let plan = nanp("800");
    for dialed in ["LAW-HELP", "lawhelp", "9 LAW-HELP", "529-HELP", "LAW-4357"] {
        assert_eq!(
            normalize(dialed, &plan),
            Ok(E164(18005294357)),
            "{dialed:?}"
        );
    }
    assert_eq!(normalize("555-HELP", &nanp("573")), Ok(E164(15735554357)));
    let d = decider(plan, &[attorney(18005294357)], &[]);
    for dialed in ["LAW-HELP", "9 LAW-HELP"] {
        let got = decide(&d, dialed, T, None);
        assert_eq!(
            (got.reason, got.record, got.normalized),
            (Reason::Registered, false, Some(E164(18005294357))),
            "{dialed:?}"
        );
    }
}

/// Hand mutation (d): `00` read as the international prefix where the
/// country's prefix is another (Australia 0011, Japan 010, North America
/// 011). There `00 44 …` is no call to London, and a registered London
/// number is private only as the country dials it; where `00` is the
/// prefix (Germany, France) it is.
#[test]
fn double_zero_is_international_only_where_it_is_the_prefix() {
    let london = 442079460000;
    for (cc, own) in [
        ("61", "0011 44 20 7946 0000"),
        ("81", "010 44 20 7946 0000"),
        ("1", "011 44 20 7946 0000"),
    ] {
        let plan = DialPlan::for_country(cc);
        assert_ne!(
            normalize("00 44 20 7946 0000", &plan),
            Ok(E164(london)),
            "{cc}"
        );
        assert_ne!(
            normalize("0044 2079460000", &plan),
            Ok(E164(london)),
            "{cc}"
        );
        assert_eq!(normalize(own, &plan), Ok(E164(london)), "{cc}: {own}");
        let d = decider(plan, &[attorney(london)], &[]);
        let got = decide(&d, "00 44 20 7946 0000", T, None);
        assert_ne!(got.reason, Reason::Registered, "{cc}");
        assert!(got.record, "{cc}");
        let got = decide(&d, own, T, None);
        assert_eq!(
            (got.reason, got.record),
            (Reason::Registered, false),
            "{cc}"
        );
    }
    // Australia and Japan read the leftover as a national number.
    assert_eq!(
        normalize("00 44 20 7946 0000", &DialPlan::for_country("61")),
        Ok(E164(610442079460000))
    );
    for cc in ["49", "33", "44"] {
        let plan = DialPlan::for_country(cc);
        assert_eq!(
            normalize("00 44 20 7946 0000", &plan),
            Ok(E164(london)),
            "{cc}"
        );
        let d = decider(plan, &[attorney(london)], &[]);
        let got = decide(&d, "00 44 20 7946 0000", T, None);
        assert_eq!(
            (got.reason, got.record),
            (Reason::Registered, false),
            "{cc}"
        );
    }
}
