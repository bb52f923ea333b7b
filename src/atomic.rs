//! The one way gpu-cnn writes a file: whole or not at all. The bytes go to a temporary file
//! beside the target (`.NAME.XXXXXX.tmp`), which is synced, given ordinary permissions (0644)
//! and renamed over the target; then the directory is synced so the rename itself survives a
//! crash. On any error the temporary file is removed and the target is untouched.
//!
//! A process killed mid-write (`kill -9`) leaves its temporary file; the next write of the same
//! target removes it ([`remove_stale`]). A long run that will write a file at its end claims it
//! first ([`claim`]): the directory is checked writable and other runs are kept off the same
//! target until it ends.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The directory `path` lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Characters of the random part of a temporary file's name (tempfile's default).
const RANDOM_CHARS: usize = 6;
/// Suffix of temporary files.
const TEMP_SUFFIX: &str = ".tmp";

/// The prefix of `path`'s temporary files: `.NAME.`.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// A new temporary file beside `path`, deleted when dropped.
fn temp_file(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let prefix = temp_prefix(path);
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(RANDOM_CHARS);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(parent_dir(path))
}

/// Removes the temporary files of `path` that a killed writer left (`.NAME.XXXXXX.tmp`).
pub fn remove_stale(path: &Path) -> io::Result<()> {
    let prefix = temp_prefix(path);
    for entry in fs::read_dir(parent_dir(path))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_ours = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
            .is_some_and(|random| {
                random.len() == RANDOM_CHARS && random.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if is_ours && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    remove_stale(path)?;
    // The temporary file deletes itself when dropped on any early return below.
    let mut file = temp_file(path)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    // Make the rename durable; the file is complete either way, so a directory that cannot be
    // opened for syncing (some filesystems) is not an error.
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Where a symbolic link at `path` points, followed to the end (`path` itself when it is not a
/// link): saving onto a link writes its target and keeps the link.
pub fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    // As many links as Linux follows.
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                path = parent_dir(&path).join(target);
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A target claimed for the length of a run: no other gpu-cnn run can claim it meanwhile.
/// The claim is an advisory lock on `.NAME.lock` beside the target, which holds the claiming
/// process's id and is removed when the claim is dropped (the lock itself dies with the
/// process, so a killed run never blocks the next).
#[derive(Debug)]
pub struct Claim {
    /// The target, symbolic links resolved.
    pub path: PathBuf,
    lock_path: PathBuf,
    _lock: fs::File,
}

/// Why [`claim`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The target's directory does not exist.
    #[error("the directory {} does not exist", .0.display())]
    MissingDirectory(PathBuf),
    /// The target is a directory.
    #[error("it is a directory")]
    IsDirectory,
    /// The directory cannot be written (permissions, read-only filesystem).
    #[error("its directory cannot be written: {0}")]
    NotWritable(io::Error),
    /// Another run holds the claim.
    #[error("another gpu-cnn run ({holder}) is saving to it")]
    Busy {
        /// `process N`, or `a process` when the lock file names none.
        holder: String,
    },
}

/// Claims `path` for a run that writes it later: resolves links, checks that its directory
/// exists and can be written (by creating and removing a temporary file there), removes stale
/// temporary files and takes the lock. Fails at once when another run holds it.
pub fn claim(path: &Path) -> Result<Claim, ClaimError> {
    let path = resolve_links(path).map_err(ClaimError::NotWritable)?;
    let dir = parent_dir(&path);
    if !dir.is_dir() {
        return Err(ClaimError::MissingDirectory(dir.to_path_buf()));
    }
    if path.is_dir() {
        return Err(ClaimError::IsDirectory);
    }
    temp_file(&path).map_err(ClaimError::NotWritable)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let lock_path = dir.join(format!(".{name}.lock"));
    let mut lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(ClaimError::NotWritable)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "a process".to_string(),
                pid => format!("process {pid}"),
            };
            return Err(ClaimError::Busy { holder });
        }
        Err(fs::TryLockError::Error(error)) => return Err(ClaimError::NotWritable(error)),
    }
    lock.set_len(0)
        .and_then(|()| write!(lock, "{}", std::process::id()))
        .map_err(ClaimError::NotWritable)?;
    remove_stale(&path).map_err(ClaimError::NotWritable)?;
    Ok(Claim {
        path,
        lock_path,
        _lock: lock,
    })
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Best effort: a lock file left behind holds no lock and blocks nobody.
        let _ = fs::remove_file(&self.lock_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_readable_by_others_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write(&path, b"first").unwrap();
        write(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
    }

    #[test]
    fn a_write_removes_the_temporary_files_a_killed_writer_left_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let stale = dir.path().join(".model.safetensors.Ab3dE9.tmp");
        let other = dir.path().join(".model.safetensors.x.Ab3dE9.tmp");
        fs::write(&stale, b"torn").unwrap();
        fs::write(&other, b"someone else's").unwrap();
        write(&path, b"whole").unwrap();
        assert!(!stale.exists());
        assert!(other.exists());
        assert_eq!(fs::read(&path).unwrap(), b"whole");
    }

    #[cfg(unix)]
    #[test]
    fn a_claim_follows_links_keeps_other_claims_off_and_ends_with_its_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.safetensors");
        let link = dir.path().join("link.safetensors");
        std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
        let claim = claim(&link).unwrap();
        assert_eq!(claim.path, target);
        let second = super::claim(&target).unwrap_err().to_string();
        assert!(
            second.contains(&format!("process {}", std::process::id())),
            "{second}"
        );
        drop(claim);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["link.safetensors"]);
        assert!(super::claim(&target).is_ok());
    }

    #[test]
    fn a_claim_in_a_missing_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let error = claim(&dir.path().join("no/such/dir/x.safetensors")).unwrap_err();
        assert!(matches!(error, ClaimError::MissingDirectory(_)), "{error}");
    }

    #[test]
    fn a_failed_write_leaves_the_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("is-a-dir");
        fs::create_dir(&target).unwrap();
        assert!(write(&target, b"x").is_err());
        assert!(target.is_dir());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
