#!/usr/bin/env bash
# Installs what building and testing privcall needs beyond a stock Rust
# toolchain: the wasm32 target the guest is compiled for, and cargo-nextest
# (the test runner with per-test time limits). Safe to run repeatedly.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
