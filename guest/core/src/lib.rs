//! privcall's decision core: pure logic shared by the WebAssembly guest and
//! the host.
//!
//! It normalizes dialed numbers ([`normalize`]), holds the compact exact set
//! of registered numbers ([`set`]), defines the compiled list that a signed
//! bundle carries ([`list`]) and applies the decision rules ([`decide`]);
//! [`canary`] picks the calls a bundle carries to check a guest with.
//! Nothing here does I/O or reads a clock, so the same code runs natively
//! (for tests, the compiler and the native baseline) and inside the guest.
//!
//! ```
//! use privcall_core::list::{build, RegistryRow, Target};
//! use privcall_core::normalize::{normalize, DialPlan};
//! use privcall_core::types::{
//!     Call, Category, CategorySet, FailMode, Overrun, Policy, Reason, Unreadable,
//! };
//! use privcall_core::decide::Decider;
//!
//! let policy = Policy {
//!     exempt: CategorySet::all(),
//!     overrun: Overrun::RecordWithNotice,
//!     early_grace_secs: 300,
//!     fail_mode: FailMode::DoNotRecord,
//!     unreadable: Unreadable::Record,
//!     dial_plan: DialPlan { outside_line_prefix: "9".into(), ..DialPlan::nanp() },
//! };
//! let lawyer = normalize("+1 573 555 0142", &policy.dial_plan).unwrap();
//! let row = RegistryRow {
//!     target: Target::Number(lawyer),
//!     category: Category::Attorney,
//!     facilities: None,
//!     valid_from: None,
//!     valid_until: None,
//! };
//! let list = build(policy, vec![], &[row], &[]).unwrap();
//! let decider = Decider::new(list);
//! let call = Call { facility: "JCCC", inmate: "A1", dialed: "9-1-573-555-0142", at: 0, started: None };
//! let d = decider.decide(&call);
//! assert!(!d.record);
//! assert_eq!(d.reason, Reason::Registered);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// A panic in the guest traps, and the host then applies the facility's
// fail mode: outside tests, every index, unwrap and expect says why it
// cannot fail (`#[expect(..., reason)]`) or is written so it cannot.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod canary;
pub mod decide;
pub mod list;
pub mod normalize;
pub mod packed;
pub mod set;
mod swar;
#[cfg(test)]
mod test_support;
pub mod types;
mod windows;
