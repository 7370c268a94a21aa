//! One record judged as of its setup: privileged or not, and when it was
//! recorded, what to do with the recording.

use std::hash::{Hash, Hasher};

use privcall::core::decide::Decider;
use privcall::core::types::{Call, Decision, Overrun, Reason};

use super::cdr::Record;
use super::report::{Action, Finding};

/// A privileged call, by what became of it.
pub enum Verdict {
    /// Recorded: the report names it.
    Named(Finding),
    /// Not recorded, as it should be.
    Unrecorded,
    /// A prearranged call whose recording began after its window ended,
    /// under `record-with-notice`: allowed.
    AfterWindow,
}

/// What makes two records the same call (an export may repeat a call).
pub fn identity(r: &Record) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (r.facility, r.inmate, r.dialed, r.start, r.recording).hash(&mut h);
    h.finish()
}

/// The verdict on `r` when it was privileged under any reading of its
/// start (the first privileged reading decides: privacy wins).
pub fn judge(decider: &Decider, r: &Record) -> Option<Verdict> {
    let (start, d, reason) = std::iter::once(r.start)
        .chain(r.start_alt)
        .find_map(|start| privileged(decider, r, start))?;
    if r.recording.is_empty() {
        return Some(Verdict::Unrecorded);
    }
    let action = match (reason, d.on_expiry, d.private_until) {
        (Reason::PrearrangedOverrun, Some(Overrun::RecordWithNotice), Some(end)) => {
            // The recording's own start, when the CDR gives it, shows
            // whether it holds any of the private part.
            if r.recording_offset
                .is_some_and(|off| start.saturating_add(off) >= end)
            {
                return Some(Verdict::AfterWindow);
            }
            Action::CutBeforeWindowEnd
        }
        // Stay-private keeps the whole call private; under disconnect the
        // call should have ended at the window's end.
        _ => Action::Destroy,
    };
    Some(Verdict::Named(Finding {
        recording: r.recording.to_string(),
        reason,
        action,
        category: d.category,
        window_end: d.private_until,
        facility: r.facility.to_string(),
        start,
        number: d.normalized,
    }))
}

/// The decision for `r` set up at `start`, when it makes the call
/// privileged, with the reason the report gives.
fn privileged(decider: &Decider, r: &Record, start: i64) -> Option<(i64, Decision, Reason)> {
    let d = decider.decide(&Call {
        facility: r.facility,
        inmate: r.inmate,
        dialed: r.dialed,
        at: start,
        started: None,
    });
    let reason = match d.reason {
        Reason::Registered => Reason::Registered,
        Reason::Prearranged => match d.private_until {
            // Still running when the window ended.
            Some(end) if start.saturating_add(r.duration) > end => Reason::PrearrangedOverrun,
            _ => Reason::Prearranged,
        },
        _ => return None,
    };
    Some((start, d, reason))
}
