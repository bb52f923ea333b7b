//! Reading a file a user names, with bounds: only a regular file (never a FIFO, a device, a
//! socket or a directory, which could block or never end), and at most a stated number of bytes
//! for each kind of file ([`FileKind::max_bytes`]), so no file can make gpu-cnn read or allocate
//! without end.
//!
//! The file type is checked from the path's metadata before the file is opened (opening a FIFO
//! for reading blocks until a writer comes), and again on the open file. Reads stop one byte past
//! the cap, so a file that grows, or a regular file that lies about its size (`/proc`), is still
//! bounded.

use std::fs::{self, File, FileType};
use std::io::{self, Read, Take};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::data::idx::MAX_BODY_BYTES;
use crate::report::summary::memory;

/// One mebibyte.
const MIB: u64 = 1 << 20;
/// One gibibyte.
const GIB: u64 = 1 << 30;

/// What a file is read as; each kind has its own cap on the bytes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A safetensors checkpoint (`evaluate`, `predict`, `--resume`).
    Checkpoint,
    /// A TOML model file (`--model PATH`).
    ModelFile,
    /// A PNG drawing given to `predict`.
    Png,
    /// An MNIST IDX file, gzipped or raw (`--data DIR`).
    Idx,
    /// A data directory's `classes.txt`.
    ClassNames,
}

impl FileKind {
    /// The most bytes gpu-cnn reads from a file of this kind (the README's "Limits" table):
    /// checkpoints 4 GiB, model files 1 MiB, PNGs 64 MiB, IDX files (as stored) 1 GiB + header,
    /// class names 64 KiB.
    pub const fn max_bytes(self) -> u64 {
        match self {
            Self::Checkpoint => 4 * GIB,
            Self::ModelFile => MIB,
            Self::Png => 64 * MIB,
            // The largest declared body plus the longest header (magic and three dimensions);
            // gzip only ever makes such a file smaller.
            Self::Idx => MAX_BODY_BYTES + 16,
            Self::ClassNames => 64 * 1024,
        }
    }

    /// What the kind is called in messages: `checkpoint`, `model file`, ...
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Checkpoint => "checkpoint",
            Self::ModelFile => "model file",
            Self::Png => "PNG image",
            Self::Idx => "IDX file",
            Self::ClassNames => "class names",
        }
    }
}

/// Why a user-given file was not read; every variant names the file and its kind.
#[derive(Debug, Error)]
pub enum InputFileError {
    /// Nothing is at the path.
    #[error("{}: no such {} file; check the path", .path.display(), .kind.noun())]
    NotFound {
        /// The path given.
        path: PathBuf,
        /// What it was to be read as.
        kind: FileKind,
    },
    /// The path is a directory, FIFO, device or socket.
    #[error(
        "{}: is {found}, not a regular file; gpu-cnn reads a {} only from a regular file \
         (copy the data into one)",
        .path.display(), .kind.noun()
    )]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it was to be read as.
        kind: FileKind,
        /// What it is, e.g. `a FIFO (named pipe)`.
        found: &'static str,
    },
    /// The file is larger than gpu-cnn reads for its kind.
    #[error(
        "{}: is {}{} bytes ({}); gpu-cnn reads a {} of at most {} bytes ({}); is this the right \
         file?",
        .path.display(),
        if *.at_least { "more than " } else { "" },
        .size,
        memory_u64(*.size),
        .kind.noun(),
        .kind.max_bytes(),
        memory_u64(.kind.max_bytes())
    )]
    TooLarge {
        /// The path given.
        path: PathBuf,
        /// What it was to be read as.
        kind: FileKind,
        /// Its size in bytes (as far as it was read when `at_least`).
        size: u64,
        /// True when the size is only known to exceed the cap (the file grew while read).
        at_least: bool,
    },
    /// The file exists but opening or reading it failed.
    #[error(
        "{}: could not read the {}: {source}; check that the file is readable",
        .path.display(), .kind.noun()
    )]
    Read {
        /// The path given.
        path: PathBuf,
        /// What it was to be read as.
        kind: FileKind,
        /// The underlying I/O error.
        source: io::Error,
    },
}

/// [`memory`] for a `u64` byte count.
fn memory_u64(bytes: u64) -> String {
    memory(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// Opens the regular file at `path` for reading as `kind`: refuses anything else before
/// opening it, and a file larger than the kind's cap. The reader returned stops at the cap.
pub fn open(path: &Path, kind: FileKind) -> Result<Take<File>, InputFileError> {
    let read_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => InputFileError::NotFound {
            path: path.to_path_buf(),
            kind,
        },
        _ => InputFileError::Read {
            path: path.to_path_buf(),
            kind,
            source,
        },
    };
    // Follows symbolic links: a link to a regular file is as good as the file.
    check_regular(path, kind, &fs::metadata(path).map_err(read_error)?)?;
    let file = File::open(path).map_err(read_error)?;
    // Again on what was opened, in case the path changed in between.
    let metadata = file.metadata().map_err(read_error)?;
    check_regular(path, kind, &metadata)?;
    if metadata.len() > kind.max_bytes() {
        return Err(InputFileError::TooLarge {
            path: path.to_path_buf(),
            kind,
            size: metadata.len(),
            at_least: false,
        });
    }
    Ok(file.take(kind.max_bytes()))
}

/// Reads the whole regular file at `path` as `kind`, refusing it (with its size) when it holds
/// more than the kind's cap. Memory use is bounded by the file's actual size.
pub fn read(path: &Path, kind: FileKind) -> Result<Vec<u8>, InputFileError> {
    let mut reader = open(path, kind)?;
    // One byte past the cap tells a file that grew since `open` from one exactly at the cap.
    reader.set_limit(kind.max_bytes() + 1);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| InputFileError::Read {
            path: path.to_path_buf(),
            kind,
            source,
        })?;
    if bytes.len() as u64 > kind.max_bytes() {
        return Err(InputFileError::TooLarge {
            path: path.to_path_buf(),
            kind,
            size: bytes.len() as u64,
            at_least: true,
        });
    }
    Ok(bytes)
}

/// Fails unless `metadata` is that of a regular file.
fn check_regular(
    path: &Path,
    kind: FileKind,
    metadata: &fs::Metadata,
) -> Result<(), InputFileError> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(InputFileError::NotRegular {
        path: path.to_path_buf(),
        kind,
        found: describe(file_type),
    })
}

/// What a file that is not regular is, in words.
fn describe(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "neither a file nor a directory"
    }
}
