//! Predictions written to a file for other tools (pandas, numpy): every sample's class
//! probabilities, as CSV or as a numpy `.npy` array, written whole or not at all
//! ([`crate::atomic`]).
//!
//! - CSV: a header, then one row per sample: `index,label,predicted,p0,...,p{classes-1}` for
//!   test-set images, `path,predicted,p0,...` for image files. Probabilities are printed with
//!   `{:e}`, the shortest text that parses back to the same `f32`.
//! - NPY (a path ending in `.npy`): format version 1.0, a little-endian `float32` array of
//!   shape `[samples, classes]` in C order, the header padded to 64 bytes as numpy writes it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::{self, Claim, ClaimError};
use crate::evaluate::argmax;

/// Why a predictions file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The path cannot take the file, found before any prediction.
    #[error(
        "{}: cannot write predictions there: {source}; give another --output path",
        .path.display()
    )]
    Claim {
        /// The file asked for.
        path: PathBuf,
        /// Why not.
        source: ClaimError,
    },
    /// Writing the file failed (nothing was left at the path).
    #[error(
        "{}: could not write predictions: {source}; check that the directory is writable and \
         has space", .path.display()
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
}

/// What the rows of a predictions file are.
#[derive(Clone, Copy, Debug)]
pub enum Samples<'a> {
    /// Test-set images from position `first` on, one per label.
    Test {
        /// Test-set position of the first row.
        first: usize,
        /// The label of each row.
        labels: &'a [u8],
    },
    /// Image files, one per path.
    Files(&'a [PathBuf]),
}

/// Claims `path` for the predictions file ([`atomic::claim`]): its directory exists and can
/// be written, no other run writes it; before any data loads or device opens.
pub fn claim(path: &Path) -> Result<Claim, ExportError> {
    atomic::claim(path).map_err(|source| ExportError::Claim {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `probabilities` (`[samples, classes]` row-major) of `samples` to the claimed file:
/// `.npy` when its name ends so, else CSV (see the module documentation).
pub fn write(
    claim: &Claim,
    samples: Samples,
    probabilities: &[f32],
    classes: usize,
) -> Result<(), ExportError> {
    let is_npy = claim
        .path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("npy"));
    let bytes = if is_npy {
        npy(probabilities, classes)
    } else {
        csv(samples, probabilities, classes).into_bytes()
    };
    atomic::write(&claim.path, &bytes).map_err(|source| ExportError::Write {
        path: claim.path.clone(),
        source,
    })
}

/// The CSV text of `probabilities` (`[samples, classes]`) of `samples`.
pub fn csv(samples: Samples, probabilities: &[f32], classes: usize) -> String {
    let mut text = match samples {
        Samples::Test { .. } => "index,label,predicted".to_string(),
        Samples::Files(_) => "path,predicted".to_string(),
    };
    for class in 0..classes {
        let _ = write!(text, ",p{class}");
    }
    text.push('\n');
    for (row, p) in probabilities.chunks(classes).enumerate() {
        match samples {
            Samples::Test { first, labels } => {
                let _ = write!(text, "{},{}", first + row, labels[row]);
            }
            Samples::Files(paths) => text.push_str(&csv_field(&paths[row].to_string_lossy())),
        }
        let _ = write!(text, ",{}", argmax(p));
        for value in p {
            let _ = write!(text, ",{value:e}");
        }
        text.push('\n');
    }
    text
}

/// `field` as one CSV field: quoted, with its quotes doubled, when it holds a comma, a quote or
/// a line break (RFC 4180).
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The NPY 1.0 bytes of `probabilities` as a `float32` array `[samples, classes]`.
pub fn npy(probabilities: &[f32], classes: usize) -> Vec<u8> {
    let samples = probabilities.len() / classes;
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({samples}, {classes}), }}");
    // Magic (6 bytes), version (2), header length (2), then the header ending in a newline,
    // padded with spaces so that the data starts on a multiple of 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let header_len = u16::try_from(header.len()).expect("an NPY header of two numbers is short");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in probabilities {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows of three classes, with values that need all of an f32's digits.
    const PROBABILITIES: [f32; 6] = [0.1, 0.7, 0.2, 1.0e-30, 0.333_333_34, 0.666_666_6];

    #[test]
    fn csv_rows_name_test_positions_and_labels_and_round_trip_every_probability() {
        let text = csv(
            Samples::Test {
                first: 5,
                labels: &[1, 2],
            },
            &PROBABILITIES,
            3,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "index,label,predicted,p0,p1,p2");
        assert_eq!(lines.len(), 3);
        for (row, line) in lines[1..].iter().enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields[0], (5 + row).to_string());
            assert_eq!(fields[1], (1 + row).to_string());
            assert_eq!(fields[2], ["1", "2"][row], "{line}");
            let parsed: Vec<f32> = fields[3..].iter().map(|p| p.parse().unwrap()).collect();
            assert_eq!(parsed, PROBABILITIES[row * 3..row * 3 + 3], "{line}");
        }
    }

    #[test]
    fn csv_rows_of_files_quote_paths_with_commas_and_quotes() {
        let paths = [PathBuf::from("a.png"), PathBuf::from("my \"best\", 7.png")];
        let text = csv(Samples::Files(&paths), &PROBABILITIES, 3);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "path,predicted,p0,p1,p2");
        assert!(lines[1].starts_with("a.png,1,"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("\"my \"\"best\"\", 7.png\",2,"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn npy_parses_back_as_a_version_1_float32_array_of_samples_by_classes() {
        let bytes = npy(&PROBABILITIES, 3);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        let data_start = 10 + header_len;
        assert_eq!(data_start % 64, 0, "data aligned as numpy writes it");
        let header = std::str::from_utf8(&bytes[10..data_start]).unwrap();
        assert!(header.ends_with('\n'), "{header:?}");
        assert_eq!(
            header.trim_end(),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        );
        let data: Vec<f32> = bytes[data_start..]
            .chunks_exact(4)
            .map(|word| f32::from_le_bytes(word.try_into().unwrap()))
            .collect();
        assert_eq!(data, PROBABILITIES);
    }
}
