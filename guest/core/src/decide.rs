//! The decision rules of PRODUCT.md, in order: normalize, registered number
//! (exact or prefix block), prearranged window, otherwise record.

use crate::list::{CompiledList, FacilityIndex, Grant};
use crate::normalize::{readings, Readings, E164};
use crate::set::{PackedInts, RadixSet, Run};
use crate::types::{
    Call, Category, Decision, FailMode, Notice, Overrun, Policy, Reason, Unreadable,
};
use crate::windows::{chain_end, window_key, WindowIndex, WindowSlot};

/// The ASCII digits of a string (after a `+` when one comes before them),
/// without anything else: an unreadable string's last reading.
#[derive(Default)]
struct DigitsOnly {
    buf: [u8; 32],
}

impl DigitsOnly {
    /// The digits of `s`, or `None` when there are none or too many.
    fn of(&mut self, s: &str) -> Option<&str> {
        let mut len = 0;
        for b in s.bytes() {
            let keep = b.is_ascii_digit() || (b == b'+' && len == 0);
            if keep {
                *self.buf.get_mut(len)? = b;
                len += 1;
            }
        }
        let text = core::str::from_utf8(self.buf.get(..len)?).ok()?;
        text.bytes().any(|b| b.is_ascii_digit()).then_some(text)
    }
}

/// A validated list, ready to decide. Build it with [`Decider::new`].
#[derive(Clone, Debug)]
pub struct Decider {
    list: CompiledList,
    /// Bit `n` set when some prefix block has `n` digits, so a lookup only
    /// tries lengths that exist.
    prefix_lens: u16,
    /// `list.windows`, indexed for lookup by call.
    windows: WindowIndex,
    /// Facility codes of up to 16 bytes as integers ([`code_key`]), sorted,
    /// with their index: every call looks its facility up, and comparing
    /// integers avoids a byte-wise string compare per step (slow in wasm).
    facility_keys: Vec<(u128, FacilityIndex)>,
}

/// `code` as one integer, when it has at most 16 bytes and no NUL: equal
/// keys mean equal codes.
#[inline]
fn code_key(code: &str) -> Option<u128> {
    crate::packed::pack_str::<2>(code).map(|[a, b]| u128::from(a) | u128::from(b) << 64)
}

impl Decider {
    /// Wraps a list that has passed [`CompiledList::validate`] (both
    /// [`CompiledList::from_bytes`] and [`crate::list::build`] ensure that).
    pub fn new(list: CompiledList) -> Decider {
        let prefix_lens = list.prefixes.iter().fold(0u16, |m, p| m | 1 << p.len);
        let windows = WindowIndex::new(&list.windows);
        let mut facility_keys: Vec<(u128, FacilityIndex)> = list
            .facilities
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((code_key(&f.code)?, i as FacilityIndex)))
            .collect();
        facility_keys.sort_unstable();
        Decider {
            list,
            prefix_lens,
            windows,
            facility_keys,
        }
    }

    /// The list this decider answers from.
    pub fn list(&self) -> &CompiledList {
        &self.list
    }

    /// Decides one call.
    pub fn decide(&self, call: &Call<'_>) -> Decision {
        let (facility, policy, default_policy) = self.facility(call.facility);
        match readings(call.dialed, &policy.dial_plan) {
            Ok(readings) => self.decide_readings(readings, facility, policy, default_policy, call),
            Err(_) => self.unreadable(facility, policy, default_policy, call),
        }
    }

    /// A dialed string that is no number. Its digits alone are read next
    /// (a PBX may route a string privcall cannot read): when they are a
    /// privileged number the call is private, so an unreadable form never
    /// records a registered number. Otherwise the reason is `unreadable`
    /// and the policy's `unreadable` choice decides.
    #[cold]
    #[inline(never)]
    fn unreadable(
        &self,
        facility: Option<FacilityIndex>,
        policy: &Policy,
        default_policy: bool,
        call: &Call<'_>,
    ) -> Decision {
        let mut digits = DigitsOnly::default();
        let salvaged = digits
            .of(call.dialed)
            .and_then(|d| readings(d, &policy.dial_plan).ok())
            .map(|r| self.decide_readings(r, facility, policy, default_policy, call));
        if let Some(d) = salvaged.filter(|d| d.reason != Reason::NotPrivileged) {
            return d;
        }
        let record = match policy.unreadable {
            Unreadable::Record => true,
            Unreadable::DoNotRecord => false,
            Unreadable::FailMode => policy.fail_mode == FailMode::Record,
        };
        Decision {
            record,
            monitor: record,
            reason: Reason::Unreadable,
            category: None,
            private_until: None,
            on_expiry: None,
            redact_metadata: false,
            notice: None,
            normalized: None,
            default_policy,
        }
    }

    /// The rules after normalization: registered, then prearranged, for
    /// every reading of the dialed string.
    #[inline(always)]
    fn decide_readings(
        &self,
        readings: Readings,
        facility: Option<FacilityIndex>,
        policy: &Policy,
        default_policy: bool,
        call: &Call<'_>,
    ) -> Decision {
        let mut decision = Decision {
            record: true,
            monitor: true,
            reason: Reason::NotPrivileged,
            category: None,
            private_until: None,
            on_expiry: None,
            redact_metadata: false,
            notice: None,
            normalized: Some(readings.primary),
            default_policy,
        };
        // An ambiguous string is private when any of its readings is.
        let numbers = [Some(readings.primary), readings.alternate];
        // The set's directory is read first and the windows are looked up
        // next, though the registered rule wins: on a cold cache both
        // lookups miss, and this order lets the CPU have the two misses in
        // flight at once. Done after, the wasm guest's code in between is
        // longer than the CPU looks ahead past a pending miss, and they add
        // up.
        let primary_run = self.run(readings.primary);
        let primary_windows = match facility {
            Some(f) => self.window_probe(f, readings.primary, call.inmate),
            None => 0..0,
        };
        for (i, number) in numbers.into_iter().enumerate() {
            let Some(number) = number else { continue };
            let run = match i {
                0 => primary_run,
                _ => self.run(number),
            };
            if let Some(category) = self.registered(number, run, facility, policy, call) {
                decision.record = false;
                decision.monitor = false;
                decision.reason = Reason::Registered;
                decision.category = Some(category);
                decision.redact_metadata = true;
                decision.normalized = Some(number);
                return decision;
            }
        }
        if let Some(facility) = facility {
            for (i, number) in numbers.into_iter().enumerate() {
                let Some(number) = number else { continue };
                let windows = match i {
                    0 => primary_windows.clone(),
                    _ => self.window_probe(facility, number, call.inmate),
                };
                self.prearranged(&mut decision, windows, facility, number, policy, call);
                if decision.reason != Reason::NotPrivileged {
                    decision.normalized = Some(number);
                    break;
                }
            }
        }
        decision
    }

    /// The facility's index (if the list names it), its policy, and whether
    /// that policy is the default one.
    #[expect(
        clippy::indexing_slicing,
        reason = "`at` comes from a binary search of `facility_keys`, whose entries hold \
                  positions in `list.facilities`, and `i` from that or a search of the facilities"
    )]
    fn facility(&self, code: &str) -> (Option<FacilityIndex>, &Policy, bool) {
        let found = match code_key(code) {
            // A code that short is among the keys if the list has it.
            Some(key) => self
                .facility_keys
                .binary_search_by_key(&key, |&(k, _)| k)
                .map(|at| self.facility_keys[at].1 as usize),
            None => self
                .list
                .facilities
                .binary_search_by(|f| f.code.as_str().cmp(code)),
        };
        match found {
            Ok(i) => {
                let f = &self.list.facilities[i];
                (Some(i as FacilityIndex), &f.policy, !f.own_policy)
            }
            Err(_) => (None, &self.list.default_policy, true),
        }
    }

    /// The run of the number set that would hold `number`
    /// ([`crate::set::RadixSet::run`]): the first half of its lookup in
    /// [`Self::registered`].
    #[inline]
    fn run(&self, number: E164) -> Run {
        let (set, _, key) = self.number_set(number);
        set.run(key)
    }

    /// The set that would hold `number`, its class ids, and the number's key
    /// in it: North American numbers by their 10-digit national number,
    /// others by the E.164 integer. [`Self::run`] and [`Self::registered`]
    /// both ask here, so a run is always searched in the set it came from.
    #[inline]
    fn number_set(&self, number: E164) -> (&RadixSet, &PackedInts, u64) {
        match number.nanp_national() {
            Some(national) => (&self.list.nanp, &self.list.nanp_classes, national),
            None => (&self.list.intl, &self.list.intl_classes, number.0),
        }
    }

    /// The exempt category that makes `number` registered here, if any. `run`
    /// is [`Self::run`]`(number)`. When
    /// several rows apply, the first category in contract order wins, so the
    /// answer does not depend on row order.
    #[expect(
        clippy::indexing_slicing,
        reason = "the index comes from a binary search of `prefixes`"
    )]
    fn registered(
        &self,
        number: E164,
        run: Run,
        facility: Option<FacilityIndex>,
        policy: &Policy,
        call: &Call<'_>,
    ) -> Option<Category> {
        let applies = |g: &Grant| {
            // A registration valid when the call was set up keeps covering
            // it when the PBX re-asks after the registration ended.
            let valid = g.valid_at(call.at) || call.started.is_some_and(|s| g.valid_at(s));
            valid && g.in_scope(facility) && policy.exempt.contains(g.category)
        };
        let mut best: Option<Category> = None;
        let mut consider = |class: u32| {
            if let Some(grants) = self.list.classes.get(class as usize) {
                for g in grants.iter().filter(|g| applies(g)) {
                    best = Some(best.map_or(g.category, |b| b.min(g.category)));
                }
            }
        };
        let (set, classes, key) = self.number_set(number);
        let exact = set.rank_in(run, key).and_then(|r| classes.get(r as usize));
        if let Some(class) = exact {
            consider(class);
        }
        let mut lens = self.prefix_lens;
        while lens != 0 {
            let len = lens.trailing_zeros();
            lens &= lens - 1;
            let Some(value) = number.leading(len) else {
                break;
            };
            let prefixes = &self.list.prefixes;
            if let Ok(i) =
                prefixes.binary_search_by(|p| (u32::from(p.len), p.value).cmp(&(len, value)))
            {
                consider(prefixes[i].class);
            }
        }
        best
    }

    /// The range of the window slots holding every window of `number` for
    /// `inmate` at `facility` (and any other window whose key collides:
    /// [`Self::prearranged`] compares the fields). Empty for most numbers,
    /// by the filter.
    #[inline(always)]
    fn window_probe(
        &self,
        facility: FacilityIndex,
        number: E164,
        inmate: &str,
    ) -> core::ops::Range<usize> {
        if !self.windows.may_have_window(number) {
            return 0..0;
        }
        self.windows_with_key(window_key(facility, number, inmate))
    }

    /// [`WindowIndex::with_key`], kept out of line: the filter in
    /// [`Self::window_probe`] keeps most calls from coming here. A method of
    /// the decider, not of the index, so a call site passes the address it
    /// holds already instead of computing the index's.
    #[inline(never)]
    fn windows_with_key(&self, key: u64) -> core::ops::Range<usize> {
        self.windows.with_key(key)
    }

    /// Applies rule 3 (prearranged private calls) to `decision`, given
    /// `same_key` from [`Self::window_probe`].
    #[expect(
        clippy::indexing_slicing,
        reason = "the window slots mirror `list.windows` one to one, so `at + i` is a position in both"
    )]
    fn prearranged(
        &self,
        decision: &mut Decision,
        same_key: core::ops::Range<usize>,
        facility: FacilityIndex,
        number: E164,
        policy: &Policy,
        call: &Call<'_>,
    ) {
        if same_key.is_empty() {
            return;
        }
        let at = same_key.start;
        let same_key = self.windows.slots(same_key);
        let inmate = crate::packed::pack_str::<2>(call.inmate);
        // Every field compared, so a hash collision never makes an
        // unrelated call private.
        let is_mine = |i: usize, w: &WindowSlot| {
            w.is_for(facility, number.0, call.inmate, inmate, || {
                &self.list.windows[at + i].inmate
            })
        };
        let grace = policy.early_grace_secs;
        if let Some(until) = chain_end(same_key, is_mine, call.at, grace) {
            decision.record = false;
            decision.monitor = false;
            decision.reason = Reason::Prearranged;
            decision.private_until = Some(until);
            decision.on_expiry = Some(policy.overrun);
            decision.redact_metadata = true;
            return;
        }
        // `at` is outside every window. If the call was set up inside one,
        // it has outlived it: the overrun action applies.
        let Some(started) = call.started else {
            return;
        };
        let Some(until) = chain_end(same_key, is_mine, started, grace) else {
            return;
        };
        decision.reason = Reason::PrearrangedOverrun;
        decision.private_until = Some(until);
        decision.on_expiry = Some(policy.overrun);
        decision.redact_metadata = true;
        let (record, notice) = match policy.overrun {
            Overrun::RecordWithNotice => (true, Notice::PrivateWindowEndedRecording),
            Overrun::StayPrivate => (false, Notice::PrivateWindowEndedPrivate),
            Overrun::DisconnectWithNotice => (false, Notice::PrivateWindowEndedDisconnect),
        };
        decision.record = record;
        decision.monitor = record;
        decision.notice = Some(notice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::build;
    use crate::test_support::policy;

    /// Every facility is found by its own code, whatever its length (the
    /// integer keys stop at 16 bytes, longer codes are compared as
    /// strings), and a code that only shares a prefix is not found.
    #[test]
    fn facilities_are_found_by_exact_code() {
        let codes = [
            "A",
            "AB",
            "ABCDEFGH",
            "ABCDEFGHI",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOPQ",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "\u{c9}TAGE-2",
            "Z",
        ];
        let facilities = codes.iter().map(|c| (c.to_string(), policy())).collect();
        let d = Decider::new(build(policy(), facilities, &[], &[]).unwrap());
        for code in codes {
            let (index, _, _) = d.facility(code);
            let index = index.expect("a listed facility is found") as usize;
            assert_eq!(d.list.facilities[index].code, code);
        }
        for other in [
            "",
            "ABC",
            "ABCDEFG",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNOPQR",
            "ABCDEFGHIJKLMNOPQRSTUVWXY",
            "a",
            "A\0",
            "\u{c9}TAGE",
        ] {
            assert_eq!(d.facility(other).0, None, "{other:?}");
        }
    }

    /// A string that is no number: its digits alone still find a registered
    /// number (privacy wins), and otherwise the policy's `unreadable`
    /// choice decides, under each choice and fail mode.
    #[test]
    fn unreadable_strings() {
        use crate::list::{RegistryRow, Target};
        let row = RegistryRow {
            target: Target::Number(E164(15735550142)),
            category: Category::Attorney,
            facilities: None,
            valid_from: None,
            valid_until: None,
        };
        let decide = |p: Policy, dialed: &str| {
            let d = Decider::new(build(p, vec![], std::slice::from_ref(&row), &[]).unwrap());
            d.decide(&Call {
                facility: "X",
                inmate: "A1",
                dialed,
                at: 0,
                started: None,
            })
        };
        for salvaged in [
            "573-555-0142 !!",
            "+1 573 555 0142?",
            "573+555 0142",
            "\u{1f4de}5735550142",
        ] {
            let d = decide(policy(), salvaged);
            assert_eq!(
                (d.reason, d.record),
                (Reason::Registered, false),
                "{salvaged:?}"
            );
            assert_eq!(d.normalized, Some(E164(15735550142)));
        }
        for (unreadable, fail_mode, record) in [
            (Unreadable::Record, FailMode::DoNotRecord, true),
            (Unreadable::DoNotRecord, FailMode::Record, false),
            (Unreadable::FailMode, FailMode::Record, true),
            (Unreadable::FailMode, FailMode::DoNotRecord, false),
        ] {
            let p = Policy {
                unreadable,
                fail_mode,
                ..policy()
            };
            for dialed in ["hello?", "573-555-0199 !!", ""] {
                let d = decide(p.clone(), dialed);
                assert_eq!(d.reason, Reason::Unreadable, "{dialed:?}");
                assert_eq!((d.record, d.monitor), (record, record), "{unreadable:?}");
                assert_eq!(d.normalized, None);
            }
        }
        // A readable number that is not registered is not "unreadable".
        assert_eq!(
            decide(policy(), "573-555-0199").reason,
            Reason::NotPrivileged
        );
    }
}
