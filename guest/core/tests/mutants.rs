//! Tests that kill mutations of the rules: each one fails when a rule it
//! names is changed by hand (issue 23) or by `cargo mutants`. Public API
//! only, so they hold for any implementation of the same contract.

use privcall_core::canary::{CANARY_NUMBERS, CANARY_WINDOWS};
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

/// A registration applies only where it is in scope and for a category
/// the facility exempts: the three conditions are all required.
#[test]
fn registration_needs_scope_and_an_exempt_category() {
    let scoped = RegistryRow {
        facilities: Some(vec!["OTHER".into()]),
        ..attorney(15735550142)
    };
    let clergy = RegistryRow {
        category: Category::Clergy,
        ..attorney(15735550199)
    };
    let mut p = policy(nanp("573"));
    p.exempt = CategorySet::default();
    p.exempt.insert(Category::Attorney);
    let list = build(p.clone(), vec![("F".into(), p)], &[scoped, clergy], &[]).unwrap();
    let d = Decider::new(list);
    for dialed in ["573-555-0142", "573-555-0199"] {
        let got = decide(&d, dialed, T, None);
        assert_eq!(
            (got.reason, got.record),
            (Reason::NotPrivileged, true),
            "{dialed}"
        );
    }
    // In scope at OTHER (which decides under the same default policy).
    let got = d.decide(&Call {
        facility: "OTHER",
        inmate: "A1",
        dialed: "573-555-0142",
        at: T,
        started: None,
    });
    assert_eq!(got.reason, Reason::Registered);
}

/// `default_policy` says whether the facility had a policy table of its
/// own: false for one, true for a facility only a row names and for one
/// the list does not know.
#[test]
fn default_policy_flag_follows_the_facility() {
    let p = policy(nanp("573"));
    let row = RegistryRow {
        facilities: Some(vec!["NAMED".into()]),
        ..attorney(15735550142)
    };
    let d = Decider::new(build(p.clone(), vec![("OWN".into(), p)], &[row], &[]).unwrap());
    for (facility, default_policy) in [("OWN", false), ("NAMED", true), ("UNKNOWN", true)] {
        let got = d.decide(&Call {
            facility,
            inmate: "A1",
            dialed: "573-555-0199",
            at: T,
            started: None,
        });
        assert_eq!(got.default_policy, default_policy, "{facility}");
    }
}

/// Prefix blocks of several lengths: a number in only the longest (or
/// only the shortest) block is registered, and the lookup ends.
#[test]
fn prefix_blocks_of_every_length_are_looked_up() {
    let block = |value: u64, len: u8, category| RegistryRow {
        target: Target::Prefix(privcall_core::normalize::Prefix { value, len }),
        category,
        facilities: None,
        valid_from: None,
        valid_until: None,
    };
    let rows = [
        block(1573526, 7, Category::PublicDefender),
        block(15735550, 8, Category::LegalAid),
        block(157355501, 9, Category::Attorney),
        block(4420, 4, Category::Consulate),
    ];
    let d = decider(nanp("573"), &rows, &[]);
    for (dialed, category) in [
        ("573-526-1234", Some(Category::PublicDefender)),
        ("573-555-0042", Some(Category::LegalAid)),
        ("573-555-0142", Some(Category::Attorney)),
        ("011 44 20 7946 0000", Some(Category::Consulate)),
        ("573-527-0000", None),
        ("573-555-1142", None),
    ] {
        let got = decide(&d, dialed, T, None);
        assert_eq!(got.category, category, "{dialed}");
        assert_eq!(got.record, category.is_none(), "{dialed}");
    }
}

/// Windows of an inmate id too long to pack inline are matched by the
/// list's own entry for the slot: every window of the chain, not only
/// the first, is found.
#[test]
fn windows_of_a_long_inmate_id() {
    let inmate = "INMATE-0000000000000000000042";
    let other = "INMATE-0000000000000000000043";
    let window = |who: &str, start: i64, end: i64| WindowRow {
        facility: "F".into(),
        inmate: who.into(),
        number: E164(15735550142),
        start,
        end,
    };
    let rows = [
        window(inmate, T, T + 600),
        window(inmate, T + 3600, T + 4200),
        window(other, T + 7200, T + 7800),
    ];
    let d = decider(nanp("573"), &[], &rows);
    let ask = |who: &str, at: i64| {
        d.decide(&Call {
            facility: "F",
            inmate: who,
            dialed: "573-555-0142",
            at,
            started: None,
        })
    };
    for (at, until) in [
        (T + 60, Some(T + 600)),
        (T + 3660, Some(T + 4200)),
        (T + 1800, None),
    ] {
        assert_eq!(ask(inmate, at).private_until, until, "{at}");
    }
    assert_eq!(ask(other, T + 7260).private_until, Some(T + 7800));
    assert_eq!(ask(other, T + 60).reason, Reason::NotPrivileged);
}

/// Plans are checked field by field, at each bound.
#[test]
fn dial_plan_validation_bounds() {
    let ok = |p: DialPlan| p.validate().is_ok();
    let base = DialPlan::for_country("44");
    let with = |f: &dyn Fn(&mut DialPlan)| {
        let mut p = base.clone();
        f(&mut p);
        p
    };
    assert!(ok(with(&|p| p.outside_line_prefix = "9999".into())));
    assert!(ok(with(&|p| p.outside_line_prefix = String::new())));
    assert!(!ok(with(&|p| p.outside_line_prefix = "99999".into())));
    assert!(!ok(with(&|p| p.outside_line_prefix = "9a".into())));
    for cc in ["1", "44", "999"] {
        assert!(ok(with(&|p| p.country_code = cc.into())), "{cc}");
    }
    for cc in ["", "9999", "4a", "04", "0", "17", "100"] {
        assert!(!ok(with(&|p| p.country_code = cc.into())), "{cc:?}");
    }
    assert!(ok(with(&|p| p.trunk_prefix = "06".into())));
    assert!(ok(with(&|p| p.trunk_prefix = String::new())));
    assert!(!ok(with(&|p| p.trunk_prefix = "061".into())));
    assert!(!ok(with(&|p| p.trunk_prefix = "0a".into())));
    assert!(ok(with(&|p| p.international_prefix = "0011".into())));
    assert!(ok(with(&|p| p.international_prefix = "0".into())));
    assert!(!ok(with(&|p| p.international_prefix = String::new())));
    assert!(!ok(with(&|p| p.international_prefix = "0a".into())));
    assert!(ok(nanp("573")));
    assert!(!ok(DialPlan {
        home_area_code: "573".into(),
        ..base.clone()
    }));
    for home in ["57", "5733", "57a", "073", "173"] {
        assert!(!ok(nanp(home)), "{home}");
    }
}

/// Each country's trunk and international prefixes, as its own phones
/// dial a national number and a London number.
#[test]
fn each_countrys_prefixes_read_right() {
    let london = E164(442079460000);
    for (cc, intl) in [
        ("1", "011"),
        ("680", "011"),
        ("692", "011"),
        ("61", "0011"),
        ("81", "010"),
        ("7", "810"),
        ("375", "810"),
        ("992", "810"),
        ("993", "810"),
        ("53", "119"),
        ("82", "001"),
        ("65", "001"),
        ("66", "001"),
        ("855", "001"),
        ("976", "001"),
        ("592", "001"),
        ("886", "002"),
        ("62", "008"),
        ("230", "020"),
        ("55", "0021"),
        ("238", "0"),
        ("685", "0"),
        ("254", "000"),
        ("255", "000"),
        ("256", "000"),
        ("234", "009"),
        ("57", "009"),
        ("49", "00"),
    ] {
        let plan = DialPlan::for_country(cc);
        assert_eq!(plan.international_prefix, intl, "{cc}");
        assert_eq!(
            normalize(&format!("{intl} 44 20 7946 0000"), &plan),
            Ok(london),
            "{cc}"
        );
    }
    // The trunk prefix is dropped before a national number; where there
    // is none, the leading digit is part of the number.
    for (cc, dialed, want) in [
        ("1", "1 573 555 0142", 15735550142),
        ("692", "1 625 1234", 6926251234),
        ("7", "8 495 123 4567", 74951234567),
        ("375", "8 17 123 4567", 375171234567),
        ("993", "8 12 345678", 99312345678),
        ("36", "06 1 234 5678", 3612345678),
        ("39", "06 1234 5678", 390612345678),
        ("34", "912 345 678", 34912345678),
        ("998", "71 234 5678", 998712345678),
        ("49", "030 1234567", 49301234567),
    ] {
        assert_eq!(
            normalize(dialed, &DialPlan::for_country(cc)),
            Ok(E164(want)),
            "{cc}: {dialed}"
        );
    }
}

/// Numbers after `+`: extra keypad letters are dropped, extra digits are
/// not, and a short vanity string is refused, not cut.
#[test]
fn international_lengths_and_letters() {
    let plan = DialPlan::nanp();
    assert_eq!(normalize("+1 800 LAW HELPS", &plan), Ok(E164(18005294357)));
    assert_eq!(normalize("+1 800 LAW HELP", &plan), Ok(E164(18005294357)));
    assert_eq!(
        normalize("+1 573 555 01423", &plan),
        Err(privcall_core::normalize::NormalizeError::WrongLength { digits: 11 })
    );
    assert_eq!(
        normalize("+1 800 LAW", &plan),
        Err(privcall_core::normalize::NormalizeError::WrongLength { digits: 6 })
    );
    // Digits shorter than a prefix they start like are no number.
    for dialed in ["0", "01", "9"] {
        assert!(normalize(dialed, &nanp("573")).is_err(), "{dialed}");
    }
    // An access prefix alone is empty; a trunk prefix alone has no digits.
    use privcall_core::normalize::NormalizeError::{Empty, WrongLength};
    assert_eq!(normalize("00", &DialPlan::for_country("44")), Err(Empty));
    assert_eq!(
        normalize("0", &DialPlan::for_country("44")),
        Err(WrongLength { digits: 0 })
    );
}

/// A window's key mixes facility and number so that some pairs collide
/// by construction: number `n ^ 1 << 48` at facility 1 has the key of `n`
/// at facility 0, for the same inmate. The window of the other facility
/// and number must not make the colliding call private: every field is
/// compared.
#[test]
fn a_colliding_window_key_never_makes_a_call_private() {
    use privcall_core::list::window_key;
    let here = E164(15735550142);
    let there = E164(here.0 ^ 1 << 48);
    assert_eq!(there.to_string(), "+281490712260798");
    assert_eq!(window_key(0, here, "A1"), window_key(1, there, "A1"));
    let window = |facility: &str, number: E164, inmate: &str| WindowRow {
        facility: facility.into(),
        inmate: inmate.into(),
        number,
        start: T,
        end: T + 3600,
    };
    // The window of A (index 0) for `here`, and one of A for `there` and
    // another inmate, so `there` passes the number filter.
    let rows = [window("A", here, "A1"), window("A", there, "OTHER")];
    let p = policy(DialPlan::nanp());
    let list = build(p.clone(), vec![("B".into(), p)], &[], &rows).unwrap();
    let d = Decider::new(list);
    let ask = |facility: &str, dialed: &str| {
        d.decide(&Call {
            facility,
            inmate: "A1",
            dialed,
            at: T + 60,
            started: None,
        })
    };
    assert_eq!(ask("A", "+1 573 555 0142").reason, Reason::Prearranged);
    let got = ask("B", "+281490712260798");
    assert_eq!((got.reason, got.record), (Reason::NotPrivileged, true));
    assert_eq!(got.normalized, Some(there));
}

/// The list's counts and sizes, as reports show them.
#[test]
fn list_counts_and_sizes() {
    let block = |value: u64, len: u8| RegistryRow {
        target: Target::Prefix(privcall_core::normalize::Prefix { value, len }),
        ..attorney(0)
    };
    let window = |start: i64| WindowRow {
        facility: "F".into(),
        inmate: "A1".into(),
        number: E164(15735550142),
        start,
        end: start + 60,
    };
    let empty = build(policy(DialPlan::nanp()), vec![], &[], &[]).unwrap();
    let rows = [
        attorney(15735550142),
        RegistryRow {
            category: Category::Clergy,
            ..attorney(15735550143)
        },
        attorney(442079460000),
        attorney(442079460001),
        RegistryRow {
            category: Category::Medical,
            ..attorney(442079460002)
        },
        block(1573526, 7),
        block(4420, 4),
    ];
    let list = build(
        policy(DialPlan::nanp()),
        vec![],
        &rows,
        &[window(T), window(T + 600), window(T + 1200)],
    )
    .unwrap();
    // Every list holds the synthetic canary entries too.
    assert_eq!(list.number_count(), 5 + CANARY_NUMBERS);
    assert_eq!(list.prefix_count(), 2);
    assert_eq!(list.window_count(), 3 + CANARY_WINDOWS);
    assert_eq!(empty.number_count(), CANARY_NUMBERS);
    assert_eq!(empty.prefix_count(), 0);
    assert_eq!(empty.window_count(), CANARY_WINDOWS);
    // The set bytes are the sum of its four parts, each of them non-empty.
    for l in [&list, &empty] {
        let parts = [
            l.nanp.heap_bytes(),
            l.nanp_classes.heap_bytes(),
            l.intl.heap_bytes(),
            l.intl_classes.heap_bytes(),
        ];
        assert_eq!(l.set_bytes(), parts.iter().sum::<usize>(), "{parts:?}");
    }
    assert!(list.set_bytes() > empty.set_bytes());
    // Several classes in each set: every part takes memory.
    for part in [
        list.nanp.heap_bytes(),
        list.nanp_classes.heap_bytes(),
        list.intl.heap_bytes(),
        list.intl_classes.heap_bytes(),
    ] {
        assert!(part > 0, "{part}");
    }
}

/// Registry prefix blocks: North American digit rules at their bounds,
/// and the longest block strings.
#[test]
fn prefix_block_bounds() {
    use privcall_core::normalize::{normalize_prefix, NormalizeError as E, Prefix};
    let nanp = DialPlan::nanp();
    let p = |value, len| Ok(Prefix { value, len });
    assert_eq!(normalize_prefix("+1200*", &nanp), p(1200, 4));
    assert_eq!(normalize_prefix("+1 573 2*", &nanp), p(15732, 5));
    assert_eq!(normalize_prefix("+1 573 0*", &nanp), Err(E::BadExchange));
    assert_eq!(normalize_prefix("+1 573 1*", &nanp), Err(E::BadExchange));
    assert_eq!(normalize_prefix("+1 173*", &nanp), Err(E::BadAreaCode));
    assert_eq!(
        normalize_prefix("+1 573 555 0142*", &nanp),
        p(15735550142, 11)
    );
    assert_eq!(
        normalize_prefix("+1 573 555 01423*", &nanp),
        Err(E::PrefixLength)
    );
    // As many digits as a dialed string may have: too long a block, not
    // too long a string.
    let long = format!("{}*", "2".repeat(32));
    assert_eq!(normalize_prefix(&long, &nanp), Err(E::PrefixLength));
    let long = format!("{}*", "2".repeat(30));
    assert_eq!(
        normalize_prefix(&long, &DialPlan::for_country("44")),
        Err(E::PrefixLength)
    );
}

/// Set errors say what is wrong.
#[test]
fn set_errors_have_messages() {
    use privcall_core::set::{RadixSet, SetError};
    let err = RadixSet::from_sorted(&[5, 5]).unwrap_err();
    assert_eq!(err, SetError::NotSorted);
    assert_eq!(err.to_string(), "set keys are not strictly increasing");
    assert_eq!(SetError::TooMany.to_string(), "too many keys for one set");
    assert_eq!(SetError::Malformed("x").to_string(), "malformed set: x");
}

/// The set's size and emptiness, and a decoded set whose bucket repeats a
/// key: validation refuses it (a repeated key would shift every rank
/// after it to another number's class).
#[test]
fn set_sizes_and_a_repeated_key() {
    use privcall_core::set::{RadixSet, SetError};
    let empty = RadixSet::empty();
    assert!(empty.is_empty());
    // Two directory offsets and no low parts.
    assert_eq!(empty.heap_bytes(), 8);
    let one = RadixSet::from_sorted(&[7]).unwrap();
    assert!(!one.is_empty());
    // One bucket (two offsets) and one 16-bit low part, whichever shift
    // from 3 to 16 the layout keeps.
    assert_eq!(one.heap_bytes(), 10);

    let config = bincode::config::standard();
    let two = RadixSet::from_sorted(&[5, 6]).unwrap();
    let mut bytes = bincode::encode_to_vec(&two, config).unwrap();
    let (back, _): (RadixSet, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back.validate(), Ok(()));
    assert_eq!(bytes.last(), Some(&6));
    *bytes.last_mut().unwrap() = 5;
    let (repeated, _): (RadixSet, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(
        repeated.validate(),
        Err(SetError::Malformed(
            "keys within a bucket are not increasing"
        ))
    );
}

/// A list of every part: two facilities, numbers of both sets, scoped
/// and dated grants, prefix blocks and windows. It validates.
fn full_list() -> privcall_core::list::CompiledList {
    let p = policy(nanp("573"));
    let rows = [
        RegistryRow {
            facilities: Some(vec!["A".into(), "B".into()]),
            valid_from: Some(T),
            valid_until: Some(T + 1),
            ..attorney(15735550142)
        },
        attorney(442079460000),
        RegistryRow {
            target: Target::Prefix(privcall_core::normalize::Prefix {
                value: 1573526,
                len: 7,
            }),
            ..attorney(0)
        },
        RegistryRow {
            target: Target::Prefix(privcall_core::normalize::Prefix {
                value: 4420,
                len: 4,
            }),
            category: Category::Consulate,
            ..attorney(0)
        },
    ];
    let window = |facility: &str, start: i64| WindowRow {
        facility: facility.into(),
        inmate: "A1".into(),
        number: E164(15735550142),
        start,
        end: start + 60,
    };
    let list = build(
        p.clone(),
        vec![("A".into(), p.clone()), ("B".into(), p)],
        &rows,
        &[window("A", T), window("B", T), window("A", T + 600)],
    )
    .unwrap();
    assert_eq!(list.validate(), Ok(()));
    list
}

/// Every structural rule of a list refuses its breach, at its bound, and
/// the encoded form gets the same answer.
#[test]
fn every_list_rule_refuses_its_breach() {
    use privcall_core::list::{CompiledList, ListError};
    let check = |name: &str, want: Result<(), &'static str>, change: &dyn Fn(&mut CompiledList)| {
        let mut list = full_list();
        change(&mut list);
        let got = list.validate();
        match want {
            Ok(()) => assert_eq!(got, Ok(()), "{name}"),
            Err(what) => assert_eq!(got, Err(ListError::Invalid(what)), "{name}"),
        }
        assert_eq!(
            CompiledList::from_bytes(&list.to_bytes()).map(|_| ()),
            got,
            "{name}, encoded"
        );
    };
    let ok = Ok(());
    check("as built", ok, &|_| {});
    let unsorted = Err("facilities are not sorted and unique");
    check("facilities swapped", unsorted, &|l| l.facilities.swap(0, 1));
    check("facility twice", unsorted, &|l| {
        l.facilities[1].code = "A".into();
    });
    check("empty code", Err("empty facility code"), &|l| {
        l.facilities[0].code = String::new();
    });
    check("empty class", Err("empty class"), &|l| l.classes[0].clear());
    let grant_facilities = Err("grant facilities are not sorted and unique");
    /// A grant scoped to the sources' facilities (not the canary entries',
    /// at the canary facility).
    fn scoped(l: &CompiledList) -> (usize, usize) {
        let canary = l
            .facilities
            .iter()
            .position(|f| f.code == privcall_core::canary::CANARY_FACILITY)
            .map(|i| i as u16);
        for (c, class) in l.classes.iter().enumerate() {
            let ours = |g: &privcall_core::list::Grant| {
                g.facilities
                    .as_ref()
                    .is_some_and(|fs| canary.is_none_or(|k| !fs.contains(&k)))
            };
            if let Some(g) = class.iter().position(ours) {
                return (c, g);
            }
        }
        panic!("no scoped grant")
    }
    check("grant scope empty", grant_facilities, &|l| {
        let (c, g) = scoped(l);
        l.classes[c][g].facilities = Some(vec![]);
    });
    check("grant scope repeated", grant_facilities, &|l| {
        let (c, g) = scoped(l);
        l.classes[c][g].facilities = Some(vec![1, 1]);
    });
    check("grant scope unsorted", grant_facilities, &|l| {
        let (c, g) = scoped(l);
        l.classes[c][g].facilities = Some(vec![1, 0]);
    });
    // A, B and the canary facility.
    check("grant at the last facility", ok, &|l| {
        let (c, g) = scoped(l);
        l.classes[c][g].facilities = Some(vec![l.facilities.len() as u16 - 1]);
    });
    check(
        "grant past the last facility",
        Err("grant names an unknown facility"),
        &|l| {
            let (c, g) = scoped(l);
            l.classes[c][g].facilities = Some(vec![0, l.facilities.len() as u16]);
        },
    );
    check("grant valid one second", ok, &|l| {
        let (c, g) = scoped(l);
        l.classes[c][g].valid_until = Some(T + 1);
    });
    check(
        "grant valid no time",
        Err("grant validity is empty"),
        &|l| {
            let (c, g) = scoped(l);
            l.classes[c][g].valid_until = Some(T);
        },
    );
    check(
        "class ids short",
        Err("class ids do not match the number set"),
        &|l| l.intl_classes = privcall_core::set::PackedInts::from_values(&[]),
    );
    // One international number (the list also holds the canary ones).
    let one_intl = |l: &mut CompiledList, key: u64, class: u32| {
        l.intl = privcall_core::set::RadixSet::from_sorted(&[key]).unwrap();
        l.intl_classes = privcall_core::set::PackedInts::from_values(&[class]);
    };
    check("class id at the end", Err("class id out of range"), &|l| {
        let n = l.classes.len() as u32;
        one_intl(l, 442_071_234_567, n);
    });
    check("class id last", ok, &|l| {
        let n = l.classes.len() as u32;
        one_intl(l, 442_071_234_567, n - 1);
    });
    let intl = |l: &mut CompiledList, key: u64| one_intl(l, key, 0);
    let wrong_length = Err("international number of the wrong length");
    check("intl 7 digits", ok, &|l| intl(l, 1_000_000));
    check("intl 15 digits", ok, &|l| intl(l, 999_999_999_999_999));
    check("intl 6 digits", wrong_length, &|l| intl(l, 999_999));
    check("intl 16 digits", wrong_length, &|l| {
        intl(l, 1_000_000_000_000_000)
    });
    let nanp = |l: &mut CompiledList, key: u64| {
        l.nanp = privcall_core::set::RadixSet::from_sorted(&[key]).unwrap();
        l.nanp_classes = privcall_core::set::PackedInts::from_values(&[0]);
    };
    check("nanp 10 digits", ok, &|l| nanp(l, 9_999_999_999));
    check(
        "nanp 11 digits",
        Err("North American key longer than 10 digits"),
        &|l| nanp(l, 10_000_000_000),
    );
    let prefix_order = Err("prefix blocks are not sorted and unique");
    check("prefixes swapped", prefix_order, &|l| l.prefixes.swap(0, 1));
    check("prefix twice", prefix_order, &|l| {
        let p = l.prefixes[0].clone();
        l.prefixes.insert(0, p);
    });
    let prefix_length = Err("prefix block of the wrong length");
    let prefix = |l: &mut CompiledList, value: u64, len: u8| {
        let class = l.prefixes[0].class;
        l.prefixes = vec![privcall_core::list::PrefixEntry { value, len, class }];
    };
    check("prefix 4 digits", ok, &|l| prefix(l, 1234, 4));
    check("prefix 14 digits", ok, &|l| {
        prefix(l, 12_345_678_901_234, 14)
    });
    check("prefix 3 digits", prefix_length, &|l| prefix(l, 123, 3));
    check("prefix 15 digits", prefix_length, &|l| {
        prefix(l, 123_456_789_012_345, 15)
    });
    check("prefix length lies", prefix_length, &|l| {
        prefix(l, 12345, 4)
    });
    check(
        "prefix class at the end",
        Err("prefix block class out of range"),
        &|l| l.prefixes[0].class = l.classes.len() as u32,
    );
    check("prefix class last", ok, &|l| {
        l.prefixes[0].class = l.classes.len() as u32 - 1;
    });
    let grace = Err("policy early grace out of range");
    check("grace a day", ok, &|l| {
        l.default_policy.early_grace_secs = Policy::MAX_GRACE_SECS;
    });
    check("grace over a day", grace, &|l| {
        l.default_policy.early_grace_secs = Policy::MAX_GRACE_SECS + 1;
    });
    check("grace negative", grace, &|l| {
        l.facilities[1].policy.early_grace_secs = -1;
    });
    check("bad dial plan", Err("policy dial plan is invalid"), &|l| {
        l.facilities[0].policy.dial_plan.country_code = "17".into();
    });
    check(
        "bad default plan",
        Err("policy dial plan is invalid"),
        &|l| {
            l.default_policy.dial_plan.international_prefix = String::new();
        },
    );
    check("windows swapped", Err("windows are not sorted"), &|l| {
        l.windows.swap(0, 2);
    });
    check(
        "window at an unknown facility",
        Err("window names an unknown facility"),
        &|l| l.windows[0].facility = l.facilities.len() as u16,
    );
    check(
        "window of no time",
        Err("window ends before it starts"),
        &|l| l.windows[0].end = l.windows[0].start,
    );
    check(
        "window under another key",
        Err("window key does not match its fields"),
        &|l| l.windows[0].inmate = "A2".into(),
    );
}

/// The body's encoding: magic, version, the list, nothing after; the cap.
#[test]
fn list_body_encoding() {
    use privcall_core::list::{CompiledList, ListError, BODY_MAGIC, BODY_VERSION, MAX_BODY_BYTES};
    assert_eq!(MAX_BODY_BYTES, 512 << 20);
    let list = full_list();
    let bytes = list.to_bytes();
    assert_eq!(&bytes[..4], &BODY_MAGIC);
    assert_eq!(&bytes[4..6], &BODY_VERSION.to_le_bytes());
    assert!(bytes.len() > 100, "{}", bytes.len());
    assert_eq!(CompiledList::from_bytes(&bytes), Ok(list.clone()));
    let (default_policy, facilities) = CompiledList::policies_from_bytes(&bytes).unwrap();
    assert_eq!(default_policy, list.default_policy);
    assert_eq!(facilities, list.facilities);

    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 3]);
    assert_eq!(
        CompiledList::from_bytes(&longer),
        Err(ListError::TrailingBytes { count: 3 })
    );
    let mut version = bytes.clone();
    version[4] = 1;
    assert_eq!(
        CompiledList::from_bytes(&version),
        Err(ListError::UnsupportedVersion { found: 1 })
    );
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(CompiledList::from_bytes(&magic), Err(ListError::BadMagic));
    assert_eq!(
        CompiledList::from_bytes(&bytes[..5]),
        Err(ListError::BadMagic)
    );
    // At the cap a body is read (and found wrong); over it, it is not.
    let mut at_cap = vec![0u8; MAX_BODY_BYTES];
    assert_eq!(CompiledList::from_bytes(&at_cap), Err(ListError::BadMagic));
    at_cap.push(0);
    assert_eq!(
        CompiledList::from_bytes(&at_cap),
        Err(ListError::TooLarge {
            bytes: MAX_BODY_BYTES + 1
        })
    );
    // Every error says what is wrong.
    for (e, text) in [
        (ListError::BadMagic, "bad magic"),
        (ListError::TrailingBytes { count: 3 }, "3"),
        (ListError::Invalid("empty class"), "empty class"),
    ] {
        assert!(e.to_string().contains(text), "{e}");
    }
}

/// As many facilities as an index can number, and not one more.
#[test]
fn facility_count_bound() {
    use privcall_core::list::{CompiledList, ListError};
    let max = usize::from(u16::MAX);
    let p = policy(DialPlan::nanp());
    let facilities = |n: usize| -> Vec<(String, Policy)> {
        (0..n)
            .map(|i| (format!("F{i:05}"), policy(DialPlan::nanp())))
            .collect()
    };
    // The canary facility takes one index.
    let list: CompiledList = build(p.clone(), facilities(max - 1), &[], &[]).unwrap();
    assert_eq!(list.facilities().len(), max);
    let mut over = list.clone();
    over.facilities.push(privcall_core::list::Facility {
        code: "G".into(),
        policy: p.clone(),
        own_policy: true,
    });
    assert_eq!(
        over.validate(),
        Err(ListError::Invalid("too many facilities"))
    );
    assert_eq!(
        build(p, facilities(max), &[], &[]).unwrap_err(),
        ListError::Invalid("too many facilities")
    );
}

/// Packed class ids: their width, size, and a decoded array wider than
/// 32 bits a value.
#[test]
fn packed_ints_bounds() {
    use privcall_core::set::{PackedInts, SetError};
    let empty = PackedInts::from_values(&[]);
    assert!(empty.is_empty());
    assert_eq!((empty.len(), empty.bits(), empty.heap_bytes()), (0, 0, 0));
    let ones = PackedInts::from_values(&[1; 64]);
    assert!(!ones.is_empty());
    assert_eq!((ones.len(), ones.bits(), ones.heap_bytes()), (64, 1, 8));
    let fives = PackedInts::from_values(&[5; 64]);
    assert_eq!((fives.bits(), fives.heap_bytes()), (3, 24));
    assert_eq!(fives.max_value(), 5);

    let config = bincode::config::standard();
    let widest = PackedInts::from_values(&[u32::MAX]);
    assert_eq!(widest.bits(), 32);
    let mut bytes = bincode::encode_to_vec(&widest, config).unwrap();
    let (back, _): (PackedInts, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back.validate(), Ok(()));
    assert_eq!(bytes[1], 32);
    bytes[1] = 33;
    let (wider, _): (PackedInts, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(
        wider.validate(),
        Err(SetError::Malformed("packed values wider than 32 bits"))
    );
}

/// E.164 helpers at their bounds.
#[test]
fn e164_bounds() {
    use privcall_core::normalize::Prefix;
    for (n, digits) in [
        (0, 1),
        (9, 1),
        (10, 2),
        (99, 2),
        (100, 3),
        (15735550142, 11),
        (999_999_999_999_999, 15),
        (1_000_000_000_000_000, 16),
    ] {
        assert_eq!(E164(n).digits(), digits, "{n}");
    }
    let e = E164(15735550142);
    assert_eq!(e.leading(0), None);
    assert_eq!(e.leading(1), Some(1));
    assert_eq!(e.leading(11), Some(15735550142));
    assert_eq!(e.leading(12), None);
    assert_eq!(E164(10_000_000_000).nanp_national(), Some(0));
    assert_eq!(E164(9_999_999_999).nanp_national(), None);
    assert_eq!(E164(19_999_999_999).nanp_national(), Some(9_999_999_999));
    assert_eq!(E164(20_000_000_000).nanp_national(), None);
    assert_eq!(E164::from_nanp_national(5_735_550_142), e);
    assert_eq!(e.to_string(), "+15735550142");
    let block = Prefix {
        value: 1573,
        len: 4,
    };
    assert!(block.matches(e));
    assert!(!block.matches(E164(15745550142)));
    assert!(!block.matches(E164(157)));
}

/// The scanner's rarer forms, each read or refused exactly: service codes,
/// `%`-escapes, name-addrs, whitespace around a URI, a long
/// `phone-context`, extension words, every keypad letter and the digit
/// limit.
#[test]
fn what_the_scanner_reads_and_refuses() {
    use privcall_core::normalize::NormalizeError;
    let plan = nanp("573");
    let n = |s: &str| normalize(s, &plan);
    let attorney = Ok(E164(15735550142));
    for s in [
        // A three-digit service code closed by `#`.
        "*123#5735550142",
        "#123#5735550142",
        "--*123#5735550142",
        // `%`-escapes of `+`, of digits and of a `;` after the number.
        "%2B15735550142",
        "%2b1%35%3735550142",
        "+15735550142%3Bisub=1",
        // A display name holding angle brackets.
        "\"A <b> c\" <sip:+15735550142@pbx>",
        "\"Name <x>\" <sip:+15735550142@pbx>",
        // Whitespace around a name-addr or a URI.
        " <sip:+15735550142@pbx>",
        "\t<sip:+15735550142@pbx>",
        "sip:+15735550142@pbx ",
        // A local number and its context, longer together than 34 bytes.
        "tel:555----0----1----4----2;phone-context=+1----5----7----3",
        // An extension marker word followed by digits.
        "5735550142 ext. 12",
        "5735550142x12",
    ] {
        assert_eq!(n(s), attorney, "{s:?}");
    }
    // A one-digit star code cannot run into the number.
    assert!(
        matches!(n("*6-5735550142"), Err(NormalizeError::BadCharacter { .. })),
        "{:?}",
        n("*6-5735550142")
    );
    // A `+` after digits, escaped or not.
    assert_eq!(n("157%2B35550142"), Err(NormalizeError::MisplacedPlus));
    assert_eq!(n("+1%2B5735550142"), Err(NormalizeError::MisplacedPlus));
    // A pause or a `;` ends only something that could be a whole number.
    for s in [
        "573,5550142",
        "573%3B5550142",
        "573#5550142",
        "573\u{0}5550142",
    ] {
        assert!(
            matches!(n(s), Err(NormalizeError::BadCharacter { .. })),
            "{s:?}: {:?}",
            n(s)
        );
    }
    // An escaped letter is no separator; the error names the `%`.
    assert_eq!(
        n("5735550142%41"),
        Err(NormalizeError::BadCharacter { position: 11 })
    );
    // Every keypad letter (ITU E.161), upper and lower case.
    for (letters, digit) in [
        ("ABC", 2),
        ("DEF", 3),
        ("GHI", 4),
        ("JKL", 5),
        ("MNO", 6),
        ("PQRS", 7),
        ("TUV", 8),
        ("WXYZ", 9),
    ] {
        for c in letters.chars().chain(letters.to_lowercase().chars()) {
            let dialed = format!("+1 573 555 014{c}");
            assert_eq!(n(&dialed), Ok(E164(15_735_550_140 + digit)), "{dialed}");
        }
    }
    // Past 32 digits, a string is no phone number, however the digits come.
    let long = "1".repeat(40);
    assert_eq!(n(&long), Err(NormalizeError::TooLong));
    assert_eq!(n(&format!("+{long}")), Err(NormalizeError::TooLong));
    assert_eq!(
        n(&"1-".repeat(40)),
        Err(NormalizeError::TooLong),
        "separated digits"
    );
}

/// The packed form across the wasm boundary: ASCII detection, the
/// largest number a word may carry, which reasons carry `private_until`,
/// and the error's message.
#[test]
fn packed_boundary() {
    use privcall_core::packed::{
        has_private_until, is_ascii, pack_decision, pack_str, unpack_decision,
    };
    let words = pack_str::<4>("JCCC-A1").unwrap();
    assert!(is_ascii(&words));
    assert!(!is_ascii(&pack_str::<4>("JCCC-É1").unwrap()));
    assert!(is_ascii(&[]));

    let decision = |n: u64| Decision {
        record: true,
        monitor: true,
        reason: Reason::NotPrivileged,
        category: None,
        private_until: None,
        on_expiry: None,
        redact_metadata: false,
        notice: None,
        normalized: Some(E164(n)),
        default_policy: false,
    };
    let largest = decision(999_999_999_999_999);
    assert_eq!(unpack_decision(pack_decision(&largest), None), Ok(largest));
    let over = pack_decision(&decision(999_999_999_999_999)) + (1 << 14);
    let err = unpack_decision(over, None).unwrap_err();
    assert_eq!(err.to_string(), "malformed packed decision");

    for (reason, carries) in [
        (Reason::Registered, false),
        (Reason::Prearranged, true),
        (Reason::PrearrangedOverrun, true),
        (Reason::NotPrivileged, false),
        (Reason::Unreadable, false),
    ] {
        assert_eq!(has_private_until(reason), carries, "{reason:?}");
    }
}
