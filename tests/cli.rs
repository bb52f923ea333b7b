//! The command line on bad input: every mistake a user can make gets a clear message naming
//! what was wrong, a non-zero exit code and no panic.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use predicates::prelude::*;
use tempfile::TempDir;

mod common;

use common::cli::{gpu_cnn, idx_labels, FILES};

/// An IDX image file of `count` images of `rows × cols` whose bytes count up modulo 251.
fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let len = (rows * cols) as usize;
    let images: Vec<Vec<u8>> = (0..count as usize)
        .map(|k| (0..len).map(|j| ((k * len + j) % 251) as u8).collect())
        .collect();
    common::cli::idx_images(&images, rows, cols)
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
    if !args.contains(&"--model") {
        // The data here is 4×4 images: only the dense model fits them.
        command.args(["--model", "dense"]);
    }
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
        .args([
            "train",
            "--model",
            "dense",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--data",
        ])
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
        .args([
            "train",
            "--model",
            "dense",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--data",
        ])
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

// ---- models: presets, model files and `summary` ----

/// The lecture's CNN layers (`assets/models/cnn.toml`) with one extra MaxPooling2D(2) at the
/// end: 28 → 26 → 13 → 11 → 5 → 3 → 1, and the fourth pooling layer (index 6) has nothing left.
const TOO_MUCH_POOLING: &str = r#"
name = "too-much-pooling"

[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3
activation = "relu"

[[layers]]
type = "MaxPooling2D"
pool_size = 2

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3
activation = "relu"

[[layers]]
type = "MaxPooling2D"
pool_size = 2

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3
activation = "relu"

[[layers]]
type = "MaxPooling2D"
pool_size = 2

[[layers]]
type = "MaxPooling2D"
pool_size = 2

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 10
activation = "softmax"
"#;

/// A small valid model file: a 3×2 convolution with stride 2 and same padding, average
/// pooling, then the softmax output (shapes 28×28 → 14×14×5 → 7×7×5 → 245 → 10).
const SMALL_CNN: &str = r#"
[[layers]]
type = "Conv2D"
filters = 5
kernel_size = [3, 2]
strides = 2
padding = "same"
activation = "relu"

[[layers]]
type = "AveragePooling2D"
pool_size = 2

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 10
activation = "softmax"
"#;

/// A model file that is Flatten → Dense(10, softmax) plus `extra` appended to the last layer.
fn output_layer_with(extra: &str) -> String {
    format!("[[layers]]\ntype = \"Flatten\"\n\n[[layers]]\ntype = \"Dense\"\n{extra}\n")
}

/// Writes `text` to `name` in a fresh temporary directory; returns the directory (keep it
/// alive) and the file's path.
fn model_file(name: &str, text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join(name);
    fs::write(&path, text).expect("write model file");
    (dir, path)
}

/// Runs `summary --model model` and expects a failure whose stderr contains every one of
/// `needles`, and no panic.
fn summary_fails(model: impl AsRef<OsStr>, needles: &[&str]) {
    let mut assert = gpu_cnn()
        .arg("summary")
        .arg("--model")
        .arg(model)
        .assert()
        .failure()
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("panicked").not());
    for needle in needles {
        assert = assert.stderr(predicate::str::contains(*needle));
    }
}

/// Writes `text` as `bad-model.toml` and expects both `summary` and `train` (on small valid
/// data) to fail naming the file and containing every one of `needles`, with no panic.
fn model_file_fails(text: &str, needles: &[&str]) {
    let (_dir, path) = model_file("bad-model.toml", text);
    let mut needles = needles.to_vec();
    needles.push("bad-model.toml");
    summary_fails(&path, &needles);
    // No adapter is named "no-such-gpu": had train opened the GPU before reading the model, it
    // would fail with the device error, which does not name the model file.
    let model = path.to_str().expect("temporary paths are UTF-8");
    let data = small_data();
    train_fails(
        data.path(),
        &["--model", model, "--device", "no-such-gpu"],
        &needles,
    );
}

#[test]
fn summary_of_the_cnn_preset_prints_kerass_shapes_and_93322_params() {
    let output = gpu_cnn()
        .args(["summary", "--model", "cnn"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("utf-8");
    let shapes = [
        "(None, 26, 26, 32)",
        "(None, 13, 13, 32)",
        "(None, 11, 11, 64)",
        "(None, 5, 5, 64)",
        "(None, 3, 3, 64)",
        "(None, 576)",
        "(None, 64)",
        "(None, 10)",
    ];
    let mut from = 0;
    for shape in shapes {
        let at = text[from..]
            .find(shape)
            .unwrap_or_else(|| panic!("{shape} missing or out of order in:\n{text}"));
        from += at + shape.len();
    }
    assert!(text.starts_with("Model: \"cnn\""), "{text}");
    assert!(text.contains("Total params: 93,322"), "{text}");
}

#[test]
fn summary_of_a_model_file_names_it_after_the_file_and_resolves_its_shapes() {
    let (_dir, path) = model_file("small-cnn.toml", SMALL_CNN);
    gpu_cnn()
        .arg("summary")
        .arg("--model")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("Model: \"small-cnn\""))
        .stdout(predicate::str::contains("conv2d (Conv2D)"))
        .stdout(predicate::str::contains("(None, 14, 14, 5)"))
        .stdout(predicate::str::contains(
            "average_pooling2d (AveragePooling2D)",
        ))
        .stdout(predicate::str::contains("(None, 7, 7, 5)"))
        .stdout(predicate::str::contains("(None, 245)"))
        // conv 3·2·1·5 + 5 = 35, dense 245·10 + 10 = 2,460
        .stdout(predicate::str::contains("Total params: 2,495"));
}

#[test]
fn train_accepts_a_model_file_path() {
    // The small data's images are 4×4: the file says so.
    let text = output_layer_with("units = 10\nactivation = \"softmax\"");
    let (_dir, path) = model_file("flat.toml", &format!("input = [4, 4, 1]\n{text}"));
    let data = small_data();
    gpu_cnn()
        .args(["train", "--epochs", "1", "--batch-size", "4", "--data"])
        .arg(data.path())
        .arg("--model")
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains("Model 'flat'"))
        .stdout(predicate::str::contains("Test accuracy: "));
}

#[test]
fn collapsing_model_names_the_layer_its_shape_and_the_hints() {
    model_file_fails(
        TOO_MUCH_POOLING,
        &[
            "layer 6 (max_pooling2d_3)",
            "collapses",
            "(1, 1, 64)",
            "fewer pooling layers",
            "smaller pool size",
            "padding = \"same\"",
        ],
    );
}

#[test]
fn model_file_with_a_toml_syntax_error_gives_line_and_column() {
    model_file_fails("name = \"x\"\n[[layers]\n", &["line 2", "column"]);
}

#[test]
fn model_file_with_an_unknown_layer_type_lists_the_types() {
    model_file_fails(
        "[[layers]]\ntype = \"Conv3D\"\nfilters = 4\n",
        &[
            "Conv3D",
            "Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense",
        ],
    );
}

#[test]
fn model_file_with_an_unknown_field_names_it() {
    model_file_fails(
        &output_layer_with("units = 10\nactivation = \"softmax\"\ndropout = 0.5"),
        &["unknown field", "dropout"],
    );
}

#[test]
fn model_file_with_a_negative_size_is_rejected() {
    model_file_fails(
        "[[layers]]\ntype = \"Conv2D\"\nfilters = 4\nkernel_size = [3, -2]\n",
        &["invalid size", "whole number >= 1"],
    );
    model_file_fails(
        &output_layer_with("units = -10\nactivation = \"softmax\""),
        &["-10"],
    );
}

#[test]
fn model_file_with_a_zero_size_names_the_layer_and_field() {
    let text = format!(
        "[[layers]]\ntype = \"MaxPooling2D\"\npool_size = [2, 0]\n\n{}",
        output_layer_with("units = 10\nactivation = \"softmax\"")
    );
    model_file_fails(
        &text,
        &["layer 0 (max_pooling2d)", "pool_size", "at least 1"],
    );
}

#[test]
fn model_file_with_dense_before_flatten_asks_for_flatten() {
    model_file_fails(
        "[[layers]]\ntype = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n",
        &["layer 0 (dense)", "(28, 28, 1)", "Flatten"],
    );
}

#[test]
fn model_file_whose_last_dense_has_7_units_asks_for_10() {
    model_file_fails(
        &output_layer_with("units = 7\nactivation = \"softmax\""),
        &["7 units", "10 classes", "units = 10"],
    );
}

#[test]
fn unknown_model_name_lists_every_preset_in_train_and_summary() {
    let presets = gpu_cnn::model::presets::NAMES.join(", ");
    summary_fails("lenet", &["'lenet'", &presets, ".toml"]);
    let data = small_data();
    train_fails(data.path(), &["--model", "lenet"], &["'lenet'", &presets]);
}

#[test]
fn bench_rejects_bad_models_batches_and_sample_counts_before_opening_a_device() {
    for (args, words) in [
        (
            vec!["--model", "cnn@0"],
            vec!["--model", "cnn@0", "NAME@BATCH"],
        ),
        (vec!["--model", "cnn@many"], vec!["--model", "cnn@many"]),
        (vec!["--model", "lenet@64"], vec!["'lenet'", "presets"]),
        (
            vec!["--samples", "0"],
            vec!["--samples", "at least one batch"],
        ),
    ] {
        let output = gpu_cnn()
            .arg("bench")
            .args(&args)
            .args(["--device", "no-such-adapter"])
            .output()
            .expect("run");
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for word in words {
            assert!(stderr.contains(word), "{args:?}: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bench_json_reports_the_measured_figures_of_each_model() {
    let output = gpu_cnn()
        .args(["bench", "--model", "dense@16", "--samples", "64", "--json"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{:?}", output);
    let reports: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document: {e}"));
    let report = &reports[0];
    assert_eq!(report["model"], "dense");
    assert_eq!(report["batch_size"], 16);
    assert_eq!(report["samples"], 64);
    // gather, the first Dense forward, the loss with the head (the last Dense forward and
    // backward), the first Dense's weight gradient (giving its bias gradient too; its input
    // needs none), Adam.
    assert_eq!(report["dispatches_per_step"], 5);
    for key in [
        "train_samples_per_second",
        "seconds_per_lecture_epoch",
        "inference_images_per_second",
        "setup_seconds",
    ] {
        let value = report[key].as_f64().unwrap_or(f64::NAN);
        assert!(value.is_finite() && value > 0.0, "{key} = {value}");
    }
    let kernels = report["kernels"].as_array().expect("kernels");
    assert_eq!(kernels.len(), 5);
    assert!(kernels.iter().any(|k| k["label"] == "dense.forward"));
    assert!(kernels
        .iter()
        .all(|k| k["ms"].as_f64().is_some_and(|ms| ms >= 0.0)));
}

#[test]
fn unknown_optimizer_is_rejected_with_the_four() {
    let dir = small_data();
    train_fails(
        dir.path(),
        &["--optimizer", "nadam"],
        &["--optimizer", "nadam", "adam", "sgd", "rmsprop", "adamw"],
    );
}

#[test]
fn optimizer_settings_out_of_range_are_rejected() {
    let dir = small_data();
    for (args, needles) in [
        (
            &["--learning-rate", "-0.1"][..],
            &["--learning-rate -0.1", "positive"][..],
        ),
        (
            &["--optimizer", "sgd", "--momentum", "1.5"],
            &["--momentum 1.5", "[0, 1]"],
        ),
        (
            &["--optimizer", "rmsprop", "--momentum", "-0.5"],
            &["--momentum -0.5", "[0, 1]"],
        ),
        (
            &["--optimizer", "rmsprop", "--rho", "1"],
            &["--rho 1", "[0, 1)"],
        ),
        (
            &["--optimizer", "adamw", "--weight-decay", "-0.004"],
            &["--weight-decay -0.004", "non-negative"],
        ),
        (&["--beta-1", "1"], &["--beta-1 1", "[0, 1)"]),
        (
            &["--optimizer", "adamw", "--beta-2", "-0.1"],
            &["--beta-2 -0.1", "[0, 1)"],
        ),
        (&["--epsilon", "0"], &["--epsilon 0", "positive"]),
        (&["--epsilon", "tiny"], &["--epsilon", "tiny"]),
        (&["--nesterov=yes"], &["--nesterov"]),
    ] {
        train_fails(dir.path(), args, needles);
    }
}

#[test]
fn optimizer_setting_of_another_optimizer_names_those_that_take_it() {
    let dir = small_data();
    for (args, needles) in [
        (
            &["--nesterov"][..],
            &["--nesterov applies to sgd only", "the optimizer is adam"][..],
        ),
        (
            &["--momentum", "0.9"],
            &["--momentum applies to sgd, rmsprop only"],
        ),
        (
            &["--optimizer", "adam", "--rho", "0.9"],
            &["--rho applies to rmsprop only"],
        ),
        (
            &["--weight-decay", "0.01"],
            &["--weight-decay applies to adamw only"],
        ),
        (
            &["--optimizer", "sgd", "--beta-1", "0.9"],
            &["--beta-1 applies to adam, adamw only", "is sgd"],
        ),
        (
            &["--optimizer", "rmsprop", "--beta-2", "0.9"],
            &["--beta-2 applies to adam, adamw only"],
        ),
        (
            &["--optimizer", "sgd", "--epsilon", "1e-7"],
            &["--epsilon applies to adam, rmsprop, adamw only"],
        ),
    ] {
        train_fails(dir.path(), args, needles);
    }
}
