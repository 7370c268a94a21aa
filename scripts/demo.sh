#!/usr/bin/env bash
# Runs privcall on the built-in sample data: compiles and signs the sample
# lists with a throwaway key, loads them into the wasm guest and prints the
# decisions for the sample calls. No server, no setup beyond Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --quiet --release --bin privcall -- demo "$@"
