//! Running the binary in tests: the command, its outcomes, and small IDX data directories.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// The four IDX files of a data directory, in the order train images, train labels, test
/// images, test labels.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The `gpu-cnn` binary of this build.
pub fn gpu_cnn() -> Command {
    Command::cargo_bin("gpu-cnn").expect("binary")
}

/// Runs `command`, expects success and returns its stdout.
pub fn stdout_of(command: &mut Command) -> String {
    let output = command.assert().success().get_output().stdout.clone();
    String::from_utf8(output).expect("stdout is UTF-8")
}

/// Runs `command`, expects success and returns its stdout (results) and stderr (diagnostics).
pub fn outputs_of(command: &mut Command) -> (String, String) {
    let output = command.assert().success().get_output().clone();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("output is UTF-8");
    (text(output.stdout), text(output.stderr))
}

/// Runs `command`, expects success and returns its stderr: the diagnostics (device, model,
/// progress, what was saved).
pub fn stderr_of(command: &mut Command) -> String {
    let output = command.assert().success().get_output().stderr.clone();
    String::from_utf8(output).expect("stderr is UTF-8")
}

/// Runs `command`, expects a failure (exit ≠ 0, no panic) whose stderr contains every one of
/// `needles`; returns the stderr.
pub fn fails_with(command: &mut Command, needles: &[&str]) -> String {
    let output = command
        .assert()
        .failure()
        .stderr(predicate::str::contains("panicked").not())
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
    }
    stderr
}

/// An IDX image file of `images` (each `rows × cols` bytes).
pub fn idx_images(images: &[Vec<u8>], rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x0803, images.len() as u32, rows, cols] {
        bytes.extend_from_slice(&u32::to_be_bytes(word));
    }
    for image in images {
        bytes.extend_from_slice(image);
    }
    bytes
}

/// An IDX label file of `labels`.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x0801, labels.len() as u32] {
        bytes.extend_from_slice(&u32::to_be_bytes(word));
    }
    bytes.extend_from_slice(labels);
    bytes
}

/// A data directory of four raw IDX files: `train` training and `test` test images of
/// `rows × cols`, labelled `i % 10`, each a bright band whose row depends on the label.
pub fn data_dir(train: usize, test: usize, rows: usize, cols: usize) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for (files, count) in [(&FILES[..2], train), (&FILES[2..], test)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let images: Vec<Vec<u8>> = labels
            .iter()
            .map(|&label| {
                (0..rows * cols)
                    .map(|i| {
                        if (i / cols) % 10 == usize::from(label) {
                            255
                        } else {
                            0
                        }
                    })
                    .collect()
            })
            .collect();
        let (r, c) = (rows as u32, cols as u32);
        fs::write(dir.path().join(files[0]), idx_images(&images, r, c)).expect("write");
        fs::write(dir.path().join(files[1]), idx_labels(&labels)).expect("write");
    }
    dir
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
