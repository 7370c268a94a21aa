#!/usr/bin/env bash
# The instruction-count gate (what CI runs after the tests): installs
# valgrind when it is missing (Debian/Ubuntu package), then counts every
# benchmark of benches/gate.rs under callgrind and compares with
# benches/baseline.json. Arguments go to `cargo xtask bench-gate`
# (e.g. --threshold 5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v valgrind >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    fi
    echo "bench-gate: installing valgrind (apt-get install valgrind)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq valgrind >/dev/null
fi
exec cargo xtask bench-gate "$@"
