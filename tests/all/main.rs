//! Integration tests: one binary, a module per area (wasmtime's layout).

mod audit;
mod cli;
mod common;
mod daemon;
mod daemon_limits;
mod differential;
mod edges;
mod encrypted;
mod engine;
mod faults;
mod feeds;
mod fleet;
mod formats;
mod guest;
mod mutants;
mod oracle;
mod poll;
mod reference;
mod rules;
mod sources;
mod state;
mod tamper;
mod unsafe_code;
mod wat_guests;
