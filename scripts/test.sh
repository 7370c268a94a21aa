#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit, property, integration
# and doc tests, the benchmarks in quick mode (they must build and run; no
# timing is asserted), the C ABI from C under valgrind, and Kamailio end to
# end.
set -euo pipefail
cd "$(dirname "$0")/.."
# How much disk the build holds after each step: a CI machine's disk may
# be small, and a full disk fails a build far from its cause.
disk() { echo "test.sh: after $1: target $(du -sch target fuzz/target 2>/dev/null | tail -1 | cut -f1), $(df -h . | awk 'NR==2 {print $4}') free" >&2; }
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Unit, property and integration tests under cargo nextest: each test in
# its own process with a time limit (.config/nextest.toml), so a hang fails
# by name. The benches run once each in test mode (they must build and
# run; no timing is asserted); --doc runs the documentation examples.
cargo nextest run --workspace --lib --bins --tests --locked
disk "tests"
cargo test --workspace --benches --locked
disk "benches"
cargo test --workspace --doc --locked
disk "doc tests"
# The API documentation builds without a broken link or a name clash.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
# The C ABI from C, under valgrind (include/privcall.h's drift is checked
# by `cargo test` above).
tests/c/run.sh
disk "C ABI tests"
# Every fuzz target (fuzz/: bundles, list bodies, sources, dialed strings, daemon requests, wasm vs native) for 30 s each.
scripts/fuzz.sh 30
disk "fuzzing"
# A real SBC in the loop: Kamailio (KEMI Python + the C ABI), rtpengine
# recording, SIPp calls with RTP, all on 127.0.0.1 (installs the Debian
# packages it needs through scripts/install-sip.sh).
bash tests/kamailio/run.sh
