//! Output a script can read: results on stdout, diagnostics (device, model, progress, what was
//! saved) on stderr, `--verbose 0` for the result alone and `--json` for one JSON document of
//! the figures, through the binary.
//!
//! Runs `dense` on small bundled MNIST subsets, so that it stays quick on a software adapter.

mod common;

use std::path::Path;

use common::cli::{fails_with, gpu_cnn, outputs_of};
use serde_json::Value;
use tempfile::TempDir;

/// Training `dense` for one epoch on 2,000 bundled samples.
const QUICK: [&str; 7] = [
    "train",
    "--model",
    "dense",
    "--epochs",
    "1",
    "--train-samples",
    "2000",
];

/// The diagnostics a training run writes, each the start of a line.
const DIAGNOSTICS: [&str; 4] = ["Device: ", "Model 'dense'", "Epoch 1/1", "Saved "];

/// `text` parsed as exactly one JSON document (trailing whitespace aside).
fn one_document(text: &str) -> Value {
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = documents
        .next()
        .unwrap_or_else(|| panic!("no JSON document on stdout:\n{text}"))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{text}"));
    assert!(
        documents.next().is_none(),
        "more than one document:\n{text}"
    );
    first
}

/// A number of `value` at `pointer` (`/test/accuracy`).
fn number(value: &Value, pointer: &str) -> f64 {
    value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {value}"))
}

/// Trains the quick run, saving to `checkpoint`, with `extra` options; returns stdout, stderr.
fn train(checkpoint: &Path, extra: &[&str]) -> (String, String) {
    outputs_of(
        gpu_cnn()
            .args(QUICK)
            .args(extra)
            .arg("--save")
            .arg(checkpoint),
    )
}

#[test]
fn train_json_verbose_0_prints_one_json_document_and_nothing_else() {
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    let (stdout, stderr) = train(&checkpoint, &["--json", "--verbose", "0"]);
    let result = one_document(&stdout);
    for diagnostic in DIAGNOSTICS {
        assert!(
            !stderr.contains(diagnostic),
            "--verbose 0 said {diagnostic:?}:\n{stderr}"
        );
    }
    assert_eq!(result["model"], "dense");
    assert_eq!(result["parameters"], 101_770);
    assert_eq!(result["train_samples"], 1800);
    assert_eq!(result["validation_samples"], 200);
    assert_eq!(result["config"]["batch_size"], 32);
    assert_eq!(result["saved"], checkpoint.to_str().unwrap());
    let history = result["history"].as_array().expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["epoch"], 1);
    assert_eq!(history[0]["steps"], 57, "1800 samples in batches of 32");
    assert_eq!(result["test"]["samples"], 10_000);
    let accuracy = number(&result, "/test/accuracy");
    assert!((0.5..=1.0).contains(&accuracy), "{result}");
    assert!(number(&result, "/test/loss") > 0.0);
    assert!(number(&result, "/test/seconds") > 0.0);
    assert!(result["stopped"].is_null());

    // evaluate --json reads the same test figures back from the checkpoint.
    let (stdout, _) =
        outputs_of(
            gpu_cnn()
                .arg("evaluate")
                .arg(&checkpoint)
                .args(["--json", "--verbose", "0"]),
        );
    let evaluated = one_document(&stdout);
    assert_eq!(evaluated["model"], "dense");
    assert_eq!(evaluated["test"]["samples"], 10_000);
    assert_eq!(number(&evaluated, "/test/accuracy"), accuracy);
    assert_eq!(
        number(&evaluated, "/test/loss"),
        number(&result, "/test/loss")
    );
}

#[test]
fn diagnostics_go_to_stderr_and_results_to_stdout() {
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    let (stdout, stderr) = train(&checkpoint, &["--verbose", "2"]);
    for diagnostic in DIAGNOSTICS {
        assert!(
            stderr.lines().any(|line| line.starts_with(diagnostic)),
            "stderr lacks {diagnostic:?}:\n{stderr}"
        );
        assert!(
            !stdout.contains(diagnostic),
            "stdout has {diagnostic:?}:\n{stdout}"
        );
    }
    // stdout: the timed Keras test line, a blank line and the accuracy; nothing else.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let (count, rest) = lines[0].split_once(" - ").expect("test line");
    assert_eq!(count, "10000/10000", "{stdout}");
    let (seconds, metrics) = rest.split_once(" - ").expect("timed test line");
    let seconds: f64 = seconds.strip_suffix('s').unwrap().parse().unwrap();
    assert!(seconds > 0.0, "{stdout}");
    assert!(metrics.starts_with("loss: "), "{stdout}");
    assert!(lines[2].starts_with("Test accuracy: "), "{stdout}");

    // With --json the same diagnostics still go to stderr; stdout holds the document.
    let (stdout, stderr) = train(&checkpoint, &["--json", "--verbose", "2"]);
    one_document(&stdout);
    assert!(stderr.contains("Epoch 1/1"), "{stderr}");
}

#[test]
fn a_run_of_several_epochs_says_its_expected_training_time() {
    let (_, stderr) = outputs_of(gpu_cnn().args([
        "train",
        "--model",
        "dense",
        "--epochs",
        "2",
        "--train-samples",
        "3000",
        "--verbose",
        "2",
    ]));
    let line = stderr
        .lines()
        .find(|line| line.starts_with("Expected training time: about "))
        .unwrap_or_else(|| panic!("no expected time:\n{stderr}"));
    // 2700 training samples in batches of 32: 85 steps an epoch.
    assert!(line.contains("(170 steps at "), "{line}");
    let said = stderr.find(line).unwrap();
    let second_epoch = stderr.find("Epoch 2/2").unwrap();
    assert!(
        said < second_epoch,
        "said during the first epoch:\n{stderr}"
    );
}

#[test]
fn predict_and_devices_print_json_documents() {
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    train(&checkpoint, &["--verbose", "0"]);
    let (stdout, stderr) = outputs_of(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .args(["--index", "3..7", "--json"]),
    );
    assert!(stderr.contains("Device: "), "{stderr}");
    let result = one_document(&stdout);
    let predictions = result["predictions"].as_array().expect("predictions");
    assert_eq!(predictions.len(), 4);
    // The first test labels of MNIST are 7 2 1 0 4 1 4 9.
    for (prediction, (index, label)) in predictions.iter().zip([(3, 0), (4, 4), (5, 1), (6, 4)]) {
        assert_eq!(prediction["test_index"], index);
        assert_eq!(prediction["label"], label);
        let p: Vec<f64> = prediction["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect();
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
        let best = (0..10).reduce(|a, b| if p[b] > p[a] { b } else { a });
        assert_eq!(prediction["predicted"], best.unwrap());
    }
    let accuracy = number(&result, "/accuracy");
    assert!((0.0..=1.0).contains(&accuracy));

    let (stdout, _) = outputs_of(gpu_cnn().args(["devices", "--json"]));
    let adapters = one_document(&stdout);
    let adapters = adapters.as_array().expect("a list of adapters");
    assert!(!adapters.is_empty());
    for (i, adapter) in adapters.iter().enumerate() {
        assert_eq!(adapter["index"], i);
        assert!(adapter["name"]
            .as_str()
            .is_some_and(|name| !name.is_empty()));
        assert!(number(adapter, "/max_storage_buffer_binding_size") > 0.0);
    }
}

#[test]
fn a_bad_verbosity_is_refused_before_any_work() {
    let dir = TempDir::new().unwrap();
    for command in [
        &["train"][..],
        &["evaluate", "x.safetensors"],
        &["predict", "x.safetensors"],
    ] {
        fails_with(
            gpu_cnn()
                .args(command)
                .args(["--verbose", "3"])
                .current_dir(dir.path()),
            &[
                "invalid value '3' for '--verbose",
                "possible values: 0, 1, 2",
            ],
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
