//! The watched folder: new or changed `.bundle` files, oldest first.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{FeedConfig, Stop, Updater};
use crate::runtime::{UpdateError, UpdateSource};

/// What identifies one version of a file: its size and modification time,
/// and on Unix its inode and change time, which no writer can set back (a
/// file fixed in place with its old size and mtime is read again).
type Stamp = (u64, SystemTime, u64, i64, i64);

/// The stamp of a file's metadata.
fn stamp(m: &std::fs::Metadata) -> Option<Stamp> {
    let modified = m.modified().ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.len(), modified, m.ino(), m.ctime(), m.ctime_nsec()))
    }
    #[cfg(not(unix))]
    {
        Some((m.len(), modified, 0, 0, 0))
    }
}

/// The most `.bundle` files one scan looks at: a folder flooded with
/// files costs a bounded amount of work per interval.
pub const MAX_FILES_PER_SCAN: usize = 256;

/// Scans `dir` every interval until stopped, applying each new or changed
/// `.bundle` file once.
pub(super) fn watch(updater: &Updater, dir: &Path, config: &FeedConfig, stop: &Stop) {
    let mut seen = Seen::new();
    loop {
        scan(updater, dir, config, &mut seen);
        if stop.wait(config.folder_interval) {
            return;
        }
    }
}

/// The files applied so far, by path.
pub(super) type Seen = HashMap<PathBuf, Stamp>;

/// One scan: applies each `.bundle` file in `dir` not in `seen` with its
/// current stamp, oldest first.
pub(super) fn scan(updater: &Updater, dir: &Path, config: &FeedConfig, seen: &mut Seen) {
    let files = bundle_files(dir);
    // Forget files that are gone, so the map stays as small as the folder.
    seen.retain(|path, _| files.iter().any(|(p, _)| p == path));
    for (path, stamp) in files {
        if seen.get(&path) == Some(&stamp) {
            continue;
        }
        seen.insert(path.clone(), stamp);
        apply_file(updater, &path, config.max_bundle_bytes);
    }
}

/// Reads and applies one bundle, and logs the outcome (the file's name,
/// never the list's contents).
fn apply_file(updater: &Updater, path: &Path, max_bytes: usize) {
    let outcome = read_regular(path, max_bytes, Links::Refuse)
        .map(|bytes| updater.apply(&bytes, UpdateSource::File));
    match outcome {
        Ok(Ok(id)) => {
            tracing::info!(file = %path.display(), sequence = id.sequence, "applied bundle from the watched folder")
        }
        // Already live: a copy of the live bundle under another name.
        Ok(Err(UpdateError::NotNewer {
            sequence,
            high_water,
        })) if sequence == high_water => {}
        Ok(Err(e)) => {
            tracing::warn!(file = %path.display(), kind = %e.kind(), error = %crate::text::error_chain(&e), "bundle from the watched folder refused")
        }
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "bundle from the watched folder not read")
        }
    }
}

/// A bundle file's bytes, refused without reading them when it is larger than
/// `max_bytes` (checked again while reading: the file may grow) or is not a
/// regular file. A link is followed (a configured path may be one); the
/// open never blocks (a FIFO is refused, not waited on).
pub fn read_capped(path: &Path, max_bytes: usize) -> Result<Vec<u8>, ReadError> {
    read_regular(path, max_bytes, Links::Follow)
}

/// Whether a path that is a symbolic link is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Links {
    /// Follow it (a configured path).
    Follow,
    /// Refuse it (a file found in the watched folder, where anyone who can
    /// write could point a link anywhere).
    Refuse,
}

fn read_regular(path: &Path, max_bytes: usize, links: Links) -> Result<Vec<u8>, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if links == Links::Refuse {
            libc::O_NOFOLLOW
        } else {
            0
        };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(target_os = "linux"))]
    if links == Links::Refuse
        && std::fs::symlink_metadata(path)
            .map_err(ReadError::Io)?
            .file_type()
            .is_symlink()
    {
        return Err(ReadError::NotRegular);
    }
    let file = options.open(path).map_err(|e| {
        // O_NOFOLLOW on a link fails with ELOOP.
        #[cfg(target_os = "linux")]
        if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) {
            return ReadError::NotRegular;
        }
        ReadError::Io(e)
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    let len = meta.len();
    if len > max_bytes as u64 {
        return Err(ReadError::TooLarge { max: max_bytes });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() > max_bytes {
        return Err(ReadError::TooLarge { max: max_bytes });
    }
    Ok(bytes)
}

/// Why a bundle file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Over the size limit.
    #[error("larger than the limit of {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// A link (in the watched folder), a FIFO, a device or a folder.
    #[error("not a regular file")]
    NotRegular,
    /// The OS refused.
    #[error("{0}")]
    Io(std::io::Error),
}

/// `.bundle` files in `dir` (at most [`MAX_FILES_PER_SCAN`]) with their
/// stamps, oldest first, so a folder of several bundles applies in order.
fn bundle_files(dir: &Path) -> Vec<(PathBuf, Stamp)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "bundle"))
        .take(MAX_FILES_PER_SCAN)
        // The entry's own type, links not followed: links and FIFOs are
        // never opened.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.path(), stamp(&m)?))
        })
        .collect();
    files.sort_by(|(p, (_, t, ..)), (q, (_, u, ..))| (t, p).cmp(&(u, q)));
    files
}
