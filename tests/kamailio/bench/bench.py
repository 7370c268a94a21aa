"""Helpers of tests/kamailio/bench/run.sh (standard library only, /usr/bin/python3.11).

    bench.py procs MAIN_PID                     PIDs of MAIN_PID and its children, one a line
    bench.py cpu PID...                         utime+stime of the PIDs, in clock ticks
    bench.py mem PID...                         JSON: rss_kb, pss_kb (smaps_rollup), per PID
    bench.py calls REGISTRY OUT COUNT SEED HOSTPORT
                                                SIPp injection file: COUNT calls, half to
                                                registered numbers, half to random ones
    bench.py hist STATS_DIR                     JSON: medians/p90/p99 of the workers' timings
    bench.py one-engine BASE LIB PUB B1 B2 STATE
                                                JSON: this process's memory before the library,
                                                with it, with an engine, with list 1, list 2
    bench.py serve-mem PID URL                  JSON: memory of privcall serve once its list
                                                is live
    bench.py report RESULTS_DIR                 the summary table
"""

import ctypes
import glob
import json
import os
import random
import statistics
import sys
import time
import types
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def children(main):
    pids = [main]
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == main:  # fields[0] is the state, [1] the parent
            pids.append(int(stat.split("/")[2]))
    return sorted(pids)


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total


def thread_ticks(pids):
    """utime+stime of every thread but each process's main one (privcall's feed and guest
    threads; Kamailio's workers are single-threaded otherwise)."""
    total = 0
    for pid in pids:
        for stat in glob.glob("/proc/%d/task/[0-9]*/stat" % pid):
            if int(stat.split("/")[4]) == pid:
                continue
            try:
                with open(stat) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total


def mem_of(pid):
    out = {"pid": pid}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Anonymous",
                       "AnonHugePages"):
                out[key.lower() + "_kb"] = int(rest.split()[0])
    return out


def mem(pids):
    per = [mem_of(p) for p in pids]
    return {
        "rss_kb": sum(p["rss_kb"] for p in per),
        "pss_kb": sum(p["pss_kb"] for p in per),
        "anon_kb": sum(p.get("anonymous_kb", 0) for p in per),
        "per_pid": per,
    }


def make_calls(registry, out, count, seed, hostport):
    rng = random.Random(seed)
    registered = []
    with open(registry) as f:
        next(f)
        for i, line in enumerate(f):
            if i >= 200000:
                break
            registered.append(line.split(",", 1)[0])
    with open(out, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(count):
            if i % 2 == 0:
                number = rng.choice(registered)
            else:  # random: registered with probability 5M/6.4G, i.e. almost never
                number = "+1%d%d%04d" % (rng.randint(200, 999), rng.randint(200, 999),
                                        rng.randint(0, 9999))
            f.write("sip:%s@%s;X-Privcall-Facility: JCCC;X-Privcall-Inmate: A%04d\n"
                    % (number, hostport, rng.randint(0, 9999)))


def quantiles(buckets):
    """buckets: {"100ns bucket": count} -> (n, median, p90, p99) in microseconds."""
    items = sorted((int(k), v) for k, v in buckets.items())
    n = sum(v for _, v in items)
    if n == 0:
        return {"n": 0}
    res = {"n": n}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        target = q * n
        seen = 0
        for b, v in items:
            seen += v
            if seen >= target:
                res[name] = (b + 0.5) / 10.0  # bucket middle, in us
                break
    return res


def hist(stats_dir):
    merged = {"decide_invite": {}, "privcall_decide": {}, "decide_invite_cpu": {}}
    reasons = {}
    files = sorted(glob.glob(os.path.join(stats_dir, "rank-*.json")))
    for path in files:
        with open(path) as f:
            d = json.load(f)
        for key in merged:
            for b, v in d.get(key, {}).items():
                merged[key][b] = merged[key].get(b, 0) + v
        for r, v in d.get("reasons", {}).items():
            reasons[r] = reasons.get(r, 0) + v
    return {"workers": len(files), "decide_invite": quantiles(merged["decide_invite"]),
            "privcall_decide": quantiles(merged["privcall_decide"]),
            "decide_invite_cpu": quantiles(merged["decide_invite_cpu"]), "reasons": reasons}


def self_mem():
    m = mem_of(os.getpid())
    return {"rss_kb": m["rss_kb"], "pss_kb": m["pss_kb"], "anon_kb": m.get("anonymous_kb", 0)}


def one_engine(base_path, lib_path, pub, b1, b2, state):
    """One engine alone, as one Kamailio worker has it (instances = 1, a state dir), in a
    Python 3.11 process like the worker's: memory at each step."""
    import importlib.util
    sys.modules["KSR"] = types.ModuleType("KSR")  # the script imports it; unused here
    spec = importlib.util.spec_from_file_location("privcall_kemi", base_path)
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)
    out = {"python": self_mem()}
    lib = base._bind(ctypes.CDLL(lib_path))
    lib.privcall_update_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.POINTER(ctypes.c_uint64)]
    lib.privcall_update_file.restype = ctypes.c_int32
    out["library"] = self_mem()
    keys = (ctypes.c_char_p * 1)(pub.encode())
    config = base.PrivcallConfig(trust_keys=keys, trust_key_count=1, threshold=1,
                                 state_dir=state.encode(), bundle_path=None, watch_dir=None,
                                 poll_url=None, poll_interval_ms=1000, instances=1)
    engine = ctypes.c_void_p()
    rc = lib.privcall_engine_new(ctypes.byref(config), ctypes.byref(engine))
    if rc != 0:
        raise SystemExit("privcall_engine_new: %d %s" % (rc, base._last_error(lib)))
    out["engine"] = self_mem()
    for name, bundle in (("list1", b1), ("list2", b2)):
        seq = ctypes.c_uint64()
        t0 = time.monotonic()
        rc = lib.privcall_update_file(engine, bundle.encode(), ctypes.byref(seq))
        took = time.monotonic() - t0
        if rc != 0:
            raise SystemExit("privcall_update_file %s: %d %s" % (bundle, rc, base._last_error(lib)))
        peak = self_mem()
        time.sleep(2.5)  # the replaced list is freed after up to 1 s
        out[name] = self_mem()
        out[name]["sequence"] = seq.value
        out[name]["load_s"] = round(took, 2)
        out[name + "_right_after"] = peak
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                out["vmhwm_kb"] = int(line.split()[1])
    lib.privcall_engine_free(engine)
    return out


def serve_mem(pid, url):
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                status = json.load(r)
            if status.get("sequence") == 1:
                time.sleep(2.5)
                m = mem_of(pid)
                return {"rss_kb": m["rss_kb"], "pss_kb": m["pss_kb"],
                        "anon_kb": m.get("anonymous_kb", 0)}
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("privcall serve: list 1 not live at %s" % url)


# --- the report ----------------------------------------------------------------------------


def mb(kb):
    return "%.1f" % (kb / 1024.0)


def report(results):
    runs = []
    if os.path.exists(os.path.join(results, "cpu.jsonl")):
        with open(os.path.join(results, "cpu.jsonl")) as f:
            runs = [json.loads(line) for line in f if line.strip()]
    if runs:
        report_cpu(runs)
    report_mem(results)


def report_cpu(runs):
    print()
    print("=== 1. cost per INVITE (signalling only, %s workers, SIPp -r %s -m %s) ==="
          % (runs[0]["children"], runs[0]["rate"], runs[0]["calls"]))
    print("%-5s %-4s %8s %6s %7s %9s %10s %9s %10s %10s %10s" % (
        "pair", "mode", "calls", "failed", "retrans", "INVITE/s", "CPU us/INV", "kam CPU%",
        "script p50", "scriptCPU", "decide p50"))
    for r in runs:
        h = r["hist"]
        print("%-5s %-4s %8d %6d %7d %9.1f %10.1f %8.0f%% %8sus %8sus %8sus" % (
            r["pair"], r["mode"], r["ok"], r["failed"], r["retrans"], r["invites_per_s"],
            r["cpu_us_per_invite"], 100.0 * r["cpu_s"] / r["wall_s"],
            h["decide_invite"].get("p50", "-"), h.get("decide_invite_cpu", {}).get("p50", "-"),
            h["privcall_decide"].get("p50", "-")))
    print()
    print("%-5s %12s %12s %12s %14s %12s" % ("pair", "us/INV off", "us/INV on", "on-off us",
                                             "privcall %", "INV/s on/off"))
    pcts = []
    deltas = []
    for pair in sorted({r["pair"] for r in runs}):
        off = [r for r in runs if r["pair"] == pair and r["mode"] == "off"]
        on = [r for r in runs if r["pair"] == pair and r["mode"] == "on"]
        if not off or not on:
            continue
        off, on = off[0], on[0]
        d = on["cpu_us_per_invite"] - off["cpu_us_per_invite"]
        pct = 100.0 * d / off["cpu_us_per_invite"]
        pcts.append(pct)
        deltas.append(d)
        print("%-5s %12.1f %12.1f %12.1f %13.1f%% %12.3f" % (
            pair, off["cpu_us_per_invite"], on["cpu_us_per_invite"], d, pct,
            on["invites_per_s"] / off["invites_per_s"]))
    ons = [r for r in runs if r["mode"] == "on"]
    script = [r["hist"]["decide_invite"].get("p50") for r in ons]
    decide = [r["hist"]["privcall_decide"].get("p50") for r in ons]
    if pcts:
        print("median over pairs: privcall adds %.1f us CPU per INVITE = %.1f%% of Kamailio's own "
              "work (aim < 5%%: %s)" % (statistics.median(deltas), statistics.median(pcts),
                                        "met" if statistics.median(pcts) < 5 else "NOT met"))
    if script and None not in script and None not in decide:
        off_cpu = statistics.median([r["cpu_us_per_invite"] for r in runs if r["mode"] == "off"])
        stub = statistics.median([r["hist"]["decide_invite"].get("p50", 0) for r in runs
                                  if r["mode"] == "off"])
        s, d = statistics.median(script), statistics.median(decide)
        cpu_on = statistics.median([r["hist"]["decide_invite_cpu"].get("p50", 0) for r in ons])
        cpu_off = statistics.median([r["hist"]["decide_invite_cpu"].get("p50", 0) for r in runs
                                     if r["mode"] == "off"])
        print("decide_invite, thread CPU time (thread_time_ns) p50: on %.1f us, off %.1f us: "
              "%.1f%% of the off CPU per INVITE" % (cpu_on, cpu_off,
                                                    100.0 * (cpu_on - cpu_off) / off_cpu))
        print("inside the script (on runs, medians): decide_invite %.1f us (off: stub %.1f us), "
              "of which the privcall_decide ctypes call %.1f us and the script's Python around it "
              "(headers, URI, ctypes structs) %.1f us" % (s, stub, d, s - d))
        print("  as %% of the off CPU per INVITE (%.1f us): decide_invite %.1f%%, privcall_decide "
              "%.1f%%" % (off_cpu, 100.0 * (s - stub) / off_cpu, 100.0 * d / off_cpu))
    print("CPU of threads other than the workers' main threads (privcall's), us per INVITE: "
          + ", ".join("%s/%s %.1f" % (r["pair"], r["mode"], r.get("thread_us_per_invite", -1))
                      for r in runs))
    print("reasons decided (on runs): %s" % json.dumps(ons[0]["hist"]["reasons"]) if ons else "")


def report_mem(results):
    memf = os.path.join(results, "mem.json")
    if not os.path.exists(memf):
        return
    with open(memf) as f:
        m = json.load(f)
    k = m["kamailio"]
    print()
    print("=== 2. memory, Kamailio with %d workers (instances = 1), %s numbers ==="
          % (m["children"], m["numbers"]))
    print("%-44s %10s %10s %9s" % ("state", "RSS MiB", "PSS MiB", "procs"))
    for key, label in (("no_privcall", "Kamailio, bench_mode = off (no privcall)"),
                       ("list1_own", "an engine per worker, list 1 (5M) in each"),
                       ("list1", "one engine before the fork, list 1 shared"),
                       ("update_peak", "shared: peak while list 2 goes live"),
                       ("list2", "shared: after update, list 2 in each worker")):
        if key in k:
            print("%-44s %10s %10s %9d" % (label, mb(k[key]["rss_kb"]), mb(k[key]["pss_kb"]),
                                            len(k[key]["per_pid"])))
    e = m["one_engine"]
    print()
    print("one engine alone (python3.11 + libprivcall.so via ctypes, instances = 1):")
    for key in ("python", "library", "engine", "list1", "list2"):
        print("  %-10s RSS %8s MiB  PSS %8s MiB" % (key, mb(e[key]["rss_kb"]), mb(e[key]["pss_kb"])))
    print("  list 1 load %.2f s, list 2 load %.2f s, VmHWM %s MiB" % (
        e["list1"]["load_s"], e["list2"]["load_s"], mb(e["vmhwm_kb"])))
    if "serve" in m:
        print("privcall serve --instances 1, list 1 live: RSS %s MiB, PSS %s MiB"
              % (mb(m["serve"]["rss_kb"]), mb(m["serve"]["pss_kb"])))
    one_total = {x: e["list1"][x] - e["python"][x] for x in ("rss_kb", "pss_kb")}
    print()
    print("%-58s %9s %9s" % ("ratio", "RSS", "PSS"))

    def ratio(label, num, den):
        print("%-58s %9s %9s" % (label, *("%.2fx" % (num[x] / den[x]) if den[x] else "-"
                                           for x in ("rss_kb", "pss_kb"))))

    srv = {x: k["list1"][x] - k["no_privcall"][x] for x in ("rss_kb", "pss_kb")}
    own = {x: k["list1_own"][x] - k["no_privcall"][x] for x in ("rss_kb", "pss_kb")}
    print("privcall in the server (list1 - no privcall): RSS %s MiB, PSS %s MiB; one engine "
          "(lib+engine+list): RSS %s MiB, PSS %s MiB" % (mb(srv["rss_kb"]), mb(srv["pss_kb"]),
                                                         mb(one_total["rss_kb"]),
                                                         mb(one_total["pss_kb"])))
    ratio("whole server's privcall, shared / one engine (aim <= 2x)", srv, one_total)
    ratio("whole server's privcall, an engine per worker / one engine", own, one_total)
    if "list2" in k:
        srv2 = {x: k["list2"][x] - k["no_privcall"][x] for x in ("rss_kb", "pss_kb")}
        ratio("after the update: server's privcall / one engine (list 1)", srv2, one_total)
    if "update_peak" in k:
        peak = {x: k["update_peak"][x] - k["no_privcall"][x] for x in ("rss_kb", "pss_kb")}
        ratio("peak during the update: server's privcall / one engine", peak, one_total)
    if "serve" in m:
        ratio("server's privcall (list 1) / privcall serve (whole daemon)", srv, m["serve"])
    print("update: list 2 live in all %d workers %.1f s after the drop"
          % (m["children"], m.get("update_s", float("nan"))))


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "procs":
        print("\n".join(str(p) for p in children(int(a[0]))))
    elif cmd == "cpu":
        print(cpu_ticks([int(p) for p in a]))
    elif cmd == "threads":
        print(thread_ticks([int(p) for p in a]))
    elif cmd == "tick":
        print(TICK)
    elif cmd == "mem":
        print(json.dumps(mem([int(p) for p in a])))
    elif cmd == "calls":
        make_calls(a[0], a[1], int(a[2]), int(a[3]), a[4])
    elif cmd == "hist":
        print(json.dumps(hist(a[0])))
    elif cmd == "one-engine":
        print(json.dumps(one_engine(*a)))
    elif cmd == "serve-mem":
        print(json.dumps(serve_mem(int(a[0]), a[1])))
    elif cmd == "report":
        report(a[0])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
