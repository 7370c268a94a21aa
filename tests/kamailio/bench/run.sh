#!/usr/bin/env bash
# privcall's cost inside Kamailio 5.6, measured: a benchmark, not a test (it is not run by
# scripts/test.sh; it prints figures and fails only when something does not run).
#
# 1. Cost per INVITE. SIPp UAC -> Kamailio (KEMI Python, bench_kemi.py importing
#    examples/kamailio/privcall_kemi.py) -> SIPp UAS, signalling only (INVITE with SDP, 200, ACK,
#    BYE; rtpengine is stubbed out), at a fixed rate for a fixed number of calls, half to
#    numbers of a 5M registry and half to random ones. Two configurations of the same Kamailio
#    and script, alternated PAIRS times because the machine is shared:
#      off  bench_mode = off: no library, no engine, a fixed "no" for every INVITE
#      on   privcall decides every INVITE (one engine per worker, the 5M list, instances = 1)
#    Per run: INVITEs/s achieved, Kamailio's CPU time per INVITE (utime+stime of every Kamailio
#    process from /proc/PID/stat, before and after the SIPp run), and inside the script the
#    median time of decide_invite and of the privcall_decide call (perf_counter_ns, per-worker
#    histograms). The difference on - off, as a % of off, is privcall's share of the work.
# 2. Memory across forked workers. Kamailio with MEM_CHILDREN (8) workers (instances = 1):
#    total RSS and PSS (/proc/PID/smaps_rollup) of all Kamailio processes without privcall;
#    with an engine per worker (share_list = no) and a 5M-number list; with one engine made
#    before the fork (share_list = yes, the default) and the list shared by every worker, then
#    at the peak of an update and after it (a second signed 5M bundle, sequence 2, dropped into
#    the watched folder). Then one engine alone (Python 3.11 + libprivcall.so via ctypes, the
#    same as one worker holds; and privcall serve --instances 1) for the ratio
#    "privcall in the whole server / one engine".
#
# On 127.0.0.1 only; every port is checked free first (a taken port stops the run); scratch in
# a mktemp directory; servers stopped by their PIDs. Needs scripts/install-sip.sh's packages
# and a Rust toolchain (or PRIVCALL_NO_BUILD=1 with target/release built).
#
# Settings (environment): PRIVCALL_BENCH_RATE (500), PRIVCALL_BENCH_CALLS (20000),
# PRIVCALL_BENCH_PAIRS (3), PRIVCALL_BENCH_CHILDREN (4, workers for part 1),
# PRIVCALL_BENCH_MEM_CHILDREN (8), PRIVCALL_BENCH_NUMBERS (5000000), PRIVCALL_BENCH_DEBUG
# (1: Kamailio's log level; 2 logs a line per call), PRIVCALL_BENCH_SHM_MB (512: kamailio -m),
# PRIVCALL_BENCH_PARTS ("cpu mem"),
# PRIVCALL_BENCH_{SIP,UAS,UAC,SERVE}_PORT, PRIVCALL_KEEP=1 (keep the scratch directory),
# PRIVCALL_BENCH_RESULTS (a directory to copy the results to).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KDIR="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"

SIP_PORT="${PRIVCALL_BENCH_SIP_PORT:-35060}"
UAS_PORT="${PRIVCALL_BENCH_UAS_PORT:-35070}"
UAC_PORT="${PRIVCALL_BENCH_UAC_PORT:-35080}"
SERVE_PORT="${PRIVCALL_BENCH_SERVE_PORT:-38650}"
RATE="${PRIVCALL_BENCH_RATE:-500}"
CALLS="${PRIVCALL_BENCH_CALLS:-20000}"
PAIRS="${PRIVCALL_BENCH_PAIRS:-3}"
CHILDREN="${PRIVCALL_BENCH_CHILDREN:-4}"
MEM_CHILDREN="${PRIVCALL_BENCH_MEM_CHILDREN:-8}"
NUMBERS="${PRIVCALL_BENCH_NUMBERS:-5000000}"
DEBUG="${PRIVCALL_BENCH_DEBUG:-1}"
PARTS="${PRIVCALL_BENCH_PARTS:-cpu mem}"
SHM_MB="${PRIVCALL_BENCH_SHM_MB:-512}"  # Kamailio's shared memory (tm keeps ~5 s of transactions)
KEEP="${PRIVCALL_KEEP:-}"
PY=/usr/bin/python3.11  # the Python kamailio-python3-modules embeds
B="$PY $HERE/bench.py"

say() { echo "# $(date -u +%T) $*"; }
die() { echo "bench: $*" >&2; exit 1; }

# --- prerequisites ---------------------------------------------------------------------------
for tool in kamailio sipp "$PY"; do
    command -v "$tool" >/dev/null || die "missing $tool (scripts/install-sip.sh)"
done
PRIVCALL="$ROOT/target/release/privcall"
LIB="$ROOT/target/release/libprivcall.so"
if [ -z "${PRIVCALL_NO_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin privcall && cargo build --release --quiet -p privcall-ffi) ||
        die "cargo build --release (privcall, privcall-ffi)"
fi
[ -x "$PRIVCALL" ] && [ -f "$LIB" ] || die "no $PRIVCALL or $LIB"

# --- ports: all free, or nothing starts ------------------------------------------------------
port_free() {  # port_free udp|tcp PORT
    "$PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
if sys.argv[1] == "tcp":  # as a server binds: TIME_WAIT is no reason to refuse, a listener is
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[2])))
except OSError:
    sys.exit(1)
EOF
}
taken=""
for p in "$SIP_PORT" "$UAS_PORT" "$UAC_PORT"; do port_free udp "$p" || taken="$taken udp/$p"; done
port_free tcp "$SERVE_PORT" || taken="$taken tcp/$SERVE_PORT"
[ -z "$taken" ] || die "port(s) in use on 127.0.0.1:$taken (set PRIVCALL_BENCH_*_PORT)"

# --- scratch, stopping what we started -------------------------------------------------------
SCRATCH="$(mktemp -d -t privcall-bench.XXXXXX)"
PIDS=()
stop_pid() {  # stop_pid PID: TERM, up to 10 s, then KILL
    kill "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    if [ -n "${PRIVCALL_BENCH_RESULTS:-}" ] && [ -d "$SCRATCH/results" ]; then
        mkdir -p "$PRIVCALL_BENCH_RESULTS" && cp -r "$SCRATCH/results/." "$PRIVCALL_BENCH_RESULTS/"
    fi
    if [ -n "$KEEP" ]; then echo "# scratch directory kept: $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$SCRATCH" || die "cd $SCRATCH"
mkdir -p list log sipp results
RESULTS="$SCRATCH/results"
say "scratch $SCRATCH; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
{
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo "rate $RATE calls $CALLS pairs $PAIRS children $CHILDREN mem_children $MEM_CHILDREN numbers $NUMBERS debug $DEBUG shm ${SHM_MB}MB"
    echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
} >"$RESULTS/setup.txt"

# The script under test, frozen for this run.
cp "$ROOT/examples/kamailio/privcall_kemi.py" "$SCRATCH/privcall_kemi.py"
cp "$HERE/bench_kemi.py" "$SCRATCH/bench_kemi.py"

# --- the lists: two signed bundles of NUMBERS random North American numbers ------------------
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date +%s)
"$PRIVCALL" keygen --out "$SCRATCH/list/authority" >/dev/null || die "privcall keygen"
for seq in 1 2; do
    say "registry $seq: $NUMBERS numbers"
    $PY "$HERE/gen_registry.py" "$NUMBERS" "$seq" "$SCRATCH/list/registry-$seq.csv" || die "gen_registry"
    "$PRIVCALL" compile --registry "$SCRATCH/list/registry-$seq.csv" --policy "$KDIR/policy.toml" \
        --key "$SCRATCH/list/authority.key" --sequence "$seq" \
        --expires "$(iso $((NOW + 86400)))" --out "$SCRATCH/list/list-$seq.bundle" \
        >"$SCRATCH/log/compile-$seq.log" 2>&1 || die "privcall compile: $(cat "$SCRATCH/log/compile-$seq.log")"
    sed -n 2p "$SCRATCH/log/compile-$seq.log" | sed 's/^ */# /'
done
$B calls "$SCRATCH/list/registry-1.csv" "$SCRATCH/sipp/calls.csv" 10000 7 "127.0.0.1:$SIP_PORT"
rm -f "$SCRATCH/list/registry-2.csv"

# --- servers ---------------------------------------------------------------------------------
wait_udp() {  # wait_udp PORT PID
    for _ in $(seq 600); do
        ss -Hlun "src 127.0.0.1:$1" | grep -q . && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# The callee, for every run.
(cd "$SCRATCH/sipp" && exec sipp -sf "$HERE/uas.xml" -i 127.0.0.1 -p "$UAS_PORT" -bg -nostdin \
    -trace_err -error_file "$SCRATCH/log/uas-errors.log" >"$SCRATCH/log/uas.out" 2>&1)
UAS_PID=""
for _ in $(seq 50); do
    UAS_PID=$(grep -o 'PID=\[[0-9]*\]' "$SCRATCH/log/uas.out" 2>/dev/null | tr -dc 0-9)
    [ -n "$UAS_PID" ] && break
    sleep 0.1
done
[ -n "$UAS_PID" ] || die "sipp UAS: $(cat "$SCRATCH/log/uas.out")"
PIDS+=("$UAS_PID")
wait_udp "$UAS_PORT" "$UAS_PID" || die "sipp UAS not listening"

MODULES="$(dirname "$(dpkg -L kamailio | grep '/modules/tm.so$' | head -1)")/"
KAM_PID=""
RUN=""
# start_kamailio NAME MODE CHILDREN START_BUNDLE POLL_MS [SHARE]: a fresh Kamailio in
# $SCRATCH/NAME (SHARE: share_list, yes by default), returns once every SIP worker has run
# child_init.
start_kamailio() {
    local name="$1" mode="$2" children="$3" bundle="$4" poll="$5" share="${6:-yes}"
    RUN="$SCRATCH/$name"
    mkdir -p "$RUN"/{stats,state,watch}
    cat >"$RUN/privcall.ini" <<EOF
[privcall]
library = $LIB
trust_keys = $SCRATCH/list/authority.pub
threshold = 1
state_dir = $RUN/state
bundle = $bundle
watch_dir = $RUN/watch
poll_interval_ms = $poll
instances = 1
share_list = $share
next_hop = sip:127.0.0.1:$UAS_PORT
bench_mode = $mode
bench_stats_dir = $RUN/stats
bench_dump_every = 200
EOF
    sed -e "s|@SIP_PORT@|$SIP_PORT|g" -e "s|@CHILDREN@|$children|g" -e "s|@DEBUG@|$DEBUG|g" \
        -e "s|@MODULES@|$MODULES|g" -e "s|@KEMI_SCRIPT@|$SCRATCH/bench_kemi.py|g" \
        "$HERE/kamailio.cfg.in" >"$RUN/kamailio.cfg"
    port_free udp "$SIP_PORT" || die "port udp/$SIP_PORT taken"
    (cd "$RUN" && PRIVCALL_KEMI_CONFIG="$RUN/privcall.ini" PRIVCALL_BENCH_BASE="$SCRATCH/privcall_kemi.py" \
        exec kamailio -m "$SHM_MB" -DD -E -f "$RUN/kamailio.cfg" -Y "$RUN" -w "$RUN" >"$RUN/kamailio.log" 2>&1) &
    KAM_PID=$!
    PIDS+=("$KAM_PID")
    wait_udp "$SIP_PORT" "$KAM_PID" || die "kamailio ($name) did not start: $(tail -5 "$RUN/kamailio.log")"
    for _ in $(seq 1200); do
        [ "$(ls "$RUN/stats" | grep -c '^ready-')" -ge "$children" ] && break
        kill -0 "$KAM_PID" 2>/dev/null || die "kamailio ($name) died: $(tail -5 "$RUN/kamailio.log")"
        sleep 0.1
    done
    [ "$(ls "$RUN/stats" | grep -c '^ready-')" -ge "$children" ] || die "kamailio ($name): workers not ready"
    if [ "$mode" = on ] && grep -q 'no-engine' "$RUN"/stats/ready-*; then
        die "kamailio ($name): a worker has no engine: $(grep -m1 'has no engine' "$RUN/kamailio.log")"
    fi
}
stop_kamailio() {
    stop_pid "$KAM_PID"
    local keep=()
    for p in "${PIDS[@]}"; do [ "$p" != "$KAM_PID" ] && keep+=("$p"); done
    PIDS=("${keep[@]}")
    KAM_PID=""
}
kam_pids() { $B procs "$KAM_PID"; }

# run_uac NAME CALLS RATE: SIPp UAC against Kamailio; sets UAC_RC, UAC_WALL
run_uac() {
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$SCRATCH/sipp" && exec timeout 900 sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/uac.xml" \
        -inf "$SCRATCH/sipp/calls.csv" -i 127.0.0.1 -p "$UAC_PORT" -r "$3" -m "$2" -l 5000 \
        -cid_str "bench-%u-%p@%s" -timeout 600s -recv_timeout 10s -nostdin \
        -trace_stat -stf "$SCRATCH/log/$1-stat.csv" -trace_err -error_file "$SCRATCH/log/$1-errors.log" \
        >"$SCRATCH/log/$1-uac.out" 2>&1)
    UAC_RC=$?
    t1=$(date +%s.%N)
    UAC_WALL=$(echo "$t1 - $t0" | bc -l)
}
# sipp_stat FILE: "ok failed retransmissions" from the last line of a -trace_stat file
sipp_stat() {
    "$PY" - "$1" <<'EOF'
import sys
lines = [l.rstrip("\n;").split(";") for l in open(sys.argv[1]) if l.strip()]
head, last = lines[0], lines[-1]
get = lambda name: int(last[head.index(name)])
print(get("SuccessfulCall(C)"), get("FailedCall(C)"), get("Retransmissions(C)"))
EOF
}

# --- 1. cost per INVITE ----------------------------------------------------------------------
if [[ " $PARTS " == *" cpu "* ]]; then
    : >"$RESULTS/cpu.jsonl"
    TICK=$($B tick)
    for pair in $(seq "$PAIRS"); do
        # alternate the order too: off,on then on,off
        if [ $((pair % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
        for mode in $order; do
            name="cpu-$pair-$mode"
            say "pair $pair, privcall $mode: starting Kamailio ($CHILDREN workers)"
            start_kamailio "$name" "$mode" "$CHILDREN" "$SCRATCH/list/list-1.bundle" 1000
            sleep 2
            pids=$(kam_pids)
            c0=$($B cpu $pids)
            th0=$($B threads $pids)
            say "pair $pair, privcall $mode: $CALLS calls at $RATE/s"
            run_uac "$name" "$CALLS" "$RATE"
            c1=$($B cpu $pids)
            th1=$($B threads $pids)
            sleep 0.5
            read -r ok failed retrans < <(sipp_stat "$SCRATCH/log/$name-stat.csv")
            hist=$($B hist "$RUN/stats")
            "$PY" - "$RESULTS/cpu.jsonl" <<EOF
import json, sys
cpu_s = ($c1 - $c0) / $TICK
n = $ok + $failed
r = {"pair": $pair, "mode": "$mode", "children": $CHILDREN, "rate": $RATE, "calls": $CALLS,
     "ok": $ok, "failed": $failed, "retrans": $retrans, "sipp_rc": $UAC_RC,
     "wall_s": $UAC_WALL, "cpu_s": cpu_s, "invites_per_s": $ok / $UAC_WALL,
     "cpu_us_per_invite": 1e6 * cpu_s / max(n, 1), "thread_us_per_invite": 1e6 * ($th1 - $th0) / $TICK / max(n, 1), "procs": $(echo $pids | wc -w),
     "hist": json.loads('''$hist''')}
open(sys.argv[1], "a").write(json.dumps(r) + "\n")
print("#   %d ok, %d failed, %d retrans, %.1f INVITE/s, Kamailio CPU %.2f s = %.1f us/INVITE; script p50 %s us, privcall_decide p50 %s us"
      % ($ok, $failed, $retrans, r["invites_per_s"], cpu_s, r["cpu_us_per_invite"],
         r["hist"]["decide_invite"].get("p50"), r["hist"]["privcall_decide"].get("p50")))
EOF
            stop_kamailio
        done
    done
fi

# --- 2. memory across forked workers ---------------------------------------------------------
# mem_now LABEL: total memory of the running Kamailio into $RESULTS/mem-LABEL.json
mem_now() { $B mem $(kam_pids) >"$RESULTS/mem-$1.json"; }
warm() { run_uac "warm-$1" 2000 500; }  # the same traffic before every measurement
all_at() {  # all_at SEQ: every worker's last decision was on list SEQ (stats/seq-RANK)
    local n=0
    for f in "$RUN"/stats/seq-*; do
        [ -f "$f" ] && [ "$(cat "$f")" = "$1" ] && n=$((n + 1))
    done
    [ "$n" -ge "$MEM_CHILDREN" ]
}
# wait_all_at SEQ: a few calls at a time (so every worker decides) until all_at SEQ
wait_all_at() {
    local i
    for i in $(seq 120); do
        run_uac "probe-$1-$i" 100 500
        all_at "$1" && return 0
    done
    return 1
}
if [[ " $PARTS " == *" mem "* ]]; then
    say "memory: Kamailio without privcall, $MEM_CHILDREN workers"
    start_kamailio mem-off off "$MEM_CHILDREN" "" 200
    warm off; sleep 1; mem_now no_privcall
    stop_kamailio

    say "memory: Kamailio with privcall, $MEM_CHILDREN workers, an engine each (share_list = no)"
    start_kamailio mem-own on "$MEM_CHILDREN" "$SCRATCH/list/list-1.bundle" 200 no
    wait_all_at 1 || die "list 1 did not reach every worker"
    sleep 3; warm list1; sleep 1; mem_now list1_own
    stop_kamailio

    say "memory: Kamailio with privcall, $MEM_CHILDREN workers sharing one engine made before the fork"
    t0=$(date +%s.%N)
    start_kamailio mem-on on "$MEM_CHILDREN" "$SCRATCH/list/list-1.bundle" 200 yes
    wait_all_at 1 || die "list 1 is not live in every worker"
    say "memory: list 1 live in every worker $(echo "$(date +%s.%N) - $t0" | bc -l | cut -c1-5) s after the start"
    sleep 3; warm list1; sleep 1; mem_now list1

    say "memory: list 2 (sequence 2) dropped into the watched folder"
    pids=$(kam_pids)
    # the sampler: total RSS and PSS every 0.2 s while the update runs
    BENCH_STOP="$SCRATCH/stop-sampler"
    "$PY" -c '
import json, sys, time, os
sys.path.insert(0, sys.argv[1])
import bench
out, stop, pids = sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]]
with open(out, "w") as f:
    while not os.path.exists(stop):
        m = bench.mem(pids)
        f.write(json.dumps({"t": time.time(), "rss_kb": m["rss_kb"], "pss_kb": m["pss_kb"]}) + "\n")
        time.sleep(0.2)
    ' "$HERE" "$RESULTS/mem-update-samples.jsonl" "$BENCH_STOP" $pids &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
    sleep 1
    cp "$SCRATCH/list/list-2.bundle" "$RUN/watch/.list-2.tmp"
    mv "$RUN/watch/.list-2.tmp" "$RUN/watch/list-2.bundle"
    t0=$(date +%s.%N)
    wait_all_at 2 || die "list 2 did not reach every worker"
    UPDATE_S=$(echo "$(date +%s.%N) - $t0" | bc -l | cut -c1-5)
    say "memory: list 2 live in every worker after $UPDATE_S s"
    sleep 3
    touch "$BENCH_STOP"; wait "$SAMPLER"
    warm list2; sleep 1; mem_now list2
    stop_kamailio

    say "memory: one engine alone (python3.11 + libprivcall.so, instances = 1)"
    mkdir -p "$SCRATCH/one-state"
    $B one-engine "$SCRATCH/privcall_kemi.py" "$LIB" "$SCRATCH/list/authority.pub" \
        "$SCRATCH/list/list-1.bundle" "$SCRATCH/list/list-2.bundle" "$SCRATCH/one-state" \
        >"$RESULTS/one-engine.json" || die "one engine"

    say "memory: privcall serve --instances 1 with list 1"
    port_free tcp "$SERVE_PORT" || die "port tcp/$SERVE_PORT taken"
    mkdir -p "$SCRATCH/serve-state"
    "$PRIVCALL" serve --listen "127.0.0.1:$SERVE_PORT" --trust "$SCRATCH/list/authority.pub" \
        --state-dir "$SCRATCH/serve-state" --bundle "$SCRATCH/list/list-1.bundle" --instances 1 \
        --log-level warn >"$SCRATCH/log/serve.log" 2>&1 &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    $B serve-mem "$SERVE_PID" "http://127.0.0.1:$SERVE_PORT/v1/status" >"$RESULTS/serve.json" ||
        echo "# privcall serve: no figure ($(tail -2 "$SCRATCH/log/serve.log"))"
    stop_pid "$SERVE_PID"

    "$PY" - "$RESULTS" "$MEM_CHILDREN" "$NUMBERS" "$UPDATE_S" <<'EOF'
import json, os, sys
res, children, numbers, update_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
load = lambda n: json.load(open(os.path.join(res, n)))
k = {key: load("mem-%s.json" % key) for key in ("no_privcall", "list1_own", "list1", "list2")}
samples = [json.loads(l) for l in open(os.path.join(res, "mem-update-samples.jsonl"))]
peak = max(samples, key=lambda s: s["pss_kb"])
k["update_peak"] = {"rss_kb": max(s["rss_kb"] for s in samples), "pss_kb": peak["pss_kb"],
                    "per_pid": k["list1"]["per_pid"]}
m = {"children": children, "numbers": numbers, "update_s": update_s, "kamailio": k,
     "one_engine": load("one-engine.json")}
if os.path.exists(os.path.join(res, "serve.json")) and os.path.getsize(os.path.join(res, "serve.json")):
    m["serve"] = load("serve.json")
json.dump(m, open(os.path.join(res, "mem.json"), "w"))
EOF
fi

# --- summary ---------------------------------------------------------------------------------
echo
cat "$RESULTS/setup.txt" | sed 's/^/# /'
$B report "$RESULTS" | tee "$RESULTS/summary.txt"
