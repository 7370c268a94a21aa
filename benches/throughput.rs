//! Placeholder: filled in by the performance work (issue 4).
fn main() {}
