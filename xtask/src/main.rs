//! `cargo xtask bench-gate` / `cargo xtask bench-baseline` (filled in by issue 10).
fn main() {
    eprintln!("usage: cargo xtask bench-gate [--threshold PCT] | bench-baseline");
    std::process::exit(2);
}
