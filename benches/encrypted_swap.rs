//! What encrypting a list to its edge costs a swap: `Engine::apply`
//! (verify, decrypt, load into every instance, canaries, atomic swap) of a
//! bundle encrypted to the engine's edge identity, against the same list
//! in clear, in alternating pairs over one live engine so both see the same
//! machine. Prints each pair, the median of each, and the ratio
//! encrypted / clear (the aim: at most 1.2), plus age's decryption alone.
//!
//! `cargo bench --bench encrypted_swap` swaps a 5-million-number list
//! with 100k windows in 7 pairs (`PRIVCALL_SWAP_NUMBERS`,
//! `PRIVCALL_SWAP_PAIRS` change that). Without `--bench` (as `cargo test
//! --benches` runs it) one pair on 10k numbers checks that both apply.

use std::time::Instant;

use privcall::bundle::Header;
use privcall::edge::EdgeIdentity;
use privcall::fixtures::{self, synthetic_list, throwaway_key, throwaway_trust, NOW};
use privcall::{seal, BundleInfo, Engine, EngineConfig, UpdateSource};

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
    let (numbers, pairs) = if bench {
        (
            env("PRIVCALL_SWAP_NUMBERS", 5_000_000),
            env("PRIVCALL_SWAP_PAIRS", 7),
        )
    } else {
        (10_000, 1)
    };
    let numbers = numbers as usize;
    let synthetic = synthetic_list(numbers, numbers / 50, 42);
    let edge = EdgeIdentity::generate();
    let trust = throwaway_trust().with_identity(edge.clone());
    let bundle = |sequence: u64, encrypted: bool| {
        let info = BundleInfo {
            recipients: if encrypted {
                vec![edge.recipient()]
            } else {
                Vec::new()
            },
            ..BundleInfo::new(sequence, NOW - 86_400, NOW + 365 * 86_400)
        };
        seal(&synthetic.list, &info, &[throwaway_key()]).expect("seals")
    };
    // Every bundle is sealed before any is timed.
    let bundles: Vec<(Vec<u8>, Vec<u8>)> = (0..pairs)
        .map(|i| (bundle(2 + 2 * i, false), bundle(3 + 2 * i, true)))
        .collect();
    let header: Header = fixtures::frame(&bundles[0].1)
        .and_then(|f| fixtures::decode_header(f.header, f.version))
        .expect("frames");
    assert_eq!(header.recipients, vec![edge.id().0]);

    let engine = Engine::new(EngineConfig::new(trust), NOW).expect("engine");
    engine
        .apply(&bundle(1, false), NOW, UpdateSource::File)
        .expect("first list");
    let (mut clear, mut encrypted, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (c, e)) in bundles.iter().enumerate() {
        let (_, tc) = engine
            .apply_timed(c, NOW, UpdateSource::Push)
            .expect("the clear bundle applies");
        let (_, te) = engine
            .apply_timed(e, NOW, UpdateSource::Push)
            .expect("the encrypted bundle applies");
        let (c_ms, e_ms) = (tc.total.as_secs_f64() * 1e3, te.total.as_secs_f64() * 1e3);
        println!(
            "pair {}: clear {c_ms:.1} ms, encrypted {e_ms:.1} ms, ratio {:.3}",
            i + 1,
            e_ms / c_ms
        );
        clear.push(c_ms);
        encrypted.push(e_ms);
        ratios.push(e_ms / c_ms);
    }
    let sealed = fixtures::frame(&bundles[0].1)
        .expect("frames")
        .body
        .to_vec();
    let t = Instant::now();
    let body = fixtures::decrypt(&sealed, &edge).expect("decrypts");
    let decrypt_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{numbers} numbers, body {:.1} MB: apply clear {:.1} ms, encrypted {:.1} ms (medians of {pairs}); \
         encrypted / clear {:.3} (median of pair ratios, aim <= 1.2); age decrypt alone {decrypt_ms:.1} ms",
        body.len() as f64 / 1e6,
        median(clear),
        median(encrypted),
        median(ratios),
    );
}
