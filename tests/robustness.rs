//! Nothing a user does loses their run or crashes the program, through the binary: Ctrl-C and
//! `kill -9` mid-run, divergence, closed and full outputs, and inputs that do not fit each
//! other, each checked before any training.
//!
//! Runs `dense` on bundled MNIST subsets or small generated data directories, so that it stays
//! quick on a software adapter.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use common::cli::{data_dir, fails_with, gpu_cnn, names_in, stderr_of, stdout_of};
use gpu_cnn::checkpoint;
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::model::network::{slab_layout, state_layout};
use predicates::prelude::*;
use rand::{Rng, SeedableRng};
use safetensors::SafeTensors;
use tempfile::TempDir;

/// Every tensor of the checkpoint at `path`: name → bytes.
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = fs::read(path).expect("read checkpoint");
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    file.iter()
        .map(|(name, view)| (name.to_string(), view.data().to_vec()))
        .collect()
}

/// The training history of the checkpoint at `path`, seconds left out (they differ run to
/// run): (epoch, steps, loss, accuracy, validation) of each epoch.
fn history_without_seconds(path: &Path) -> Vec<String> {
    let raw = checkpoint::load(path).expect("checkpoint loads");
    let layers = gpu_cnn::model::shape::infer(&raw.spec).expect("shapes");
    let layouts = gpu_cnn::gpu::slab::Layouts {
        params: gpu_cnn::model::network::slab_layout(&layers, 1),
        state: gpu_cnn::model::network::state_layout(&layers, 1),
    };
    let saved = raw
        .into_checkpoint(&layouts)
        .expect("tensors fit the model");
    saved
        .state
        .history
        .iter()
        .map(|e| {
            format!(
                "{} {} {:e} {:e} {:?}",
                e.epoch, e.steps, e.loss, e.accuracy, e.validation
            )
        })
        .collect()
}

/// The checkpoint at `path` placed on unpadded layouts, with those layouts.
fn placed(path: &Path) -> (checkpoint::Checkpoint, Layouts) {
    let raw = checkpoint::load(path).expect("checkpoint loads");
    let layers = gpu_cnn::model::shape::infer(&raw.spec).expect("shapes");
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    let saved = raw
        .into_checkpoint(&layouts)
        .expect("tensors fit the model");
    (saved, layouts)
}

/// `gpu-cnn ARGS` as a child process with stdout piped.
fn spawn(args: &[&str], save: &Path) -> Child {
    Process::new(env!("CARGO_BIN_EXE_gpu-cnn"))
        .args(args)
        .arg("--save")
        .arg(save)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gpu-cnn")
}

/// Sends `signal` (`INT`, `KILL`) to `child`.
fn signal(child: &Child, signal: &str) {
    let status = Process::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Reads `child`'s stderr (its diagnostics) up to and including the line starting with
/// `prefix`.
fn read_until(child: &mut Child, prefix: &str) {
    let stderr = child.stderr.as_mut().expect("piped stderr");
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr line");
        let found = line.starts_with(prefix);
        lines.push(line);
        if found {
            return;
        }
    }
    panic!("no line starting {prefix:?} in:\n{}", lines.join("\n"));
}

/// Reads `child`'s stdout (its results) up to and including the line starting with `prefix`.
fn read_stdout_until(child: &mut Child, prefix: &str) {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        if line.expect("stdout line").starts_with(prefix) {
            return;
        }
    }
    panic!("no line starting {prefix:?} on stdout");
}

/// Training on 12,000 bundled samples: dense, batch 32, two epochs of 338 steps.
const LONG_RUN: [&str; 12] = [
    "train",
    "--model",
    "dense",
    "--train-samples",
    "12000",
    "--batch-size",
    "32",
    "--epochs",
    "2",
    "--verbose",
    "2",
    "--seed=3",
];

#[test]
fn ctrl_c_mid_epoch_saves_the_steps_done_and_the_resumed_run_equals_an_uninterrupted_one() {
    let dir = TempDir::new().unwrap();
    let (stopped, whole) = (dir.path().join("stopped.st"), dir.path().join("whole.st"));
    let mut child = spawn(&LONG_RUN, &stopped);
    read_until(&mut child, "Epoch 2/2");
    signal(&child, "INT");
    let output = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("Interrupted"), "{stderr}");
    assert!(stderr.contains("Stopped in epoch 2 after step"), "{stderr}");
    assert!(
        stderr.contains("Continue with: gpu-cnn train --resume"),
        "{stderr}"
    );
    let resumed = stderr_of(
        gpu_cnn()
            .args(["train", "--verbose", "2", "--resume"])
            .arg(&stopped)
            .arg("--save")
            .arg(&stopped),
    );
    assert!(
        resumed.contains("Resumed in epoch 2 of 2 after step"),
        "{resumed}"
    );
    gpu_cnn()
        .args(LONG_RUN)
        .arg("--save")
        .arg(&whole)
        .assert()
        .success();
    assert_eq!(tensors(&stopped), tensors(&whole), "weights and moments");
    assert_eq!(
        history_without_seconds(&stopped),
        history_without_seconds(&whole)
    );
    assert_eq!(names_in(dir.path()), ["stopped.st", "whole.st"]);
}

#[test]
fn kill_9_at_random_moments_never_leaves_a_torn_checkpoint_nor_temporary_files_after() {
    let data = data_dir(64, 16, 28, 28);
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.safetensors");
    let data_arg = data.path().to_string_lossy().into_owned();
    let args = [
        "train",
        "--model",
        "dense",
        "--epochs",
        "100000",
        "--batch-size",
        "8",
        "--verbose",
        "0",
        "--checkpoint-every",
        "1",
        "--data",
        &data_arg,
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut loaded = 0;
    for _ in 0..20 {
        let mut child = spawn(&args, &path);
        let started = Instant::now();
        // Past start-up (about a second here), into the saving of epoch after epoch.
        let moment = Duration::from_millis(rng.random_range(600..2500));
        while started.elapsed() < moment {
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "run ended early"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(&child, "KILL");
        child.wait().expect("wait");
        if path.exists() {
            checkpoint::load(&path).expect("a surviving checkpoint loads");
            loaded += 1;
        }
    }
    assert!(loaded >= 10, "only {loaded} of 20 kills left a checkpoint");
    // The next run that saves there removes what the killed ones left, and leaves nothing.
    let done = checkpoint::load(&path).expect("loads").epochs_done();
    gpu_cnn()
        .args(["train", "--verbose", "0", "--resume"])
        .arg(&path)
        .arg("--save")
        .arg(&path)
        .args(["--epochs", &(done + 1).to_string(), "--data", &data_arg])
        .assert()
        .success();
    assert_eq!(names_in(dir.path()), ["run.safetensors"]);
}

/// Quick training on 512 bundled samples: dense, batch 64, one epoch.
const QUICK: [&str; 10] = [
    "train",
    "--model",
    "dense",
    "--train-samples",
    "512",
    "--batch-size",
    "64",
    "--epochs",
    "1",
    "--verbose=2",
];

/// Trains [`QUICK`] and saves the run at `path`.
fn train_quick(path: &Path) {
    gpu_cnn()
        .args(QUICK)
        .arg("--save")
        .arg(path)
        .assert()
        .success();
}

#[test]
fn divergence_stops_naming_epoch_and_step_and_leaves_the_last_checkpoint_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("good.st");
    train_quick(&path);
    let good = fs::read(&path).unwrap();
    let stderr = fails_with(
        gpu_cnn()
            .args(QUICK)
            .args(["--learning-rate", "1e30", "--save"])
            .arg(&path),
        &[
            "training diverged:",
            "became NaN at step",
            "of epoch 1",
            "lower --learning-rate (now 1e30)",
        ],
    );
    assert!(!stderr.contains("Saved"), "{stderr}");
    // A rate that is infinite in f32 makes the first update leave parameters infinite: the
    // step's own record names the tensor before any loss shows it.
    fails_with(
        gpu_cnn()
            .args(QUICK)
            .args(["--learning-rate", "1e39", "--save"])
            .arg(&path),
        &[
            "a parameter of dense.kernel (element",
            "became NaN or infinite at step 1 of epoch 1",
        ],
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        good,
        "the good checkpoint changed"
    );
    assert_eq!(names_in(dir.path()), ["good.st"]);
}

#[test]
fn a_closed_stdout_ends_output_quietly_while_train_still_saves_and_predict_succeeds() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.st");
    let mut child = spawn(&QUICK, &path);
    // Close the pipe before the result line, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    checkpoint::load(&path).expect("the run still saved");

    let mut child = Process::new(env!("CARGO_BIN_EXE_gpu-cnn"))
        .args(["predict", "--index", "0..9999"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    read_stdout_until(&mut child, "test[0]");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_stdout_is_a_clear_error() {
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Process::new(env!("CARGO_BIN_EXE_gpu-cnn"))
        .arg("show")
        .stdout(full)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not write to standard output") && stderr.contains("No space left"),
        "{stderr}"
    );
}

#[test]
fn predict_refuses_the_last_usize_as_an_index_without_wrapping() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.st");
    train_quick(&path);
    gpu_cnn()
        .args(["predict", "--index", &usize::MAX.to_string()])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is past any test set"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_preset_trained_on_14x14_images_saves_that_size_and_refuses_28x28_data_after() {
    let data = data_dir(40, 12, 14, 14);
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("small.st");
    gpu_cnn()
        .args([
            "train",
            "--model",
            "cnn-small",
            "--epochs",
            "1",
            "--verbose",
            "0",
        ])
        .arg("--data")
        .arg(data.path())
        .arg("--save")
        .arg(&path)
        .assert()
        .success();
    assert_eq!(checkpoint::load(&path).unwrap().spec.input, [14, 14, 1]);
    // It loads again on its own data ...
    let evaluated = stdout_of(
        gpu_cnn()
            .arg("evaluate")
            .arg(&path)
            .arg("--data")
            .arg(data.path()),
    );
    assert!(evaluated.starts_with("12/12 - "), "{evaluated}");
    assert!(evaluated.contains("s - loss: "), "{evaluated}");
    // ... and refuses the bundled 28×28 images in every command, naming both sizes.
    let needles = [
        "its images are 28×28×1 but the model takes 14×14×1",
        "give the --data",
    ];
    fails_with(gpu_cnn().arg("evaluate").arg(&path), &needles);
    fails_with(
        gpu_cnn().args(["predict", "--index", "300"]).arg(&path),
        &needles,
    );
    fails_with(
        gpu_cnn().args(["train", "--resume"]).arg(&path),
        &[
            "its images are 28×28×1 but the model takes 14×14×1",
            "resume with the --data",
        ],
    );
}

/// Writes a model file `name` with `header` before the lecture's dense layers into `dir`.
fn dense_file(dir: &Path, name: &str, header: &str, units: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let text = format!(
        "{header}\n[[layers]]\ntype = \"Flatten\"\n\n[[layers]]\ntype = \"Dense\"\n\
         units = {units}\nactivation = \"softmax\"\n"
    );
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_model_file_must_take_the_datas_image_size_and_have_a_class_for_every_label() {
    let data = data_dir(40, 12, 14, 14);
    let dir = TempDir::new().unwrap();
    let default_input = dense_file(dir.path(), "flat.toml", "", 10);
    fails_with(
        gpu_cnn()
            .args(["train", "--model"])
            .arg(&default_input)
            .arg("--data")
            .arg(data.path()),
        &[
            "its images are 14×14×1 but the model takes 28×28×1",
            "set `input = [14, 14, 1]`",
        ],
    );
    let three = dense_file(dir.path(), "three.toml", "classes = 3", 3);
    let stderr = fails_with(
        gpu_cnn().args(["train", "--model"]).arg(&three),
        &[
            "has label",
            "but the model has classes = 3",
            "give the model classes =",
        ],
    );
    assert!(!stderr.contains("Epoch"), "{stderr}");
}

#[test]
fn resume_refuses_settings_that_differ_from_the_checkpoints_and_epochs_below_those_done() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.st");
    // QUICK but two epochs.
    gpu_cnn()
        .args(&QUICK[..7])
        .args(["--epochs", "2", "--save"])
        .arg(&path)
        .assert()
        .success();
    let resume = || {
        let mut command = gpu_cnn();
        command
            .args(["train", "--verbose", "2", "--resume"])
            .arg(&path);
        command
    };
    for (option, value, saved) in [
        ("--batch-size", "32", "64"),
        ("--seed", "5", "0"),
        ("--validation-split", "0.2", "0.1"),
        ("--train-samples", "1000", "512"),
        ("--learning-rate", "0.01", "0.001"),
        ("--optimizer", "sgd", "adam"),
        ("--beta-1", "0.8", "0.9"),
        ("--epsilon", "0.0001", "0.0000001"),
    ] {
        fails_with(
            resume().args([option, value]),
            &[
                &format!("invalid {option} {value}"),
                &format!("the checkpoint was trained with {saved}"),
            ],
        );
    }
    fails_with(
        resume().args(["--epochs", "1"]),
        &["the checkpoint has 2 epochs done", "at least 2"],
    );
    // A setting the checkpoint's optimizer (adam) does not take is refused as when training.
    fails_with(
        resume().args(["--momentum", "0.9"]),
        &[
            "--momentum applies to sgd, rmsprop only",
            "the optimizer is adam",
        ],
    );
    // The same settings are welcome; two epochs done of two leaves nothing to train.
    let again = stderr_of(resume().args([
        "--batch-size",
        "64",
        "--optimizer",
        "adam",
        "--beta-2",
        "0.999",
    ]));
    assert!(again.contains("Resumed after epoch 2 of 2"), "{again}");
    assert!(!again.contains("Epoch 3"), "{again}");
}

#[test]
fn an_empty_test_set_is_refused_before_training_and_evaluating() {
    let data = data_dir(40, 0, 28, 28);
    let needles = ["the test set of", "has no samples"];
    let stderr = fails_with(
        gpu_cnn()
            .args(["train", "--model", "dense", "--data"])
            .arg(data.path()),
        &needles,
    );
    assert!(!stderr.contains("Epoch"), "{stderr}");
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.st");
    train_quick(&path);
    fails_with(
        gpu_cnn()
            .arg("evaluate")
            .arg(&path)
            .arg("--data")
            .arg(data.path()),
        &needles,
    );
}

#[test]
fn save_paths_that_cannot_take_a_checkpoint_fail_before_training() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no/such/dir/run.st");
    let output = fails_with(
        gpu_cnn().args(QUICK).arg("--save").arg(&missing),
        &["cannot save the checkpoint there", "does not exist"],
    );
    assert!(!output.contains("Epoch"), "{output}");
    fails_with(
        gpu_cnn().args(QUICK).arg("--save").arg(dir.path()),
        &["it is a directory"],
    );
    // A directory nobody may write, root included.
    #[cfg(target_os = "linux")]
    fails_with(
        gpu_cnn().args(QUICK).args(["--save", "/proc/run.st"]),
        &["its directory cannot be written"],
    );
    let busy = dir.path().join("busy.st");
    let claim = gpu_cnn::atomic::claim(&busy).unwrap();
    fails_with(
        gpu_cnn().args(QUICK).arg("--save").arg(&busy),
        &[&format!(
            "another gpu-cnn run (process {})",
            std::process::id()
        )],
    );
    drop(claim);
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn saving_onto_a_symbolic_link_writes_its_target_and_keeps_the_link() {
    let dir = TempDir::new().unwrap();
    let (link, target) = (dir.path().join("latest.st"), dir.path().join("run-1.st"));
    std::os::unix::fs::symlink("run-1.st", &link).unwrap();
    gpu_cnn()
        .args(QUICK)
        .arg("--save")
        .arg(&link)
        .assert()
        .success();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    checkpoint::load(&target).expect("the target holds the checkpoint");
    assert_eq!(names_in(dir.path()), ["latest.st", "run-1.st"]);
}

#[test]
fn a_checkpoint_holding_a_nan_is_refused_by_every_command_naming_the_tensor() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.st");
    train_quick(&path);
    let (mut saved, layouts) = placed(&path);
    // One NaN in the first Dense layer's kernel, where a ReLU could hide it.
    let kernel = &layouts.params.tensors[0];
    assert_eq!(kernel.name, "dense.kernel");
    saved.state.params[kernel.offset + 300] = f32::NAN;
    checkpoint::save(&path, &saved.spec, &saved.config, &layouts, &saved.state).unwrap();
    let needles = [
        "tensor `dense.kernel` holds NaN at element 300",
        "the run it saved had diverged",
    ];
    fails_with(gpu_cnn().arg("evaluate").arg(&path), &needles);
    fails_with(gpu_cnn().arg("predict").arg(&path), &needles);
    fails_with(gpu_cnn().args(["train", "--resume"]).arg(&path), &needles);
}

#[test]
fn backup_keeps_an_interrupted_run_which_the_same_command_continues_and_deletes_at_the_end() {
    let dir = TempDir::new().unwrap();
    let (backup, whole) = (dir.path().join("backup"), dir.path().join("whole.st"));
    let backup_arg = backup.to_string_lossy().into_owned();
    let mut args = LONG_RUN.to_vec();
    args.extend(["--backup", &backup_arg]);
    let mut child = Process::new(env!("CARGO_BIN_EXE_gpu-cnn"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    read_until(&mut child, "Epoch 2/2");
    signal(&child, "TERM");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("its --backup"), "{stderr}");
    let state = backup.join("backup.safetensors");
    assert!(checkpoint::load(&state).unwrap().partial_epoch().is_some());
    // The same command again continues there, finishes and deletes the backup.
    let again = stderr_of(gpu_cnn().args(&args).arg("--save").arg(&whole));
    assert!(
        again.contains("Resumed in epoch 2 of 2 after step"),
        "{again}"
    );
    assert_eq!(names_in(&backup), Vec::<String>::new());
    let straight = dir.path().join("straight.st");
    gpu_cnn()
        .args(LONG_RUN)
        .arg("--save")
        .arg(&straight)
        .assert()
        .success();
    assert_eq!(tensors(&whole), tensors(&straight));
}
