//! The host's state: the last good bundle, the sequence high-water mark
//! and every facility's fail mode, so a restart decides at once, offline,
//! and cannot be rolled back to an older list.
//!
//! All three live in one file, `privcall/state` under the folder the
//! operator names, written whole by a rename: the bundle and its mark are
//! committed together, never one without the other. The file ends with
//! its SHA-256, so damage is seen, not trusted. A file that is damaged,
//! or an old layout with a bundle and no readable mark, is tampering or
//! damage: the engine starts in the fail mode with an alarm and goes live
//! again only on an update above the highest sequence it can still see
//! (or after `--reset-state`).
//!
//! The folder the operator names is created owner-only if missing and
//! never changed if it exists; `privcall/` inside it must be the
//! process's own and closed to others.
//!
//! Only the signed bundle, a sequence number and fail modes are written
//! here; nothing else names a call (PRODUCT.md, "Privacy of metadata").

use std::io;
use std::path::{Path, PathBuf};

use privcall_core::types::FailMode;
use sha2::{Digest, Sha256};

use crate::trust::bundle::{UnverifiedBundle, MAX_BUNDLE_BYTES};
use crate::trust::fail_modes::FailModes;
use crate::trust::files::replace_private;

/// Why the state folder cannot be used: a configuration error. Damage to
/// the state itself never stops the engine; it starts in the fail mode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file could not be read, written or created.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Others could change the state under the process.
    #[error("{path}: {why}; use a folder of this user's own, closed to others")]
    Unsafe {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

/// What the state folder held at start.
#[derive(Debug)]
pub enum Restored {
    /// Nothing: a new edge.
    Fresh,
    /// A consistent state.
    Saved {
        /// The highest sequence ever accepted.
        high_water: u64,
        /// The last good bundle (verified again before use).
        bundle: Option<Vec<u8>>,
        /// The fail modes of the last verified list.
        fail_modes: FailModes,
        /// A fleet's registry part (verified again before use).
        registry: Option<Vec<u8>>,
        /// Window parts of a fleet's list and their marks (verified again
        /// before use).
        windows: Vec<SavedWindows>,
    },
    /// Damage or tampering: no list is restored.
    Damaged {
        /// The highest sequence still readable, if any: updates must be
        /// above it. `None`: none is readable, and only `--reset-state`
        /// lets updates in.
        floor: Option<u64>,
        /// What was found, for the alarm.
        why: String,
    },
}

/// One facility's window part in the state: its high-water mark and the
/// last part accepted, if it is still held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedWindows {
    /// The facility code.
    pub facility: String,
    /// The highest sequence of its window parts ever accepted.
    pub high_water: u64,
    /// The part as received.
    pub bundle: Option<Vec<u8>>,
}

/// What [`StateDir::save`] writes, in one rename.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    /// The highest sequence of whole lists and registry parts accepted.
    pub high_water: u64,
    /// The fail modes of the last verified list.
    pub fail_modes: &'a FailModes,
    /// The whole list held.
    pub bundle: Option<&'a [u8]>,
    /// The fleet registry part held.
    pub registry: Option<&'a [u8]>,
    /// Window parts and their marks.
    pub windows: &'a [SavedWindows],
}

/// The state folder (`privcall/` inside the one the operator named).
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

const SUBDIR: &str = "privcall";
const STATE: &str = "state";
const MAGIC_LINE: &str = "privcall-state 1";
/// Header lines (fail modes are one a facility) are bounded.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// The file: the largest bundle, window parts of as many bytes again (the
/// engine's cap), and the header.
const MAX_STATE_BYTES: u64 = (2 * MAX_BUNDLE_BYTES + MAX_HEADER_BYTES + 128) as u64;

impl StateDir {
    /// Opens the state under `base`: creates `base` (owner-only) if it is
    /// missing, never changes it if it exists, and refuses a `privcall/`
    /// folder another user owns or others may write. Stale temporary files
    /// of crashed writes are removed.
    pub fn open(base: &Path) -> Result<StateDir, StateError> {
        let dir = base.join(SUBDIR);
        for d in [base, dir.as_path()] {
            create_private_dir(d)?;
        }
        check_safe(base, true)?;
        check_safe(&dir, false)?;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.contains(".tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(StateDir { dir })
    }

    /// The folder holding the state file.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// What the folder holds; never fails (damage is [`Restored::Damaged`]).
    pub fn restore(&self) -> Restored {
        let path = self.dir.join(STATE);
        match read_capped(&path) {
            Ok(Some(bytes)) => parse(&bytes).unwrap_or_else(|(floor, why)| Restored::Damaged {
                floor,
                why: format!("{}: {why}", path.display()),
            }),
            Ok(None) => self.restore_legacy(),
            Err(e) => Restored::Damaged {
                floor: None,
                why: format!("{}: {e}", path.display()),
            },
        }
    }

    /// Saves an accepted bundle with its sequence and fail modes, in one
    /// rename.
    /// `windows`: a fleet's window parts with their marks (facility codes
    /// are written in hex: a signed code is still no line of ours).
    pub fn save(&self, snapshot: &Snapshot<'_>) -> Result<(), StateError> {
        let Snapshot {
            high_water: sequence,
            fail_modes,
            bundle,
            registry,
            windows,
        } = *snapshot;
        let bundle = bundle.unwrap_or_default();
        let mut text = format!(
            "{MAGIC_LINE}\nhigh-water {sequence}\ndefault-fail-mode {}\n",
            fail_modes.default.name()
        );
        for (code, mode) in &fail_modes.facilities {
            text.push_str(&format!("fail-mode {code} {}\n", mode.name()));
        }
        for w in windows {
            text.push_str(&format!(
                "windows {} {} {}\n",
                hex::encode(w.facility.as_bytes()),
                w.high_water,
                w.bundle.as_ref().map_or(0, Vec::len)
            ));
        }
        if let Some(r) = registry {
            text.push_str(&format!("registry {}\n", r.len()));
        }
        text.push_str(&format!("bundle {}\n", bundle.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(bundle);
        bytes.extend_from_slice(registry.unwrap_or_default());
        for w in windows {
            bytes.extend_from_slice(w.bundle.as_deref().unwrap_or_default());
        }
        let digest = hex::encode(Sha256::digest(&bytes));
        bytes.extend_from_slice(format!("\nsha256 {digest}\n").as_bytes());
        let path = self.dir.join(STATE);
        replace_private(&path, &bytes).map_err(|source| StateError::Io { path, source })
    }

    /// The layout before `privcall/state`: `last-good.bundle` and
    /// `high-water` in the folder the operator named.
    fn restore_legacy(&self) -> Restored {
        let base = self.dir.parent().unwrap_or(&self.dir);
        let bundle = std::fs::read(base.join("last-good.bundle")).ok();
        let mark = std::fs::read_to_string(base.join("high-water")).ok();
        let parsed = mark.as_deref().map(|m| m.trim().parse::<u64>());
        match (bundle, parsed) {
            (None, None) => Restored::Fresh,
            (bundle, Some(Ok(high_water))) => Restored::Saved {
                high_water,
                bundle,
                fail_modes: FailModes::PRIVATE,
                registry: None,
                windows: Vec::new(),
            },
            (bundle, _) => Restored::Damaged {
                floor: bundle
                    .as_deref()
                    .and_then(|b| UnverifiedBundle::read(b).ok())
                    .map(|b| b.header.sequence),
                why: format!(
                    "{}: a bundle without a readable high-water mark (deleted or damaged)",
                    base.display()
                ),
            },
        }
    }
}

/// Creates `dir` owner-only if it is missing; an existing folder is left
/// as it is.
fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Refuses a folder another user owns, or one others may write (for the
/// operator's folder: unless it is sticky, like `/tmp`, where others
/// cannot replace what is in it).
fn check_safe(dir: &Path, sticky_is_enough: bool) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(dir).map_err(|source| StateError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let unsafe_dir = |why: String| StateError::Unsafe {
            path: dir.to_path_buf(),
            why,
        };
        if !meta.is_dir() {
            return Err(unsafe_dir("not a folder (a link?)".into()));
        }
        let mode = meta.mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !(sticky_is_enough && sticky) {
            return Err(unsafe_dir(format!(
                "mode {mode:04o} lets others write in it"
            )));
        }
        if !sticky_is_enough {
            // Who this process is: the owner of a file it creates.
            let probe = dir.join(format!(".owner.tmp{}", std::process::id()));
            let _ = std::fs::remove_file(&probe);
            let me = crate::trust::files::write_private_new(&probe, b"")
                .and_then(|()| std::fs::metadata(&probe))
                .map(|m| m.uid());
            let _ = std::fs::remove_file(&probe);
            let me = me.map_err(|source| StateError::Io {
                path: probe,
                source,
            })?;
            if me != meta.uid() {
                return Err(unsafe_dir(format!(
                    "owned by user {}, not {me}",
                    meta.uid()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, sticky_is_enough);
    Ok(())
}

/// The file's bytes, `None` when it does not exist.
fn read_capped(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            return Err(io::Error::other(format!(
                "{} bytes is larger than any state",
                m.len()
            )))
        }
        Ok(_) => {}
    }
    std::fs::read(path).map(Some)
}

/// The state in `bytes`, or the highest sequence still readable and what
/// is wrong.
fn parse(bytes: &[u8]) -> Result<Restored, (Option<u64>, String)> {
    let mut floor = None;
    let mut fail_modes = FailModes::PRIVATE;
    let mut windows: Vec<(SavedWindows, usize)> = Vec::new();
    let mut registry_len = 0usize;
    let mut pos = 0;
    let line = |pos: &mut usize| -> Option<&str> {
        let rest = bytes.get(*pos..)?;
        let end = rest
            .iter()
            .take(MAX_HEADER_BYTES)
            .position(|&b| b == b'\n')?;
        *pos += end + 1;
        std::str::from_utf8(rest.get(..end)?).ok()
    };
    if line(&mut pos) != Some(MAGIC_LINE) {
        return Err((None, "not a privcall state file".into()));
    }
    let bundle_len = loop {
        let Some(l) = line(&mut pos) else {
            return Err((floor, "ends inside its header".into()));
        };
        let mut words = l.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("high-water"), Some(n), None) => floor = n.parse().ok(),
            (Some("default-fail-mode"), Some(m), None) => {
                fail_modes.default =
                    FailMode::from_name(m).ok_or((floor, "a bad fail mode".into()))?;
            }
            (Some("fail-mode"), Some(code), Some(m)) => {
                let mode = FailMode::from_name(m).ok_or((floor, "a bad fail mode".into()))?;
                fail_modes.facilities.push((code.to_string(), mode));
            }
            (Some("windows"), Some(code), Some(rest)) => {
                let bad = || (floor, "a bad windows line".to_string());
                let (mark, len) = rest.split_once(' ').ok_or_else(bad)?;
                let facility = hex::decode(code)
                    .ok()
                    .and_then(|c| String::from_utf8(c).ok())
                    .ok_or_else(bad)?;
                let high_water = mark.parse().map_err(|_| bad())?;
                let len: usize = len.parse().map_err(|_| bad())?;
                if windows.len() >= crate::runtime::MAX_WINDOW_PARTS * 4 {
                    return Err((floor, "too many windows lines".into()));
                }
                windows.push((
                    SavedWindows {
                        facility,
                        high_water,
                        bundle: None,
                    },
                    len,
                ));
            }
            (Some("registry"), Some(n), None) => {
                registry_len = n
                    .parse()
                    .map_err(|_| (floor, "a bad registry length".into()))?;
            }
            (Some("bundle"), Some(n), None) => break n.parse::<usize>().ok(),
            _ => return Err((floor, "an unknown header line".into())),
        }
    };
    let Some(high_water) = floor else {
        return Err((None, "no high-water mark".into()));
    };
    let bundle_len = bundle_len.ok_or((floor, "a bad bundle length".into()))?;
    let signed_end = windows
        .iter()
        .try_fold(
            pos.checked_add(bundle_len)
                .and_then(|e| e.checked_add(registry_len)),
            |end, (_, len)| Some(end?.checked_add(*len)),
        )
        .flatten()
        .ok_or((floor, "a bad bundle length".into()))?;
    let (Some(signed), Some(trailer)) = (bytes.get(..signed_end), bytes.get(signed_end..)) else {
        return Err((floor, "ends inside its bundle".into()));
    };
    let digest = hex::encode(Sha256::digest(signed));
    if trailer != format!("\nsha256 {digest}\n").as_bytes() {
        return Err((
            floor,
            "its checksum does not match (damaged or edited)".into(),
        ));
    }
    fail_modes.facilities.sort_by(|(a, _), (b, _)| a.cmp(b));
    let blob = |from: usize, len: usize| {
        signed
            .get(from..from + len)
            .filter(|b| !b.is_empty())
            .map(<[u8]>::to_vec)
    };
    let bundle = blob(pos, bundle_len);
    let registry = blob(pos + bundle_len, registry_len);
    let mut at = pos + bundle_len + registry_len;
    let windows = windows
        .into_iter()
        .map(|(mut w, len)| {
            w.bundle = blob(at, len);
            at += len;
            w
        })
        .collect();
    Ok(Restored::Saved {
        high_water,
        bundle,
        fail_modes,
        registry,
        windows,
    })
}
