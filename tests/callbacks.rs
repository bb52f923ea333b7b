//! Keras's callbacks as `train` options, through the binary: `--early-stopping` stops and ends
//! with the best epoch's weights, `--save-best` keeps the best epoch, `--log` grows a CSV row
//! per epoch, and bad settings fail before training.
//!
//! Runs `dense` on small bundled MNIST subsets, so that it stays quick on a software adapter.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::cli::{fails_with, gpu_cnn, stderr_of};
use gpu_cnn::checkpoint;
use safetensors::SafeTensors;
use tempfile::TempDir;

/// A checkpoint's metadata and tensors (name → bytes), in name order: equal for equal runs,
/// though the file's metadata order may differ.
type Contents = (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>);

/// The [`Contents`] of the checkpoint at `path`.
fn contents(path: &Path) -> Contents {
    let bytes = fs::read(path).expect("read checkpoint");
    let (_, header) = SafeTensors::read_metadata(&bytes).expect("safetensors header");
    let metadata = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    let tensors = file
        .iter()
        .map(|(name, view)| (name.to_string(), view.data().to_vec()))
        .collect();
    (metadata, tensors)
}

/// Training on 200 bundled samples (20 validating) with a high learning rate: dense, batch 20.
/// The validation loss stops falling within a few epochs.
const OVERFIT: [&str; 12] = [
    "train",
    "--model",
    "dense",
    "--train-samples",
    "200",
    "--batch-size",
    "20",
    "--learning-rate",
    "0.01",
    "--epochs",
    "30",
    "--verbose=2",
];

/// The number between `prefix` and `suffix` on a line of `output`.
fn number_between(output: &str, prefix: &str, suffix: &str) -> usize {
    output
        .lines()
        .find_map(|line| {
            line.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no line {prefix:?}N{suffix:?} in:\n{output}"))
}

#[test]
fn early_stopping_stops_after_patience_and_saves_the_best_epochs_checkpoint_bit_for_bit() {
    let dir = TempDir::new().unwrap();
    let (best, last, log) = (
        dir.path().join("best.st"),
        dir.path().join("last.st"),
        dir.path().join("log.csv"),
    );
    let output = stderr_of(
        gpu_cnn()
            .args(OVERFIT)
            .args(["--early-stopping", "1", "--save-best"])
            .arg(&best)
            .arg("--save")
            .arg(&last)
            .arg("--log")
            .arg(&log),
    );
    let stopped = number_between(&output, "Epoch ", ": early stopping");
    let restored = number_between(
        &output,
        "Restoring model weights from the end of the best epoch: ",
        ".",
    );
    assert!(stopped < 30, "never stopped early:\n{output}");
    assert_eq!(restored, stopped - 1, "patience 1:\n{output}");
    // The run ends as at its best epoch: --save holds exactly what --save-best saved there.
    assert!(
        contents(&last) == contents(&best),
        "--save differs from --save-best"
    );
    assert_eq!(checkpoint::load(&best).unwrap().epochs_done(), restored);
    // ... and the weights and optimizer state of a run of exactly the best epoch's epochs.
    let short = dir.path().join("short.st");
    let restored_epochs = restored.to_string();
    let mut epochs = OVERFIT;
    let at = OVERFIT.iter().position(|&arg| arg == "--epochs").unwrap() + 1;
    epochs[at] = &restored_epochs;
    gpu_cnn()
        .args(epochs)
        .arg("--save")
        .arg(&short)
        .assert()
        .success();
    assert!(
        contents(&short).1 == contents(&last).1,
        "weights differ from a {restored}-epoch run"
    );
    // The log keeps every epoch trained.
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
    );
    assert_eq!(lines.len(), stopped + 1, "{text}");
    assert!(lines[stopped].starts_with(&format!("{stopped},")), "{text}");
}

#[test]
fn save_best_on_training_loss_keeps_the_last_improving_epoch_and_log_includes_resumed_epochs() {
    let dir = TempDir::new().unwrap();
    let (best, run, log) = (
        dir.path().join("best.st"),
        dir.path().join("run.st"),
        dir.path().join("log.csv"),
    );
    let quick = [
        "train",
        "--model",
        "dense",
        "--train-samples",
        "200",
        "--batch-size",
        "50",
        "--validation-split",
        "0",
    ];
    gpu_cnn()
        .args(quick)
        .args(["--epochs", "1", "--save"])
        .arg(&run)
        .assert()
        .success();
    gpu_cnn()
        .args(["train", "--resume"])
        .arg(&run)
        .args(["--epochs", "3", "--monitor", "loss", "--save-best"])
        .arg(&best)
        .arg("--log")
        .arg(&log)
        .assert()
        .success();
    // The training loss of a small set falls every epoch: the best is the last.
    assert_eq!(checkpoint::load(&best).unwrap().epochs_done(), 3);
    let text = fs::read_to_string(&log).unwrap();
    let epochs: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap())
        .collect();
    assert_eq!(epochs, ["1", "2", "3"], "{text}");
    // No validation split: its cells are empty.
    assert!(text.lines().nth(1).unwrap().contains(",,,"), "{text}");
}

#[test]
fn bad_callback_settings_fail_before_training_naming_the_option() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no/such/dir/log.csv");
    let missing = missing.to_str().unwrap();
    let both = dir.path().join("run.st");
    let both = both.to_str().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--early-stopping", "0"],
            &["--early-stopping", "at least 1"],
        ),
        (
            &["--early-stopping", "2", "--monitor", "foo"],
            &["--monitor", "val_loss"],
        ),
        (
            &["--early-stopping", "2", "--min-delta", "-1"],
            &["--min-delta", "at least 0"],
        ),
        (
            &["--early-stopping", "2", "--validation-split", "0"],
            &["--monitor", "no validation split", "--validation-split"],
        ),
        (&["--log", missing], &["--log", "does not exist"]),
        (
            &["--save", both, "--save-best", both],
            &["--save-best", "the --save file too"],
        ),
    ];
    for (args, needles) in cases {
        fails_with(
            gpu_cnn()
                .args(["train", "--model", "dense", "--train-samples", "100"])
                .args(args),
            needles,
        );
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
