#!/usr/bin/env bash
# Installs what building privcall needs beyond a stock Rust toolchain: the
# wasm32 target the guest is compiled for. Safe to run repeatedly.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
