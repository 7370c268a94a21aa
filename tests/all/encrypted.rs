//! Lists encrypted to their edges: `keygen --recipient`, `compile
//! --recipient`, `--identity` on the commands that read a bundle, what a
//! bundle shows without the identity, and the engine's state.

use std::fmt::Write as _;
use std::path::Path;

use privcall::bundle::{
    UnverifiedBundle, ENCRYPTED_FORMAT_VERSION, MAGIC, OLDEST_READABLE_VERSION,
};
use privcall::edge::EdgeIdentity;
use privcall::fixtures::{self, splitmix};
use privcall::{seal, BundleInfo, Engine, EngineConfig, Reason, UpdateSource, VerifiedList};
use serde_json::Value;

use crate::common::{cli_compile_samples, examples, fails, ok, privcall, samples, t};
use crate::engine::{attorney, bundle_of, Authority, NOW};

/// A folder with the authority's key pair and edges `a` and `b`.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let fleet = Fleet { dir };
        ok(&["keygen", "--out", &fleet.path("authority")]);
        for edge in ["a", "b"] {
            let out = ok(&["keygen", "--recipient", "--out", &fleet.path(edge)]);
            assert!(out.contains("recipient id"), "{out}");
        }
        fleet
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// `compile` of `registry` and `prearranged` with the sample policy,
    /// encrypted to `recipients`, inmate ids hashed with the inmate key
    /// `inmate_key` when given; what it printed.
    fn compile(
        &self,
        registry: &Path,
        prearranged: &Path,
        recipients: &[&str],
        inmate_key: Option<&str>,
        out: &str,
    ) -> String {
        let policy = examples().join("policy.toml");
        let mut args = vec![
            "compile".to_string(),
            "--registry".into(),
            registry.to_str().unwrap().into(),
            "--prearranged".into(),
            prearranged.to_str().unwrap().into(),
            "--policy".into(),
            policy.to_str().unwrap().into(),
            "--key".into(),
            self.path("authority.key"),
            "--sequence".into(),
            "3".into(),
            "--expires".into(),
            "2099-01-01T00:00:00Z".into(),
            "--out".into(),
            self.path(out),
        ];
        for r in recipients {
            args.push("--recipient".into());
            args.push(self.path(&format!("{r}.recipient")));
        }
        if let Some(k) = inmate_key {
            args.push("--inmate-key".into());
            args.push(self.path(&format!("{k}.inmatekey")));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let printed = ok(&args);
        assert!(printed.contains("encrypted to recipient(s)"), "{printed}");
        printed
    }

    fn samples(&self, recipients: &[&str], inmate_key: Option<&str>, out: &str) -> String {
        let ex = examples();
        self.compile(
            &ex.join("registry.csv"),
            &ex.join("prearranged.csv"),
            recipients,
            inmate_key,
            out,
        )
    }

    fn decide(&self, bundle: &str, identity: Option<&str>) -> Result<Value, String> {
        let (bundle, trust) = (self.path(bundle), self.path("authority.pub"));
        let mut args = vec![
            "decide",
            "--bundle",
            &bundle,
            "--trust",
            &trust,
            "--facility",
            "JCCC",
            "--inmate",
            "A1001",
            "--dialed",
            "9-1-573-555-0142",
            "--at",
            "2026-12-01T09:00:00Z",
            "--json",
        ];
        let identity = identity.map(|i| self.path(&format!("{i}.identity")));
        if let Some(i) = &identity {
            args.extend(["--identity", i]);
        }
        decide_json(&args)
    }
}

/// `privcall decide … --json`: the decision, or the error it printed.
fn decide_json(args: &[&str]) -> Result<Value, String> {
    let out = privcall(args);
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

/// The recipient id `keygen --recipient` printed into NAME.recipient.
fn recipient_id(fleet: &Fleet, edge: &str) -> String {
    let text = std::fs::read_to_string(fleet.path(&format!("{edge}.recipient"))).unwrap();
    let id = text
        .split_whitespace()
        .nth(4)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    assert_eq!(id.len(), 16, "{text}");
    id
}

#[test]
fn a_bundle_for_edge_a_is_unreadable_at_edge_b() {
    let fleet = Fleet::new();
    fleet.samples(&["a"], None, "a.bundle");
    let (a, b) = (recipient_id(&fleet, "a"), recipient_id(&fleet, "b"));

    let d = fleet.decide("a.bundle", Some("a")).unwrap();
    assert_eq!(d["reason"], "registered");
    assert_eq!(d["record"], false);

    let err = fleet.decide("a.bundle", Some("b")).unwrap_err();
    assert!(
        err.contains(&format!(
            "encrypted for recipient(s) {a}, not for this edge ({b})"
        )),
        "{err}"
    );
    let err = fleet.decide("a.bundle", None).unwrap_err();
    assert!(err.contains("has no edge identity (--identity)"), "{err}");

    let (bundle, trust) = (fleet.path("a.bundle"), fleet.path("authority.pub"));
    let id_a = fleet.path("a.identity");
    let out = ok(&[
        "verify",
        "--bundle",
        &bundle,
        "--trust",
        &trust,
        "--identity",
        &id_a,
    ]);
    assert!(out.starts_with("OK: sequence 3"), "{out}");
    let id_b = fleet.path("b.identity");
    let err = fails(&[
        "verify",
        "--bundle",
        &bundle,
        "--trust",
        &trust,
        "--identity",
        &id_b,
    ]);
    assert!(err.contains("not for this edge"), "{err}");

    // Without the identity, inspect shows only what is public.
    let public: Value =
        serde_json::from_str(&ok(&["inspect", "--bundle", &bundle, "--json"])).unwrap();
    assert_eq!(public["body"], "encrypted");
    assert_eq!(public["recipients"], serde_json::json!([a]));
    assert_eq!(public["format_version"], ENCRYPTED_FORMAT_VERSION);
    assert!(public.get("numbers").is_none(), "{public}");
    assert!(public.get("facilities").is_none(), "{public}");
    let table = ok(&["inspect", "--bundle", &bundle]);
    assert!(table.contains("not shown"), "{table}");
    // An identity is used only with --trust: nothing unverified is decrypted.
    let err = fails(&["inspect", "--bundle", &bundle, "--identity", &id_a]);
    assert!(err.contains("--trust"), "{err}");
    let opened: Value = serde_json::from_str(&ok(&[
        "inspect",
        "--bundle",
        &bundle,
        "--trust",
        &trust,
        "--identity",
        &id_a,
        "--json",
    ]))
    .unwrap();
    assert_eq!(opened["body"], "decrypted");
    assert_eq!(opened["digest"], public["digest"]);
    assert!(opened["numbers"].as_u64().unwrap() > 0, "{opened}");
}

#[test]
fn one_bundle_for_several_edges_opens_at_each() {
    let fleet = Fleet::new();
    fleet.samples(&["a", "b"], None, "ab.bundle");
    for edge in ["a", "b"] {
        let d = fleet.decide("ab.bundle", Some(edge)).unwrap();
        assert_eq!(d["reason"], "registered", "{edge}");
    }
    // The same recipient twice is a mistake, named.
    let ex = examples();
    let err = fails(&[
        "compile",
        "--registry",
        ex.join("registry.csv").to_str().unwrap(),
        "--policy",
        ex.join("policy.toml").to_str().unwrap(),
        "--key",
        &fleet.path("authority.key"),
        "--sequence",
        "4",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--recipient",
        &fleet.path("a.recipient"),
        "--recipient",
        &fleet.path("a.recipient"),
        "--out",
        &fleet.path("twice.bundle"),
    ]);
    assert!(err.contains("was already given"), "{err}");
    assert!(!Path::new(&fleet.path("twice.bundle")).exists());
}

#[cfg(unix)]
#[test]
fn edge_identities_are_owner_only_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let fleet = Fleet::new();
    let identity = fleet.path("a.identity");
    let mode = std::fs::metadata(&identity).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let err = fails(&["keygen", "--recipient", "--out", &fleet.path("a")]);
    assert!(err.contains("refusing to overwrite"), "{err}");
    // A readable identity is refused by every command that takes one.
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o644)).unwrap();
    fleet.samples(&["a"], None, "a.bundle");
    let err = fleet.decide("a.bundle", Some("a")).unwrap_err();
    assert!(
        err.contains("lets other users read the edge identity"),
        "{err}"
    );
    // A recipient file given as an identity is named as such.
    std::fs::copy(fleet.path("b.recipient"), &identity).unwrap();
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = fleet.decide("a.bundle", Some("a")).unwrap_err();
    assert!(err.contains("not an edge identity"), "{err}");
}

/// Digits of `n` as a text would hold them, for the search below.
fn forms_of(national: u64) -> [String; 2] {
    [format!("1{national}"), format!("{national}")]
}

/// `strings` on a shipped bundle: compiled from a generated set of sources
/// (2,000 numbers, 400 windows at 20 facilities), encrypted, the file holds
/// no number, inmate id or facility schedule of the sources, in any text
/// form, nor does its header (canaries included).
#[test]
fn shipped_bundles_show_no_number_or_inmate_of_the_sources() {
    let fleet = Fleet::new();
    let mut state = 0x5eed_u64;
    let mut registry = String::from("number,category,facilities,valid_from,valid_until,label\n");
    let mut numbers = Vec::new();
    for i in 0..2_000 {
        let national = fixtures::random_national(&mut state);
        numbers.push(national);
        writeln!(registry, "+1{national},attorney,,,,Office {i}").unwrap();
    }
    let mut prearranged = String::from("facility,inmate,number,start,end,ref\n");
    let mut inmates = Vec::new();
    for i in 0..400 {
        let inmate = format!("INM-{:07}", splitmix(&mut state) % 10_000_000);
        let national = numbers[i * 5];
        writeln!(
            prearranged,
            "FAC{:02},{inmate},+1{national},2026-12-0{}T09:00:00Z,2026-12-0{}T10:00:00Z,R{i}",
            i % 20,
            1 + i % 9,
            1 + i % 9
        )
        .unwrap();
        inmates.push(inmate);
    }
    let registry_path = fleet.dir.path().join("registry.csv");
    let prearranged_path = fleet.dir.path().join("prearranged.csv");
    std::fs::write(&registry_path, &registry).unwrap();
    std::fs::write(&prearranged_path, &prearranged).unwrap();
    fleet.compile(
        &registry_path,
        &prearranged_path,
        &["a"],
        None,
        "fleet.bundle",
    );

    let bytes = std::fs::read(fleet.path("fleet.bundle")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for national in &numbers {
        for form in forms_of(*national) {
            assert!(!text.contains(&form), "the bundle holds a source number");
        }
    }
    for inmate in &inmates {
        assert!(
            !text.contains(inmate.as_str()),
            "the bundle holds an inmate id"
        );
    }
    assert!(!text.contains("FAC0"), "the bundle names a source facility");
    // The decrypted list does hold them (the search above can see them):
    // the same search over the clear body finds the inmate ids.
    let store = privcall::TrustStore::from_files(&[fleet.path("authority.pub").into()], 1)
        .unwrap()
        .with_identity(
            privcall::edge::read_identity(Path::new(&fleet.path("a.identity"))).unwrap(),
        );
    let list = VerifiedList::open(&bytes, &store).unwrap();
    assert!(String::from_utf8_lossy(&list.body).contains(inmates[0].as_str()));
    // The header (in clear) carries only synthetic canaries.
    let header = UnverifiedBundle::read(&bytes).unwrap().header;
    assert!(!header.canaries.is_empty());
    for c in &header.canaries {
        assert_eq!(c.facility, privcall_core::canary::CANARY_FACILITY);
        let digits: String = c.dialed.chars().filter(char::is_ascii_digit).collect();
        assert!(
            numbers.iter().all(|n| !digits.contains(&n.to_string())),
            "canary {c:?} copies a source number"
        );
    }
}

/// The state folder keeps the bundle as it arrived (encrypted), and a
/// restart restores it with the identity; without the identity nothing is
/// restored and every call gets the fail mode, with the alarm raised.
#[test]
fn the_state_keeps_the_encrypted_bundle_and_restores_it_with_the_identity() {
    let a = Authority::new(1);
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_of(8, &[&a]);
    let config = |with_identity: bool| {
        let trust = Authority::trust(&[&a], 1);
        let trust = if with_identity {
            trust
        } else {
            privcall::TrustStore::new(vec![a.key.verifying_key()], 1).unwrap()
        };
        let mut config = EngineConfig::new(trust);
        config.instances = 1;
        config.max_bundle_bytes = 1 << 20;
        config.state_dir = Some(dir.path().to_path_buf());
        config
    };
    let engine = Engine::new(config(true), t(NOW)).unwrap();
    engine.apply(&bundle, t(NOW), UpdateSource::Push).unwrap();
    drop(engine);

    let saved = std::fs::read(dir.path().join("privcall").join("state")).unwrap();
    let at = saved
        .windows(bundle.len())
        .position(|w| w == bundle.as_slice());
    assert!(at.is_some(), "the state holds the bundle as received");
    let clear = samples().list.to_bytes();
    assert!(
        !saved
            .windows(64)
            .any(|w| clear.windows(64).next() == Some(w)),
        "the state holds the clear body"
    );
    assert!(!String::from_utf8_lossy(&saved).contains("A1001"));

    let engine = Engine::new(config(true), t(NOW)).unwrap();
    let d = engine.decide(&attorney(t(NOW)), t(NOW));
    assert_eq!(
        (d.reason, d.list.map(|l| l.sequence)),
        (Reason::Registered, Some(8))
    );
    drop(engine);

    let engine = Engine::new(config(false), t(NOW)).unwrap();
    let d = engine.decide(&attorney(t(NOW)), t(NOW));
    assert_eq!(d.reason, Reason::FailSafe);
    assert!(d.list.is_none());
    let status = serde_json::to_value(engine.status(t(NOW))).unwrap();
    let alarm = status["state_alarm"].as_str().unwrap_or_default();
    assert!(alarm.contains("no edge identity"), "{status}");
    // The saved state is still there for a host given its identity again.
    drop(engine);
    let engine = Engine::new(config(true), t(NOW)).unwrap();
    assert_eq!(
        engine.decide(&attorney(t(NOW)), t(NOW)).reason,
        Reason::Registered
    );
}

/// A bundle that needs nothing of format 3 (no recipients, no inmate key)
/// is written as format 2, which edges not yet upgraded read; an upgraded
/// host reads both.
#[test]
fn clear_bundles_are_written_in_format_2_and_open() {
    let s = samples();
    let clear = UnverifiedBundle::read(&s.bytes).unwrap();
    assert_eq!(clear.version, OLDEST_READABLE_VERSION);
    assert!(clear.header.recipients.is_empty() && clear.header.inmate_key.is_none());
    let engine = crate::engine::engine_with(s.trust(), None);
    engine.apply(&s.bytes, t(NOW), UpdateSource::File).unwrap();
    assert_eq!(
        engine.decide(&attorney(t(NOW)), t(NOW)).reason,
        Reason::Registered
    );
    // Encrypted: format 3.
    let bytes = bundle_of(9, &[&Authority::new(1)]);
    let encrypted = UnverifiedBundle::read(&bytes).unwrap();
    assert_eq!(encrypted.version, ENCRYPTED_FORMAT_VERSION);
    // A format this build never wrote is refused.
    let mut v1 = s.bytes.clone();
    v1[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&1u16.to_le_bytes());
    assert!(VerifiedList::open(&v1, &s.trust()).is_err());
}

/// The CLI's `compile` without recipients still writes a clear bundle that
/// an edge with an identity opens (the authority's choice).
#[test]
fn a_clear_bundle_opens_at_an_edge_with_an_identity() {
    let fleet = Fleet::new();
    cli_compile_samples(
        Path::new(&fleet.path("authority.key")),
        5,
        Path::new(&fleet.path("clear.bundle")),
    );
    let d = fleet.decide("clear.bundle", Some("a")).unwrap();
    assert_eq!(d["reason"], "registered");
}

/// `decide` of the sample window (JCCC, A1001, 573-555-0163, 14:00–14:30)
/// on `bundle` with edge `a`'s identity and the inmate key `key`.
fn decide_window(fleet: &Fleet, bundle: &str, key: Option<&str>) -> Result<Value, String> {
    let (bundle, trust, identity) = (
        fleet.path(bundle),
        fleet.path("authority.pub"),
        fleet.path("a.identity"),
    );
    let key = key.map(|k| fleet.path(&format!("{k}.inmatekey")));
    let mut args = vec![
        "decide",
        "--bundle",
        &bundle,
        "--trust",
        &trust,
        "--identity",
        &identity,
        "--facility",
        "JCCC",
        "--inmate",
        "A1001",
        "--dialed",
        "573-555-0163",
        "--at",
        "2026-12-01T14:10:00Z",
        "--json",
    ];
    if let Some(k) = &key {
        args.extend(["--inmate-key", k]);
    }
    decide_json(&args)
}

/// With an inmate key, the list holds keyed hashes of the inmate ids: a
/// host with the key matches the window, a host without it (or with
/// another) refuses the list by name instead of recording the call.
#[test]
fn keyed_inmate_ids_match_only_with_the_key() {
    let fleet = Fleet::new();
    for key in ["fleet", "other"] {
        let out = ok(&["keygen", "--inmate-key", "--out", &fleet.path(key)]);
        assert!(out.contains("key id"), "{out}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fleet.path("fleet.inmatekey"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let printed = fleet.samples(&["a"], Some("fleet"), "keyed.bundle");
    assert!(
        printed.contains("inmate ids hashed with inmate key"),
        "{printed}"
    );
    fleet.samples(&["a"], None, "clear-ids.bundle");

    let d = decide_window(&fleet, "keyed.bundle", Some("fleet")).unwrap();
    assert_eq!(
        (d["reason"].as_str(), d["record"].as_bool()),
        (Some("prearranged"), Some(false))
    );
    let d = decide_window(&fleet, "clear-ids.bundle", None).unwrap();
    assert_eq!(d["reason"], "prearranged");
    let err = decide_window(&fleet, "keyed.bundle", None).unwrap_err();
    assert!(
        err.contains("this host has no inmate key (--inmate-key)"),
        "{err}"
    );
    let err = decide_window(&fleet, "keyed.bundle", Some("other")).unwrap_err();
    assert!(err.contains("not with this host's"), "{err}");

    // The decrypted bodies: the clear one names the inmates, the keyed one
    // does not.
    let store = |k: &str| {
        privcall::TrustStore::from_files(&[fleet.path("authority.pub").into()], 1)
            .unwrap()
            .with_identity(
                privcall::edge::read_identity(Path::new(&fleet.path("a.identity"))).unwrap(),
            )
            .with_inmate_key(
                privcall::edge::read_inmate_key(Path::new(&fleet.path(&format!("{k}.inmatekey"))))
                    .unwrap(),
            )
    };
    let body = |bundle: &str| {
        let bytes = std::fs::read(fleet.path(bundle)).unwrap();
        String::from_utf8_lossy(&VerifiedList::open(&bytes, &store("fleet")).unwrap().body)
            .into_owned()
    };
    assert!(body("clear-ids.bundle").contains("A1001"));
    let keyed = body("keyed.bundle");
    assert!(!keyed.contains("A1001") && !keyed.contains("B2002"));

    // The engine (daemon, C ABI) matches through the key as well.
    let bytes = std::fs::read(fleet.path("keyed.bundle")).unwrap();
    let mut config = EngineConfig::new(store("fleet"));
    config.instances = 1;
    let engine = Engine::new(config, t(NOW)).unwrap();
    engine.apply(&bytes, t(NOW), UpdateSource::File).unwrap();
    let call = crate::common::call("JCCC", "A1001", "573-555-0163", "2026-12-01T14:10:00Z");
    assert_eq!(engine.decide(&call, t(NOW)).reason, Reason::Prearranged);
    let other = crate::common::call("JCCC", "A1002", "573-555-0163", "2026-12-01T14:10:00Z");
    assert_eq!(engine.decide(&other, t(NOW)).reason, Reason::NotPrivileged);
    // Refused by name at an engine without the key.
    let mut config = EngineConfig::new(store("other"));
    config.instances = 1;
    let engine = Engine::new(config, t(NOW)).unwrap();
    let err = engine
        .apply(&bytes, t(NOW), UpdateSource::File)
        .unwrap_err();
    assert_eq!(err.kind(), privcall::RefusalKind::NotForThisEdge, "{err}");
}

/// The authority checks what it ships without being an edge: `verify` and
/// `inspect --trust` check the signatures of an encrypted, keyed bundle
/// with no identity or inmate key, and say the body was not opened.
#[test]
fn the_authority_verifies_an_encrypted_bundle_without_an_identity() {
    let fleet = Fleet::new();
    fleet.samples(&["a"], None, "a.bundle");
    let (bundle, trust) = (fleet.path("a.bundle"), fleet.path("authority.pub"));
    let out = ok(&["verify", "--bundle", &bundle, "--trust", &trust]);
    assert!(out.starts_with("OK: sequence 3"), "{out}");
    assert!(out.contains("give --identity to check it too"), "{out}");
    let v: Value = serde_json::from_str(&ok(&[
        "inspect", "--bundle", &bundle, "--trust", &trust, "--json",
    ]))
    .unwrap();
    assert_eq!(v["verified"], "1 trusted signature(s) valid");
    assert_eq!(v["body"], "encrypted");
}

/// An edge may hold several identities and inmate keys (the old and the
/// new while keys rotate): the one a bundle names is used.
#[test]
fn an_edge_holds_old_and_new_keys_while_they_rotate() {
    let s = samples();
    let (old, new) = (EdgeIdentity::generate(), EdgeIdentity::generate());
    let key = privcall::edge::InmateKey::generate();
    let (other_key, newer_key) = (
        privcall::edge::InmateKey::generate(),
        privcall::edge::InmateKey::generate(),
    );
    // A list keyed with `key`, encrypted to the new identity only.
    let list = privcall::core::list::build_keyed(
        s.list.default_policy.clone(),
        vec![],
        &[],
        &[privcall::core::list::WindowRow {
            facility: "JCCC".into(),
            inmate: key.tag("JCCC", "A1001"),
            number: privcall::core::normalize::E164(15_735_550_163),
            start: t("2026-12-01T14:00:00Z"),
            end: t("2026-12-01T14:30:00Z"),
        }],
        Some(key.id().0),
    )
    .unwrap();
    let signing = privcall::files::read_signing_key(&s.key).unwrap();
    let info = BundleInfo {
        recipients: vec![new.recipient()],
        ..BundleInfo::new(4, t("2026-01-01T00:00:00Z"), t("2099-01-01T00:00:00Z"))
    };
    let bytes = seal(&list, &info, &[signing]).unwrap();
    // The header names the key from the list itself.
    let header = UnverifiedBundle::read(&bytes).unwrap().header;
    assert_eq!(header.inmate_key, Some(key.id().0));
    let store = s
        .trust()
        .with_identity(old.clone())
        .with_identity(new)
        .with_inmate_key(other_key.clone())
        .with_inmate_key(key);
    let opened = VerifiedList::open(&bytes, &store).unwrap();
    let engine = crate::engine::engine_with(store, None);
    engine.apply(&bytes, t(NOW), UpdateSource::File).unwrap();
    let call = crate::common::call("JCCC", "A1001", "573-555-0163", "2026-12-01T14:10:00Z");
    assert_eq!(engine.decide(&call, t(NOW)).reason, Reason::Prearranged);
    assert!(format!("{opened:?}").contains("body_bytes"));
    // Only the old identity, or only other inmate keys: refused by name.
    let err = VerifiedList::open(&bytes, &s.trust().with_identity(old)).unwrap_err();
    assert!(err.to_string().contains("not for this edge"), "{err}");
    let store = s
        .trust()
        .with_identity(EdgeIdentity::generate())
        .with_inmate_key(other_key)
        .with_inmate_key(newer_key);
    assert!(VerifiedList::open(&bytes, &store).is_err());
}

/// What every edge would refuse is refused when sealing: the same
/// recipient twice, a header over its limit.
#[test]
fn sealing_refuses_what_edges_would_refuse() {
    let s = samples();
    let signing = privcall::files::read_signing_key(&s.key).unwrap();
    let edge = EdgeIdentity::generate();
    let base = || BundleInfo::new(4, t("2026-01-01T00:00:00Z"), t("2099-01-01T00:00:00Z"));
    let twice = BundleInfo {
        recipients: vec![edge.recipient(), edge.recipient()],
        ..base()
    };
    let err = seal(&s.list, &twice, std::slice::from_ref(&signing)).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    // As many edges as a header names, and not one more (refused before
    // anything is encrypted).
    let edges: Vec<_> = (0..=privcall::bundle::MAX_RECIPIENTS)
        .map(|_| EdgeIdentity::generate().recipient())
        .collect();
    let to = |n: usize| BundleInfo {
        recipients: edges[..n].to_vec(),
        ..base()
    };
    let most = privcall::bundle::MAX_RECIPIENTS;
    let bytes = seal(&s.list, &to(most), std::slice::from_ref(&signing)).unwrap();
    assert_eq!(
        UnverifiedBundle::read(&bytes)
            .unwrap()
            .header
            .recipients
            .len(),
        most
    );
    let err = seal(&s.list, &to(most + 1), std::slice::from_ref(&signing)).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "{} recipients, more than the {most} a bundle names",
            most + 1
        )),
        "{err}"
    );
    let long_scope = BundleInfo {
        scope: "x".repeat(5_000),
        ..base()
    };
    let err = seal(&s.list, &long_scope, &[signing]).unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
}
