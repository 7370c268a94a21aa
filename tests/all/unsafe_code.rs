//! The host crate denies `unsafe` code; the one exception is the `madvise`
//! wrapper in `host/src/pages.rs`. `deny` (not `forbid`) lets a module opt
//! out, so this test keeps any other module from doing so unnoticed.

use std::path::Path;

#[test]
fn unsafe_code_is_allowed_only_in_the_pages_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("host/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_code)]"), "host/src/lib.rs");
    let mut allowed = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("allow(unsafe_code)") {
                    allowed.push(path.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
    }
    assert_eq!(allowed, ["pages.rs"], "files that allow unsafe code");
}
