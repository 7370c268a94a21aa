//! Placeholder: the instruction-count gate benchmarks (issue 10).
fn main() {}
