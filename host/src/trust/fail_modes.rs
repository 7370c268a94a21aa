//! Each facility's fail mode, kept apart from the list so that an engine
//! without any list still answers every facility as its last verified
//! list said (the fail modes are policy, not sensitive; the state folder
//! keeps them).

use privcall_core::types::FailMode;

/// The fail mode of every facility a list names, and of the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailModes {
    /// For a facility the list does not name (its `[default]` policy).
    pub default: FailMode,
    /// By facility code, sorted.
    pub facilities: Vec<(String, FailMode)>,
}

impl FailModes {
    /// What an engine answers before it has ever seen a list: privacy
    /// wins, do-not-record for every facility.
    pub const PRIVATE: FailModes = FailModes {
        default: FailMode::DoNotRecord,
        facilities: Vec::new(),
    };

    /// The fail mode of `facility`.
    pub fn mode(&self, facility: &str) -> FailMode {
        self.facilities
            .binary_search_by(|(code, _)| code.as_str().cmp(facility))
            .ok()
            .and_then(|i| self.facilities.get(i))
            .map_or(self.default, |(_, mode)| *mode)
    }
}
