//! The human reading of a decision: one line for `privcall decide`, a short
//! cell for the demo's table. Both say the same things in the same words.

use privcall::text::Rfc3339Text;
use privcall::{Decision, Reason};

/// Why a decision was made, in words; `time` writes the window's end.
pub fn why(d: &Decision, time: impl Fn(Rfc3339Text) -> String) -> String {
    let until = || d.private_until.map_or_else(|| "?".to_string(), &time);
    let on_expiry = d.on_expiry.as_deref().unwrap_or("?");
    match d.reason {
        Reason::Registered => format!(
            "registered {} number",
            d.category.as_deref().unwrap_or("privileged")
        ),
        Reason::Prearranged => format!("prearranged, private until {}, then {on_expiry}", until()),
        Reason::PrearrangedOverrun => {
            format!("private window ended at {}: {on_expiry}", until())
        }
        Reason::NotPrivileged => "not privileged".to_string(),
        Reason::Unreadable => {
            "the dialed string is no number: the policy's `unreadable` choice".to_string()
        }
        Reason::FailSafe => "FAIL-SAFE: privcall could not decide; facility fail mode".to_string(),
    }
}

/// A one-line reading of a decision: what to do, why, and which list.
pub fn describe(d: &Decision) -> String {
    let action = match (d.record, d.monitor) {
        (false, false) => "DO NOT RECORD, do not monitor",
        (true, true) => "record and monitor",
        (true, false) => "record, do not monitor",
        (false, true) => "monitor, do not record",
    };
    let mut line = format!("{action} — {}", why(d, |t| t.to_string()));
    if d.redact_metadata {
        line.push_str("; do not store the number");
    }
    if let Some(n) = &d.notice {
        line.push_str(&format!("; play notice {n}"));
    }
    if let Some(list) = &d.list {
        line.push_str(&format!(
            " [list #{} {}{}]",
            list.sequence,
            list.digest.get(..12).unwrap_or(&list.digest),
            if list.stale { ", STALE" } else { "" }
        ));
    }
    line
}
