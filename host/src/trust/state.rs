//! The host's state directory: the last good bundle and the sequence
//! high-water mark, so a restart decides at once, offline, and cannot be
//! rolled back to an older list.
//!
//! Only the signed bundle and a sequence number are written here; nothing
//! else names a call (PRODUCT.md, "Privacy of metadata").

use std::io;
use std::path::{Path, PathBuf};

use crate::trust::files::replace_private;

/// Why the state directory could not be read or written.
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
    /// The high-water file does not hold a sequence number.
    #[error("{path}: not a sequence number (expected one unsigned integer)")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

const BUNDLE: &str = "last-good.bundle";
const HIGH_WATER: &str = "high-water";

impl StateDir {
    /// Opens (creating, owner-only) the directory.
    pub fn open(dir: &Path) -> Result<StateDir, StateError> {
        let io_err = |source| StateError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err)?;
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The highest sequence ever accepted (0 when none).
    pub fn high_water(&self) -> Result<u64, StateError> {
        let path = self.dir.join(HIGH_WATER);
        match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| StateError::Malformed { path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// The last good bundle, if one was saved.
    pub fn last_good(&self) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.dir.join(BUNDLE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// Saves an accepted bundle, then raises the high-water mark. In that
    /// order: a crash between the two leaves a bundle above the mark, which
    /// a restart accepts, never a mark above the only bundle.
    pub fn save(&self, bundle: &[u8], sequence: u64) -> Result<(), StateError> {
        let path = self.dir.join(BUNDLE);
        replace_private(&path, bundle).map_err(|source| StateError::Io { path, source })?;
        let path = self.dir.join(HIGH_WATER);
        replace_private(&path, format!("{sequence}\n").as_bytes())
            .map_err(|source| StateError::Io { path, source })
    }
}
