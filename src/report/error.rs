//! [`ReportError`]: what can go wrong writing a report, naming the file or directory and what to
//! do about it.

use std::io;
use std::path::PathBuf;

/// A report could not be written. Each variant names the file or directory and a remedy.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory does not exist and cannot be created.
    #[error(
        "cannot create {}: {}; choose a --report directory whose parent is a writable directory",
        dir.display(),
        reason(source)
    )]
    CreateDir {
        /// The directory asked for.
        dir: PathBuf,
        /// Why creating it failed.
        source: io::Error,
    },
    /// The report directory exists but a file cannot be created in it.
    #[error(
        "cannot write {}: {}; choose a writable --report directory",
        dir.display(),
        reason(source)
    )]
    NotWritable {
        /// The directory asked for.
        dir: PathBuf,
        /// Why the probe file could not be created or removed.
        source: io::Error,
    },
    /// A picture could not be saved (its temporary file or the rename into place failed).
    #[error(
        "cannot write {}: {}; check that its directory exists, is writable and has free space",
        path.display(),
        reason(source)
    )]
    Write {
        /// The picture's final path.
        path: PathBuf,
        /// Why the write failed.
        source: io::Error,
    },
    /// Plotters failed while drawing or encoding a picture.
    #[error(
        "cannot draw {}: {message}; check that its directory is writable and has free space",
        path.display()
    )]
    Draw {
        /// The picture's final path.
        path: PathBuf,
        /// The plotters error, as text.
        message: String,
    },
    /// The data given cannot make the picture asked for.
    #[error("cannot draw {}: {problem}", path.display())]
    Input {
        /// The picture's final path.
        path: PathBuf,
        /// What is wrong with the data, and what was expected.
        problem: String,
    },
    /// The font compiled into the binary could not be loaded.
    #[error(
        "the bundled font assets/fonts/DejaVuSans.ttf cannot be loaded; rebuild from a clean \
         checkout of gpu-cnn"
    )]
    Font,
}

/// An I/O error's reason in lower case without the OS code: `permission denied`.
fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
