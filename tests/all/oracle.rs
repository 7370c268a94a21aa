//! An oracle that is not our own code: libphonenumber's data and
//! formatting (the `phonenumber` crate) say what each number is, and
//! privcall's normalizer must agree for every way libphonenumber writes it,
//! dialed from facilities in several countries with the dial plan privcall
//! gives each country by default (`DialPlan::for_country`).

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};
use privcall_core::normalize::{normalize, DialPlan};

/// Where the numbers come from: every continent, the plans with odd
/// prefixes (no trunk prefix, trunk 8 or 06, international 0011, 010,
/// 810, 001, 000, 009).
const NUMBER_REGIONS: [&str; 28] = [
    "US", "CA", "GB", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "HU", "RU", "IN", "MX", "BR", "AR",
    "AU", "NZ", "JP", "KR", "SG", "HK", "ZA", "NG", "KE", "EG", "IL", "PH",
];

/// Where they are dialed from.
const FACILITY_REGIONS: [&str; 14] = [
    "US", "GB", "DE", "FR", "IT", "ES", "AU", "JP", "KR", "SG", "RU", "HU", "MX", "IN",
];

/// libphonenumber's example numbers of a region: fixed line, mobile and
/// toll free, parsed and valid.
fn examples(region: &str) -> Vec<PhoneNumber> {
    let meta = DATABASE.by_id(region).expect("a known region");
    let d = meta.descriptors();
    [d.fixed_line(), d.mobile(), d.toll_free()]
        .into_iter()
        .flatten()
        .filter_map(|desc| desc.example())
        .filter_map(|example| {
            let id = region.parse().ok()?;
            phonenumber::parse(Some(id), example)
                .ok()
                .filter(phonenumber::is_valid)
        })
        .collect()
}

#[test]
fn every_way_libphonenumber_writes_a_number_normalizes_to_its_e164() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for facility in FACILITY_REGIONS {
        let meta = DATABASE.by_id(facility).unwrap();
        let cc = meta.country_code().to_string();
        let plan = DialPlan::for_country(&cc);
        plan.validate().unwrap();
        // The prefix libphonenumber says this country dials abroad with.
        let abroad = meta
            .preferred_international_prefix()
            .map(str::to_string)
            .or_else(|| meta.international_prefix().map(|r| r.as_str().to_string()))
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit() || b == b'~'))
            .map(|p| p.replace('~', ""))
            .unwrap_or_else(|| plan.international_prefix.clone());
        for region in NUMBER_REGIONS {
            for number in examples(region) {
                let e164 = number.format().mode(Mode::E164).to_string();
                let want: u64 = e164.trim_start_matches('+').parse().unwrap();
                let intl = number.format().mode(Mode::International).to_string();
                let mut dialed = vec![
                    e164.clone(),
                    intl.clone(),
                    number.format().mode(Mode::Rfc3966).to_string(),
                    format!("{abroad} {}", intl.trim_start_matches('+')),
                ];
                if region == facility || (number.code().value() == 1 && cc == "1") {
                    dialed.push(number.format().mode(Mode::National).to_string());
                }
                for d in dialed {
                    checked += 1;
                    match normalize(&d, &plan) {
                        Ok(n) if n.0 == want => {}
                        got => wrong.push(format!("{facility}: {d:?} -> {got:?}, want {e164}")),
                    }
                }
            }
        }
    }
    assert!(checked > 1_000, "only {checked} checked");
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The prefixes privcall gives a country agree with libphonenumber's:
/// the trunk prefix it strips, and an international prefix the country
/// really dials.
#[test]
fn country_prefixes_agree_with_libphonenumber() {
    let mut wrong = Vec::new();
    // One region per calling code: the main one where several share it.
    let countries: Vec<_> = DATABASE
        .iter()
        // "001" is libphonenumber's region for non-geographic codes.
        .filter(|m| m.id() != "001")
        .filter(|m| {
            m.is_main_country_for_code()
                || DATABASE
                    .by_code(&m.country_code())
                    .is_some_and(|all| all.len() == 1)
        })
        .collect();
    assert!(countries.len() > 200, "{}", countries.len());
    for meta in countries {
        let cc = meta.country_code().to_string();
        let plan = DialPlan::for_country(&cc);
        let trunk = meta.national_prefix().unwrap_or("");
        if plan.trunk_prefix != trunk {
            wrong.push(format!(
                "{} {cc}: trunk {:?}, libphonenumber {trunk:?}",
                meta.id(),
                plan.trunk_prefix
            ));
        }
        if let Some(re) = meta.international_prefix() {
            let ours = &plan.international_prefix;
            // RU's "8~10": 8, wait for the tone, 10.
            let ours_with_tone = format!("{}~{}", &ours[..1], &ours[1..]);
            let whole = |s: &str| {
                re.find(s)
                    .is_some_and(|m| m.start() == 0 && m.end() == s.len())
            };
            if !whole(ours) && !whole(&ours_with_tone) {
                wrong.push(format!(
                    "{} {cc}: international {ours:?}, libphonenumber {}",
                    meta.id(),
                    re.as_str()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
