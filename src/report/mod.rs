//! Reports for people: text tables and PNG pictures of what the lecture shows with matplotlib
//! and seaborn.
//!
//! | module         | text                               | picture                              |
//! |----------------|------------------------------------|--------------------------------------|
//! | [`mod@summary`] | Keras-style model summary          |                                      |
//! | [`confusion`]  | counts, true × predicted, totals   | seaborn "Blues" heatmap, annotated   |
//! | [`history`]    | CSV, one line per epoch            | loss and accuracy curves per epoch   |
//! | [`samples`]    |                                    | a grid of digits with captions       |
//! | [`histogram`]  | count per class with a bar of █    | skyblue bars with black edges        |
//! | [`compare`]    | one aligned row per model          | grouped val / test accuracy bars     |
//!
//! Every function takes plain host data. Pictures are drawn with plotters into PNG files with
//! the bundled DejaVu Sans (no system fonts needed); each file is rendered to a temporary file
//! in its directory and renamed into place, so a failure never leaves a partial picture. The
//! wasm32 build keeps the text tables only (plotters draws no text there): the page draws its
//! pictures on its own canvases.

#[cfg(not(target_arch = "wasm32"))]
mod axis;
#[cfg(not(target_arch = "wasm32"))]
mod canvas;
#[cfg(not(target_arch = "wasm32"))]
mod colormap;
#[cfg(not(target_arch = "wasm32"))]
pub mod compare;
#[cfg(not(target_arch = "wasm32"))]
pub mod confusion;
#[cfg(not(target_arch = "wasm32"))]
mod decor;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod font;
#[cfg(not(target_arch = "wasm32"))]
pub mod histogram;
#[cfg(not(target_arch = "wasm32"))]
pub mod history;
#[cfg(not(target_arch = "wasm32"))]
pub mod samples;
pub mod summary;
#[cfg(not(target_arch = "wasm32"))]
mod text;

use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
pub use compare::CompareRow;
pub use error::ReportError;
#[cfg(not(target_arch = "wasm32"))]
pub use history::HistoryRow;
pub use summary::summary;

/// Makes `dir` ready for reports: creates it (and its parents) when missing, then proves it
/// writable by creating and removing a probe file.
pub fn ensure_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        dir: dir.to_owned(),
        source,
    })?;
    let probe = tempfile::Builder::new()
        .prefix(".gpu-cnn-probe.")
        .tempfile_in(dir)
        .map_err(|source| ReportError::NotWritable {
            dir: dir.to_owned(),
            source,
        })?;
    probe.close().map_err(|source| ReportError::NotWritable {
        dir: dir.to_owned(),
        source,
    })
}

/// Removes the report file `path` where an earlier run left one this run has nothing for (a
/// `mistakes.png` when every test image is right), so a report never mixes two runs.
pub fn remove_stale(path: &Path) -> Result<(), ReportError> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(ReportError::Write {
            path: path.to_owned(),
            source: error,
        }),
        _ => Ok(()),
    }
}

/// Writes a text report (a table, a CSV) to `path` atomically ([`crate::atomic`]): a failure
/// never leaves a partial file.
pub fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    crate::atomic::write(path, text.as_bytes()).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}
