//! `unsafe_code` is denied in every crate (`[workspace.lints]`); an
//! exception is an `#[expect(unsafe_code, reason = ...)]`. The host's only
//! exceptions are in its `madvise` wrapper, `host/src/runtime/pages.rs`,
//! its `clock_gettime` call for the decision deadline
//! (`host/src/runtime/guest/budget.rs`), and in the C ABI's exported functions (`host/ffi/src/lib.rs`) and the
//! one module that reads C's pointers (`host/ffi/src/boundary.rs`); this
//! test keeps any other module from opting out unnoticed.

use std::path::Path;

#[test]
fn unsafe_code_is_denied_and_excepted_only_in_pages_budget_and_the_c_boundary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("unsafe_code = \"deny\""), "Cargo.toml");
    let mut excepted = Vec::new();
    let mut dirs = vec![root.join("host/src"), root.join("host/ffi/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if [
                    "allow(unsafe_code",
                    "expect(unsafe_code",
                    "allow(unsafe_code)",
                ]
                .iter()
                .any(|a| text.contains(a))
                {
                    excepted.push(path.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
    }
    excepted.sort();
    assert_eq!(
        excepted,
        ["boundary.rs", "budget.rs", "lib.rs", "pages.rs"],
        "files that allow unsafe code"
    );
}
