//! The hand-kept canonical ABI of `wit/privcall.wit`: the export names and
//! result-area layouts of the functions the host calls on the guest's core
//! module ([`super::guest`] says why it calls the core module). Checked
//! against wasmtime's own lifting by `tests/all/guest.rs`.

/// The canonical-ABI export names of the contract's functions.
pub mod exports {
    macro_rules! export {
        ($name:literal) => {
            concat!("privcall:decider/decider@0.1.0#", $name)
        };
    }
    /// `load`.
    pub const LOAD: &str = export!("load");
    /// Frees what `load` returned.
    pub const POST_LOAD: &str = concat!("cabi_post_", export!("load"));
    /// `decide-packed`.
    pub const DECIDE_PACKED: &str = export!("decide-packed");
    /// `decide-strings`.
    pub const DECIDE_STRINGS: &str = export!("decide-strings");
    /// The guest's allocator, through which strings and lists are lowered.
    pub const REALLOC: &str = "cabi_realloc";
    /// The linear memory.
    pub const MEMORY: &str = "memory";
}

/// Offsets in the result area of `load: func(body: list<u8>) ->
/// result<list-stats, string>` under the canonical ABI: the discriminant
/// byte, then the payload at the record's alignment (8). Checked against
/// wasmtime's own lifting by `tests/all/guest.rs`.
pub(crate) mod load_result {
    use super::{u32_at, u64_at, LoadAnswer};
    use crate::runtime::guest::ListStats;

    pub const DISCRIMINANT: usize = 0;
    pub const FACILITIES: usize = 8;
    pub const NUMBERS: usize = 16;
    pub const PREFIX_BLOCKS: usize = 24;
    pub const WINDOWS: usize = 28;
    pub const SET_BYTES: usize = 32;
    pub const ERROR_PTR: usize = 8;
    pub const ERROR_LEN: usize = 12;
    pub const SIZE: usize = 40;

    /// The answer in a `load` result area; `None` for a discriminant the
    /// contract does not have.
    pub fn read(area: &[u8; SIZE]) -> Option<LoadAnswer> {
        match area[DISCRIMINANT] {
            0 => Some(LoadAnswer::Loaded(ListStats {
                facilities: u32_at(area, FACILITIES),
                numbers: u64_at(area, NUMBERS),
                prefix_blocks: u32_at(area, PREFIX_BLOCKS),
                windows: u32_at(area, WINDOWS),
                set_bytes: u64_at(area, SET_BYTES),
            })),
            1 => Some(LoadAnswer::Refused {
                ptr: u32_at(area, ERROR_PTR) as usize,
                len: u32_at(area, ERROR_LEN) as usize,
            }),
            _ => None,
        }
    }
}

/// Offsets in the result area of `decide-packed` and `decide-strings`
/// (`packed-decision`: two 64-bit fields).
pub(crate) mod packed_result {
    use super::u64_at;

    pub const WORD: usize = 0;
    pub const PRIVATE_UNTIL: usize = 8;
    pub const SIZE: usize = 16;

    /// The decision word and the `private-until` of a result area.
    pub fn read(area: &[u8; SIZE]) -> (u64, i64) {
        (u64_at(area, WORD), u64_at(area, PRIVATE_UNTIL) as i64)
    }
}

/// What `load` answered.
pub(crate) enum LoadAnswer {
    /// The list is loaded.
    Loaded(crate::runtime::guest::ListStats),
    /// The guest refused it; its message is in guest memory.
    Refused {
        /// Where the message starts.
        ptr: usize,
        /// Its length in bytes, as the guest says.
        len: usize,
    },
}

/// The little-endian `N` bytes at `at` of a result area. The offsets are
/// constants within the area's size, so the compiler drops the check; an
/// offset past the end would read zeros, never panic.
fn le<const N: usize, const SIZE: usize>(area: &[u8; SIZE], at: usize) -> [u8; N] {
    area.get(at..at.saturating_add(N))
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// The `u32` at `at` of a result area.
fn u32_at<const SIZE: usize>(area: &[u8; SIZE], at: usize) -> u32 {
    u32::from_le_bytes(le(area, at))
}

/// The `u64` at `at` of a result area.
fn u64_at<const SIZE: usize>(area: &[u8; SIZE], at: usize) -> u64 {
    u64::from_le_bytes(le(area, at))
}

/// Longest refusal message read back from the guest.
pub(crate) const MAX_ERROR_BYTES: usize = 1024;
