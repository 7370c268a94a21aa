#!/usr/bin/env bash
# The instruction-count gate (what CI runs after the tests): installs
# valgrind when it is missing (Debian/Ubuntu package), then counts every
# benchmark of benches/gate/ under callgrind and compares with
# benches/baseline.json. Arguments go to `cargo xtask bench-gate`
# (e.g. --threshold 5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/apt-install.sh valgrind
exec cargo xtask bench-gate "$@"
