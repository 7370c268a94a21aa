//! What a guest call may take before it is abandoned. The epoch deadline
//! fires on wall time; at each deadline [`Budget::extend`] decides whether
//! the call goes on. A decision goes on while its thread has used less
//! than [`DECIDE_CPU_BUDGET`] of CPU time: on a busy machine a thread may
//! wait tens of milliseconds for a CPU, and a call that waited has not
//! misbehaved, so it must not be answered with the fail mode (where a
//! facility's fail mode is `record`, that would record a privileged
//! call). A guest that loops uses CPU time and is stopped as before.

use std::time::Duration;

use super::{DECIDE_CPU_BUDGET, DECIDE_DEADLINE_TICKS, DECIDE_MAX_CHECKS};

/// The running call's allowance. Starting a decision reads no clock: the
/// thread's CPU time is read only at its deadlines, which a decision of
/// well under a microsecond never reaches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    /// Whether the call is a decision (a list load ends at its deadline).
    decision: bool,
    /// The thread's CPU time at the previous deadline, if one passed.
    last: Option<Duration>,
    /// Deadlines it may still pass.
    checks_left: u32,
}

impl Budget {
    /// A decision's.
    pub(crate) fn decide() -> Budget {
        Budget {
            decision: true,
            last: None,
            checks_left: DECIDE_MAX_CHECKS,
        }
    }

    /// A list load's: it ends at its deadline.
    pub(crate) fn load() -> Budget {
        Budget {
            decision: false,
            last: None,
            checks_left: 0,
        }
    }

    /// At a deadline: the ticks to go on for, or `None` to abandon the call.
    pub(crate) fn extend(&mut self) -> Option<u64> {
        if !self.decision {
            return None;
        }
        self.extend_at(thread_cpu_time()?)
    }

    /// [`Self::extend`] when the thread's CPU time is `now`. The first
    /// deadline starts the count; at each later one, a call that used
    /// [`DECIDE_CPU_BUDGET`] or more since the previous one is running,
    /// not waiting, and is abandoned.
    fn extend_at(&mut self, now: Duration) -> Option<u64> {
        if self.checks_left == 0 {
            return None;
        }
        if let Some(last) = self.last {
            if now.saturating_sub(last) >= DECIDE_CPU_BUDGET {
                return None;
            }
        }
        self.last = Some(now);
        self.checks_left -= 1;
        Some(DECIDE_DEADLINE_TICKS)
    }
}

/// The calling thread's CPU time, where the system tells it (Linux).
#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "clock_gettime is a C call")]
fn thread_cpu_time() -> Option<Duration> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration,
    // and CLOCK_THREAD_CPUTIME_ID is a clock every Linux has.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

/// Elsewhere a decision ends at its first deadline, as a list load does.
#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decision whose thread waited goes on; one that ran through an
    /// interval, or passed every check, is abandoned; a load ends at its
    /// deadline.
    #[test]
    fn who_goes_on() {
        let ms = Duration::from_millis;
        let mut waited = Budget::decide();
        for i in 0..u64::from(DECIDE_MAX_CHECKS) {
            assert_eq!(waited.extend_at(ms(i)), Some(DECIDE_DEADLINE_TICKS), "{i}");
        }
        assert_eq!(waited.extend_at(ms(100)), None);
        let mut running = Budget::decide();
        assert_eq!(running.extend_at(ms(45)), Some(DECIDE_DEADLINE_TICKS));
        assert_eq!(running.extend_at(ms(45) + DECIDE_CPU_BUDGET), None);
        assert_eq!(Budget::load().extend(), None);
        if cfg!(target_os = "linux") {
            assert!(thread_cpu_time().is_some());
            assert_eq!(Budget::decide().extend(), Some(DECIDE_DEADLINE_TICKS));
        }
    }
}
