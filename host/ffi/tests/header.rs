//! `include/privcall.h` is what cbindgen makes of this crate today: a
//! change to the C types or functions that was not regenerated fails here
//! (and so in CI). `PRIVCALL_BLESS=1 cargo test -p privcall-ffi --test
//! header` rewrites it.

use std::path::Path;

#[test]
fn header_matches_the_crate() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../include/privcall.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    if std::env::var_os("PRIVCALL_BLESS").is_some() {
        std::fs::write(&header, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        committed == generated,
        "include/privcall.h is out of date: run `PRIVCALL_BLESS=1 cargo test -p privcall-ffi --test header`"
    );
}
