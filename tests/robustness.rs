//! Nothing a user does loses their run or crashes the program, through the binary: Ctrl-C and
//! `kill -9` mid-run, divergence, closed and full outputs, and inputs that do not fit each
//! other, each checked before any training.
//!
//! Runs `dense` on bundled MNIST subsets or small generated data directories, so that it stays
//! quick on a software adapter.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use common::cli::{data_dir, fails_with, gpu_cnn, names_in, stdout_of};
use gpu_cnn::checkpoint;
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

/// Reads `child`'s stdout up to and including the line starting with `prefix`; returns the
/// lines read.
fn read_until(child: &mut Child, prefix: &str) -> Vec<String> {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout line");
        let found = line.starts_with(prefix);
        lines.push(line);
        if found {
            return lines;
        }
    }
    panic!("no line starting {prefix:?} in:\n{}", lines.join("\n"));
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
    assert!(stdout.contains("Stopped in epoch 2 after step"), "{stdout}");
    assert!(
        stdout.contains("Continue with: gpu-cnn train --resume"),
        "{stdout}"
    );
    let resumed = stdout_of(
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
