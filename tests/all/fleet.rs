//! A fleet's list in parts: `compile --fleet` writes a registry part for
//! every facility and one window part per facility, each encrypted to whom
//! may read it; an edge merges the parts it can open and swaps once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use privcall::bundle::{Part, UnverifiedBundle, FORMAT_VERSION};
use privcall::fixtures::{self, splitmix};
use privcall::{Engine, EngineConfig, Reason, RefusalKind, TrustStore, UpdateSource, VerifiedList};
use privcall_core::types::Call;

use crate::common::{examples, ok, privcall, t};
use crate::daemon::{Daemon, FileServer};

const NOW: &str = "2026-12-01T00:00:00Z";

/// One prearranged window of the generated sources.
#[derive(Clone, Debug)]
struct Booked {
    facility: String,
    inmate: String,
    national: u64,
    start: String,
}

/// A folder with the authority's key, the fleet's registry key, an edge key
/// pair per facility (`edges/CODE.*`), generated sources and their parts.
struct Fleet {
    dir: tempfile::TempDir,
    numbers: Vec<u64>,
    booked: Vec<Booked>,
}

impl Fleet {
    /// `facilities` facilities FAC00…, `numbers` random registered numbers,
    /// `windows` windows spread over the facilities.
    fn new(facilities: usize, numbers: usize, windows: usize) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let mut fleet = Fleet {
            dir,
            numbers: Vec::new(),
            booked: Vec::new(),
        };
        ok(&["keygen", "--out", &fleet.path("authority")]);
        ok(&["keygen", "--recipient", "--out", &fleet.path("registry")]);
        ok(&["keygen", "--inmate-key", "--out", &fleet.path("inmates")]);
        std::fs::create_dir(fleet.dir.path().join("edges")).unwrap();
        for f in 0..facilities {
            let name = format!("edges/{}", code(f));
            ok(&["keygen", "--recipient", "--out", &fleet.path(&name)]);
        }
        let mut state = 0x5eed_u64;
        fleet.numbers = (0..numbers)
            .map(|_| fixtures::random_national(&mut state))
            .collect();
        fleet.booked = (0..windows)
            .map(|i| Booked {
                facility: code(i % facilities),
                inmate: format!("INM-{:07}", splitmix(&mut state) % 10_000_000),
                // Not a registered number: only the window keeps it private.
                national: fixtures::random_national(&mut state),
                start: format!("2026-12-0{}T09:00:00Z", 1 + i % 9),
            })
            .collect();
        fleet
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// Writes the sources (the booked windows plus `extra`) and runs
    /// `compile --fleet` with `sequence` into `out`; what it printed.
    fn compile(&self, sequence: u64, extra: &[Booked], out: &str) -> String {
        let mut registry =
            String::from("number,category,facilities,valid_from,valid_until,label\n");
        for (i, national) in self.numbers.iter().enumerate() {
            writeln!(registry, "+1{national},attorney,,,,Office {i}").unwrap();
        }
        let mut prearranged = String::from("facility,inmate,number,start,end,ref\n");
        for (i, b) in self.booked.iter().chain(extra).enumerate() {
            let end = b.start.replace("T09", "T10");
            writeln!(
                prearranged,
                "{},{},+1{},{},{end},R{i}",
                b.facility, b.inmate, b.national, b.start
            )
            .unwrap();
        }
        std::fs::write(self.path("registry.csv"), registry).unwrap();
        std::fs::write(self.path("prearranged.csv"), prearranged).unwrap();
        let policy = examples().join("policy.toml");
        ok(&[
            "compile",
            "--registry",
            &self.path("registry.csv"),
            "--prearranged",
            &self.path("prearranged.csv"),
            "--policy",
            policy.to_str().unwrap(),
            "--key",
            &self.path("authority.key"),
            "--inmate-key",
            &self.path("inmates.inmatekey"),
            "--sequence",
            &sequence.to_string(),
            "--issued-at",
            "2026-11-30T00:00:00Z",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--fleet",
            &self.path("edges"),
            "--fleet-recipient",
            &self.path("registry.recipient"),
            "--out-dir",
            &self.path(out),
        ])
    }

    /// The trust store of facility `f`'s edge: the authority's key, its
    /// own identity, the registry key and the inmate key.
    fn edge_trust(&self, f: usize) -> TrustStore {
        let identity = |name: &str| {
            privcall::edge::read_identity(Path::new(&self.path(&format!("{name}.identity"))))
                .unwrap()
        };
        TrustStore::from_files(&[PathBuf::from(self.path("authority.pub"))], 1)
            .unwrap()
            .with_identity(identity(&format!("edges/{}", code(f))))
            .with_identity(identity("registry"))
            .with_inmate_key(
                privcall::edge::read_inmate_key(Path::new(&self.path("inmates.inmatekey")))
                    .unwrap(),
            )
    }

    fn engine(&self, f: usize, state: Option<&Path>) -> Engine {
        let mut config = EngineConfig::new(self.edge_trust(f));
        config.instances = 2;
        config.state_dir = state.map(Path::to_path_buf);
        Engine::new(config, t(NOW)).unwrap()
    }

    fn part(&self, out: &str, name: &str) -> Vec<u8> {
        std::fs::read(self.path(&format!("{out}/{name}"))).unwrap()
    }

    fn windows_of(&self, f: usize) -> Vec<&Booked> {
        self.booked
            .iter()
            .filter(|b| b.facility == code(f))
            .collect()
    }
}

fn code(f: usize) -> String {
    format!("FAC{f:02}")
}

/// Decides the booked call in its window.
fn decide(engine: &Engine, b: &Booked) -> (bool, Reason) {
    let dialed = format!("+1{}", b.national);
    let at = t(&b.start) + 60;
    let d = engine.decide(
        &Call {
            facility: &b.facility,
            inmate: &b.inmate,
            dialed: &dialed,
            at,
            started: None,
        },
        at,
    );
    (d.record, d.reason)
}

fn apply(engine: &Engine, bytes: &[u8]) -> Result<u64, RefusalKind> {
    engine
        .apply(bytes, t(NOW), UpdateSource::Push)
        .map(|id| id.sequence)
        .map_err(|e| e.kind())
}

/// `compile --fleet` writes one registry part and a window part per
/// facility; no shipped file holds a number, an inmate id or a window's
/// facility schedule of the sources in any text form, while the parts an
/// edge opens do hold its own.
#[test]
fn fleet_parts_ship_no_number_or_inmate_of_the_sources() {
    let fleet = Fleet::new(20, 2_000, 400);
    let printed = fleet.compile(3, &[], "out");
    assert!(printed.contains("for 20 facilities"), "{printed}");
    let mut shipped = vec![fleet.part("out", "registry.bundle")];
    for f in 0..20 {
        shipped.push(fleet.part("out", &format!("windows/{}.bundle", code(f))));
    }
    let names = std::fs::read_dir(fleet.path("out/windows"))
        .unwrap()
        .count();
    assert_eq!(names, 20);
    for bytes in &shipped {
        let text = String::from_utf8_lossy(bytes);
        for national in &fleet.numbers {
            assert!(
                !text.contains(&national.to_string()),
                "a part holds a source number"
            );
        }
        for b in &fleet.booked {
            assert!(!text.contains(&b.inmate), "a part holds an inmate id");
            assert!(
                !text.contains(&b.national.to_string()),
                "a part holds a booked number"
            );
        }
        let header = UnverifiedBundle::read(bytes).unwrap();
        assert_eq!(header.version, FORMAT_VERSION);
        for c in &header.header.canaries {
            assert_eq!(c.facility, privcall_core::canary::CANARY_FACILITY);
        }
    }
    // The edge's own view: the registry part holds the numbers, its window
    // part holds windows (inmate ids hashed with the inmate key).
    let trust = fleet.edge_trust(4);
    let registry = VerifiedList::open(&shipped[0], &trust).unwrap();
    assert_eq!(registry.header.part, Part::Registry);
    let list = privcall_core::list::CompiledList::from_bytes(&registry.body).unwrap();
    assert_eq!(
        list.number_count(),
        2_000 + privcall_core::canary::CANARY_NUMBERS
    );
    assert_eq!(list.window_count(), privcall_core::canary::CANARY_WINDOWS);
    let verified = privcall::bundle::read_verified(&shipped[5], &trust)
        .unwrap()
        .1
        .unwrap();
    let part = privcall_core::list::fleet::WindowPart::from_bytes(&verified).unwrap();
    assert_eq!(part.facility, code(4));
    assert_eq!(part.windows.len(), fleet.windows_of(4).len());
    assert!(part.inmate_key.is_some());
}

/// Facility 3's edge opens the registry part and its own window part and
/// nothing else: its booked calls are private, another facility's booked
/// calls are ordinary there, and another facility's window part is
/// refused as not for this edge. The registry part alone does not go live
/// (it would record booked calls): it waits for a window part.
#[test]
fn windows_of_one_facility_never_reach_another() {
    let fleet = Fleet::new(8, 300, 120);
    fleet.compile(5, &[], "out");
    let engine = fleet.engine(3, None);
    assert_eq!(apply(&engine, &fleet.part("out", "registry.bundle")), Ok(5));
    assert!(engine.list_id(t(NOW)).is_none(), "registry alone went live");
    let status = engine.status(t(NOW));
    assert_eq!(status.parts.registry, Some(5));
    assert!(status.parts.waiting.unwrap().contains("waits"));
    // Booked calls meanwhile get the facility's fail mode.
    let own = fleet.windows_of(3);
    assert_eq!(decide(&engine, own[0]).1, Reason::FailSafe);

    for f in [0, 7] {
        let other = fleet.part("out", &format!("windows/{}.bundle", code(f)));
        assert_eq!(apply(&engine, &other), Err(RefusalKind::NotForThisEdge));
    }
    assert_eq!(
        apply(&engine, &fleet.part("out", "windows/FAC03.bundle")),
        Ok(5)
    );
    assert!(engine.status(t(NOW)).parts.waiting.is_none());
    for b in &own {
        assert_eq!(decide(&engine, b), (false, Reason::Prearranged), "{b:?}");
    }
    for f in [0, 7] {
        for b in fleet.windows_of(f) {
            assert!(decide(&engine, b).0, "{b:?} reached facility 3");
        }
    }
    // A registered number is private at every facility.
    let dialed = format!("+1{}", fleet.numbers[1]);
    let d = engine.decide(
        &Call {
            facility: "FAC06",
            inmate: "X",
            dialed: &dialed,
            at: t(NOW),
            started: None,
        },
        t(NOW),
    );
    assert_eq!((d.record, d.reason), (false, Reason::Registered));
}

/// Each part has its own high-water mark: an older registry part, an older
/// window part and a replayed one are refused while the live list keeps
/// deciding; a new window part goes live alone, under the same registry
/// part; the marks survive a restart.
#[test]
fn rollback_of_one_part_is_refused() {
    let fleet = Fleet::new(4, 200, 40);
    fleet.compile(5, &[], "old");
    let late = Booked {
        facility: code(2),
        inmate: "LATE-BOOKING".into(),
        national: 2_025_550_123,
        start: "2026-12-05T09:00:00Z".into(),
    };
    fleet.compile(6, std::slice::from_ref(&late), "new");
    let state = tempfile::tempdir().unwrap();
    let engine = fleet.engine(2, Some(state.path()));
    apply(&engine, &fleet.part("new", "registry.bundle")).unwrap();
    apply(&engine, &fleet.part("old", "windows/FAC02.bundle")).unwrap();
    // The old window part lacks the late booking.
    assert!(decide(&engine, &late).0);
    let before = engine.list_id(t(NOW)).unwrap();
    assert_eq!(
        apply(&engine, &fleet.part("new", "windows/FAC02.bundle")),
        Ok(6)
    );
    assert_eq!(decide(&engine, &late), (false, Reason::Prearranged));
    let after = engine.list_id(t(NOW)).unwrap();
    assert_eq!(after.sequence, 6, "the registry part's sequence");
    assert_ne!(after.digest, before.digest, "the digest names every part");

    for (out, name) in [
        ("old", "registry.bundle"),
        ("new", "registry.bundle"),
        ("old", "windows/FAC02.bundle"),
        ("new", "windows/FAC02.bundle"),
    ] {
        assert_eq!(
            apply(&engine, &fleet.part(out, name)),
            Err(RefusalKind::Replayed),
            "{out}/{name}"
        );
    }
    assert_eq!(decide(&engine, &late), (false, Reason::Prearranged));

    drop(engine);
    let engine = fleet.engine(2, Some(state.path()));
    assert_eq!(engine.list_id(t(NOW)).unwrap().digest, after.digest);
    assert_eq!(decide(&engine, &late), (false, Reason::Prearranged));
    assert_eq!(
        apply(&engine, &fleet.part("old", "windows/FAC02.bundle")),
        Err(RefusalKind::Replayed)
    );
    let status = engine.status(t(NOW));
    assert_eq!(status.parts.window_high_water.get("FAC02"), Some(&6));
}

/// A whole list replaces the parts; a fleet pair replaces a whole list.
#[test]
fn a_whole_list_and_a_fleet_pair_replace_each_other() {
    let fleet = Fleet::new(2, 50, 10);
    fleet.compile(5, &[], "out");
    let whole = fleet.dir.path().join("whole.bundle");
    let policy = examples().join("policy.toml");
    ok(&[
        "compile",
        "--registry",
        &fleet.path("registry.csv"),
        "--prearranged",
        &fleet.path("prearranged.csv"),
        "--policy",
        policy.to_str().unwrap(),
        "--key",
        &fleet.path("authority.key"),
        "--inmate-key",
        &fleet.path("inmates.inmatekey"),
        "--recipient",
        &fleet.path("edges/FAC01.recipient"),
        "--sequence",
        "7",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--out",
        whole.to_str().unwrap(),
    ]);
    let engine = fleet.engine(1, None);
    apply(&engine, &fleet.part("out", "windows/FAC01.bundle")).unwrap();
    assert!(engine.list_id(t(NOW)).is_none(), "a window part alone");
    assert!(engine.status(t(NOW)).parts.waiting.is_some());
    apply(&engine, &std::fs::read(&whole).unwrap()).unwrap();
    assert_eq!(engine.list_id(t(NOW)).unwrap().sequence, 7);
    assert!(engine.status(t(NOW)).parts.windows.is_empty());
    for b in fleet.windows_of(1) {
        assert_eq!(decide(&engine, b), (false, Reason::Prearranged));
    }
    // The registry part shares the whole list's mark: 5 is below 7.
    assert_eq!(
        apply(&engine, &fleet.part("out", "registry.bundle")),
        Err(RefusalKind::Replayed)
    );
}

/// `compile --fleet` refuses a window at a facility that has no edge in
/// the fleet folder, naming the facility (not the inmate or number).
#[test]
fn a_window_outside_the_fleet_is_refused_by_name() {
    let fleet = Fleet::new(2, 20, 4);
    let stray = Booked {
        facility: "NOEDGE".into(),
        inmate: "STRAY-1".into(),
        national: fleet.numbers[0],
        start: "2026-12-02T09:00:00Z".into(),
    };
    let _ = fleet.compile(1, &[], "ok");
    let out = privcall(&[
        "compile",
        "--registry",
        &fleet.path("registry.csv"),
        "--prearranged",
        &{
            let p = fleet.path("stray.csv");
            let mut text = std::fs::read_to_string(fleet.path("prearranged.csv")).unwrap();
            writeln!(
                text,
                "{},{},+1{},2026-12-02T09:00:00Z,2026-12-02T10:00:00Z,S",
                stray.facility, stray.inmate, stray.national
            )
            .unwrap();
            std::fs::write(&p, text).unwrap();
            p
        },
        "--policy",
        examples().join("policy.toml").to_str().unwrap(),
        "--key",
        &fleet.path("authority.key"),
        "--sequence",
        "2",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--fleet",
        &fleet.path("edges"),
        "--fleet-recipient",
        &fleet.path("registry.recipient"),
        "--out-dir",
        &fleet.path("stray-out"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOEDGE") && err.contains("no recipient"),
        "{err}"
    );
    assert!(!err.contains("STRAY-1") && !err.contains(&stray.national.to_string()));
    assert!(!Path::new(&fleet.path("stray-out/registry.bundle")).exists());
}

/// The daemon polls a fleet's registry part and its facility's window part
/// (`--poll` twice), goes live on the merged list, and decides the
/// facility's booked calls private over HTTP.
#[test]
fn the_daemon_polls_a_registry_part_and_its_window_part() {
    let fleet = Fleet::new(3, 100, 30);
    fleet.compile(4, &[], "out");
    let registry = FileServer::start(fleet.part("out", "registry.bundle"));
    let windows = FileServer::start(fleet.part("out", "windows/FAC01.bundle"));
    let d = Daemon::start(&[
        "--trust",
        &fleet.path("authority.pub"),
        "--identity",
        &fleet.path("edges/FAC01.identity"),
        "--identity",
        &fleet.path("registry.identity"),
        "--inmate-key",
        &fleet.path("inmates.inmatekey"),
        "--state-dir",
        &fleet.path("state"),
        "--poll",
        &registry.url,
        "--poll",
        &windows.url,
        "--poll-interval",
        "1",
    ]);
    d.wait_for_sequence(4);
    let status = d.status();
    assert_eq!(status["parts"]["registry"], 4, "{status}");
    assert_eq!(status["parts"]["windows"]["FAC01"], 4, "{status}");
    for b in fleet.windows_of(1) {
        let body = serde_json::json!({
            "facility": b.facility,
            "inmate": b.inmate,
            "dialed": format!("+1{}", b.national),
            "at": b.start.replace("T09:00:00Z", "T09:01:00Z"),
        });
        let (code, v) = d.post("/v1/decide", body.to_string().as_bytes());
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["record"], false, "{v}");
        assert_eq!(v["reason"], "prearranged", "{v}");
    }
}

/// `decide --bundle registry.bundle --windows CODE.bundle` decides as an
/// edge holding both parts does; a registry part alone is refused (a
/// booked call would read as an ordinary one), and so is a window part
/// for another edge.
#[test]
fn decide_merges_a_registry_part_with_window_parts() {
    let fleet = Fleet::new(2, 50, 6);
    fleet.compile(2, &[], "out");
    let b = fleet.windows_of(1)[0].clone();
    let decide = |identity: &str, windows: Option<&str>| {
        let (registry, trust) = (
            fleet.path("out/registry.bundle"),
            fleet.path("authority.pub"),
        );
        let (edge, reg_id) = (
            fleet.path(&format!("edges/{identity}.identity")),
            fleet.path("registry.identity"),
        );
        let (key, dialed) = (fleet.path("inmates.inmatekey"), format!("+1{}", b.national));
        let at = b.start.replace("T09:00:00Z", "T09:01:00Z");
        let mut args = vec![
            "decide",
            "--bundle",
            &registry,
            "--trust",
            &trust,
            "--identity",
            &edge,
            "--identity",
            &reg_id,
            "--inmate-key",
            &key,
            "--facility",
            &b.facility,
            "--inmate",
            &b.inmate,
            "--dialed",
            &dialed,
            "--at",
            &at,
            "--json",
        ];
        let part = windows.map(|w| fleet.path(&format!("out/windows/{w}.bundle")));
        if let Some(p) = &part {
            args.extend(["--windows", p]);
        }
        let out = privcall(&args);
        if out.status.success() {
            Ok(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    };
    let merged = decide("FAC01", Some("FAC01")).unwrap();
    assert_eq!(merged["reason"], "prearranged", "{merged}");
    assert_eq!(merged["record"], false);
    let alone = decide("FAC01", None).unwrap_err();
    assert!(alone.contains("--windows"), "{alone}");
    let err = decide("FAC01", Some("FAC00")).unwrap_err();
    assert!(
        err.contains("FAC00.bundle") && err.contains("not for this edge"),
        "{err}"
    );
}

/// An edge serving several facilities holds window parts for at most
/// `MAX_WINDOW_PARTS` of them, whose bytes together may reach the bundle
/// limit and not pass it; a refused part leaves the live list as it was.
#[test]
fn an_edge_holds_a_bounded_number_and_size_of_window_parts() {
    use privcall::MAX_WINDOW_PARTS;
    let n = MAX_WINDOW_PARTS + 1;
    let fleet = Fleet::new(n, 20, n);
    fleet.compile(3, &[], "out");
    // One edge that opens every facility's part.
    let trust = (0..n).fold(fleet.edge_trust(0), |trust, f| {
        let path = fleet.path(&format!("edges/{}.identity", code(f)));
        trust.with_identity(privcall::edge::read_identity(Path::new(&path)).unwrap())
    });
    let engine_within = |max: usize| {
        let mut config = EngineConfig::new(trust.clone());
        config.instances = 1;
        config.max_bundle_bytes = max;
        Engine::new(config, t(NOW)).unwrap()
    };
    let registry = fleet.part("out", "registry.bundle");
    let parts: Vec<Vec<u8>> = (0..n)
        .map(|f| fleet.part("out", &format!("windows/{}.bundle", code(f))))
        .collect();

    let engine = engine_within(privcall::bundle::MAX_BUNDLE_BYTES);
    assert_eq!(apply(&engine, &registry), Ok(3));
    for part in &parts[..MAX_WINDOW_PARTS] {
        assert_eq!(apply(&engine, part), Ok(3));
    }
    let live = engine.list_id(t(NOW)).unwrap();
    let err = engine
        .apply(&parts[MAX_WINDOW_PARTS], t(NOW), UpdateSource::Push)
        .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::Oversized);
    assert!(
        err.to_string().contains(&MAX_WINDOW_PARTS.to_string()),
        "{err}"
    );
    assert_eq!(engine.list_id(t(NOW)).unwrap(), live);
    assert_eq!(engine.status(t(NOW)).parts.windows.len(), MAX_WINDOW_PARTS);
    // A held facility's new part replaces its old one at the bound.
    fleet.compile(4, &[], "next");
    let replaced = apply(&engine, &fleet.part("next", "windows/FAC00.bundle"));
    assert_eq!(
        replaced,
        Ok(3),
        "the live list is named by its registry part"
    );
    assert_eq!(engine.status(t(NOW)).parts.windows.get("FAC00"), Some(&4));
    assert_eq!(engine.status(t(NOW)).parts.windows.len(), MAX_WINDOW_PARTS);
    for f in [0, MAX_WINDOW_PARTS - 1] {
        for b in fleet.windows_of(f) {
            assert_eq!(decide(&engine, b), (false, Reason::Prearranged), "{b:?}");
        }
    }

    // A bundle may reach the limit and not pass it.
    assert_eq!(apply(&engine_within(registry.len()), &registry), Ok(3));
    assert_eq!(
        apply(&engine_within(registry.len() - 1), &registry),
        Err(RefusalKind::Oversized)
    );

    // The smallest limit that holds the registry part and the first k
    // window parts exactly: the k-th fits, the next is too large.
    let mut held = 0;
    let k = parts
        .iter()
        .position(|p| {
            held += p.len();
            held >= registry.len()
        })
        .unwrap();
    let engine = engine_within(held);
    assert_eq!(apply(&engine, &registry), Ok(3));
    for part in &parts[..=k] {
        assert_eq!(apply(&engine, part), Ok(3));
    }
    let live = engine.list_id(t(NOW)).unwrap();
    assert_eq!(apply(&engine, &parts[k + 1]), Err(RefusalKind::Oversized));
    assert_eq!(engine.list_id(t(NOW)).unwrap(), live);
    assert!(!engine
        .status(t(NOW))
        .parts
        .windows
        .contains_key(&code(k + 1)));
}

/// A window part opened at its edge names its facility; its Debug shows
/// the header and the count of windows, never a window.
#[test]
fn an_opened_window_part_names_its_facility_and_hides_its_windows() {
    let fleet = Fleet::new(2, 10, 6);
    fleet.compile(2, &[], "out");
    let trust = fleet.edge_trust(1);
    let bytes = fleet.part("out", "windows/FAC01.bundle");
    let verified = privcall::bundle::verify(&bytes, &trust).unwrap();
    let part = privcall::VerifiedWindows::from_verified(verified, &trust).unwrap();
    assert_eq!(part.facility(), "FAC01");
    let shown = format!("{part:?}");
    let count = fleet.windows_of(1).len();
    assert!(count > 0 && part.part.windows.len() == count);
    assert!(
        shown.starts_with("VerifiedWindows") && shown.contains(&format!("windows: {count}")),
        "{shown}"
    );
    for w in &part.part.windows {
        assert!(
            !shown.contains(&w.inmate) && !shown.contains(&w.number.to_string()),
            "{shown}"
        );
    }
}
