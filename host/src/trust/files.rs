//! File writing with the permissions PRODUCT.md asks for: anything that
//! names calls or holds a secret is created owner-only, and outputs are
//! written whole or not at all.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

#[cfg(unix)]
fn options(mode: u32) -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.mode(mode);
    o
}

#[cfg(not(unix))]
fn options(_mode: u32) -> OpenOptions {
    OpenOptions::new()
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file: File = options(mode).write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The permission bits of `path` when its group or others have any access
/// to it (a secret file to refuse), `None` when it is owner-only.
pub fn exposed_mode(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

/// Why a secret file was not read.
#[derive(Debug)]
pub enum SecretFileError {
    /// It could not be read.
    Io(io::Error),
    /// Its group or others have access: its permission bits.
    Exposed(u32),
}

/// Reads a secret file that only its owner may read, wiped from memory
/// when dropped; refuses one others may read, before reading it.
pub fn read_secret_text(path: &Path) -> Result<zeroize::Zeroizing<String>, SecretFileError> {
    if let Some(mode) = exposed_mode(path).map_err(SecretFileError::Io)? {
        return Err(SecretFileError::Exposed(mode));
    }
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(SecretFileError::Io)
}

/// The one key line of a key file (comments `#` and blank lines apart),
/// when there is exactly one and it starts with `prefix`.
pub fn key_line<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next()?;
    (lines.next().is_none() && line.starts_with(prefix)).then_some(line)
}

/// Creates `path` (which must not exist) readable by its owner only.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_new(path, bytes, 0o600)
}

/// Creates `path` (which must not exist) readable by everyone.
pub fn write_public_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_new(path, bytes, 0o644)
}

/// Replaces `path` atomically (temporary file + rename in the same folder),
/// owner-only, so a crash leaves the old file or the new one, never half.
pub fn replace_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = PrivateFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// An owner-only file written in pieces that appears at its path whole or
/// not at all: the bytes go to a temporary file in the same folder, which
/// [`PrivateFile::commit`] renames over the path. Dropped without a commit
/// (an error, a panic), the temporary file is removed and the path is
/// untouched.
pub struct PrivateFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    file: Option<io::BufWriter<File>>,
}

impl PrivateFile {
    /// Starts replacing `path`.
    pub fn create(path: &Path) -> io::Result<PrivateFile> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let _ = std::fs::remove_file(&tmp);
        let file = options(0o600).write(true).create_new(true).open(&tmp)?;
        Ok(PrivateFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(io::BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Flushes, syncs and renames the file into place, durably.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("already committed"))?;
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)?;
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        // Make the rename itself durable.
        File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
    }
}

impl Write for PrivateFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        // Not committed (or the rename failed): leave no partial file.
        if self.file.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
