//! Bad list sources: one named case per way a row can be bad, asserting the
//! file, line and field of the error, and that no privileged value leaks
//! into the message.

use privcall::{compile, CompileErrors, Sources};

const REGISTRY_HEADER: &str = "number,category,facilities,valid_from,valid_until,label\n";
const PREARRANGED_HEADER: &str = "facility,inmate,number,start,end,ref\n";
const POLICY: &str = "[default]\n";

fn errors(registry: &str, prearranged: &str, policy: &str) -> CompileErrors {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("registry.csv");
    let p = dir.path().join("prearranged.csv");
    let pol = dir.path().join("policy.toml");
    std::fs::write(&r, registry).unwrap();
    std::fs::write(&p, prearranged).unwrap();
    std::fs::write(&pol, policy).unwrap();
    compile(&Sources {
        registry: r,
        prearranged: Some(p),
        policy: pol,
    })
    .expect_err("sources should be refused")
}

/// (name, registry rows, prearranged rows, policy, file, line, field, message part)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<u64>,
    Option<&'static str>,
    &'static str,
);

const CASES: &[Case] = &[
    (
        "empty number",
        ",attorney,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("number"),
        "is empty",
    ),
    (
        "letters in number",
        "+1 573 555 01?2,attorney,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("number"),
        "not a valid number",
    ),
    (
        "too short",
        "555 0142,attorney,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("number"),
        "not a valid number",
    ),
    (
        "bad prefix block",
        "+1*,attorney,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("number"),
        "prefix block",
    ),
    (
        "unknown category",
        "+1 573 555 0142,lawyer,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("category"),
        "unknown category",
    ),
    (
        // A row whose columns shifted: a number lands in the category
        // column, and the error must not repeat it.
        "shifted columns",
        "+1 800 555 0100,+1 573 555 0142,,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("category"),
        "are the columns shifted",
    ),
    (
        "bad facility code",
        "+1 573 555 0142,attorney,JC CC,,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("facilities"),
        "facility codes",
    ),
    (
        "bad valid_from",
        "+1 573 555 0142,attorney,,2026-13-01,,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("valid_from"),
        "date",
    ),
    (
        "bad valid_until",
        "+1 573 555 0142,attorney,,,tomorrow,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("valid_until"),
        "RFC 3339",
    ),
    (
        "until before from",
        "+1 573 555 0142,attorney,,2026-02-01,2026-01-01,x\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        Some("valid_until"),
        "before valid_from",
    ),
    (
        "short row",
        "+1 573 555 0142,attorney\n",
        "",
        POLICY,
        "registry.csv",
        Some(2),
        None,
        "fields",
    ),
    (
        "window without inmate",
        "",
        "JCCC,,573 555 0142,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r\n",
        POLICY,
        "prearranged.csv",
        Some(2),
        Some("inmate"),
        "is empty",
    ),
    (
        "window with bad number",
        "",
        "JCCC,INM-7741,555,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r\n",
        POLICY,
        "prearranged.csv",
        Some(2),
        Some("number"),
        "not a valid number",
    ),
    (
        "window with bad start",
        "",
        "JCCC,INM-7741,573 555 0142,2026-12-01 10:00,2026-12-01T10:30:00Z,r\n",
        POLICY,
        "prearranged.csv",
        Some(2),
        Some("start"),
        "RFC 3339",
    ),
    (
        "window ends before start",
        "",
        "JCCC,INM-7741,573 555 0142,2026-12-01T10:30:00Z,2026-12-01T10:00:00Z,r\n",
        POLICY,
        "prearranged.csv",
        Some(2),
        Some("end"),
        "not after start",
    ),
    (
        "policy without default",
        "",
        "",
        "[facility.X]\n",
        "policy.toml",
        None,
        Some("default"),
        "missing [default]",
    ),
    (
        "policy unknown key",
        "",
        "",
        "[default]\nexmept = []\n",
        "policy.toml",
        Some(2),
        Some("default.exmept"),
        "unknown key",
    ),
    (
        "policy unknown category",
        "",
        "",
        "[default]\nexempt = [\"lawyer\"]\n",
        "policy.toml",
        Some(2),
        Some("default.exempt"),
        "unknown category",
    ),
    (
        "policy bad overrun",
        "",
        "",
        "[default]\noverrun = \"hang-up\"\n",
        "policy.toml",
        Some(2),
        Some("default.overrun"),
        "stay-private",
    ),
    (
        "policy bad fail mode",
        "",
        "",
        "[default]\nfail_mode = \"maybe\"\n",
        "policy.toml",
        Some(2),
        Some("default.fail_mode"),
        "do-not-record",
    ),
    (
        "policy negative grace",
        "",
        "",
        "[default]\nearly_grace_minutes = -1\n",
        "policy.toml",
        Some(2),
        Some("default.early_grace_minutes"),
        "minutes",
    ),
    (
        "policy bad home area code",
        "",
        "",
        "[default]\n[facility.JCCC]\nhome_area_code = \"57\"\n",
        "policy.toml",
        Some(3),
        Some("facility.JCCC.home_area_code"),
        "home_area_code",
    ),
    (
        "policy not toml",
        "",
        "",
        "[default\n",
        "policy.toml",
        Some(1),
        None,
        "not valid TOML",
    ),
];

#[test]
fn every_bad_source_is_named_by_file_line_and_field() {
    for &(name, registry_rows, prearranged_rows, policy, file, line, field, message) in CASES {
        let errs = errors(
            &format!("{REGISTRY_HEADER}{registry_rows}"),
            &format!("{PREARRANGED_HEADER}{prearranged_rows}"),
            policy,
        );
        let e = errs
            .0
            .iter()
            .find(|e| e.file.ends_with(file))
            .unwrap_or_else(|| panic!("{name}: no error in {file}: {errs}"));
        assert_eq!(e.line, line, "{name}: {e}");
        assert_eq!(e.field.as_deref(), field, "{name}: {e}");
        assert!(e.message.contains(message), "{name}: {e}");
        // Privacy: the error never repeats a number or an inmate id.
        let text = errs.to_string();
        for secret in ["555 0142", "555 01?2", "5550142", "INM-7741"] {
            assert!(
                !text.contains(secret),
                "{name}: message leaks {secret:?}: {text}"
            );
        }
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let errs = errors(
        &format!("{REGISTRY_HEADER},attorney,,,,x\n+1 573 555 0142,lawyer,,,,x\n+1 573 555 0143,attorney,,,,ok\n"),
        &format!("{PREARRANGED_HEADER}JCCC,,573 555 0142,2026-12-01T10:00:00Z,2026-12-01T10:30:00Z,r\n"),
        POLICY,
    );
    assert_eq!(errs.0.len(), 3, "{errs}");
    let lines: Vec<_> = errs.0.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(2), Some(3), Some(2)]);
}

#[test]
fn wrong_header_is_refused() {
    let errs = errors("number,category,label\n", PREARRANGED_HEADER, POLICY);
    let fields: Vec<_> = errs.0.iter().filter_map(|e| e.field.clone()).collect();
    assert!(fields.contains(&"facilities".to_string()), "{errs}");
    assert!(errs.0.iter().all(|e| e.line == Some(1)), "{errs}");
}
