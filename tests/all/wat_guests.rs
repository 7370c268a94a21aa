//! Small hand-written guests for fault injection: core modules in WAT that
//! implement the canonical ABI of `privcall:decider/decider@0.1.0`, the
//! shape the host runs (`GuestRuntime::from_module`). Wrapping them into
//! components with `wit-component`, as `host/build.rs` does for the real
//! guest, checks they really implement the contract.
//!
//! Canonical ABI layout the modules rely on (see `wit/privcall.wit`):
//!
//! - `load(body: list<u8>) -> result<list-stats, string>` is
//!   `(param i32 i32) (result i32)`: the body's pointer and length in, a
//!   pointer to the result area out. `list-stats` is 8-aligned and 32 bytes,
//!   so the result area is the discriminant byte at 0 and the payload at 8
//!   (`ok`: the stats; `err`: the string's pointer at 8 and length at 12).
//! - `decide(call: call) -> result<decision, string>` flattens `call` to 9
//!   core parameters (three strings as pointer/length pairs, `at: s64`,
//!   `started: option<s64>` as discriminant + value), under the 16-parameter
//!   limit, so they are passed flat; the result goes through a pointer as
//!   for `load` (`decision` is 8-aligned, so an `err` string sits at 8/12).
//! - `decide-packed` takes eleven scalars (`(param i64 ×10 i32)`) and
//!   returns a pointer to its `packed-decision` (two 64-bit fields: the
//!   word at 0, `private-until` at 8), since two results do not fit the
//!   one flat result the canonical ABI allows.
//! - `decide-strings` takes three strings as pointer/length pairs, two
//!   `s64` and a `bool` (`(param i32 ×6 i64 i64 i32)`), and returns the
//!   same pointer.
//! - `load` has a post-return function that receives the result area.

use wit_component::{ComponentEncoder, StringEncoding};

/// The contract the real guest is built against.
const CONTRACT: &str = include_str!("../../wit/privcall.wit");

/// A contract-shaped package whose interface lacks `decide`: a component
/// built against it exports `privcall:decider/decider@0.1.0` with `load`
/// only.
const NO_DECIDE_WIT: &str = r#"
package privcall:decider@0.1.0;

interface decider {
    record list-stats {
        facilities: u32,
        numbers: u64,
        prefix-blocks: u32,
        windows: u32,
        set-bytes: u64,
    }
    load: func(body: list<u8>) -> result<list-stats, string>;
}

world guest {
    export decider;
}
"#;

/// The linear-memory limit the memory-eating guest is run under.
pub const GROW_LIMIT: usize = 16 << 20;

/// What a fault guest does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `load` accepts anything; `decide` executes `unreachable`.
    Trap,
    /// `load` accepts anything; `decide` never returns (`loop br 0 end`).
    Loop,
    /// `load` accepts anything; `decide` grows memory until `memory.grow`
    /// fails, then traps with `unreachable` if the memory stayed within
    /// [`GROW_LIMIT`], or divides by zero if it got past it.
    GrowMemory,
    /// `load` returns `err("refused")`; `decide` returns `err("no list")`.
    RefuseLoad,
    /// The component exports the decider interface without `decide`.
    MissingDecide,
    /// `load` accepts anything; `decide` and the packed paths answer with
    /// this pointer to their result area (outside the memory, or not
    /// 8-aligned).
    BadAnswer(u32),
}

/// Memory, a bump `cabi_realloc` that grows memory when it runs out (the
/// host lowers the list body and the call's strings through it), and the
/// result areas. Nothing below 1024 is handed out by the allocator.
const PRELUDE: &str = r#"
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))

  (func (export "cabi_realloc")
        (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
        (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    ;; Only fresh allocations: the host never reallocates when lowering.
    (if (local.get $old_size) (then unreachable))
    (local.set $ptr
      (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $bump (local.get $end))
    (local.get $ptr))
"#;

/// `load` answering `ok` with all-zero stats: bytes 64..104 are never
/// written, so the result area is a zero discriminant and zero counts.
const LOAD_OK: &str = r#"
  (func (export "privcall:decider/decider@0.1.0#load") (param i32 i32) (result i32)
    (i32.const 64))
"#;

/// `load` answering `err("refused")`: the result area at 128 holds
/// discriminant 1 and the string (pointer 256, length 7) at 136.
const LOAD_REFUSE: &str = r#"
  (data (i32.const 128) "\01")
  (data (i32.const 136) "\00\01\00\00\07\00\00\00")
  (data (i32.const 256) "refused")
  (func (export "privcall:decider/decider@0.1.0#load") (param i32 i32) (result i32)
    (i32.const 128))
"#;

/// The signature of `decide`, up to its body.
const DECIDE: &str = r#"
  (func (export "privcall:decider/decider@0.1.0#decide")
        (param i32 i32 i32 i32 i32 i32 i64 i32 i64) (result i32)
"#;

/// Post-return of `load`: nothing to free in these guests.
const POST_LOAD: &str = r#"
  (func (export "cabi_post_privcall:decider/decider@0.1.0#load") (param i32))
"#;

/// The signature of `decide-strings`, up to its body.
const DECIDE_STRINGS: &str = r#"
  (func (export "privcall:decider/decider@0.1.0#decide-strings")
        (param i32 i32 i32 i32 i32 i32 i64 i64 i32) (result i32)
"#;

/// The signature of `decide-packed`, up to its body: eight `u64` words of
/// strings, `at`, `started`, `has-started`; where the packed decision is
/// out.
const DECIDE_PACKED: &str = r#"
  (func (export "privcall:decider/decider@0.1.0#decide-packed")
        (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i32)
"#;

/// The core module of a fault guest, as WAT.
pub fn fault_wat(kind: Fault) -> String {
    let (load, decide_body) = match kind {
        Fault::Trap => (LOAD_OK, "    unreachable)\n".to_string()),
        Fault::Loop => (
            LOAD_OK,
            "    (loop $forever (br $forever))\n    unreachable)\n".to_string(),
        ),
        Fault::GrowMemory => {
            let pages = GROW_LIMIT / 65536;
            let body = format!(
                r#"    (block $failed
      (loop $grow
        (br_if $failed (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $grow)))
    ;; memory.grow failed. Within the limit: the limit stopped it.
    (if (i32.gt_u (memory.size) (i32.const {pages}))
      (then (drop (i32.div_u (i32.const 1) (i32.const 0)))))
    unreachable)
"#
            );
            (LOAD_OK, body)
        }
        Fault::RefuseLoad => (
            LOAD_REFUSE,
            // err("no list"): discriminant 1 at 160, the string (pointer
            // 264, length 7) at 168. At 304, the packed paths' answer: the
            // word of all ones that means no list is loaded.
            r#"    (i32.const 160))
  (data (i32.const 160) "\01")
  (data (i32.const 168) "\08\01\00\00\07\00\00\00")
  (data (i32.const 264) "no list")
  (data (i32.const 304) "\ff\ff\ff\ff\ff\ff\ff\ff")
"#
            .to_string(),
        ),
        Fault::MissingDecide => return format!("(module\n{PRELUDE}{LOAD_OK}{POST_LOAD})\n"),
        Fault::BadAnswer(at) => (LOAD_OK, format!("    (i32.const {at}))\n")),
    };
    // The packed path fails the same way; a refusing guest has no list.
    let packed_body = match kind {
        Fault::RefuseLoad => "    (i32.const 304))\n".to_string(),
        _ => decide_body
            .split("  (data")
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    format!(
        "(module\n{PRELUDE}{load}{POST_LOAD}{DECIDE}{decide_body}{DECIDE_PACKED}{packed_body}\
         {DECIDE_STRINGS}{packed_body})\n"
    )
}

/// A fault guest's core module, ready for `GuestRuntime::from_module`.
pub fn fault_module(kind: Fault) -> Vec<u8> {
    wat::parse_str(fault_wat(kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

/// A fault guest as a component: encoding it checks the module against
/// the contract.
pub fn fault_component(kind: Fault) -> Vec<u8> {
    let wit = match kind {
        Fault::MissingDecide => NO_DECIDE_WIT,
        _ => CONTRACT,
    };
    let mut module = fault_module(kind);
    // wit-component does not re-export wit-parser; the `Resolve` inside a
    // default `Bindgen` is the way to reach one without depending on it.
    let mut resolve = wit_component::metadata::Bindgen::default().resolve;
    let package = resolve.push_str("privcall.wit", wit).unwrap();
    let world = resolve.select_world(&[package], Some("guest")).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap_or_else(|e| panic!("{kind:?}: {e:#}"))
}
