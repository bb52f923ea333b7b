//! Class names through the binary: a data directory's `classes.txt` names the classes in the
//! reports, in `predict`'s lines and JSON and in `show`; a file that does not fit the model is
//! refused before any work.

mod common;

use std::fs;
use std::path::Path;

use common::cli::{data_dir, fails_with, gpu_cnn, names_in, outputs_of, stdout_of};
use tempfile::TempDir;

/// Ten class names, label 0 first.
const NAMES: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// Writes `names` as the `classes.txt` of `dir`, one a line.
fn write_classes(dir: &Path, names: &[&str]) {
    fs::write(dir.join("classes.txt"), names.join("\n") + "\n").unwrap();
}

/// Trains `dense` for one epoch on the data in `data`, saving to `checkpoint` and reporting
/// to `report`.
fn train(data: &Path, checkpoint: &Path, report: &Path) {
    gpu_cnn()
        .args([
            "train",
            "--model",
            "dense",
            "--epochs",
            "1",
            "--batch-size",
            "8",
        ])
        .arg("--data")
        .arg(data)
        .arg("--save")
        .arg(checkpoint)
        .arg("--report")
        .arg(report)
        .assert()
        .success();
}

#[test]
fn classes_txt_names_the_classes_in_reports_predictions_and_show() {
    let data = data_dir(80, 20, 12, 12);
    write_classes(data.path(), &NAMES);
    let out = TempDir::new().unwrap();
    let (checkpoint, report) = (out.path().join("run.st"), out.path().join("report"));
    train(data.path(), &checkpoint, &report);
    let matrix = fs::read_to_string(report.join("confusion_matrix.txt")).unwrap();
    assert!(
        matrix.ends_with("Classes: 0 (zero), 1 (one), 2 (two), 3 (three), 4 (four), 5 (five), 6 (six), 7 (seven), 8 (eight), 9 (nine)\n"),
        "{matrix}"
    );

    let predict = || {
        let mut command = gpu_cnn();
        command
            .arg("predict")
            .arg(&checkpoint)
            .arg("--data")
            .arg(data.path());
        command
    };
    // Test image 3 is labelled 3 (the data's labels are i % 10).
    let printed = stdout_of(predict().args(["--index", "3"]));
    let heading = printed.lines().next().unwrap();
    let (truth, predicted) = heading.split_once(": predicted ").expect("a prediction");
    assert_eq!(truth, "test[3] (label 3 three)", "{printed}");
    let (class, name) = predicted.split_once(' ').expect("class and name");
    let class: usize = class.parse().unwrap();
    assert!(
        name.starts_with(&format!("{} (p = ", NAMES[class])),
        "{printed}"
    );

    let (json, _) = outputs_of(predict().args(["--index", "3..5", "--json"]));
    let result: serde_json::Value = serde_json::from_str(&json).unwrap();
    for prediction in result["predictions"].as_array().unwrap() {
        let label = prediction["label"].as_u64().unwrap() as usize;
        let predicted = prediction["predicted"].as_u64().unwrap() as usize;
        assert_eq!(prediction["label_name"], NAMES[label]);
        assert_eq!(prediction["predicted_name"], NAMES[predicted]);
    }

    let shown = stdout_of(gpu_cnn().arg("show").arg("--data").arg(data.path()));
    let dir_name = data.path().file_name().unwrap().to_string_lossy();
    assert!(
        shown.contains(&format!("Classes of {dir_name}: 0 (zero), 1 (one), ")),
        "{shown}"
    );
}

#[test]
fn the_bundled_mnist_keeps_its_digits() {
    let out = TempDir::new().unwrap();
    let checkpoint = out.path().join("run.st");
    gpu_cnn()
        .args([
            "train",
            "--model",
            "dense",
            "--epochs",
            "1",
            "--train-samples",
            "500",
        ])
        .args(["--verbose", "0", "--save"])
        .arg(&checkpoint)
        .assert()
        .success();
    let (json, _) = outputs_of(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .args(["--index", "0", "--json"]),
    );
    let result: serde_json::Value = serde_json::from_str(&json).unwrap();
    let prediction = &result["predictions"][0];
    assert_eq!(prediction["label"], 7);
    assert!(prediction.get("label_name").is_none(), "{prediction}");
    assert!(prediction.get("predicted_name").is_none(), "{prediction}");
}

#[test]
fn a_classes_file_that_does_not_fit_is_refused_before_any_work() {
    let data = data_dir(40, 10, 12, 12);
    let out = TempDir::new().unwrap();
    write_classes(data.path(), &NAMES[..9]);
    let run = out.path().join("run.st");
    fails_with(
        gpu_cnn()
            .args(["train", "--model", "dense", "--epochs", "1", "--data"])
            .arg(data.path())
            .arg("--save")
            .arg(&run),
        &["classes.txt", "names 9 classes but the model has 10"],
    );
    assert_eq!(
        names_in(out.path()),
        Vec::<String>::new(),
        "nothing was saved"
    );

    fs::write(data.path().join("classes.txt"), "zero\n\ntwo\n").unwrap();
    fails_with(
        gpu_cnn().args(["show", "--data"]).arg(data.path()),
        &["classes.txt, line 2: the name of label 1 is empty"],
    );
}
