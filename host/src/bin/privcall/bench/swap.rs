//! What putting a list in place costs: its verification and load into one
//! guest instance, and a swap over a live list, in time and memory.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use privcall::fixtures::{GuestInstance, NOW};
use privcall::guest::GuestRuntime;
use privcall::{Engine, EngineConfig, TrustStore, UpdateSource, VerifiedList};

use super::latency::ms;
use super::resident;

/// A guest instance with the list loaded, and what loading it took.
pub struct LoadedGuest {
    /// The instance, for the timed guest-alone path.
    pub guest: GuestInstance,
    /// Signature check and header (`VerifiedList::open`), in milliseconds.
    pub verify_ms: f64,
    /// Decoding and validating the body in the instance, in milliseconds.
    pub load_ms: f64,
}

/// Verifies `bundle` and loads its body into a new instance of `runtime`,
/// timing each step.
pub fn load_one_guest(
    runtime: &GuestRuntime,
    bundle: &[u8],
    trust: &TrustStore,
) -> Result<LoadedGuest> {
    let t = Instant::now();
    let verified = VerifiedList::open(bundle, trust)?;
    let verify_ms = ms(t);
    let body = verified.body;
    let mut guest = runtime.instantiate()?;
    let t = Instant::now();
    guest.load(&body)?;
    let load_ms = ms(t);
    Ok(LoadedGuest {
        guest,
        verify_ms,
        load_ms,
    })
}

/// What swapping a list in over a live one took.
pub struct SwapFigures {
    /// Until every guest instance has the new list, in milliseconds.
    pub swap_ms: f64,
    /// Until the new list decided calls, in milliseconds.
    pub live_ms: f64,
    /// Resident memory the first live list added to the empty engine.
    pub list_resident_bytes: Option<u64>,
    /// The most resident memory above the empty engine during the swap.
    pub swap_peak_resident_bytes: Option<u64>,
    /// The live list's guest set, in bytes.
    pub set_bytes: usize,
}

/// Starts an engine on `runtime`, makes `first` live, then swaps `second`
/// in over it, measuring the swap's time and the resident memory.
pub fn swap_over_live(
    runtime: GuestRuntime,
    trust: TrustStore,
    first: &[u8],
    second: &[u8],
) -> Result<(Arc<Engine>, SwapFigures)> {
    let config = EngineConfig {
        runtime: Some(runtime),
        ..EngineConfig::new(trust)
    };
    let engine = Arc::new(Engine::new(config, NOW)?);
    let empty = resident::current();
    engine.apply(first, NOW, UpdateSource::File)?;
    let one_list = resident::current();
    resident::reset_peak();
    let (_, timings) = engine.apply_timed(second, NOW, UpdateSource::File)?;
    let (list_resident_bytes, swap_peak_resident_bytes) = match (empty, one_list, resident::peak())
    {
        (Some(empty), Some(one), Some(peak)) if one > empty => {
            (Some(one - empty), Some(peak.saturating_sub(empty)))
        }
        _ => (None, None),
    };
    let figures = SwapFigures {
        swap_ms: timings.total.as_secs_f64() * 1e3,
        live_ms: timings.live.as_secs_f64() * 1e3,
        list_resident_bytes,
        swap_peak_resident_bytes,
        set_bytes: engine.status(NOW).list.map_or(0, |l| l.set_bytes as usize),
    };
    Ok((engine, figures))
}
