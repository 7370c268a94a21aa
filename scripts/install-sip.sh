#!/usr/bin/env bash
# Installs what tests/kamailio/run.sh needs, from Debian 12's own packages:
#   kamailio                   the SIP proxy (5.6), with the rtpengine and xlog modules
#   kamailio-python3-modules   app_python3 (KEMI Python; embeds Debian's Python 3.11)
#   rtpengine-daemon           the userspace RTP relay (started with --table=-1, no kernel module)
#   sip-tester                 SIPp, the call generator (UAC and UAS), and its g711a.pcap
#   sipsak                     a small SIP probe (OPTIONS ping to see Kamailio is up)
#   valgrind                   for checking the C ABI under Kamailio by hand
#   python3.11                 the interpreter app_python3 embeds (pulled in anyway; named so
#                              the test can run its pcap reader with the same Python)
# Non-interactive, quiet, idempotent: nothing happens when everything is there already.
# Services are not started by the install (a temporary policy-rc.d says no), so nothing ends
# up listening on a default port: the test starts its own servers on 127.0.0.1.
set -euo pipefail

pkgs=(kamailio kamailio-python3-modules rtpengine-daemon sip-tester sipsak valgrind python3.11)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Fresh machines have empty package lists: update when a package is unknown to apt.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null
fi

# Keep maintainer scripts from starting kamailio/rtpengine on their default ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-sip: installing ${missing[*]}" >&2
log="$(mktemp)"
if ! $sudo apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
