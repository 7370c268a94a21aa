//! The decision rules of PRODUCT.md, in order: normalize, registered number
//! (exact or prefix block), prearranged window, otherwise record.

use crate::list::{window_key, CompiledList, FacilityIndex, Grant, Window};
use crate::normalize::{readings, E164};
use crate::set::{PackedInts, RadixSet, Run};
use crate::types::{Call, Category, Decision, Notice, Overrun, Policy, Reason};

/// A validated list, ready to decide. Build it with [`Decider::new`].
#[derive(Clone, Debug)]
pub struct Decider {
    list: CompiledList,
    /// Bit `n` set when some prefix block has `n` digits, so a lookup only
    /// tries lengths that exist.
    prefix_lens: u16,
    /// A directory over the windows' keys (hashes, so evenly spread):
    /// windows with `key >> window_shift == b` are
    /// `window_slots[window_dir[b]..window_dir[b + 1]]`. About one window
    /// per bucket, so finding a call's windows is one directory read and one
    /// short scan (two cache misses) instead of a binary search over every
    /// window.
    window_dir: Vec<u32>,
    window_shift: u32,
    /// `list.windows`, same order, as the decision reads them ([`WindowSlot`]).
    window_slots: Vec<WindowSlot>,
    /// One bit per hash of a number that has any window: most calls are to
    /// numbers without one, and a clear bit skips the window lookup (two
    /// cache misses) for a read of this small, cache-resident bitmap.
    /// Exact where it matters: a clear bit means no window has the number.
    window_numbers: Vec<u64>,
    window_number_shift: u32,
    /// Facility codes of up to 16 bytes as integers ([`code_key`]), sorted,
    /// with their index: every call looks its facility up, and comparing
    /// integers avoids a byte-wise string compare per step (slow in wasm).
    facility_keys: Vec<(u128, FacilityIndex)>,
}

/// A window as a decision reads it. The inmate id is inline when it is
/// short: matching a call then reads this one record, where `list.windows`
/// would add a dependent cache miss on the id's own allocation (measured at
/// 5M numbers and 100k windows: prearranged calls were the slowest tenth).
#[derive(Clone, Copy, Debug)]
struct WindowSlot {
    /// `Window::key`: the cheap first test, since equal fields mean an
    /// equal key.
    key: u64,
    number: u64,
    start: i64,
    end: i64,
    /// `pack_str` of the inmate id when `inline`.
    inmate: [u64; 2],
    facility: FacilityIndex,
    /// False for ids of over 16 bytes (or with a NUL): those are compared
    /// with `list.windows` at the same index.
    inline: bool,
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
        let (window_dir, window_shift) = window_directory(&list.windows);
        let window_slots = list
            .windows
            .iter()
            .map(|w| {
                let inmate = crate::packed::pack_str::<2>(&w.inmate);
                WindowSlot {
                    key: w.key,
                    number: w.number,
                    start: w.start,
                    end: w.end,
                    inmate: inmate.unwrap_or_default(),
                    facility: w.facility,
                    inline: inmate.is_some(),
                }
            })
            .collect();
        let (window_numbers, window_number_shift) = window_number_filter(&list.windows);
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
            window_dir,
            window_shift,
            window_slots,
            window_numbers,
            window_number_shift,
            facility_keys,
        }
    }

    /// False when no window is for `number` (true may be a hash collision).
    #[inline]
    fn may_have_window(&self, number: E164) -> bool {
        let bit = number_hash(number.0, self.window_number_shift);
        self.window_numbers
            .get(bit / 64)
            .is_some_and(|w| w >> (bit % 64) & 1 == 1)
    }

    /// The range of `window_slots` that holds every window with key `key`
    /// (and maybe others: the caller compares the fields).
    #[inline]
    fn window_bucket(&self, key: u64) -> core::ops::Range<usize> {
        let b = key.checked_shr(self.window_shift).unwrap_or(0) as usize;
        match (self.window_dir.get(b), self.window_dir.get(b + 1)) {
            (Some(&lo), Some(&hi)) => lo as usize..hi as usize,
            _ => 0..0,
        }
    }

    /// The list this decider answers from.
    pub fn list(&self) -> &CompiledList {
        &self.list
    }

    /// Decides one call.
    pub fn decide(&self, call: &Call<'_>) -> Decision {
        let (facility, policy, default_policy) = self.facility(call.facility);
        let readings = readings(call.dialed, &policy.dial_plan).ok();
        let mut decision = Decision {
            record: true,
            monitor: true,
            reason: Reason::NotPrivileged,
            category: None,
            private_until: None,
            on_expiry: None,
            redact_metadata: false,
            notice: None,
            normalized: readings.map(|r| r.primary),
            default_policy,
        };
        let Some(readings) = readings else {
            return decision;
        };
        // An ambiguous string is private when any of its readings is.
        let numbers = [Some(readings.primary), readings.alternate];
        // The set's directory is read first and the windows are looked up
        // next, though the registered rule wins: on a cold cache the set's
        // run and the window's slot are then fetched together (see
        // `window_probe`).
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

    /// The range of `window_slots` holding every window of `number` for
    /// `inmate` at `facility` (and any other window whose key collides:
    /// [`Self::prearranged`] compares the fields). Empty for most numbers,
    /// by the filter.
    ///
    /// `decide` calls it before the registered-number lookup, though that
    /// rule wins: on a cold cache both lookups miss, and this order lets the
    /// CPU have the two misses in flight at once. Done after, the wasm
    /// guest's code in between is longer than the CPU looks ahead past a
    /// pending miss, and they add up: prearranged calls at 5M numbers and
    /// 100k windows took about 100 ns longer through the engine.
    #[inline(always)]
    fn window_probe(
        &self,
        facility: FacilityIndex,
        number: E164,
        inmate: &str,
    ) -> core::ops::Range<usize> {
        if !self.may_have_window(number) {
            return 0..0;
        }
        self.windows_with_key(window_key(facility, number, inmate))
    }

    /// The range of `window_slots` whose key is `key`. Kept out of line: the
    /// filter in [`Self::window_probe`] keeps most calls from coming here.
    #[inline(never)]
    fn windows_with_key(&self, key: u64) -> core::ops::Range<usize> {
        let bucket = self.window_bucket(key);
        let slots = self.window_slots.get(bucket.clone()).unwrap_or_default();
        // A binary search, though a bucket averages one window: a pair
        // booked hundreds of times fills its bucket, and a scan would make
        // every other key hashed there pay for it (a scan saved 1% of a
        // window decision's instructions).
        let first = slots.partition_point(|w| w.key < key);
        let len = slots[first..].iter().take_while(|w| w.key == key).count();
        bucket.start + first..bucket.start + first + len
    }

    /// Applies rule 3 (prearranged private calls) to `decision`, given
    /// `same_key` from [`Self::window_probe`].
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
        let same_key = self.window_slots.get(same_key).unwrap_or_default();
        let inmate = crate::packed::pack_str::<2>(call.inmate);
        // Every field compared, so a hash collision never makes an
        // unrelated call private.
        let is_mine = |i: usize, w: &WindowSlot| {
            w.facility == facility
                && w.number == number.0
                && match (w.inline, inmate) {
                    (true, Some(k)) => w.inmate == k,
                    (true, None) => false,
                    (false, _) => self.list.windows[at + i].inmate == call.inmate,
                }
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

/// If `t` falls in one of the `mine` windows (`start − grace ≤ t < end`),
/// the end of the chain of windows that follow on without a gap (a window
/// chains on when it opens, grace included, before the previous one ends):
/// the call stays private until then.
fn chain_end(
    windows: &[WindowSlot],
    mine: impl Fn(usize, &WindowSlot) -> bool,
    t: i64,
    grace: i64,
) -> Option<i64> {
    // The latest end among my windows open at `t`. Times are tested first:
    // two compares, before the fields. A plain loop: the iterator chain
    // this replaced cost the wasm guest twice the instructions.
    let open_at = |t: i64| {
        let mut latest = None;
        for (i, w) in windows.iter().enumerate() {
            if w.start.saturating_sub(grace) <= t && t < w.end && Some(w.end) > latest && mine(i, w)
            {
                latest = Some(w.end);
            }
        }
        latest
    };
    let mut until = open_at(t)?;
    while let Some(end) = open_at(until) {
        until = end;
    }
    Some(until)
}

/// Builds [`Decider::window_dir`] for windows sorted by key: `2^bits`
/// buckets by the key's top bits, `bits` chosen so there is about one window
/// per bucket (at most 2^20 buckets, 4 MiB).
fn window_directory(windows: &[Window]) -> (Vec<u32>, u32) {
    let bits = (usize::BITS - windows.len().leading_zeros()).min(20);
    let shift = 64 - bits;
    let buckets = 1usize << bits;
    let mut dir = Vec::with_capacity(buckets + 1);
    let mut i = 0usize;
    for b in 0..buckets as u64 {
        dir.push(i as u32);
        while i < windows.len() && windows[i].key.checked_shr(shift).unwrap_or(0) == b {
            i += 1;
        }
    }
    dir.push(i as u32);
    debug_assert_eq!(i, windows.len());
    (dir, shift)
}

/// The bit of `number` in a filter of `2^(64 - shift)` bits.
#[inline]
fn number_hash(number: u64, shift: u32) -> usize {
    (number.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// Builds [`Decider::window_numbers`]: about 8 bits per window (so roughly
/// one number in ten without a window still has its bit set), at least 64,
/// at most 2^24 bits (2 MiB).
fn window_number_filter(windows: &[Window]) -> (Vec<u64>, u32) {
    let bits = (windows.len().saturating_mul(8).max(64))
        .next_power_of_two()
        .min(1 << 24);
    let shift = 64 - bits.trailing_zeros();
    let mut filter = vec![0u64; bits / 64];
    for w in windows {
        let bit = number_hash(w.number, shift);
        filter[bit / 64] |= 1 << (bit % 64);
    }
    (filter, shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{build, WindowRow};
    use crate::normalize::DialPlan;
    use crate::types::{CategorySet, FailMode};

    fn policy() -> Policy {
        Policy {
            exempt: CategorySet::all(),
            overrun: Overrun::StayPrivate,
            early_grace_secs: 0,
            fail_mode: FailMode::DoNotRecord,
            dial_plan: DialPlan::nanp(),
        }
    }

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

    /// Inmate ids are compared inline up to 16 bytes and through the list
    /// beyond: every id of every length around that limit (and with a NUL,
    /// which the inline form cannot hold) matches its own window and no
    /// other id's, whichever form each side takes.
    #[test]
    fn inmate_ids_match_exactly_on_both_sides_of_the_inline_limit() {
        let number = E164(13_145_550_123);
        let mut ids: Vec<String> = (0..=24).map(|n| "x".repeat(n)).collect();
        ids.extend((14..=18).map(|n| format!("{}y", "x".repeat(n - 1))));
        ids.extend(
            [
                "x\0",
                "x\0\0",
                "\0",
                "xxxxxxxxxxxxxxx\0",
                "xxxxxxxxxxxxxxxx\0",
            ]
            .map(String::from),
        );
        let booked: Vec<&String> = ids.iter().step_by(2).collect();
        let rows: Vec<WindowRow> = booked
            .iter()
            .map(|&inmate| WindowRow {
                facility: "AAA".into(),
                inmate: inmate.clone(),
                number,
                start: 1_000,
                end: 2_000,
            })
            .collect();
        let d = Decider::new(build(policy(), vec![], &[], &rows).unwrap());
        let dialed = format!("+{}", number.0);
        for id in &ids {
            let reason = d
                .decide(&Call {
                    facility: "AAA",
                    inmate: id,
                    dialed: &dialed,
                    at: 1_500,
                    started: None,
                })
                .reason;
            let expected = if booked.contains(&id) {
                Reason::Prearranged
            } else {
                Reason::NotPrivileged
            };
            assert_eq!(reason, expected, "inmate id of {} bytes {id:?}", id.len());
        }
    }

    /// A hash collision never makes a call private, nor lends it another
    /// window's end: with every window's key forced to one call's, only the
    /// window with that call's own fields counts. The windows overlap and
    /// end at different times, so `private_until` shows which matched.
    #[test]
    fn colliding_keys_are_told_apart_by_the_fields() {
        let number = E164(13_145_550_123);
        let long = "an-inmate-id-of-over-16-bytes";
        let rows: Vec<WindowRow> = [
            ("AAA", "a", number, 2_000),
            ("AAA", long, number, 2_100),
            ("BBB", "a", number, 2_200),
            ("AAA", "a", E164(number.0 + 1), 2_300),
            ("AAA", "b", number, 2_400),
            ("AAA", "an-inmate-id-of-over-16-bytez", number, 2_500),
            ("BBB", long, number, 2_600),
        ]
        .into_iter()
        .map(|(facility, inmate, number, end)| WindowRow {
            facility: facility.into(),
            inmate: inmate.into(),
            number,
            start: 1_000,
            end,
        })
        .collect();
        let list = build(policy(), vec![], &[], &rows).unwrap();
        for w in &rows {
            let mut d = Decider::new(list.clone());
            let facility = d.facility(&w.facility).0.unwrap();
            let key = window_key(facility, w.number, &w.inmate);
            for slot in &mut d.window_slots {
                slot.key = key;
            }
            let bucket = key >> d.window_shift;
            let all = d.window_slots.len() as u32;
            for (b, offset) in d.window_dir.iter_mut().enumerate() {
                *offset = if b as u64 <= bucket { 0 } else { all };
            }
            let dialed = format!("+{}", w.number.0);
            let decision = d.decide(&Call {
                facility: &w.facility,
                inmate: &w.inmate,
                dialed: &dialed,
                at: 1_500,
                started: None,
            });
            assert_eq!(decision.reason, Reason::Prearranged, "{w:?}");
            assert_eq!(decision.private_until, Some(w.end), "{w:?}");
        }
    }

    /// The window directory and the number filter find every window, and
    /// only windows: each booked call is private, and the same number for
    /// another inmate or facility, or a neighbouring number, is not.
    #[test]
    fn window_index_finds_exactly_the_booked_calls() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rows: Vec<WindowRow> = (0..5000)
            .map(|i| {
                let r = next();
                WindowRow {
                    facility: if i % 3 == 0 { "AAA" } else { "BBB" }.into(),
                    inmate: format!("I{}", r % 700),
                    // A valid North American number: area code and
                    // exchange in 200-999.
                    number: E164(
                        10_000_000_000
                            + (200 + (r >> 16) % 800) * 10_000_000
                            + (200 + (r >> 32) % 800) * 10_000
                            + (r >> 48) % 10_000,
                    ),
                    start: 1_000,
                    end: 2_000,
                }
            })
            .collect();
        let list = build(policy(), vec![], &[], &rows).unwrap();
        let d = Decider::new(list);
        let decide = |facility: &str, inmate: &str, number: u64| {
            let dialed = format!("+{number}");
            d.decide(&Call {
                facility,
                inmate,
                dialed: &dialed,
                at: 1_500,
                started: None,
            })
            .reason
        };
        let booked = |f: &str, i: &str, n: u64| {
            rows.iter()
                .any(|w| w.facility == f && w.inmate == i && w.number.0 == n)
        };
        for w in &rows {
            assert_eq!(
                decide(&w.facility, &w.inmate, w.number.0),
                Reason::Prearranged
            );
            for (f, i, n) in [
                (w.facility.as_str(), "nobody", w.number.0),
                ("AAA", w.inmate.as_str(), w.number.0),
                ("BBB", w.inmate.as_str(), w.number.0),
                (w.facility.as_str(), w.inmate.as_str(), w.number.0 + 1),
            ] {
                let expected = if booked(f, i, n) {
                    Reason::Prearranged
                } else {
                    Reason::NotPrivileged
                };
                assert_eq!(decide(f, i, n), expected);
            }
        }
    }
}
