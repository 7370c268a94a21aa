//! Every listed format of a registered number decides the same way, through
//! the wasm guest and natively.

use privcall::text::E164Text;
use privcall::Reason;
use proptest::prelude::*;

use crate::common::{call, from_text, samples, wasm_decide};

/// Ways an inmate at a facility with outside-line prefix 9 and home area
/// code `npa` might dial the North American number `npa-nxx-line`.
pub fn formats(npa: &str, nxx: &str, line: &str, home: Option<&str>) -> Vec<String> {
    let mut v = vec![
        format!("{npa}{nxx}{line}"),
        format!("{npa}-{nxx}-{line}"),
        format!("({npa}) {nxx}-{line}"),
        format!("({npa}){nxx}-{line}"),
        format!("{npa}.{nxx}.{line}"),
        format!("{npa} {nxx} {line}"),
        format!("{npa}/{nxx}-{line}"),
        format!("1{npa}{nxx}{line}"),
        format!("1-{npa}-{nxx}-{line}"),
        format!("1 ({npa}) {nxx}-{line}"),
        format!("+1{npa}{nxx}{line}"),
        format!("+1 {npa} {nxx} {line}"),
        format!("+1 ({npa}) {nxx}-{line}"),
        format!("+1-{npa}-{nxx}-{line}"),
        format!("011 1 {npa} {nxx} {line}"),
        format!("0111{npa}{nxx}{line}"),
        format!("9{npa}{nxx}{line}"),
        format!("9 {npa} {nxx} {line}"),
        format!("9-1-{npa}-{nxx}-{line}"),
        format!("9 1 ({npa}) {nxx}-{line}"),
        format!("9 011 1 {npa} {nxx} {line}"),
        format!("{npa}-{nxx}-{line} x12"),
        format!("{npa}-{nxx}-{line} x 12"),
        format!("{npa}{nxx}{line}x12"),
        format!("({npa}) {nxx}-{line} ext. 12"),
        format!("({npa}) {nxx}-{line} ext 12"),
        format!("{npa}-{nxx}-{line} extension 12"),
        format!("{npa}{nxx}{line},,12"),
        format!("{npa}{nxx}{line},12"),
        format!("tel:+1-{npa}-{nxx}-{line}"),
        format!("tel:+1-{npa}-{nxx}-{line};ext=12"),
        format!("sip:+1{npa}{nxx}{line}@pbx.invalid;user=phone"),
        format!("*67 {npa} {nxx} {line}"),
        format!("{npa}{nxx}{line}#"),
        format!("  {npa} {nxx} {line}  "),
        format!("{npa}\u{2013}{nxx}\u{2013}{line}"),
        format!("{npa}\u{a0}{nxx}\u{a0}{line}"),
    ];
    if home == Some(npa) {
        v.push(format!("{nxx}{line}"));
        v.push(format!("{nxx}-{line}"));
        v.push(format!("9 {nxx}-{line}"));
        v.push(format!("9{nxx}{line}"));
        v.push(format!("{nxx}-{line} x12"));
    }
    v
}

#[test]
fn every_format_of_the_sample_attorney_is_registered() {
    let s = samples();
    let mut w = s.wasm();
    let native = s.native();
    for dialed in formats("573", "555", "0142", Some("573")) {
        let c = call("JCCC", "A1001", &dialed, "2026-12-01T09:00:00Z");
        let d = wasm_decide(&mut w, &c);
        assert_eq!(d.reason, Reason::Registered, "format {dialed:?}");
        assert!(!d.record, "format {dialed:?}");
        assert_eq!(
            d.normalized.map(E164Text::text).as_deref(),
            Some("+15735550142"),
            "format {dialed:?}"
        );
        let n = native.decide(&c);
        assert!(!n.record, "native, format {dialed:?}");
    }
}

#[test]
fn vanity_formats_decide_the_same() {
    let s = samples();
    let mut w = s.wasm();
    for dialed in [
        "1-800-LAW-HELP",
        "1 800 law help",
        "+1 (800) LAW-HELP",
        "9-1-800-LAW-HELP",
        "1-800-529-4357",
        "18005294357",
        "1-800-LAWHELP x7",
    ] {
        let d = wasm_decide(&mut w, &call("JCCC", "A1", dialed, "2026-12-01T09:00:00Z"));
        assert_eq!(
            d.category.as_deref(),
            Some("legal-aid"),
            "format {dialed:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random registered numbers: every format is registered; a neighbour
    /// that is not registered is recorded in every format.
    #[test]
    fn random_numbers_in_every_format(npa in 200u32..1000, nxx in 200u32..1000, line in 0u32..9999) {
        let npa = npa.to_string();
        let nxx = nxx.to_string();
        let line_s = format!("{line:04}");
        let other = format!("{:04}", (line + 1) % 10_000);
        let registry = format!(
            "number,category,facilities,valid_from,valid_until,label\n+1{npa}{nxx}{line_s},attorney,,,,x\n"
        );
        let policy = format!("[default]\noutside_line_prefix = \"9\"\nhome_area_code = \"{npa}\"\n");
        let s = from_text(&registry, "facility,inmate,number,start,end,ref\n", &policy);
        let mut w = s.wasm();
        for dialed in formats(&npa, &nxx, &line_s, Some(&npa)) {
            let d = wasm_decide(&mut w, &call("F", "I", &dialed, "2026-12-01T09:00:00Z"));
            prop_assert_eq!(d.reason, Reason::Registered, "format {:?}", dialed);
        }
        for dialed in formats(&npa, &nxx, &other, Some(&npa)) {
            let d = wasm_decide(&mut w, &call("F", "I", &dialed, "2026-12-01T09:00:00Z"));
            prop_assert!(d.record, "neighbour format {:?}", dialed);
        }
    }
}
