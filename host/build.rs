//! Builds the wasm guest from source and turns it into a component.
//!
//! The guest (`guest/component`) is compiled for `wasm32-unknown-unknown` in
//! a target directory of its own (a nested cargo must not wait on the outer
//! build's lock), then componentized with `wit-component`, which checks
//! that the module implements `wit/privcall.wit`. Nothing built is
//! committed; the paths reach the host as `PRIVCALL_GUEST_MODULE` (what the
//! host runs) and `PRIVCALL_GUEST_COMPONENT` (the reference the tests
//! compare it with). Modelled on wasmtime's
//! `crates/test-programs/artifacts/build.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> Result<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    for watched in [
        "wit",
        "guest/core/src",
        "guest/core/Cargo.toml",
        "guest/component/src",
        "guest/component/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let target_dir = out.join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--locked",
            "-p",
            "privcall-guest",
            "--profile",
            "guest",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and wrappers (clippy, coverage) are for the
    // host; the guest is built plainly.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().context("running cargo for the wasm guest")?;
    if !status.success() {
        bail!(
            "building the wasm guest failed ({status}). If the target is missing, run \
             `rustup target add {TARGET}` (scripts/test.sh and scripts/demo.sh do)."
        );
    }

    let module_path = target_dir
        .join(TARGET)
        .join("guest")
        .join("privcall_guest.wasm");
    let module = std::fs::read(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("reading the guest module's component metadata")?
        .validate(true)
        .encode()
        .context("componentizing the guest")?;
    // The host runs the core module (see host/src/guest.rs); the component
    // is built too, checked against the WIT by `validate(true)` above and
    // used by the tests as the reference for the canonical ABI.
    let core_path = out.join("privcall_guest.core.wasm");
    write_if_changed(&core_path, &module)?;
    println!(
        "cargo:rustc-env=PRIVCALL_GUEST_MODULE={}",
        core_path.display()
    );
    let component_path = out.join("privcall_guest.component.wasm");
    write_if_changed(&component_path, &component)?;
    println!(
        "cargo:rustc-env=PRIVCALL_GUEST_COMPONENT={}",
        component_path.display()
    );
    Ok(())
}

/// Keeps the file's mtime when nothing changed, so dependents don't rebuild.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
