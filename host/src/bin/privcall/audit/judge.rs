//! One record judged as of its setup: privileged or not, and when it was
//! recorded, what to do with the recording.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use privcall::core::decide::Decider;
use privcall::core::types::{Call, Decision, Overrun, Reason};
use privcall::edge::InmateKey;

use super::cdr::Record;
use super::report::{Action, Finding};

/// A privileged call, by what became of it.
pub enum Verdict<'r> {
    /// Recorded: the report names it.
    Named(Finding<'r>),
    /// Not recorded, as it should be.
    Unrecorded,
    /// A prearranged call whose recording began after its window ended,
    /// under `record-with-notice`: allowed.
    AfterWindow,
}

/// What makes two records the same call (an export may repeat a call): a
/// 128-bit hash of its fields, so that two different calls never pass for
/// one (a false repeat would hide a recording).
pub fn identity(r: &Record) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for field in [r.facility, r.inmate, r.dialed, r.recording] {
        // Lengths first: ("ab", "c") and ("a", "bc") differ.
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.update(&r.start.to_le_bytes());
    h.digest128()
}

/// Privileged calls already seen, by [`identity`], up to a number (a
/// hostile file of endless distinct privileged rows must not take all the
/// memory): past it a call counts as new, so a repeat may be named twice
/// but a recording is never hidden.
pub struct Seen {
    ids: HashSet<u128, BuildHasherDefault<Prehashed>>,
    max: usize,
    /// Whether the cap was reached.
    pub full: bool,
}

impl Seen {
    /// At most `max` calls remembered.
    pub fn new(max: usize) -> Seen {
        Seen {
            ids: HashSet::default(),
            max,
            full: false,
        }
    }

    /// Whether `id` is seen for the first time (or can no longer be told).
    pub fn first(&mut self, id: u128) -> bool {
        if self.ids.len() < self.max {
            return self.ids.insert(id);
        }
        if self.ids.contains(&id) {
            return false;
        }
        self.full = true;
        true
    }
}

/// A hasher for keys that are uniformly random already.
#[derive(Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is expected; anything else still hashes.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).rotate_left(29);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 ^= key as u64;
    }
}

/// The list a replay decides on: the native decision core, and the inmate
/// key when the list's inmate ids are hashed.
pub struct ListJudge {
    /// The list, decided natively.
    pub decider: Decider,
    /// Hashes each record's inmate id as a host would.
    pub inmate_key: Option<InmateKey>,
}

/// The verdict on `r` when it was privileged under any reading of its
/// start (the first privileged reading decides: privacy wins).
pub fn judge<'r>(decider: &ListJudge, r: &Record<'r>) -> Option<Verdict<'r>> {
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
        recording: r.recording,
        reason,
        action,
        category: d.category,
        window_end: d.private_until,
        facility: r.facility,
        start,
        number: d.normalized,
    }))
}

/// The decision for `r` set up at `start`, when it makes the call
/// privileged, with the reason the report gives.
fn privileged(list: &ListJudge, r: &Record, start: i64) -> Option<(i64, Decision, Reason)> {
    let tag = list
        .inmate_key
        .as_ref()
        .map(|k| k.tag(r.facility, r.inmate));
    let d = list.decider.decide(&Call {
        facility: r.facility,
        inmate: tag.as_deref().unwrap_or(r.inmate),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(facility: &'a str, inmate: &'a str) -> Record<'a> {
        Record {
            facility,
            inmate,
            dialed: "1",
            start: 0,
            start_alt: None,
            duration: 0,
            recording: "r",
            recording_offset: None,
        }
    }

    #[test]
    fn identity_keeps_field_boundaries() {
        assert_ne!(identity(&record("ab", "c")), identity(&record("a", "bc")));
        assert_eq!(identity(&record("a", "bc")), identity(&record("a", "bc")));
    }

    #[test]
    fn past_the_cap_calls_count_as_new() {
        let mut seen = Seen::new(2);
        assert!(seen.first(1) && seen.first(2) && !seen.first(1));
        assert!(!seen.full);
        assert!(
            seen.first(3) && seen.first(3),
            "3 is past the cap: never a repeat"
        );
        assert!(!seen.first(2), "remembered ones still are");
        assert!(seen.full);
    }
}
