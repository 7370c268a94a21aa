//! Fixtures the unit tests of several modules share.

use crate::normalize::DialPlan;
use crate::types::{CategorySet, FailMode, Overrun, Policy, Unreadable};

/// A North American policy that exempts every category, keeps an overrun
/// private, has no early grace and fails closed.
pub(crate) fn policy() -> Policy {
    Policy {
        exempt: CategorySet::all(),
        overrun: Overrun::StayPrivate,
        early_grace_secs: 0,
        fail_mode: FailMode::DoNotRecord,
        unreadable: Unreadable::Record,
        dial_plan: DialPlan::nanp(),
    }
}

/// A North American dial plan with outside line 9 and home area code 573.
pub(crate) fn plan() -> DialPlan {
    DialPlan {
        outside_line_prefix: "9".into(),
        home_area_code: "573".into(),
        ..DialPlan::nanp()
    }
}
