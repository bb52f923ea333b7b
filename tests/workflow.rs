//! The lecture's workflow end to end through the binary: look at the data (`show`), train with
//! a checkpoint and a report, evaluate and predict from the checkpoint, resume a run, compare
//! models; and every bad input on that path failing with a clear message, no panic and no
//! partial output left behind.
//!
//! Kept fast on a software adapter: the `dense` model on 300 bundled MNIST samples, one or two
//! epochs, or a tiny generated IDX directory (64 training and 16 test images of 28×28).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use predicates::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tempfile::TempDir;

mod common;

use common::cli::{fails_with, gpu_cnn, idx_images, idx_labels, outputs_of, stdout_of, FILES};

/// Training settings of the bundled-MNIST runs: `dense` (named, as `train`'s default model
/// may change), 300 samples, batch 64, one line per epoch.
const QUICK: [&str; 8] = [
    "--model",
    "dense",
    "--train-samples",
    "300",
    "--batch-size",
    "64",
    "--verbose",
    "2",
];

/// Every path under `dir`, relative to it, directories included (sorted).
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            let relative = path.strip_prefix(root).expect("under root");
            out.insert(relative.to_string_lossy().into_owned());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts that `dir` holds exactly the entries `expected` (relative paths, recursively).
fn assert_tree(dir: &Path, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(tree(dir), expected, "entries of {}", dir.display());
}

// ---- a tiny data directory ----

/// A 28×28 image of `label`: a bright horizontal band whose row depends on the label, plus a
/// little per-image texture, so that the classes differ.
fn tiny_image(label: u8, n: usize) -> Vec<u8> {
    let band = 2 + 2 * usize::from(label);
    (0..28 * 28)
        .map(|i| {
            let (r, c) = (i / 28, i % 28);
            if r >= band && r < band + 3 && c > 3 && c < 24 {
                255
            } else {
                ((i * 7 + n * 13) % 40) as u8
            }
        })
        .collect()
}

/// A data directory of four raw IDX files: 64 training and 16 test images of 28×28, labelled
/// by `label(i)`.
fn tiny_data(label: impl Fn(usize) -> u8) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for (files, count, offset) in [(&FILES[..2], 64, 0), (&FILES[2..], 16, 1000)] {
        let labels: Vec<u8> = (0..count).map(|i| label(i + offset)).collect();
        let images: Vec<Vec<u8>> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| tiny_image(l, i + offset))
            .collect();
        fs::write(dir.path().join(files[0]), idx_images(&images, 28, 28)).expect("write");
        fs::write(dir.path().join(files[1]), idx_labels(&labels)).expect("write");
    }
    dir
}

/// Trains `dense` for one epoch on `data` and saves it as `path`.
fn train_tiny(data: &Path, path: &Path) {
    gpu_cnn()
        .args([
            "train",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--verbose",
            "0",
        ])
        .args(["--model", "dense"])
        .arg("--data")
        .arg(data)
        .arg("--save")
        .arg(path)
        .assert()
        .success();
}

// ---- parsing what the binary prints and writes ----

/// The Keras `evaluate` line (`10000/10000 - 2.1s - loss: 1.8804 - accuracy: 0.4589`) of
/// `stdout` without its time, which differs from run to run (`10000/10000 - loss: ...`);
/// exactly one is expected.
fn evaluation_line(stdout: &str) -> String {
    let lines: Vec<String> = stdout
        .lines()
        .filter_map(|line| {
            let (count, rest) = line.split_once(" - ")?;
            let (seconds, metrics) = rest.split_once(" - ")?;
            let counted = count
                .split_once('/')
                .is_some_and(|(a, b)| a == b && a.parse::<usize>().is_ok());
            let timed = seconds
                .strip_suffix('s')
                .is_some_and(|s| s.parse::<f64>().is_ok());
            (counted && timed && metrics.starts_with("loss: "))
                .then(|| format!("{count} - {metrics}"))
        })
        .collect();
    assert_eq!(lines.len(), 1, "one evaluation line expected in:\n{stdout}");
    lines[0].clone()
}

/// The `Test accuracy: 0.4589` line of `stdout`.
fn test_accuracy_line(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|line| line.starts_with("Test accuracy: "))
        .unwrap_or_else(|| panic!("no test accuracy in:\n{stdout}"));
    line.to_string()
}

/// One prediction of `predict`: its heading (`test[0] (label 7): predicted 9 (p = 0.1718)`)
/// and its probabilities.
struct Prediction {
    heading: String,
    probabilities: Vec<f64>,
}

/// Every prediction in `predict`'s stdout: a line with `: predicted ` followed by the
/// bracketed probabilities.
fn predictions(stdout: &str) -> Vec<Prediction> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains(": predicted "))
        .map(|(i, heading)| {
            let row = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
            let inner = row
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .unwrap_or_else(|| panic!("no probabilities after {heading:?} in:\n{stdout}"));
            let probabilities = inner
                .split_whitespace()
                .map(|p| {
                    p.parse()
                        .unwrap_or_else(|_| panic!("bad probability {p:?}"))
                })
                .collect();
            Prediction {
                heading: heading.to_string(),
                probabilities,
            }
        })
        .collect()
}

/// Asserts that `prediction` has 10 probabilities in [0, 1] summing to 1 and that the class
/// in its heading is their argmax.
fn assert_distribution(prediction: &Prediction) {
    let p = &prediction.probabilities;
    assert_eq!(p.len(), 10, "{}", prediction.heading);
    assert!(p.iter().all(|&x| (0.0..=1.0).contains(&x)), "{p:?}");
    let sum: f64 = p.iter().sum();
    assert!(
        (sum - 1.0).abs() < 1e-4,
        "probabilities sum to {sum}: {p:?}"
    );
    let best = (0..10)
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .expect("ten classes");
    assert!(
        prediction.heading.contains(&format!(": predicted {best} ")),
        "{} but the argmax is {best}",
        prediction.heading
    );
}

/// The cells of a confusion matrix text (without its Total row and column), row by row.
fn confusion_cells(text: &str) -> Vec<Vec<usize>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(header.first(), Some(&"True\\Pred"), "{text}");
    assert_eq!(header.last(), Some(&"Total"), "{text}");
    let classes = header.len() - 2;
    let mut rows = Vec::new();
    let mut saw_total = false;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.len(), classes + 2, "row {line:?} of:\n{text}");
        if words[0] == "Total" {
            saw_total = true;
            continue;
        }
        let numbers: Vec<usize> = words
            .iter()
            .map(|w| w.parse().unwrap_or_else(|_| panic!("bad cell {w:?}")))
            .collect();
        assert_eq!(numbers[0], rows.len(), "rows in label order:\n{text}");
        let cells = numbers[1..=classes].to_vec();
        assert_eq!(
            cells.iter().sum::<usize>(),
            numbers[classes + 1],
            "row total of {line:?}"
        );
        rows.push(cells);
    }
    assert!(saw_total, "no Total row in:\n{text}");
    assert_eq!(rows.len(), classes, "{text}");
    rows
}

/// Decodes the PNG at `path` and checks that it is not blank: at least `colours` distinct
/// colours. Returns its (width, height).
fn nonblank_png(path: &Path, colours: usize) -> (u32, u32) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()))
        .to_rgb8();
    let (width, height) = image.dimensions();
    assert!(
        width >= 100 && height >= 100,
        "{}: {width}×{height}",
        path.display()
    );
    let distinct: BTreeSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() >= colours,
        "{} has only {} colours",
        path.display(),
        distinct.len()
    );
    (width, height)
}

/// Every tensor of the safetensors file at `path`: name → (dtype, shape, bytes).
fn tensors(path: &Path) -> HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = fs::read(path).expect("read checkpoint");
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    file.iter()
        .map(|(name, view)| {
            let tensor = (view.dtype(), view.shape().to_vec(), view.data().to_vec());
            (name.to_string(), tensor)
        })
        .collect()
}

/// Rewrites the checkpoint `from` as `to` with its metadata changed by `edit`.
fn edit_metadata(from: &Path, to: &Path, edit: impl FnOnce(&mut HashMap<String, String>)) {
    let bytes = fs::read(from).expect("read checkpoint");
    let (_, header) = SafeTensors::read_metadata(&bytes).expect("header");
    let mut metadata = header.metadata().clone().expect("metadata");
    edit(&mut metadata);
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    let views: Vec<(String, TensorView)> = file.tensors();
    let out = safetensors::serialize(views, Some(metadata)).expect("serialize");
    fs::write(to, out).expect("write");
}

/// A black digit 7 drawn on a white 100×100 RGB canvas, saved as a PNG.
fn draw_seven(path: &Path) {
    let mut canvas = image::RgbImage::from_pixel(100, 100, image::Rgb([255, 255, 255]));
    for x in 25..78 {
        for y in 20..29 {
            canvas.put_pixel(x, y, image::Rgb([0, 0, 0]));
        }
    }
    // The stroke from the top right down to the bottom, 9 pixels wide.
    for y in 20..85 {
        let centre = 73 - (y - 20) * 30 / 65;
        for x in centre - 4..centre + 5 {
            canvas.put_pixel(x, y, image::Rgb([0, 0, 0]));
        }
    }
    canvas.save(path).expect("save PNG");
}

// ---- the workflow ----

#[test]
fn show_prints_the_lectures_shapes_and_writes_nonblank_samples_and_histogram() {
    let dir = TempDir::new().unwrap();
    let report = dir.path().join("report");
    let stdout = stdout_of(gpu_cnn().args(["show", "--report"]).arg(&report));
    for line in [
        "Train images shape: (60000, 28, 28)",
        "Train labels shape: (60000,)",
        "Test images shape: (10000, 28, 28)",
        "Test labels shape: (10000,)",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line:?} missing in:\n{stdout}"
        );
    }
    assert_tree(
        dir.path(),
        &[
            "report",
            "report/histogram.png",
            "report/histogram.txt",
            "report/samples.png",
        ],
    );
    // Ten digits with captions in a row: wider than tall.
    let (width, height) = nonblank_png(&report.join("samples.png"), 3);
    assert!(width > height, "samples.png is {width}×{height}");
    nonblank_png(&report.join("histogram.png"), 3);
    let histogram = fs::read_to_string(report.join("histogram.txt")).unwrap();
    let counts: usize = histogram
        .lines()
        .skip(1)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words[1].parse::<usize>().expect("count")
        })
        .sum();
    assert_eq!(counts, 60000, "{histogram}");
    assert!(
        stdout.contains(&histogram),
        "histogram.txt differs from stdout"
    );
}

#[test]
fn train_saves_and_reports_then_evaluate_and_predict_reproduce_it_from_the_checkpoint() {
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    let report = dir.path().join("report");
    let (trained, diagnostics) = outputs_of(
        gpu_cnn()
            .args(["train", "--epochs", "1"])
            .args(QUICK)
            .arg("--save")
            .arg(&checkpoint)
            .arg("--report")
            .arg(&report),
    );
    assert!(
        diagnostics.contains("Model 'dense': 101770 parameters"),
        "{diagnostics}"
    );
    assert!(checkpoint.is_file());

    // The report: 300 samples and one epoch leave plenty of mistakes.
    assert_tree(
        dir.path(),
        &[
            "dense.safetensors",
            "report",
            "report/confusion_matrix.png",
            "report/confusion_matrix.txt",
            "report/history.csv",
            "report/history.png",
            "report/mistakes.png",
        ],
    );
    let matrix_text = fs::read_to_string(report.join("confusion_matrix.txt")).unwrap();
    let cells = confusion_cells(&matrix_text);
    assert_eq!(
        cells.iter().flatten().sum::<usize>(),
        10000,
        "{matrix_text}"
    );
    assert!(trained.contains(&matrix_text), "the matrix is printed too");
    let correct: usize = (0..10).map(|i| cells[i][i]).sum();
    let accuracy = test_accuracy_line(&trained);
    assert_eq!(
        accuracy,
        format!("Test accuracy: {:.4}", correct as f64 / 10000.0),
        "the matrix's diagonal gives the accuracy printed"
    );
    assert_eq!(
        nonblank_png(&report.join("confusion_matrix.png"), 3),
        (800, 600)
    );
    nonblank_png(&report.join("history.png"), 3);
    nonblank_png(&report.join("mistakes.png"), 3);
    let history = fs::read_to_string(report.join("history.csv")).unwrap();
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "a header and one line per epoch:\n{history}"
    );
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
    );
    assert!(lines[1].starts_with("1,"), "{history}");
    assert_eq!(lines[1].split(',').count(), 6, "{history}");

    // evaluate: the same numbers from the checkpoint.
    let evaluated = stdout_of(gpu_cnn().arg("evaluate").arg(&checkpoint));
    let line = evaluation_line(&trained);
    assert!(line.starts_with("10000/10000 - loss: "), "{line}");
    assert_eq!(evaluation_line(&evaluated), line);
    assert_eq!(test_accuracy_line(&evaluated), accuracy);

    // predict by index: three test images, ten probabilities each.
    let predicted = stdout_of(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .args(["--index", "0..3"]),
    );
    let found = predictions(&predicted);
    assert_eq!(found.len(), 3, "{predicted}");
    for (i, prediction) in found.iter().enumerate() {
        assert!(
            prediction
                .heading
                .starts_with(&format!("test[{i}] (label ")),
            "{}",
            prediction.heading
        );
        assert_distribution(prediction);
    }

    // predict a drawing: a black 7 on white, RGB 100×100.
    let drawing = dir.path().join("seven.png");
    draw_seven(&drawing);
    let predicted = stdout_of(gpu_cnn().arg("predict").arg(&checkpoint).arg(&drawing));
    let found = predictions(&predicted);
    assert_eq!(found.len(), 1, "{predicted}");
    assert!(
        found[0].heading.contains("seven.png: predicted "),
        "{predicted}"
    );
    assert_distribution(&found[0]);
}

#[test]
fn resumed_run_matches_an_uninterrupted_one_bit_for_bit() {
    let dir = TempDir::new().unwrap();
    let path = |name: &str| dir.path().join(name);
    let train = |epochs: &str| {
        let mut command = gpu_cnn();
        command
            .args(["train", "--seed", "7", "--epochs", epochs])
            .args(QUICK);
        command
    };
    let straight = stdout_of(train("2").arg("--save").arg(path("a.safetensors")));
    let first = stdout_of(train("1").arg("--save").arg(path("b.safetensors")));
    let (resumed, diagnostics) = outputs_of(
        gpu_cnn()
            .args(["train", "--epochs", "2", "--verbose", "2", "--resume"])
            .arg(path("b.safetensors"))
            .arg("--save")
            .arg(path("c.safetensors"))
            .arg("--report")
            .arg(path("report")),
    );
    assert!(
        diagnostics.contains("Resumed after epoch 1 of 2"),
        "{diagnostics}"
    );
    assert!(
        !diagnostics.contains("Epoch 1/2"),
        "epoch 1 is not run again"
    );
    assert!(diagnostics.contains("Epoch 2/2"), "{diagnostics}");

    let a = tensors(&path("a.safetensors"));
    let c = tensors(&path("c.safetensors"));
    let names: BTreeSet<&String> = a.keys().collect();
    assert_eq!(names, c.keys().collect(), "the same tensors");
    assert!(names.contains(&"dense.kernel".to_string()), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("optimizer/m/")),
        "{names:?}"
    );
    for name in names {
        assert!(a[name] == c[name], "tensor {name} differs after resuming");
    }
    assert!(
        tensors(&path("b.safetensors"))["dense.kernel"] != a["dense.kernel"],
        "the second epoch changes the weights"
    );
    assert_eq!(evaluation_line(&resumed), evaluation_line(&straight));
    assert_eq!(test_accuracy_line(&resumed), test_accuracy_line(&straight));
    assert_ne!(evaluation_line(&first), evaluation_line(&straight));

    // The resumed run's history holds both epochs.
    let history = fs::read_to_string(path("report/history.csv")).unwrap();
    let epochs: Vec<&str> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or_default())
        .collect();
    assert_eq!(epochs, ["1", "2"], "{history}");
}

#[test]
fn checkpoint_every_epoch_leaves_the_save_file_and_no_temporary_files() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("every.safetensors");
    gpu_cnn()
        .args([
            "train",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--verbose",
            "2",
        ])
        .args(["--model", "dense"])
        .args(["--checkpoint-every", "1", "--data"])
        .arg(data.path())
        .arg("--save")
        .arg(&checkpoint)
        .assert()
        .success()
        .stderr(predicate::str::contains("Saved "));
    assert_tree(dir.path(), &["every.safetensors"]);
    let bytes = fs::read(&checkpoint).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().as_ref().expect("metadata");
    assert_eq!(metadata["epochs_done"], "3");
}

#[test]
fn checkpoint_every_without_save_is_rejected_by_the_parser() {
    let dir = TempDir::new().unwrap();
    fails_with(
        gpu_cnn()
            .args(["train", "--epochs", "1", "--checkpoint-every", "1"])
            .current_dir(dir.path()),
        &["--save", "required"],
    );
    assert_tree(dir.path(), &[]);
}

#[test]
fn compare_prints_both_models_with_their_parameter_counts_and_draws_the_chart() {
    let dir = TempDir::new().unwrap();
    let report = dir.path().join("report");
    let stdout = stdout_of(
        gpu_cnn()
            .args(["compare", "dense", "cnn-small", "--epochs", "1"])
            .args([
                "--train-samples",
                "300",
                "--batch-size",
                "64",
                "--verbose",
                "0",
            ])
            .arg("--report")
            .arg(&report),
    );
    let header = stdout
        .lines()
        .position(|line| line.starts_with("model ") && line.contains("params"))
        .unwrap_or_else(|| panic!("no table in:\n{stdout}"));
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(header + 1)
        .take(2)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..2], ["dense", "101,770"], "{stdout}");
    assert_eq!(rows[1][..2], ["cnn-small", "347,146"], "{stdout}");
    let text = fs::read_to_string(report.join("compare.txt")).unwrap();
    assert!(stdout.contains(&text), "compare.txt is the table printed");
    assert_tree(
        dir.path(),
        &["report", "report/compare.png", "report/compare.txt"],
    );
    nonblank_png(&report.join("compare.png"), 3);
}

#[test]
fn perfect_predictions_write_no_mistakes_picture_remove_a_stale_one_and_the_matrix_counts_the_test_set(
) {
    // Every image is a 3: one epoch of Adam learns to answer 3 always.
    let data = tiny_data(|_| 3);
    let dir = TempDir::new().unwrap();
    let report = dir.path().join("report");
    // An earlier run's mistakes must not stay beside this run's report.
    fs::create_dir(&report).unwrap();
    fs::write(report.join("mistakes.png"), b"an earlier run's").unwrap();
    let stdout = stdout_of(
        gpu_cnn()
            .args([
                "train",
                "--epochs",
                "2",
                "--batch-size",
                "4",
                "--verbose",
                "0",
            ])
            .args(["--model", "dense"])
            .arg("--data")
            .arg(data.path())
            .arg("--report")
            .arg(&report),
    );
    let line = evaluation_line(&stdout);
    assert!(line.starts_with("16/16 - loss: "), "16 test images: {line}");
    assert!(line.ends_with(" - accuracy: 1.0000"), "{line}");
    let matrix = confusion_cells(&fs::read_to_string(report.join("confusion_matrix.txt")).unwrap());
    assert_eq!(matrix[3][3], 16);
    assert_eq!(matrix.iter().flatten().sum::<usize>(), 16);
    assert_tree(
        dir.path(),
        &[
            "report",
            "report/confusion_matrix.png",
            "report/confusion_matrix.txt",
            "report/history.csv",
            "report/history.png",
        ],
    );
}

// ---- bad input: a clear error, no panic, nothing left behind ----

/// Runs `evaluate`, `predict` and `train --resume` on the bad checkpoint `bad` (in `dir`,
/// whose other entries are `present`), each with outputs asked for inside `dir`; expects each
/// to fail naming the file and containing `needles`, and `dir` to be unchanged.
fn every_command_rejects_checkpoint(dir: &Path, bad: &Path, present: &[&str], needles: &[&str]) {
    let name = bad.file_name().unwrap().to_str().unwrap();
    let mut needles = needles.to_vec();
    needles.push(name);
    let report = dir.join("report");
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(bad)
            .arg("--report")
            .arg(&report),
        &needles,
    );
    fails_with(gpu_cnn().arg("predict").arg(bad), &needles);
    fails_with(
        gpu_cnn()
            .args(["train", "--epochs", "2", "--resume"])
            .arg(bad)
            .arg("--save")
            .arg(dir.join("out.safetensors"))
            .arg("--report")
            .arg(&report),
        &needles,
    );
    assert_tree(dir, present);
}

#[test]
fn missing_checkpoint_is_reported_by_path() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("nowhere.safetensors");
    every_command_rejects_checkpoint(dir.path(), &bad, &[], &["no such checkpoint file"]);
}

#[test]
fn truncated_or_text_checkpoints_are_reported_as_damaged() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.safetensors");
    train_tiny(data.path(), &good);
    let truncated = dir.path().join("truncated.safetensors");
    fs::write(&truncated, &fs::read(&good).unwrap()[..100]).unwrap();
    let text = dir.path().join("notes.safetensors");
    fs::write(&text, "these are my notes, not a checkpoint\n").unwrap();
    let present = [
        "good.safetensors",
        "notes.safetensors",
        "truncated.safetensors",
    ];
    for bad in [&truncated, &text] {
        every_command_rejects_checkpoint(
            dir.path(),
            bad,
            &present,
            &["not a valid safetensors file", "not a gpu-cnn checkpoint"],
        );
    }
}

#[test]
fn safetensors_file_without_the_format_metadata_is_not_taken_for_a_checkpoint() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("foreign.safetensors");
    let bytes: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F32, vec![2], &bytes).unwrap();
    let file = safetensors::serialize([("weights", view)], None).unwrap();
    fs::write(&bad, file).unwrap();
    every_command_rejects_checkpoint(
        dir.path(),
        &bad,
        &["foreign.safetensors"],
        &["`format`", "missing", "not a gpu-cnn checkpoint"],
    );
}

#[test]
fn checkpoint_whose_tensor_shape_differs_from_its_model_names_the_tensor_and_both_shapes() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.safetensors");
    train_tiny(data.path(), &good);
    // The metadata now says the hidden layer has 64 units; the tensors hold 128.
    let bad = dir.path().join("narrowed.safetensors");
    edit_metadata(&good, &bad, |metadata| {
        let model = metadata.get_mut("model").expect("model metadata");
        assert!(model.contains("units = 128"), "{model}");
        *model = model.replace("units = 128", "units = 64");
    });
    // Evaluate and predict load it against the edited model on the data it was trained on.
    let report = dir.path().join("report");
    let needles = [
        "narrowed.safetensors",
        "dense.kernel",
        "[784, 128]",
        "[784, 64]",
    ];
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(&bad)
            .arg("--data")
            .arg(data.path()),
        &needles,
    );
    fails_with(
        gpu_cnn()
            .arg("predict")
            .arg(&bad)
            .arg("--data")
            .arg(data.path()),
        &needles,
    );
    fails_with(
        gpu_cnn()
            .args(["train", "--epochs", "2", "--resume"])
            .arg(&bad)
            .arg("--data")
            .arg(data.path())
            .arg("--save")
            .arg(dir.path().join("out.safetensors")),
        &needles,
    );
    assert_tree(dir.path(), &["good.safetensors", "narrowed.safetensors"]);
    // With --report the failure still leaves no report file behind.
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(&bad)
            .arg("--data")
            .arg(data.path())
            .arg("--report")
            .arg(&report),
        &needles,
    );
    let left: Vec<String> = tree(dir.path())
        .into_iter()
        .filter(|p| p.starts_with("report/"))
        .collect();
    assert!(left.is_empty(), "files left in the report: {left:?}");
}

#[test]
fn checkpoint_whose_model_metadata_is_another_preset_names_a_missing_tensor() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.safetensors");
    train_tiny(data.path(), &good);
    let bad = dir.path().join("relabelled.safetensors");
    let cnn_small = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/cnn-small.toml"),
    )
    .unwrap();
    edit_metadata(&good, &bad, |metadata| {
        metadata.insert("model".into(), cnn_small);
    });
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(&bad)
            .arg("--data")
            .arg(data.path()),
        &["relabelled.safetensors", "no tensor `conv2d.kernel`"],
    );
    assert_tree(dir.path(), &["good.safetensors", "relabelled.safetensors"]);
}

#[test]
fn resuming_a_dense_checkpoint_as_cnn_small_names_both_models() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("dense.safetensors");
    train_tiny(data.path(), &good);
    fails_with(
        gpu_cnn()
            .args(["train", "--epochs", "2", "--model", "cnn-small", "--resume"])
            .arg(&good)
            .arg("--data")
            .arg(data.path())
            .arg("--save")
            .arg(dir.path().join("out.safetensors"))
            .arg("--report")
            .arg(dir.path().join("report")),
        &["dense.safetensors", "'dense'", "'cnn-small'", "--model"],
    );
    assert_tree(dir.path(), &["dense.safetensors"]);
}

#[test]
fn predict_rejects_a_text_file_named_png_and_a_missing_png_by_name() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    train_tiny(data.path(), &checkpoint);
    let fake = dir.path().join("x.png");
    fs::write(&fake, "a digit, honestly\n").unwrap();
    fails_with(
        gpu_cnn().arg("predict").arg(&checkpoint).arg(&fake),
        &["x.png", "not a readable PNG"],
    );
    fails_with(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .arg(dir.path().join("absent.png")),
        &["absent.png", "no such PNG image file; check the path"],
    );
    assert_tree(dir.path(), &["dense.safetensors", "x.png"]);
}

#[test]
fn predict_rejects_indices_past_the_test_set_and_empty_ranges() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    train_tiny(data.path(), &checkpoint);
    // The bundled test set has 10,000 images.
    fails_with(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .args(["--index", "20000..20002"]),
        &["--index", "20000..20002", "10000"],
    );
    fails_with(
        gpu_cnn()
            .arg("predict")
            .arg(&checkpoint)
            .args(["--index", "5..2"]),
        &["--index", "5..2", "A < B"],
    );
    assert_tree(dir.path(), &["dense.safetensors"]);
}

#[test]
fn report_under_a_regular_file_fails_before_any_work_in_every_command() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    train_tiny(data.path(), &checkpoint);
    let file = dir.path().join("file.txt");
    fs::write(&file, "in the way\n").unwrap();
    let report = file.join("out");
    let needles = ["file.txt/out", "--report"];
    fails_with(gpu_cnn().arg("show").arg("--report").arg(&report), &needles);
    fails_with(
        gpu_cnn()
            .args(["train", "--model", "dense", "--epochs", "1", "--data"])
            .arg(data.path())
            .arg("--save")
            .arg(dir.path().join("new.safetensors"))
            .arg("--report")
            .arg(&report),
        &needles,
    );
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(&checkpoint)
            .arg("--report")
            .arg(&report),
        &needles,
    );
    fails_with(
        gpu_cnn()
            .args(["compare", "dense", "--epochs", "1", "--data"])
            .arg(data.path())
            .arg("--report")
            .arg(&report),
        &needles,
    );
    assert_tree(dir.path(), &["dense.safetensors", "file.txt"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), "in the way\n");
}

/// The rows of a `predict --output` CSV of test images: (index, label, predicted,
/// probabilities), after checking its header.
fn csv_rows(text: &str) -> Vec<(usize, u8, usize, Vec<f32>)> {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("index,label,predicted,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9")
    );
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 13, "{line}");
            let number = |field: &str| -> usize { field.parse().expect("a whole number") };
            let p = fields[3..]
                .iter()
                .map(|p| p.parse().expect("a probability"))
                .collect();
            (
                number(fields[0]),
                number(fields[1]) as u8,
                number(fields[2]),
                p,
            )
        })
        .collect()
}

#[test]
fn predict_all_writes_every_test_image_to_csv_and_npy_agreeing_with_predict_index() {
    let data = tiny_data(|i| (i % 10) as u8);
    let dir = TempDir::new().unwrap();
    let checkpoint = dir.path().join("dense.safetensors");
    train_tiny(data.path(), &checkpoint);
    let predict = || {
        let mut command = gpu_cnn();
        command
            .arg("predict")
            .arg(&checkpoint)
            .arg("--data")
            .arg(data.path());
        command
    };
    let csv = dir.path().join("preds.csv");
    let (stdout, stderr) = outputs_of(predict().arg("--all").arg("--output").arg(&csv));
    assert_eq!(stdout, "", "the predictions went to the file");
    assert!(
        stderr.contains(&format!(
            "Wrote 16 predictions to {} (accuracy ",
            csv.display()
        )),
        "{stderr}"
    );
    let text = fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 16, "{text}");
    let rows = csv_rows(&text);
    for (i, (index, label, predicted, p)) in rows.iter().enumerate() {
        assert_eq!(*index, i);
        assert_eq!(*label, ((1000 + i) % 10) as u8);
        let sum: f64 = p.iter().map(|&x| f64::from(x)).sum();
        assert!((sum - 1.0).abs() < 1e-5, "row {i} sums to {sum}");
        // The first of equal maxima, as numpy's argmax.
        let best = (0..10).reduce(|a, b| if p[b] > p[a] { b } else { a });
        assert_eq!(Some(*predicted), best, "row {i}: {p:?}");
    }
    // The same images by --index print the same probabilities (to the 9 digits printed).
    let printed = predictions(&stdout_of(predict().args(["--index", "3..6"])));
    assert_eq!(printed.len(), 3);
    for (prediction, (index, _, predicted, p)) in printed.iter().zip(&rows[3..6]) {
        assert!(
            prediction.heading.starts_with(&format!(
                "test[{index}] (label {}): predicted {predicted} ",
                rows[*index].1
            )),
            "{}",
            prediction.heading
        );
        for (&shown, &written) in prediction.probabilities.iter().zip(p) {
            let difference = (shown - f64::from(written)).abs();
            assert!(difference < 1e-6, "{shown} printed, {written} written");
        }
    }
    // .npy: the same probabilities, bit for bit, as a float32 [16, 10] array.
    let npy = dir.path().join("preds.npy");
    stdout_of(predict().arg("--all").arg("--output").arg(&npy));
    let bytes = fs::read(&npy).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let data_start = 10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..data_start]).unwrap();
    assert!(header.contains("'shape': (16, 10)"), "{header}");
    let values: Vec<f32> = bytes[data_start..]
        .chunks_exact(4)
        .map(|word| f32::from_le_bytes(word.try_into().unwrap()))
        .collect();
    let written: Vec<f32> = rows.iter().flat_map(|row| row.3.clone()).collect();
    assert_eq!(values, written);
    // IMAGE files: one row each, named by path; never mixed with test images in one file.
    let drawing = dir.path().join("seven.png");
    draw_seven(&drawing);
    let files = dir.path().join("files.csv");
    let (stdout, stderr) = outputs_of(predict().arg(&drawing).arg("--output").arg(&files));
    assert_eq!(stdout, "", "the prediction went to the file");
    assert!(
        stderr.contains(&format!("Wrote 1 predictions to {}\n", files.display())),
        "{stderr}"
    );
    let text = fs::read_to_string(&files).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "path,predicted,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9");
    assert!(
        lines[1].starts_with(&format!("{},", drawing.display())),
        "{text}"
    );
    fails_with(
        predict()
            .arg(&drawing)
            .args(["--index", "0"])
            .arg("--output")
            .arg(dir.path().join("mixed.csv")),
        &["--output", "not both"],
    );
    assert_tree(
        dir.path(),
        &[
            "dense.safetensors",
            "files.csv",
            "preds.csv",
            "preds.npy",
            "seven.png",
        ],
    );
}

#[test]
fn predict_output_to_a_missing_directory_fails_before_any_work_and_all_conflicts_with_index() {
    let dir = TempDir::new().unwrap();
    // No checkpoint is needed: the output is checked first.
    let output = dir.path().join("no/such/preds.csv");
    let mut command = gpu_cnn();
    command
        .arg("predict")
        .arg(dir.path().join("absent.safetensors"))
        .arg("--all")
        .arg("--output")
        .arg(&output);
    fails_with(
        &mut command,
        &["no/such/preds.csv", "--output", "does not exist"],
    );
    command.assert().stdout("");
    let mut conflict = gpu_cnn();
    conflict
        .arg("predict")
        .arg(dir.path().join("absent.safetensors"))
        .args(["--all", "--index", "3"]);
    fails_with(&mut conflict, &["--all", "--index", "cannot be used with"]);
    conflict.assert().code(2);
    assert_tree(dir.path(), &[]);
}
