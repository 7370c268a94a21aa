#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ (cargo-fuzz, libFuzzer, on the nightly
# toolchain) and runs each for SECONDS, failing on the first crash, hang
# (an input that takes over 10 s) or broken invariant; the crashing input
# is left in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS]   # default: $FUZZ_SECONDS, else 30
#   scripts/fuzz.sh --seeds     # rewrite the seeds the targets make themselves
#
# Inputs a run finds go to fuzz/target/corpus/<target>/ (ignored by git);
# the committed seeds in fuzz/corpus/<target>/ are only read.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
# host/build.rs compiles the wasm guest with the toolchain of the build,
# nightly here, so nightly needs the wasm target too.
rustup +nightly target add wasm32-unknown-unknown >/dev/null
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd fuzz
# No sanitizer: the code is safe Rust (unsafe_code is denied), and
# AddressSanitizer would halve the executions a run gets. Debug assertions
# on: an arithmetic overflow or a broken debug_assert! is a crash too.
flags=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}"
targets=$(cargo +nightly fuzz list)

if [[ "${1:-}" == "--seeds" ]]; then
    # Each target writes its seeds when PRIVCALL_FUZZ_SEEDS names a folder
    # (fuzz/src/lib.rs, write_seeds_if_asked), then exits.
    for target in $targets; do
        PRIVCALL_FUZZ_SEEDS=corpus "target/x86_64-unknown-linux-gnu/release/$target" -runs=0
    done
    exit 0
fi

seconds=${1:-${FUZZ_SECONDS:-30}}
for target in $targets; do
    echo "fuzz.sh: $target for ${seconds} s"
    mkdir -p "target/corpus/$target" "corpus/$target"
    cargo +nightly fuzz run "${flags[@]}" "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
done
