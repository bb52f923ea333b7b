//! The command line on bad input: every mistake a user can make gets a clear message naming
//! what was wrong, a non-zero exit code and no panic.

use std::fs;
use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use flate2::write::GzEncoder;
use flate2::Compression;
use predicates::prelude::*;
use tempfile::TempDir;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn gpu_cnn() -> Command {
    Command::cargo_bin("gpu-cnn").expect("binary")
}

fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x0803, count, rows, cols] {
        bytes.extend_from_slice(&u32::to_be_bytes(word));
    }
    bytes.extend((0..count * rows * cols).map(|i| (i % 251) as u8));
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [0x0801, labels.len() as u32] {
        bytes.extend_from_slice(&u32::to_be_bytes(word));
    }
    bytes.extend_from_slice(labels);
    bytes
}

/// A data directory of four small valid raw IDX files (20 training, 5 test images of 4×4).
fn small_data() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    write(dir.path(), FILES[0], &idx_images(20, 4, 4));
    write(dir.path(), FILES[1], &idx_labels(&labels));
    write(dir.path(), FILES[2], &idx_images(5, 4, 4));
    write(dir.path(), FILES[3], &idx_labels(&labels[..5]));
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Runs `train` on `dir` with extra arguments and expects a failure whose stderr contains
/// every one of `needles`, and no panic.
fn train_fails(dir: &Path, args: &[&str], needles: &[&str]) {
    let mut command = gpu_cnn();
    command
        .args(["train", "--epochs", "1", "--data"])
        .arg(dir)
        .args(args);
    let mut assert = command
        .assert()
        .failure()
        .stderr(predicate::str::contains("panicked").not());
    for needle in needles {
        assert = assert.stderr(predicate::str::contains(*needle));
    }
}

#[test]
fn small_valid_data_directory_trains() {
    let dir = small_data();
    gpu_cnn()
        .args(["train", "--epochs", "1", "--batch-size", "4", "--data"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("Test accuracy: "));
}

#[test]
fn gzipped_and_raw_files_mix_in_one_directory() {
    let dir = small_data();
    let raw = fs::read(dir.path().join(FILES[0])).unwrap();
    fs::remove_file(dir.path().join(FILES[0])).unwrap();
    write(dir.path(), &format!("{}.gz", FILES[0]), &gzip(&raw));
    gpu_cnn()
        .args(["train", "--epochs", "1", "--batch-size", "4", "--data"])
        .arg(dir.path())
        .assert()
        .success();
}

#[test]
fn missing_data_directory_is_reported() {
    let dir = TempDir::new().unwrap();
    train_fails(
        &dir.path().join("nope"),
        &[],
        &["nope", "data directory not found", "--data"],
    );
}

#[test]
fn missing_file_is_reported_by_name() {
    let dir = small_data();
    fs::remove_file(dir.path().join(FILES[3])).unwrap();
    train_fails(dir.path(), &[], &["t10k-labels-idx1-ubyte"]);
}

#[test]
fn wrong_magic_is_reported() {
    let dir = small_data();
    write(dir.path(), FILES[0], &idx_labels(&[1, 2, 3]));
    train_fails(dir.path(), &[], &["train-images-idx3-ubyte", "magic"]);
}

#[test]
fn truncated_file_is_reported() {
    let dir = small_data();
    let bytes = idx_images(20, 4, 4);
    write(dir.path(), FILES[0], &bytes[..bytes.len() - 7]);
    train_fails(dir.path(), &[], &["train-images-idx3-ubyte", "truncated"]);
}

#[test]
fn image_and_label_count_mismatch_is_reported() {
    let dir = small_data();
    write(dir.path(), FILES[1], &idx_labels(&[1; 19]));
    train_fails(dir.path(), &[], &["20", "19"]);
}

#[test]
fn label_out_of_range_is_reported() {
    let dir = small_data();
    let mut labels = vec![1u8; 20];
    labels[13] = 10;
    write(dir.path(), FILES[1], &idx_labels(&labels));
    train_fails(dir.path(), &[], &["train-labels-idx1-ubyte", "10"]);
}

#[test]
fn validation_split_outside_zero_to_one_is_rejected() {
    let dir = small_data();
    train_fails(
        dir.path(),
        &["--validation-split", "1.0"],
        &["--validation-split", "[0, 1)"],
    );
    train_fails(
        dir.path(),
        &["--validation-split", "-0.1"],
        &["--validation-split"],
    );
}

#[test]
fn zero_batch_size_is_rejected() {
    let dir = small_data();
    train_fails(dir.path(), &["--batch-size", "0"], &["--batch-size"]);
}

#[test]
fn more_train_samples_than_the_set_holds_is_rejected() {
    let dir = small_data();
    train_fails(
        dir.path(),
        &["--train-samples", "21"],
        &["--train-samples", "20"],
    );
}

#[test]
fn unknown_device_lists_what_there_is() {
    let dir = small_data();
    train_fails(
        dir.path(),
        &["--device", "no-such-gpu"],
        &["no-such-gpu", "available", "gpu-cnn devices"],
    );
}

#[test]
fn unknown_model_is_rejected_with_the_presets() {
    let dir = small_data();
    train_fails(dir.path(), &["--model", "resnet"], &["resnet", "dense"]);
}

#[test]
fn devices_lists_at_least_one_adapter() {
    gpu_cnn()
        .arg("devices")
        .assert()
        .success()
        .stdout(predicate::str::contains("[0]"))
        .stdout(predicate::str::contains("max storage binding"));
}
