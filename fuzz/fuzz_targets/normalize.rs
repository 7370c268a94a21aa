//! `normalize` and `readings` under every dial plan: arbitrary strings
//! must never panic, and
//!
//! - an accepted reading (and its alternate) is a valid E.164 number
//!   ([`privcall_fuzz::assert_e164`]), and `normalize` gives the primary;
//! - the same digits (with or without a leading `+`) under the decorations
//!   the scanner reads (spaces, dashes, dots, slashes, parentheses) read
//!   alike and decide alike against a list that registers the reading.
//!
//! Plans come from the input field by field; only those
//! [`DialPlan::validate`] accepts are used, as a list carries no other
//! (`CompiledList::validate` checks every policy's plan).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use privcall::fixtures::NOW;
use privcall_core::decide::Decider;
use privcall_core::list::{build, RegistryRow, Target};
use privcall_core::normalize::{normalize, readings, DialPlan};
use privcall_core::types::{Call, Category};
use privcall_fuzz::{assert_e164, policy, write_seeds_if_asked};

/// Digits of a plan field: `len` digits of `value`, zero-padded.
#[derive(Arbitrary, Debug)]
struct Field {
    len: u8,
    value: u16,
}

impl Field {
    fn digits(&self, max_len: u8) -> String {
        let len = usize::from(self.len % (max_len + 1));
        let text = format!("{:04}", self.value % 10_000);
        text[4 - len.min(4)..].to_string()
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    outside: Field,
    country: Field,
    trunk: Field,
    /// The international prefix: `0` and up to three more digits, or the
    /// ITU's for the country code.
    international: Option<Field>,
    home: Option<u16>,
    /// Replaces the plan's fields with arbitrary text (mostly refused by
    /// `validate`, which must itself never panic).
    raw_plan: Option<[String; 5]>,
    /// Any string, as a PBX might pass it.
    dialed: String,
    /// Digits (mod 10) for the decoration check.
    digits: Vec<u8>,
    plus: bool,
    /// (position, separator) pairs inserted into the digits.
    decorations: Vec<(u8, u8)>,
    knobs: u8,
}

fn plan(input: &Input) -> DialPlan {
    let mut plan = DialPlan::nanp();
    match &input.raw_plan {
        Some([outside, country, trunk, home, international]) => {
            plan.outside_line_prefix = outside.clone();
            plan.country_code = country.clone();
            plan.trunk_prefix = trunk.clone();
            plan.home_area_code = home.clone();
            plan.international_prefix = international.clone();
        }
        None => {
            plan.outside_line_prefix = input.outside.digits(4);
            let country = input.country.digits(3);
            plan.country_code = if country.is_empty() {
                "1".into()
            } else {
                country.trim_start_matches('0').to_string()
            };
            plan.trunk_prefix = input.trunk.digits(2);
            plan.international_prefix = match &input.international {
                Some(f) => format!("0{}", f.digits(3)),
                None => DialPlan::itu_international_prefix(&plan.country_code).into(),
            };
            if let Some(h) = input.home.filter(|_| plan.is_nanp()) {
                plan.home_area_code = format!("{}", 200 + h % 800);
            }
        }
    }
    plan
}

/// Separators the scanner reads between digits.
const SEPARATORS: [&str; 7] = [" ", "-", ".", "/", "(", ")", " - "];

fuzz_target!(
    init: {
        write_seeds_if_asked("normalize", || {
            // Arbitrary's encoding is not stable to write by hand: the
            // seeds are plain byte patterns the fuzzer grows from.
            vec![
                b"\x00\x00\x01\x00\x00\x00\x00\x01+1 573 555 0142".to_vec(),
                b"\x01\x09\x00\x02\x00\x01\x00\x00\x00\x0202 9876 5432\x00".to_vec(),
                b"\x03\x44\x00\x02\x2c\x01\x00\x00\x00\x00011 44 20 7946 0958".to_vec(),
                b"\x00\x00\x01\x00\x01\x00\x01\x02\x02\x00<sip:+15735550142@pbx>".to_vec(),
                b"\x01\x09\x00\x01\x01\x00\x01\x01\x3d\x02\x009-1-(573) 555-0142 x12".to_vec(),
                b"\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00tel:555-0142;phone-context=+1-573"
                    .to_vec(),
                b"\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00*67 1-800-LAW-HELP".to_vec(),
                b"\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00#31#15735550142\x00".to_vec(),
            ]
        });
    },
    |input: Input| {
        let plan = plan(&input);
        if plan.validate().is_err() {
            return;
        }

        // Any string: an accepted reading is a valid E.164 number.
        if let Ok(r) = readings(&input.dialed, &plan) {
            assert_eq!(normalize(&input.dialed, &plan), Ok(r.primary));
            assert_e164(r.primary, &plan, "primary reading");
            if let Some(alt) = r.alternate {
                assert_ne!(alt, r.primary, "an alternate equal to the primary");
                assert!(
                    !plan.outside_line_prefix.is_empty(),
                    "an alternate reading without an outside-line prefix"
                );
                assert_e164(alt, &plan, "alternate reading");
            }
        }

        // The same digits, bare and decorated, read and decide alike.
        let digits: String = input
            .digits
            .iter()
            .take(24)
            .map(|d| char::from(b'0' + d % 10))
            .collect();
        if digits.is_empty() {
            return;
        }
        let bare = if input.plus {
            format!("+{digits}")
        } else {
            digits.clone()
        };
        let mut decorated: Vec<String> = bare.chars().map(String::from).collect();
        for &(at, sep) in input.decorations.iter().take(12) {
            let at = usize::from(at) % (decorated.len() + 1);
            decorated.insert(at, SEPARATORS[usize::from(sep) % SEPARATORS.len()].to_string());
        }
        let decorated: String = decorated.concat();
        let plain = readings(&bare, &plan);
        assert_eq!(
            plain,
            readings(&decorated, &plan),
            "{bare:?} and {decorated:?} read differently"
        );
        let Ok(r) = plain else {
            return;
        };
        let registered = |n| RegistryRow {
            target: Target::Number(n),
            category: Category::Attorney,
            facilities: None,
            valid_from: None,
            valid_until: None,
        };
        let rows: Vec<RegistryRow> = [Some(r.primary), r.alternate]
            .into_iter()
            .flatten()
            .map(registered)
            .collect();
        let policy = policy(plan, input.knobs);
        let list = build(policy, Vec::new(), &rows, &[]).expect("a list of valid numbers builds");
        let decider = Decider::new(list);
        let call = |dialed| Call {
            facility: "F",
            inmate: "I",
            dialed,
            at: NOW,
            started: None,
        };
        assert_eq!(
            decider.decide(&call(&bare)),
            decider.decide(&call(&decorated)),
            "{bare:?} and {decorated:?} decide differently"
        );
    }
);
