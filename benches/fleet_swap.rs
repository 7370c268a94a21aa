//! What receiving a fleet's list in parts costs an edge's swap: applying a
//! registry part (verify, decrypt, merge with the held window part, load
//! into every instance, canaries, atomic swap) and a window part (the same,
//! the registry part's body reused), both encrypted to the edge, against
//! the whole list in clear, in alternating rounds over one live engine.
//! Prints each round, the medians and the ratios part / whole (the aim
//! for encryption: at most 1.2).
//!
//! `cargo bench --bench fleet_swap` uses a 5-million-number registry and a
//! window part of 29 windows (100k windows over 3,450 facilities) in 7
//! rounds (`PRIVCALL_SWAP_NUMBERS`, `PRIVCALL_SWAP_PAIRS` change that).
//! Without `--bench` (as `cargo test --benches` runs it) one round on 10k
//! numbers checks that every kind applies.

use privcall::bundle::Part;
use privcall::core::list::fleet;
use privcall::core::list::RegistryRow;
use privcall::edge::EdgeIdentity;
use privcall::fixtures::{self, synthetic_list, throwaway_key, throwaway_trust, FACILITY, NOW};
use privcall::{seal, seal_windows, BundleInfo, Engine, EngineConfig, UpdateSource};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (numbers, rounds) = if bench {
        (
            env("PRIVCALL_SWAP_NUMBERS", 5_000_000),
            env("PRIVCALL_SWAP_PAIRS", 7),
        )
    } else {
        (10_000, 1)
    };
    let numbers = numbers as usize;
    let synthetic = synthetic_list(numbers, numbers / 50, 42);
    let rows: Vec<RegistryRow> = synthetic
        .numbers
        .iter()
        .map(|&k| RegistryRow {
            target: privcall::core::list::Target::Number(
                privcall::core::normalize::E164::from_nanp_national(k),
            ),
            category: privcall::core::types::Category::Attorney,
            facilities: None,
            valid_from: None,
            valid_until: None,
        })
        .collect();
    let parts = fleet::build(
        fixtures::policy(),
        vec![(FACILITY.to_string(), fixtures::policy())],
        &rows,
        synthetic.windows.get(..29).unwrap_or(&synthetic.windows),
        &[FACILITY.to_string()],
        None,
    )
    .expect("the fleet builds");
    let edge = EdgeIdentity::generate();
    let trust = throwaway_trust().with_identity(edge.clone());
    let info = |sequence: u64, encrypted: bool, part: Part| BundleInfo {
        recipients: if encrypted {
            vec![edge.recipient()]
        } else {
            Vec::new()
        },
        part,
        ..BundleInfo::new(sequence, NOW - 86_400, NOW + 365 * 86_400)
    };
    let window_part = |sequence: u64| {
        seal_windows(
            &parts.windows[0],
            &info(sequence, true, Part::Whole),
            &[throwaway_key()],
        )
        .expect("seals")
    };
    // Per round: the whole list in clear (the baseline), a window part
    // (held: the whole list replaced the parts), the registry part (goes
    // live merged), a newer window part (goes live merged). Every bundle is
    // sealed before any is timed.
    let key = [throwaway_key()];
    let plan: Vec<[Vec<u8>; 4]> = (0..rounds)
        .map(|i| {
            [
                seal(&synthetic.list, &info(10 + 2 * i, false, Part::Whole), &key),
                Ok(window_part(1 + 2 * i)),
                seal(
                    &parts.registry,
                    &info(11 + 2 * i, true, Part::Registry),
                    &key,
                ),
                Ok(window_part(2 + 2 * i)),
            ]
            .map(|b| b.expect("seals"))
        })
        .collect();

    let engine = Engine::new(EngineConfig::new(trust), NOW).expect("engine");
    let (mut whole, mut registry, mut windows) = (Vec::new(), Vec::new(), Vec::new());
    for (i, [w, held, r, p]) in plan.iter().enumerate() {
        let ms = |bytes: &[u8], what: &str| {
            let (_, t) = engine
                .apply_timed(bytes, NOW, UpdateSource::Push)
                .unwrap_or_else(|e| panic!("the {what} applies: {e}"));
            t.total.as_secs_f64() * 1e3
        };
        let w_ms = ms(w, "whole list");
        ms(held, "held window part");
        let r_ms = ms(r, "registry part");
        let p_ms = ms(p, "window part");
        println!(
            "round {}: whole clear {w_ms:.1} ms, registry part {r_ms:.1} ms ({:.3}), window part {p_ms:.1} ms ({:.3})",
            i + 1,
            r_ms / w_ms,
            p_ms / w_ms
        );
        whole.push(w_ms);
        registry.push(r_ms / w_ms);
        windows.push(p_ms / w_ms);
    }
    println!(
        "{numbers} numbers: whole list in clear {:.1} ms (median of {rounds}); encrypted registry part / whole {:.3}, \
         encrypted window part / whole {:.3} (medians of round ratios, aim <= 1.2)",
        median(whole),
        median(registry),
        median(windows),
    );
}
