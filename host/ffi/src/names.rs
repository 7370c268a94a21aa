//! Static, NUL-terminated copies of the contract's names, made once per
//! process, so a decision hands C pointers that never dangle and
//! `privcall_decide` never allocates.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use host::core::types::{Category, Notice, Overrun};
use host::Reason;

/// One family of names and their C copies.
struct Names(Vec<(&'static str, CString)>);

impl Names {
    fn of(names: impl IntoIterator<Item = &'static str>) -> Names {
        Names(
            names
                .into_iter()
                // The contract's names are ASCII words and dashes: no NUL.
                .filter_map(|n| Some((n, CString::new(n).ok()?)))
                .collect(),
        )
    }

    /// The C copy of `name`, or NULL for a name outside the family (a
    /// newer core than this table: the C caller sees "none" rather than a
    /// wrong name).
    fn get(&self, name: &str) -> *const c_char {
        // A decision's names are the very `&'static str`s the table was
        // made from: compare addresses first, text only if none matches.
        let same = |n: &&str| std::ptr::eq(n.as_ptr(), name.as_ptr()) && n.len() == name.len();
        self.0
            .iter()
            .find(|(n, _)| same(n))
            .or_else(|| self.0.iter().find(|(n, _)| *n == name))
            .map_or(std::ptr::null(), |(_, c)| c.as_ptr())
    }
}

/// Every family, built on first use.
struct Tables {
    reasons: Names,
    categories: Names,
    notices: Names,
    overruns: Names,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        reasons: Names::of(Reason::ALL.map(Reason::name)),
        categories: Names::of(Category::ALL.map(Category::name)),
        notices: Names::of(Notice::ALL.map(Notice::name)),
        overruns: Names::of(Overrun::ALL.map(Overrun::name)),
    })
}

/// Builds the tables now, so the first decision does not pay for it.
pub fn init() {
    tables();
}

/// A reason's name.
pub fn reason(r: Reason) -> *const c_char {
    tables().reasons.get(r.name())
}

/// A category's name (`None`: NULL).
pub fn category(name: Option<&str>) -> *const c_char {
    name.map_or(std::ptr::null(), |n| tables().categories.get(n))
}

/// A notice's name (`None`: NULL).
pub fn notice(name: Option<&str>) -> *const c_char {
    name.map_or(std::ptr::null(), |n| tables().notices.get(n))
}

/// An overrun action's name (`None`: NULL).
pub fn on_expiry(name: Option<&str>) -> *const c_char {
    name.map_or(std::ptr::null(), |n| tables().overruns.get(n))
}
