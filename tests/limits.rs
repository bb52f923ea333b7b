//! Limits before allocation: the memory plan sizes every buffer from the shapes alone, and a
//! model too big for the device is refused before anything is allocated, in milliseconds,
//! naming the layer, the buffer, its size and the limit.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use gpu_cnn::gpu::LaunchProfile;
use gpu_cnn::model::memory::{self, BatchUse, MemoryError, MemoryLimits, MemoryPlan, Place};
use gpu_cnn::model::plan::Fusion;
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::shape::infer;
use predicates::prelude::*;
use tempfile::TempDir;

/// Refusing a model must take well under this, start-up, data and device included.
const PROMPT: Duration = Duration::from_secs(5);

/// Flatten → Dense(5,000,000) → Dense(800) → Dense(10): 7,925,008,810 parameters, 29.5 GiB
/// for the parameters alone (the issue's model, which used to abort in `glorot_init`).
const BIG: &str = r#"
[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 5000000
activation = "relu"

[[layers]]
type = "Dense"
units = 800
activation = "relu"

[[layers]]
type = "Dense"
units = 10
activation = "softmax"
"#;

fn model_file(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write model file");
    path
}

fn need<'a>(plan: &'a MemoryPlan, buffer: &str) -> &'a memory::Need {
    plan.needs
        .iter()
        .find(|need| need.buffer == buffer)
        .unwrap_or_else(|| panic!("no buffer {buffer} in {:#?}", plan.needs))
}

/// lavapipe's limits, with budgets stated here so the test does not depend on this machine.
fn lavapipe_limits(budget: u64) -> MemoryLimits {
    MemoryLimits {
        adapter: "lavapipe".into(),
        max_binding: 128 << 20,
        max_buffer: (2 << 30) - 1,
        device_budget: budget,
        host_budget: budget,
        shared: true,
    }
}

#[test]
fn cnn_training_plan_sizes_slab_activations_and_gradients_from_the_shapes() {
    let layers = infer(&preset("cnn").unwrap()).unwrap();
    let mut plan = memory::network(&layers, 1);
    let training = BatchUse {
        rows: 33,
        training: true,
        fusion: Fusion::ALL,
    };
    plan.extend(memory::batch(&layers, 784, training, &LaunchProfile::lavapipe()).unwrap());
    // 93,322 parameters, padded to whole vec4s: 93,324 values, four buffers of them.
    for buffer in ["slab.params", "slab.grads", "slab.adam_m", "slab.adam_v"] {
        assert_eq!(need(&plan, buffer).bytes, 93_324 * 4, "{buffer}");
        assert_eq!(need(&plan, buffer).place, Place::Storage);
    }
    // The layer with the most parameters is blamed for the slab: conv2d_2 and dense tie at
    // 36,928; the first of them.
    assert_eq!(
        need(&plan, "slab.params").layer,
        Some((4, "conv2d_2".into()))
    );
    assert_eq!(need(&plan, "initial parameters").place, Place::Host);
    // 33 rows of 28·28·1, of 26·26·32 (the ReLU folded into the convolution, whose pooling
    // folds into it too: the pooled 13·13·32 is its own buffer).
    assert_eq!(need(&plan, "batch [33, 784]").bytes, 33 * 784 * 4);
    let conv = need(&plan, "conv2d.output [33, 21632]");
    assert_eq!(conv.bytes, 33 * 26 * 26 * 32 * 4);
    assert_eq!(conv.layer, Some((0, "conv2d".into())));
    assert!(conv.per_batch);
    assert_eq!(need(&plan, "dense_1.output [33, 10]").bytes, 33 * 10 * 4);
    assert_eq!(
        need(&plan, "dense_1.output_grad [33, 10]").bytes,
        33 * 10 * 4
    );
    assert_eq!(need(&plan, "batch.labels [33]").bytes, 33 * 4);
    // Inference at the same batch has the same activations and no gradient.
    let inference = BatchUse {
        training: false,
        ..training
    };
    let forward = memory::batch(&layers, 784, inference, &LaunchProfile::lavapipe()).unwrap();
    assert!(forward.needs.iter().all(|n| !n.buffer.contains("grad")));
    assert_eq!(
        need(&forward, "conv2d.output [33, 21632]").bytes,
        conv.bytes
    );
    assert!(plan.device_bytes() > forward.device_bytes());
    plan.check(&lavapipe_limits(1 << 30)).unwrap();
}

#[test]
fn a_batch_too_large_for_one_binding_names_the_layer_buffer_and_a_smaller_batch() {
    let layers = infer(&preset("cnn").unwrap()).unwrap();
    let training = BatchUse {
        rows: 3_000,
        training: true,
        fusion: Fusion::ALL,
    };
    let plan = memory::batch(&layers, 784, training, &LaunchProfile::lavapipe()).unwrap();
    let error = plan.check(&lavapipe_limits(u64::MAX)).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(*error, MemoryError::BufferTooLarge { .. }),
        "{message}"
    );
    // 3,000 · 26·26·32 · 4 bytes: the first convolution's output is the first over 128 MiB.
    assert!(
        message.contains("layer 0 (conv2d): buffer `conv2d.output [3000, 21632]`"),
        "{message}"
    );
    assert!(
        message.contains("needs 259584000 bytes (247.56 MiB)"),
        "{message}"
    );
    assert!(
        message.contains("at most 134217728 bytes (128.00 MiB)"),
        "{message}"
    );
    assert!(
        message.contains("smaller --batch-size, or fewer units or filters in layer 0"),
        "{message}"
    );
}

#[test]
fn buffers_that_fit_one_by_one_but_not_together_are_over_the_budget() {
    let layers = infer(&preset("cnn").unwrap()).unwrap();
    let plan = memory::network(&layers, 1);
    // Four buffers of 373,296 bytes and one of 4 (no state) on the device, 1.42 MiB in all.
    let error = plan.check(&lavapipe_limits(1 << 20)).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(*error, MemoryError::OverBudget { .. }),
        "{message}"
    );
    assert!(
        message.contains("1493188 bytes (1.42 MiB) of device memory"),
        "{message}"
    );
    assert!(
        message.contains("`slab.params` of layer 4 (conv2d_2)"),
        "{message}"
    );
}

#[test]
fn the_big_dense_model_is_refused_by_the_pure_plan_in_milliseconds() {
    let dir = TempDir::new().unwrap();
    let path = model_file(&dir, "big.toml", BIG);
    let spec = gpu_cnn::model::presets::resolve(path.to_str().unwrap()).unwrap();
    let started = Instant::now();
    let layers = infer(&spec).unwrap();
    let error = memory::network(&layers, 64)
        .check(&lavapipe_limits(u64::MAX))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    let message = error.to_string();
    // 7,925,008,810 parameters laid out at 64-value offsets, padded to vec4s, 4 bytes each.
    assert!(message.contains("layer 2 (dense_1)"), "{message}");
    assert!(
        message.contains("`slab.params` needs 31700035"),
        "{message}"
    );
    assert!(
        message.contains("fewer units or filters in layer 2"),
        "{message}"
    );
}

#[test]
fn train_refuses_the_big_dense_model_before_allocating_and_names_the_limit() {
    let dir = TempDir::new().unwrap();
    let path = model_file(&dir, "big.toml", BIG);
    let started = Instant::now();
    Command::cargo_bin("gpu-cnn")
        .unwrap()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(["train", "--epochs", "1", "--model"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("layer 2 (dense_1)"))
        .stderr(predicate::str::contains(
            "buffer `slab.params` needs 31700035",
        ))
        .stderr(predicate::str::contains("allows at most"))
        .stderr(predicate::str::contains("use fewer units or filters"))
        .stderr(predicate::str::contains("memory allocation").not());
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
}

#[test]
fn summary_of_the_big_dense_model_still_prints_its_parameter_count() {
    let dir = TempDir::new().unwrap();
    let path = model_file(&dir, "big.toml", BIG);
    Command::cargo_bin("gpu-cnn")
        .unwrap()
        .args(["summary", "--model"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("Total params: 7,925,008,810"));
}

#[test]
fn a_model_file_of_too_many_layers_is_refused_by_count_or_size_in_milliseconds() {
    let dir = TempDir::new().unwrap();
    let conv = "[[layers]]\ntype = \"Conv2D\"\nfilters = 1\nkernel_size = 1\n";
    let head = "[[layers]]\ntype = \"Flatten\"\n[[layers]]\ntype = \"Dense\"\nunits = 10\n\
                activation = \"softmax\"\n";
    // 1,500 layers fit in a model file's 1 MiB and are refused by count; 100,000 (5.5 MB) by
    // the file's size, before it is parsed.
    for (layers, needle) in [
        (
            1_500,
            "the model has 1502 layers, more than the 1000 gpu-cnn builds",
        ),
        (
            100_000,
            "gpu-cnn reads a model file of at most 1048576 bytes",
        ),
    ] {
        let path = model_file(&dir, "deep.toml", &(conv.repeat(layers) + head));
        for command in ["summary", "train"] {
            let started = Instant::now();
            Command::cargo_bin("gpu-cnn")
                .unwrap()
                .env("XDG_RUNTIME_DIR", dir.path())
                .args([command, "--model"])
                .arg(&path)
                .assert()
                .code(1)
                .stderr(predicate::str::contains(needle));
            assert!(
                started.elapsed() < PROMPT,
                "{command}: {:?}",
                started.elapsed()
            );
        }
    }
}
