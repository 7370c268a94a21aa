//! A fleet's list in parts at an edge: the registry part and the window
//! parts of the edge's facilities, each verified and sequenced on its own,
//! merged into one list that goes live in one swap.
//!
//! A registry part without any window part, or a window part without a
//! registry part, is kept (and saved) but does not go live: a registry
//! alone would record the prearranged calls the facility's fail mode keeps
//! private. Once both are held, each new part goes live merged with the
//! others held. A whole list replaces the parts.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::trust::state::SavedWindows;
use crate::trust::{VerifiedList, VerifiedWindows};

/// Most facilities one edge holds window parts for.
pub const MAX_WINDOW_PARTS: usize = 64;

/// A registry part as held: the bundle as received (for the state
/// folder), the list and where its body's windows start.
#[derive(Clone)]
pub(super) struct HeldRegistry {
    pub(super) bytes: Vec<u8>,
    pub(super) list: VerifiedList,
    pub(super) offset: usize,
}

/// A window part as held.
#[derive(Clone)]
pub(super) struct HeldWindows {
    pub(super) bytes: Vec<u8>,
    pub(super) part: VerifiedWindows,
}

/// What an edge holds to go live with: a whole list, or a fleet's parts;
/// and each facility's window-part high-water mark (kept after its part
/// is dropped, so a replay stays refused). Cloning shares the parts.
#[derive(Clone, Default)]
pub(super) struct Parts {
    /// The whole list received last, while no fleet pair replaced it.
    pub(super) whole: Option<Arc<Vec<u8>>>,
    pub(super) registry: Option<Arc<HeldRegistry>>,
    pub(super) windows: BTreeMap<String, Arc<HeldWindows>>,
    pub(super) marks: BTreeMap<String, u64>,
}

impl Parts {
    /// The window parts held, by facility code.
    pub(super) fn window_parts(&self) -> Vec<&VerifiedWindows> {
        self.windows.values().map(|w| &w.part).collect()
    }

    /// Whether a registry part and at least one window part are held.
    pub(super) fn complete(&self) -> bool {
        self.registry.is_some() && !self.windows.is_empty()
    }

    /// What the state folder keeps of them.
    pub(super) fn saved_windows(&self) -> Vec<SavedWindows> {
        self.marks
            .iter()
            .map(|(code, &high_water)| SavedWindows {
                facility: code.clone(),
                high_water,
                bundle: self.windows.get(code).map(|w| w.bytes.clone()),
            })
            .collect()
    }

    /// Bytes of every window part held.
    pub(super) fn window_bytes(&self) -> usize {
        self.windows.values().map(|w| w.bytes.len()).sum()
    }

    /// What the status shows.
    pub(super) fn status(&self) -> PartsStatus {
        let waiting = match (&self.registry, self.windows.is_empty()) {
            (Some(r), true) => Some(format!(
                "registry part {} waits for a window part",
                r.list.header.sequence
            )),
            (None, false) => Some("window parts wait for a registry part".to_string()),
            _ => None,
        };
        PartsStatus {
            registry: self.registry.as_ref().map(|r| r.list.header.sequence),
            windows: self
                .windows
                .iter()
                .map(|(code, w)| (code.clone(), w.part.header.sequence))
                .collect(),
            window_high_water: self.marks.clone(),
            waiting,
        }
    }
}

/// The fleet parts an edge holds, in `/v1/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartsStatus {
    /// The registry part's sequence, when one is held.
    pub registry: Option<u64>,
    /// Each facility's window part held, by its sequence.
    pub windows: BTreeMap<String, u64>,
    /// The highest window-part sequence accepted per facility.
    pub window_high_water: BTreeMap<String, u64>,
    /// Why the parts held are not live yet; null when they are (or none
    /// are held).
    pub waiting: Option<String>,
}
