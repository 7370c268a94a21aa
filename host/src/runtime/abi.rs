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
    pub const DISCRIMINANT: usize = 0;
    pub const FACILITIES: usize = 8;
    pub const NUMBERS: usize = 16;
    pub const PREFIX_BLOCKS: usize = 24;
    pub const WINDOWS: usize = 28;
    pub const SET_BYTES: usize = 32;
    pub const ERROR_PTR: usize = 8;
    pub const ERROR_LEN: usize = 12;
    pub const SIZE: usize = 40;
}

/// Offsets in the result area of `decide-packed` and `decide-strings`
/// (`packed-decision`: two 64-bit fields).
pub(crate) mod packed_result {
    pub const WORD: usize = 0;
    pub const PRIVATE_UNTIL: usize = 8;
    pub const SIZE: usize = 16;
}

/// Longest refusal message read back from the guest.
pub(crate) const MAX_ERROR_BYTES: usize = 1024;
