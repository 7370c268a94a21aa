# The KEMI script of tests/kamailio/bench/run.sh: examples/kamailio/privcall_kemi.py itself (a
# copy of it, imported, not edited), with three changes for the benchmark only:
#
#   - bench_mode = off (in the [privcall] INI section): no library, no engine, and the INVITE's
#     decision is a fixed "no" instead of asking privcall. Everything else the script does (the
#     routing, the headers, the htable, the transaction) is the same code, so the difference
#     between "on" and "off" is privcall's cost per INVITE.
#   - rtpengine is replaced by a stub that does nothing and returns 1 (the benchmark is
#     signalling only; kamailio.cfg.in here does not load rtpengine.so).
#   - timing: time.perf_counter_ns (and time.thread_time_ns, CPU) around decide_invite (what the script does for privcall:
#     headers, Request-URI, ctypes structures, privcall_decide) and, with bench_mode = on,
#     around the privcall_decide call alone. Kept per worker as histograms of 100 ns buckets
#     and written to bench_stats_dir/rank-N.json every bench_dump_every INVITEs (counts only:
#     no number, no Call-ID). Each worker also writes bench_stats_dir/ready-N (its PID) once
#     child_init is done, and bench_stats_dir/seq-N (the list sequence) whenever the list it
#     decides on changes.
#
# The script to import is named by the environment variable PRIVCALL_BENCH_BASE.

import importlib.util
import json
import os
import time
import types

import KSR

_spec = importlib.util.spec_from_file_location("privcall_kemi", os.environ["PRIVCALL_BENCH_BASE"])
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)


class _NoRtpengine:
    """KSR.rtpengine without rtpengine: every function succeeds and does nothing."""

    def rtpengine_offer(self, flags=None):
        return 1

    def rtpengine_answer(self, flags=None):
        return 1

    def rtpengine_delete0(self):
        return 1

    def start_recording(self):
        return 1


# The base script's KSR: the real module's functions and submodules (same objects, same cost
# per lookup), with rtpengine replaced.
_ksr = types.ModuleType("KSR")
_ksr.__dict__.update(KSR.__dict__)
_ksr.rtpengine = _NoRtpengine()
base.KSR = _ksr

_now_ns = time.perf_counter_ns
_cpu_ns = time.thread_time_ns  # this thread's CPU time: what preemption does not inflate


class Histogram:
    __slots__ = ("buckets", "n")

    def __init__(self):
        self.buckets = {}
        self.n = 0

    def add(self, ns):
        b = ns // 100
        self.buckets[b] = self.buckets.get(b, 0) + 1
        self.n += 1


class _TimedLib:
    """The library with privcall_decide timed; every other attribute is the library's."""

    def __init__(self, lib, hist):
        self._lib = lib
        self._decide = lib.privcall_decide
        self._hist = hist

    def privcall_decide(self, engine, call, out):
        t0 = _now_ns()
        rc = self._decide(engine, call, out)
        self._hist.add(_now_ns() - t0)
        return rc

    def __getattr__(self, name):
        return getattr(self._lib, name)


def mod_init():
    return BenchKamailio.before_fork()


class BenchKamailio(base.PrivcallKamailio):
    def shares_list(self):
        return self.settings.get("bench_mode", "on") != "off" and super().shares_list()

    def child_init(self, rank):
        settings, _ = base._load_settings()
        self.mode_on = settings.get("bench_mode", "on") != "off"
        self.stats_dir = settings.get("bench_stats_dir", "")
        self.dump_every = int(settings.get("bench_dump_every", "1000"))
        self.h_invite = Histogram()
        self.h_decide = Histogram()
        self.h_invite_cpu = Histogram()
        self.reasons = {}  # reason name -> count: which decisions were made, nothing else
        self.sequence = None
        if self.mode_on:
            rc = super().child_init(rank)
            if self.engine is not None:
                self.lib = _TimedLib(self.lib, self.h_decide)
        else:
            self.rank = rank
            self.settings, self.settings_path = settings, _
            rc = 0
        if rank > 0 and self.stats_dir:
            with open(os.path.join(self.stats_dir, "ready-%d" % rank), "w") as f:
                f.write("%d %s %s\n" % (os.getpid(), "on" if self.mode_on else "off",
                                        "engine" if self.engine is not None else "no-engine"))
        return rc

    def decide_invite(self):
        c0 = _cpu_ns()
        t0 = _now_ns()
        if self.mode_on:
            answer = super().decide_invite()
        else:
            answer = base.Answer(False, "bench-off")
        h = self.h_invite
        h.add(_now_ns() - t0)
        self.h_invite_cpu.add(_cpu_ns() - c0)
        self.reasons[answer.reason] = self.reasons.get(answer.reason, 0) + 1
        if answer.sequence != self.sequence and self.stats_dir:
            # Which list this worker decides on, for run.sh's wait for an update.
            self.sequence = answer.sequence
            with open(os.path.join(self.stats_dir, "seq-%d" % self.rank), "w") as f:
                f.write("%d\n" % answer.sequence)
        if h.n % self.dump_every == 0:
            self.dump()
        return answer

    def dump(self):
        if not self.stats_dir:
            return
        path = os.path.join(self.stats_dir, "rank-%d.json" % self.rank)
        with open(path + ".tmp", "w") as f:
            json.dump({
                "rank": self.rank,
                "pid": os.getpid(),
                "mode": "on" if self.mode_on else "off",
                "decide_invite": self.h_invite.buckets,
                "privcall_decide": self.h_decide.buckets,
                "decide_invite_cpu": self.h_invite_cpu.buckets,
                "reasons": self.reasons,
            }, f)
        os.rename(path + ".tmp", path)
