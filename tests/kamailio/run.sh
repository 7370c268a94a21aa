#!/usr/bin/env bash
# privcall with a real SBC in the loop, end to end, on 127.0.0.1 only:
#
#   SIPp UAC --INVITE--> Kamailio 5.6 (KEMI Python: privcall_kemi.py --ctypes--> libprivcall.so)
#        |                  | adds X-Privcall-Record: yes|no, rtpengine offer/answer with or
#        |                  | without record-call=on
#        |                  +--INVITE--> SIPp UAS (logs the header it got, answers, plays RTP)
#        +------ RTP (g711a.pcap) <--> rtpengine (userspace, pcap recording) <--> RTP ------+
#
# Then, for every call of cases.csv: the header the callee saw, and whether rtpengine wrote a
# recording for it (a private call: none; an ordinary one: RTP both ways).
# The signed list is built with privcall's own CLI from registry.csv, policy.toml and a
# prearranged.csv made now, with windows around the current time.
#
# Everything (config, list, keys, logs, recordings, state) lives in a scratch directory;
# every server is stopped by its own PID on exit. Ports are fixed (override with the
# environment variables below) and checked free first: a taken port stops the test.
#
# Needs: scripts/install-sip.sh (Debian 12 packages) and a Rust toolchain.
# Ends with "N passed, M failed"; exits non-zero when M > 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# The script under test is the one the example ships.
KEMI="$ROOT/examples/kamailio/privcall_kemi.py"

SIP_PORT="${PRIVCALL_SIP_PORT:-25060}"     # Kamailio
UAS_PORT="${PRIVCALL_UAS_PORT:-25070}"     # SIPp UAS (the callee)
UAC_PORT="${PRIVCALL_UAC_PORT:-25080}"     # SIPp UAC (the caller)
NG_PORT="${PRIVCALL_NG_PORT:-22223}"       # rtpengine control (ng protocol)
UAC2_PORT="${PRIVCALL_UAC2_PORT:-25090}"   # SIPp UAC of the overrun call
UAC_MEDIA="${PRIVCALL_UAC_MEDIA:-26000}"   # SIPp UAC RTP
UAC2_MEDIA="${PRIVCALL_UAC2_MEDIA:-26200}" # SIPp UAC RTP of the overrun call
UAS_MEDIA="${PRIVCALL_UAS_MEDIA:-26100}"   # SIPp UAS RTP
RTP_MIN="${PRIVCALL_RTP_MIN:-30000}"       # rtpengine's RTP port range
RTP_MAX="${PRIVCALL_RTP_MAX:-30199}"
CHILDREN="${PRIVCALL_CHILDREN:-4}"         # Kamailio SIP workers, sharing one engine
PY=/usr/bin/python3.11                     # the Python kamailio-python3-modules embeds
KEEP="${PRIVCALL_KEEP:-}"                  # non-empty: keep the scratch directory

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
note() { echo "# $*"; }

finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -gt 0 ]; then exit 1; fi
    exit 0
}

# --- prerequisites ---------------------------------------------------------------------------
bash "$ROOT/scripts/install-sip.sh" || { fail "scripts/install-sip.sh"; finish; }
for tool in kamailio rtpengine sipp sipsak "$PY"; do
    command -v "$tool" >/dev/null || { fail "missing $tool"; finish; }
done

PRIVCALL="$ROOT/target/release/privcall"
LIB="$ROOT/target/release/libprivcall.so"
if [ -z "${PRIVCALL_NO_BUILD:-}" ]; then  # PRIVCALL_NO_BUILD=1: use what target/release has
    (cd "$ROOT" && cargo build --release --quiet --bin privcall && cargo build --release --quiet -p privcall-ffi) ||
        { fail "cargo build --release (privcall, privcall-ffi)"; finish; }
fi
[ -x "$PRIVCALL" ] || { fail "no $PRIVCALL"; finish; }
if [ -f "$LIB" ]; then
    pass "libprivcall.so built"
else
    fail "no $LIB: every call will be do-not-record (the script's fail mode)"
fi
ABI_DIR="$(mktemp -d)"
while IFS= read -r line; do
    case "$line" in
        PASS*) pass "${line#PASS }" ;;
        FAIL*) fail "${line#FAIL }" ;;
        *) echo "$line" ;;
    esac
done < <("$PY" "$HERE/abi_check.py" "$ROOT/include" "$KEMI" "$ABI_DIR" 2>&1)
rm -rf "$ABI_DIR"

# --- ports -------------------------------------------------------------------------------------
# Every port must be free on 127.0.0.1 (UDP); a taken one stops the test before any start.
port_free() {
    "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
taken=""
for p in "$SIP_PORT" "$UAS_PORT" "$UAC_PORT" "$UAC2_PORT" "$NG_PORT" "$UAC_MEDIA" \
         "$((UAC_MEDIA + 2))" "$UAC2_MEDIA" "$((UAC2_MEDIA + 2))" \
         "$UAS_MEDIA" "$((UAS_MEDIA + 2))" "$RTP_MIN" "$RTP_MAX"; do
    port_free "$p" || taken="$taken $p"
done
if [ -n "$taken" ]; then
    fail "UDP port(s) already in use on 127.0.0.1:$taken (set PRIVCALL_*_PORT to others)"
    finish
fi

# --- scratch directory and stopping everything -----------------------------------------------
SCRATCH="$(mktemp -d -t privcall-kamailio.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    if [ -n "$KEEP" ]; then
        echo "# scratch directory kept: $SCRATCH" >&2
    else
        rm -rf "$SCRATCH"
    fi
}
trap cleanup EXIT
# Servers run from the scratch directory, so nothing they write (a core
# dump included) lands in the checkout.
cd "$SCRATCH" || { fail "cd $SCRATCH"; finish; }
trap 'exit 130' INT TERM
mkdir -p "$SCRATCH"/{list,watch,state,rec,log,sipp}
note "scratch directory $SCRATCH"

# --- the signed list -------------------------------------------------------------------------
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(date +%s)
prearranged() {  # prearranged SHORT_END: the open window and one that ends at SHORT_END
    sed -e "s/@OPEN_START@/$(iso $((NOW - 60)))/" -e "s/@OPEN_END@/$(iso $((NOW + 3600)))/" \
        -e "s/@SHORT_START@/$(iso $((NOW - 60)))/" -e "s/@SHORT_END@/$(iso "$1")/" \
        "$HERE/prearranged.csv.in" >"$SCRATCH/list/prearranged.csv"
}
prearranged $((NOW - 30))
"$PRIVCALL" keygen --out "$SCRATCH/list/authority" >/dev/null || { fail "privcall keygen"; finish; }
compile() {  # compile SEQUENCE OUT [extra registry csv]
    local registry="$HERE/registry.csv"
    if [ -n "${3:-}" ]; then
        { cat "$HERE/registry.csv"; tail -n +2 "$3"; } >"$SCRATCH/list/registry-$1.csv"
        registry="$SCRATCH/list/registry-$1.csv"
    fi
    "$PRIVCALL" compile --registry "$registry" --prearranged "$SCRATCH/list/prearranged.csv" \
        --policy "$HERE/policy.toml" --key "$SCRATCH/list/authority.key" --sequence "$1" \
        --expires "$(iso $((NOW + 86400)))" --out "$2" >"$SCRATCH/log/compile-$1.log" 2>&1
}
if compile 1 "$SCRATCH/watch/list-1.bundle"; then
    pass "privcall compile: signed list, sequence 1"
else
    fail "privcall compile: $(cat "$SCRATCH/log/compile-1.log")"; finish
fi

# --- rtpengine ---------------------------------------------------------------------------------
rtpengine --foreground --config-file=none --table=-1 --interface=127.0.0.1 \
    --listen-ng="127.0.0.1:$NG_PORT" --port-min="$RTP_MIN" --port-max="$RTP_MAX" \
    --recording-method=pcap --recording-dir="$SCRATCH/rec" --delete-delay=0 \
    --log-stderr --log-level=6 --pidfile="$SCRATCH/rtpengine.pid" \
    >"$SCRATCH/log/rtpengine.log" 2>&1 &
PIDS+=($!)
RTPENGINE_PID=$!

wait_udp() {  # wait_udp PORT PID: until something listens on 127.0.0.1:PORT
    for _ in $(seq 100); do
        if ss -Hlun "src 127.0.0.1:$1" | grep -q .; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
if wait_udp "$NG_PORT" "$RTPENGINE_PID"; then
    pass "rtpengine listening on 127.0.0.1:$NG_PORT"
else
    fail "rtpengine did not start: $(tail -5 "$SCRATCH/log/rtpengine.log")"; finish
fi

# --- Kamailio ----------------------------------------------------------------------------------
cat >"$SCRATCH/privcall.ini" <<EOF
[privcall]
library = $LIB
trust_keys = $SCRATCH/list/authority.pub
threshold = 1
state_dir = $SCRATCH/state
watch_dir = $SCRATCH/watch
poll_interval_ms = 200
instances = 1
next_hop = sip:127.0.0.1:$UAS_PORT
EOF
MODULES="$(dirname "$(dpkg -L kamailio | grep '/modules/tm.so$' | head -1)")/"
sed -e "s|@SIP_PORT@|$SIP_PORT|g" -e "s|@NG_PORT@|$NG_PORT|g" -e "s|@CHILDREN@|$CHILDREN|g" \
    -e "s|@MODULES@|$MODULES|g" -e "s|@KEMI_SCRIPT@|$SCRATCH/privcall_kemi.py|g" \
    "$HERE/kamailio.cfg.in" >"$SCRATCH/kamailio.cfg"
cp "$KEMI" "$SCRATCH/privcall_kemi.py"

if kamailio -c -f "$SCRATCH/kamailio.cfg" >"$SCRATCH/log/kamailio-check.log" 2>&1; then
    pass "kamailio -c: configuration valid"
else
    fail "kamailio -c: $(grep -E 'ERROR|CRITICAL' "$SCRATCH/log/kamailio-check.log" | head -3)"; finish
fi
PRIVCALL_KEMI_CONFIG="$SCRATCH/privcall.ini" \
    kamailio -DD -E -f "$SCRATCH/kamailio.cfg" -Y "$SCRATCH" -w "$SCRATCH" \
    >"$SCRATCH/log/kamailio.log" 2>&1 &
PIDS+=($!)
KAMAILIO_PID=$!
if wait_udp "$SIP_PORT" "$KAMAILIO_PID"; then
    pass "kamailio listening on 127.0.0.1:$SIP_PORT"
else
    fail "kamailio did not start: $(tail -5 "$SCRATCH/log/kamailio.log")"; finish
fi
# One engine made in the main process before the fork (share_list = yes, the default, with
# list 1 already in the watched folder); every SIP worker readies it after the fork.
ready=0
for _ in $(seq 100); do
    ready=$(grep -c 'worker [0-9]*: shared engine ready' "$SCRATCH/log/kamailio.log")
    [ "$ready" -ge "$CHILDREN" ] && break
    grep -q 'has no engine\|no shared engine\|making its own' "$SCRATCH/log/kamailio.log" && break
    sleep 0.1
done
if [ "$(grep -c 'shared: engine ready' "$SCRATCH/log/kamailio.log")" = 1 ]; then
    pass "one engine made before the fork"
else
    fail "no engine before the fork: $(grep -m1 'no shared engine' "$SCRATCH/log/kamailio.log")"
fi
if [ "$ready" -ge "$CHILDREN" ]; then
    pass "the shared engine readied in each of the $CHILDREN SIP workers"
else
    fail "shared engine in $ready of $CHILDREN SIP workers: $(grep -m1 'has no engine\|making its own' "$SCRATCH/log/kamailio.log")"
fi
if sipsak -v -s "sip:ping@127.0.0.1:$SIP_PORT" >"$SCRATCH/log/sipsak.log" 2>&1; then
    pass "sipsak: kamailio answers SIP"
else
    fail "sipsak: no answer from kamailio: $(tail -2 "$SCRATCH/log/sipsak.log")"
fi

# --- the callee --------------------------------------------------------------------------------
(cd "$SCRATCH/sipp" && exec sipp -sf "$HERE/uas.xml" -i 127.0.0.1 -p "$UAS_PORT" \
    -mi 127.0.0.1 -mp "$UAS_MEDIA" -bg -trace_logs -log_file "$SCRATCH/log/uas.log" \
    -trace_err -error_file "$SCRATCH/log/uas-errors.log" -nostdin \
    >"$SCRATCH/log/uas.out" 2>&1) &
# sipp -bg forks; its PID is printed as "Background mode - PID=[1234]".
UAS_PID=""
for _ in $(seq 50); do
    UAS_PID=$(grep -o 'PID=\[[0-9]*\]' "$SCRATCH/log/uas.out" 2>/dev/null | tr -dc 0-9)
    [ -n "$UAS_PID" ] && break
    sleep 0.1
done
if [ -n "$UAS_PID" ] && wait_udp "$UAS_PORT" "$UAS_PID"; then
    PIDS+=("$UAS_PID")
    pass "sipp UAS listening on 127.0.0.1:$UAS_PORT"
else
    fail "sipp UAS did not start: $(cat "$SCRATCH/log/uas.out")"; finish
fi

# --- the calls ---------------------------------------------------------------------------------
# cases.csv -> SIPp injection file: comments dropped, @K@ = Kamailio's address.
{
    echo SEQUENTIAL
    grep -v '^#' "$HERE/cases.csv" | grep . | sed "s/@K@/127.0.0.1:$SIP_PORT/g"
} >"$SCRATCH/sipp/calls.csv"
ncalls=$(($(wc -l <"$SCRATCH/sipp/calls.csv") - 1))
note "placing $ncalls calls"
(cd "$SCRATCH/sipp" && timeout 120 sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/uac.xml" \
    -inf "$SCRATCH/sipp/calls.csv" -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 -mp "$UAC_MEDIA" \
    -cid_str "privcall-%u-%p@%s" -m "$ncalls" -l 4 -r 4 -timeout 90s -recv_timeout 10s -nostdin \
    -trace_err -error_file "$SCRATCH/log/uac-errors.log" \
    -trace_stat -stf "$SCRATCH/log/uac-stat.csv" >"$SCRATCH/log/uac.out" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
    pass "sipp UAC: all $ncalls calls answered and ended"
else
    fail "sipp UAC exit $rc: $(grep -m3 -iE 'error|fail' "$SCRATCH/log/uac-errors.log" "$SCRATCH/log/uac.out" 2>/dev/null)"
fi
sleep 1  # rtpengine closes a call's pcap when Kamailio deletes it (BYE)

while IFS= read -r line; do
    case "$line" in
        PASS*) pass "${line#PASS }" ;;
        FAIL*) fail "${line#FAIL }" ;;
        *) echo "$line" ;;
    esac
done < <("$PY" "$HERE/check.py" "$HERE/cases.csv" "$SCRATCH/log/uas.log" "$SCRATCH/rec")

# --- a list update reaches every worker; a prearranged call overruns its window ----------------
# Sequence 2 registers 573-555-0177 (recorded above as upd-before) and gives inmate A1002 a
# window that ends OVERRUN_AT seconds from now. It is dropped into the folder every worker
# watches; no worker is told.
OVERRUN_AT=8
PAUSE_MS=12000  # the overrun call re-INVITEs this long after its answer: past the window
NOW2=$(date +%s)
SHORT_END=$((NOW2 + OVERRUN_AT))
prearranged "$SHORT_END"
if compile 2 "$SCRATCH/list/list-2.bundle" "$HERE/registry-update.csv"; then
    mv "$SCRATCH/list/list-2.bundle" "$SCRATCH/watch/list-2.bundle"
    pass "privcall compile: sequence 2 dropped into the watched folder"
else
    fail "privcall compile 2: $(cat "$SCRATCH/log/compile-2.log")"
fi
sleep 1.5  # a few poll intervals (200 ms)

# The overrun call, alongside the update calls: INVITE inside A1002's window, re-INVITE after.
{ echo SEQUENTIAL; grep -v '^#' "$HERE/cases-overrun.csv" | grep . | sed "s/@K@/127.0.0.1:$SIP_PORT/g"; } \
    >"$SCRATCH/sipp/overrun.csv"
(cd "$SCRATCH/sipp" && exec timeout 120 sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/uac-overrun.xml" \
    -inf "$SCRATCH/sipp/overrun.csv" -i 127.0.0.1 -p "$UAC2_PORT" -mi 127.0.0.1 \
    -mp "$UAC2_MEDIA" -cid_str "overrun-%u-%p@%s" -m 1 -d "$PAUSE_MS" -timeout 90s \
    -recv_timeout 10s -nostdin -trace_err -error_file "$SCRATCH/log/uac-overrun-errors.log" \
    >"$SCRATCH/log/uac-overrun.out" 2>&1) &
OVERRUN_PID=$!
PIDS+=("$OVERRUN_PID")

{ echo SEQUENTIAL; grep -v '^#' "$HERE/cases-update.csv" | grep . | sed "s/@K@/127.0.0.1:$SIP_PORT/g"; } \
    >"$SCRATCH/sipp/update.csv"
nupd=$(($(wc -l <"$SCRATCH/sipp/update.csv") - 1))
(cd "$SCRATCH/sipp" && timeout 120 sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/uac.xml" \
    -inf "$SCRATCH/sipp/update.csv" -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 -mp "$UAC_MEDIA" \
    -cid_str "update-%u-%p@%s" -m "$nupd" -l 4 -r 4 -timeout 90s -recv_timeout 10s -nostdin \
    -trace_err -error_file "$SCRATCH/log/uac-update-errors.log" >"$SCRATCH/log/uac-update.out" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
    pass "sipp UAC: all $nupd calls after the update answered and ended"
else
    fail "sipp UAC (update calls) exit $rc"
fi
wait "$OVERRUN_PID"
rc=$?
if [ "$rc" -eq 0 ]; then
    pass "sipp UAC: the overrun call (INVITE, re-INVITE past the window, BYE) completed"
else
    fail "sipp UAC (overrun call) exit $rc: $(grep -m2 -iE 'error|fail|unexpected' "$SCRATCH/log/uac-overrun-errors.log" 2>/dev/null)"
fi
sleep 1

while IFS= read -r line; do
    case "$line" in
        PASS*) pass "${line#PASS }" ;;
        FAIL*) fail "${line#FAIL }" ;;
        *) echo "$line" ;;
    esac
done < <("$PY" "$HERE/check.py" "$HERE/cases-update.csv" "$SCRATCH/log/uas.log" "$SCRATCH/rec")

# Which workers decided the calls after the update, and with which list.
upd_ids=$(grep -o 'callid= *update-[^ ]*' "$SCRATCH/log/uas.log" | sed 's/callid= *//')
workers=""; lists=""
for id in $upd_ids; do
    line=$(grep -F "privcall: call $id record=" "$SCRATCH/log/kamailio.log" | head -1)
    workers="$workers $(echo "$line" | awk '{print $1}')"
    lists="$lists $(echo "$line" | grep -o 'list=[0-9]*')"
done
nworkers=$(echo "$workers" | tr ' ' '\n' | grep . | sort -u | wc -l)
if [ -n "$upd_ids" ] && ! echo "$lists" | tr ' ' '\n' | grep . | grep -qv '^list=2$'; then
    pass "every call after the update decided with list 2 ($nworkers distinct workers took them)"
else
    fail "calls after the update decided with:$lists"
fi

# The overrun call: private at setup, recorded only from the re-INVITE past the window's end.
ov_line=$(grep '^CALL case= *overrun ' "$SCRATCH/log/uas.log" | head -1)
ov_re=$(grep '^REINVITE case= *overrun ' "$SCRATCH/log/uas.log" | head -1)
ov_id=$(echo "$ov_line" | sed 's/.*callid= *//')
if echo "$ov_line" | grep -q 'record= *no '; then
    pass "overrun: X-Privcall-Record: no at setup, inside the window"
else
    fail "overrun: setup INVITE: ${ov_line:-none seen}"
fi
if echo "$ov_re" | grep -q 'record= *yes '; then
    pass "overrun: X-Privcall-Record: yes on the re-INVITE after the window (record-with-notice)"
else
    fail "overrun: re-INVITE: ${ov_re:-none seen}"
fi
grep -F "call $ov_id re-asked" "$SCRATCH/log/kamailio.log" | sed 's/.*privcall: /# kamailio: /' | head -1
ov_pcap=""
[ -n "$ov_id" ] && ov_pcap=$(ls "$SCRATCH/rec/pcaps/${ov_id%%@*}"%40* 2>/dev/null | head -1)
if [ -n "$ov_pcap" ]; then
    first=$("$PY" "$HERE/check.py" --first-time "$ov_pcap")
    flows=$("$PY" "$HERE/check.py" --flows "$ov_pcap" | tr '\n' ' ')
    if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= int(sys.argv[2]) else 1)" \
        "$first" "$SHORT_END"; then
        pass "overrun: recorded from $(date -u -d "@${first%.*}" +%T), after the window ended at $(date -u -d "@$SHORT_END" +%T) ($flows)"
    else
        fail "overrun: recording starts at $first, before the window ended at $SHORT_END"
    fi
    if [ "$(echo "$flows" | grep -o '127.0.0.1:[0-9]* ->' | sort -u | wc -l)" -ge 2 ]; then
        pass "overrun: RTP of both parties in the recording"
    else
        fail "overrun: recording without RTP of both parties ($flows)"
    fi
else
    fail "overrun: no recording after the window ended"
fi

# --- metadata privacy --------------------------------------------------------------------------
if grep -qE '555-?01(42|63|64|77|8[0-9])|LAW-HELP|A100[12]' "$SCRATCH/log/kamailio.log"; then
    fail "kamailio log holds a privileged number or an inmate id"
else
    pass "kamailio log holds no privileged number or inmate id"
fi

finish
