//! The decision rules of PRODUCT.md, in order: normalize, registered number
//! (exact or prefix block), prearranged window, otherwise record.

use crate::list::{window_key, CompiledList, FacilityIndex, Grant, Window};
use crate::normalize::{readings, E164};
use crate::types::{Call, Category, Decision, Notice, Overrun, Policy, Reason};

/// A validated list, ready to decide. Build it with [`Decider::new`].
#[derive(Clone, Debug)]
pub struct Decider {
    list: CompiledList,
    /// Bit `n` set when some prefix block has `n` digits, so a lookup only
    /// tries lengths that exist.
    prefix_lens: u16,
}

impl Decider {
    /// Wraps a list that has passed [`CompiledList::validate`] (both
    /// [`CompiledList::from_bytes`] and [`crate::list::build`] ensure that).
    pub fn new(list: CompiledList) -> Decider {
        let prefix_lens = list.prefixes.iter().fold(0u16, |m, p| m | 1 << p.len);
        Decider { list, prefix_lens }
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
        for number in numbers.into_iter().flatten() {
            if let Some(category) = self.registered(number, facility, policy, call) {
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
            for number in numbers.into_iter().flatten() {
                self.prearranged(&mut decision, facility, number, policy, call);
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
        match self
            .list
            .facilities
            .binary_search_by(|f| f.code.as_str().cmp(code))
        {
            Ok(i) => {
                let f = &self.list.facilities[i];
                (Some(i as FacilityIndex), &f.policy, !f.own_policy)
            }
            Err(_) => (None, &self.list.default_policy, true),
        }
    }

    /// The exempt category that makes `number` registered here, if any. When
    /// several rows apply, the first category in contract order wins, so the
    /// answer does not depend on row order.
    fn registered(
        &self,
        number: E164,
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
        let exact = match number.nanp_national() {
            Some(national) => self
                .list
                .nanp
                .rank(national)
                .and_then(|r| self.list.nanp_classes.get(r as usize)),
            None => self
                .list
                .intl
                .rank(number.0)
                .and_then(|r| self.list.intl_classes.get(r as usize)),
        };
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

    /// Applies rule 3 (prearranged private calls) to `decision`.
    fn prearranged(
        &self,
        decision: &mut Decision,
        facility: FacilityIndex,
        number: E164,
        policy: &Policy,
        call: &Call<'_>,
    ) {
        let key = window_key(facility, number, call.inmate);
        let windows = &self.list.windows;
        let first = windows.partition_point(|w| w.key < key);
        let mine: Vec<&Window> = windows[first..]
            .iter()
            .take_while(|w| w.key == key)
            .filter(|w| w.facility == facility && w.number == number.0 && w.inmate == call.inmate)
            .collect();
        if mine.is_empty() {
            return;
        }
        let grace = policy.early_grace_secs;
        if let Some(until) = chain_end(&mine, call.at, grace) {
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
        let Some(until) = chain_end(&mine, started, grace) else {
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

/// If `t` falls in a window (`start − grace ≤ t < end`), the end of the chain
/// of windows that follow on without a gap (a window chains on when it opens,
/// grace included, before the previous one ends): the call stays private
/// until then.
fn chain_end(windows: &[&Window], t: i64, grace: i64) -> Option<i64> {
    let opens = |w: &Window| w.start.saturating_sub(grace);
    let mut until = windows
        .iter()
        .filter(|w| opens(w) <= t && t < w.end)
        .map(|w| w.end)
        .max()?;
    loop {
        let next = windows
            .iter()
            .filter(|w| opens(w) <= until && w.end > until)
            .map(|w| w.end)
            .max();
        match next {
            Some(end) => until = end,
            None => return Some(until),
        }
    }
}
