//! `gpu-cnn export`: the ONNX model of a checkpoint, run by another runtime (tract, a pure-Rust
//! ONNX runtime), gives the probabilities `predict` gives, within 1e-5, on the first 32 test
//! images: every preset, a model with every activation, and odd shapes (non-square input, a
//! stride-2 `same` convolution with even kernels, average pooling with its own strides).
//! Each network trains a few Adam steps, then its BatchNormalization tensors (gamma, beta, the
//! moving mean and variance) are set to random values, so that the export of every one of them
//! is tested, not their initial ones and zeros. CLI error paths at the end.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::cli::{data_dir, fails_with, gpu_cnn, names_in, stdout_of};
use gpu_cnn::checkpoint;
use gpu_cnn::data::{load_dir, Dataset, MnistSplits};
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::gpu::GpuContext;
use gpu_cnn::model::file::parse;
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::presets::{preset, NAMES};
use gpu_cnn::model::{shape, ModelSpec};
use gpu_cnn::onnx::layers::Weights;
use gpu_cnn::onnx::{self, proto};
use gpu_cnn::restore;
use gpu_cnn::train::{TrainConfig, Trainer};
use prost::Message;
use tempfile::TempDir;
use tract_onnx::prelude::*;

/// The largest difference allowed between tract's probabilities and `predict`'s.
const TOLERANCE: f32 = 1e-5;
/// Test images compared (a batch larger than 1, not a power of two's multiple of 8).
const IMAGES: usize = 32;

/// Trains `spec` for one epoch of `data` (a few steps), randomises its BatchNormalization
/// tensors and saves the checkpoint in `dir`.
fn trained_checkpoint(
    ctx: &GpuContext,
    spec: ModelSpec,
    data: &MnistSplits,
    dir: &Path,
) -> PathBuf {
    let config = TrainConfig {
        epochs: 1,
        batch_size: 16,
        validation_split: 0.0,
        seed: 11,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(ctx, spec, data, config.clone()).expect("trainer");
    trainer.fit(|_| {}).expect("training");
    let mut state = trainer.state().expect("state");
    let layouts = trainer.network().layouts();
    let mut rng = common::rng(5);
    let slabs = [
        (&layouts.params, &mut state.params),
        (&layouts.state, &mut state.state),
    ];
    for (layout, slab) in slabs {
        for slot in &layout.tensors {
            let range = match slot.name.rsplit('.').next() {
                Some("gamma") => (0.5, 1.5),
                Some("beta" | "moving_mean") => (-0.5, 0.5),
                Some("moving_variance") => (0.05, 2.0),
                _ => continue,
            };
            let values = common::uniform(&mut rng, slot.len, range.0, range.1);
            slab[slot.offset..slot.offset + slot.len].copy_from_slice(&values);
        }
    }
    let path = dir.join(format!("{}.safetensors", trainer.network().spec.name));
    checkpoint::save(&path, &trainer.network().spec, &config, &layouts, &state).expect("save");
    path
}

/// `images` as the exported model's input: `[n, rows, cols, 1]`, each byte / 255.
fn input_tensor(images: &Dataset) -> Tensor {
    let values: Vec<f32> = images
        .images
        .iter()
        .map(|&b| f32::from(b) / 255.0)
        .collect();
    tract_ndarray::Array4::from_shape_vec((images.len(), images.rows, images.cols, 1), values)
        .expect("shape")
        .into()
}

/// Tract's probabilities `[n, classes]` for `images` from the ONNX bytes. The batch is
/// dynamic: the same plan also runs the first 3 images alone, to the same probabilities.
fn tract_probabilities(bytes: &[u8], images: &Dataset) -> Vec<f32> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the model")
        .into_optimized()
        .expect("tract optimises it")
        .into_runnable()
        .expect("tract plans it");
    let run = |images: &Dataset| -> Vec<f32> {
        let outputs = model
            .run(tvec!(input_tensor(images).into()))
            .expect("tract runs it");
        let probabilities = outputs[0].to_array_view::<f32>().expect("f32 output");
        assert_eq!(probabilities.shape(), [images.len(), 10]);
        probabilities.iter().copied().collect()
    };
    let all = run(images);
    let first = Dataset {
        images: images.images[..3 * images.sample_len()].to_vec(),
        labels: images.labels[..3].to_vec(),
        ..images.clone()
    };
    for (alone, together) in run(&first).iter().zip(&all) {
        assert!(
            (alone - together).abs() <= TOLERANCE,
            "batch 3: {alone} vs {together}"
        );
    }
    all
}

/// Exports the checkpoint at `path` and compares tract's probabilities on the first
/// [`IMAGES`] test images with `predict`'s; the largest difference.
fn compare(ctx: &GpuContext, path: &Path, test: &Dataset) -> f32 {
    let raw = checkpoint::load(path).expect("load");
    let bytes = onnx::from_checkpoint(raw.clone())
        .expect("export")
        .to_bytes()
        .expect("encode");
    let ours = restore::inference(ctx, raw)
        .expect("inference")
        .predict(test)
        .expect("predict")
        .probabilities;
    let theirs = tract_probabilities(&bytes, test);
    assert_eq!(ours.len(), theirs.len());
    // The images must tell apart: a network whose probabilities do not depend on its input
    // would agree with anything.
    let first = &ours[..10];
    let spread = ours
        .chunks(10)
        .flat_map(|row| row.iter().zip(first).map(|(a, b)| (a - b).abs()))
        .fold(0.0f32, f32::max);
    assert!(
        spread > 1e-3,
        "{}: every image gets the same probabilities",
        path.display()
    );
    ours.iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Exports each of `specs` trained on `data`, compares, and fails naming every model whose
/// probabilities differ by more than [`TOLERANCE`].
fn check_models(specs: Vec<ModelSpec>, data: &MnistSplits) {
    let ctx = common::context();
    let dir = TempDir::new().expect("temp dir");
    let mut failures = Vec::new();
    for spec in specs {
        let name = spec.name.clone();
        let path = trained_checkpoint(&ctx, spec, data, dir.path());
        let difference = compare(&ctx, &path, &data.test);
        eprintln!("{name:>16}: max |tract − predict| = {difference:.3e}");
        if difference.is_nan() || difference > TOLERANCE {
            failures.push(format!("{name}: {difference:e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "differences above {TOLERANCE:e}: {failures:?}"
    );
}

#[test]
fn every_preset_exported_gives_predicts_probabilities_in_tract() {
    let specs = NAMES
        .iter()
        .map(|name| preset(name).expect("preset"))
        .collect();
    check_models(specs, &common::bundled_subset(64, IMAGES));
}

/// Every activation, as an `activation` field and as a layer (`swish` too), and
/// BatchNormalization on a flat input with its own epsilon.
const ACTIVATIONS: &str = r#"
name = "activations"
layers = [
    { type = "Conv2D", filters = 4, kernel_size = 3, activation = "gelu" },
    { type = "Activation", activation = "elu" },
    { type = "MaxPooling2D", pool_size = 2 },
    { type = "Conv2D", filters = 6, kernel_size = 3, activation = "selu" },
    { type = "Activation", activation = "softplus" },
    { type = "LeakyReLU", negative_slope = 0.1 },
    { type = "Activation", activation = "relu" },
    { type = "Flatten" },
    { type = "Dense", units = 24, activation = "silu" },
    { type = "Activation", activation = "swish" },
    { type = "Dense", units = 20, activation = "leaky_relu" },
    { type = "Activation", activation = "tanh" },
    { type = "Dense", units = 16, activation = "sigmoid" },
    { type = "BatchNormalization", epsilon = 0.01 },
    { type = "Dropout", rate = 0.3 },
    { type = "Dense", units = 12, activation = "elu" },
    { type = "Activation", activation = "gelu" },
    { type = "ReLU" },
    { type = "Dense", units = 10 },
    { type = "Activation", activation = "softmax" },
]
"#;

#[test]
fn every_activation_exported_gives_predicts_probabilities_in_tract() {
    let spec = parse(ACTIVATIONS, Path::new("activations.toml")).expect("model");
    check_models(vec![spec], &common::bundled_subset(64, IMAGES));
}

/// On 13 × 17 images: a stride-2 `same` convolution with a 4 × 2 kernel (padding 1 above,
/// 2 below, 0 left, 1 right), BatchNormalization on an image, average pooling with strides
/// unlike its window, a `same` stride-1 even kernel, a valid stride (2, 1) convolution and a
/// max pooling with stride 1.
const ODD_SHAPES: &str = r#"
name = "odd-shapes"
layers = [
    { type = "Conv2D", filters = 5, kernel_size = [4, 2], strides = 2, padding = "same" },
    { type = "ReLU" },
    { type = "BatchNormalization", momentum = 0.5 },
    { type = "AveragePooling2D", pool_size = [2, 3], strides = [1, 2] },
    { type = "Conv2D", filters = 4, kernel_size = 2, padding = "same", activation = "tanh" },
    { type = "Conv2D", filters = 6, kernel_size = [3, 2], strides = [2, 1] },
    { type = "MaxPooling2D", pool_size = 2, strides = 1 },
    { type = "Flatten" },
    { type = "Dense", units = 10, activation = "softmax" },
]
"#;

#[test]
fn odd_shapes_exported_give_predicts_probabilities_in_tract() {
    let dir = data_dir(64, IMAGES, 13, 17);
    let data = load_dir(dir.path()).expect("synthetic data");
    let spec = parse(ODD_SHAPES, Path::new("odd-shapes.toml")).expect("model");
    check_models(vec![spec], &data);
}

#[test]
fn same_padding_goes_into_explicit_pads_with_the_extra_after() {
    let mut spec = parse(ODD_SHAPES, Path::new("odd-shapes.toml")).expect("model");
    spec.input = [13, 17, 1];
    let layers = shape::infer(&spec).expect("shapes");
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    let (params, state) = (
        vec![0.0; layouts.params.total],
        vec![1.0; layouts.state.total],
    );
    let weights = Weights {
        layouts: &layouts,
        params: &params,
        state: &state,
    };
    let model = onnx::build(&spec, &layers, &weights).expect("export");
    let graph = model.proto.graph.expect("graph");
    let pads: Vec<Vec<i64>> = graph
        .node
        .iter()
        .filter(|node| node.op_type == "Conv")
        .map(|conv| {
            let pads = conv.attribute.iter().find(|a| a.name == "pads");
            pads.expect("explicit pads").ints.clone()
        })
        .collect();
    // [top, left, bottom, right], by hand. 13 × 17, kernel 4 × 2, stride 2, same: rows
    // ceil(13 / 2) = 7, total (7−1)·2 + 4 − 13 = 3: 1 before, 2 after; columns ceil(17 / 2) = 9,
    // total (9−1)·2 + 2 − 17 = 1: 0 before, 1 after (the extra after, as TensorFlow pads).
    // Then 6 × 4 (after the pooling), kernel 2, stride 1, same: total 1 each way, after.
    // Then valid: none.
    assert_eq!(pads, [vec![1, 0, 2, 1], vec![0, 0, 1, 1], vec![0, 0, 0, 0]]);
}

/// A checkpoint of preset `name` (trained a few steps) in a new directory.
fn preset_checkpoint(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("temp dir");
    let ctx = common::context();
    let data = common::bundled_subset(64, IMAGES);
    let path = trained_checkpoint(&ctx, preset(name).expect("preset"), &data, dir.path());
    (dir, path)
}

#[test]
fn export_writes_an_opset_13_model_with_named_io_and_dynamic_batch() {
    let (dir, checkpoint) = preset_checkpoint("cnn");
    let output = dir.path().join("cnn.onnx");
    let stdout = stdout_of(gpu_cnn().arg("export").arg(&checkpoint).arg(&output));
    for needle in [
        "opset 13",
        "Conv 3",
        "Gemm 2",
        "Softmax 1",
        "image: float32 [N, 28, 28, 1]",
        "probabilities: float32 [N, 10]",
    ] {
        assert!(
            stdout.contains(needle),
            "stdout lacks {needle:?}:\n{stdout}"
        );
    }
    let model = proto::ModelProto::decode(&fs::read(&output).expect("read")[..]).expect("ONNX");
    assert_eq!(
        (model.ir_version, model.producer_name.as_str()),
        (7, "gpu-cnn")
    );
    assert_eq!(model.opset_import[0].version, 13);
    let graph = model.graph.expect("graph");
    assert_eq!(graph.name, "cnn");
    let dims = |info: &proto::ValueInfoProto| -> Vec<String> {
        let tensor = info.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
        let shape = tensor.and_then(|t| t.shape.as_ref()).expect("a shape");
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(proto::DimensionValue::DimValue(v)) => v.to_string(),
                Some(proto::DimensionValue::DimParam(p)) => p.clone(),
                None => "?".into(),
            })
            .collect()
    };
    assert_eq!(graph.input[0].name, "image");
    assert_eq!(dims(&graph.input[0]), ["N", "28", "28", "1"]);
    assert_eq!(graph.output[0].name, "probabilities");
    assert_eq!(dims(&graph.output[0]), ["N", "10"]);
    let initializer = |name: &str| {
        let tensor = graph.initializer.iter().find(|t| t.name == name);
        tensor
            .unwrap_or_else(|| panic!("no initializer {name}"))
            .dims
            .clone()
    };
    assert_eq!(initializer("conv2d.kernel"), [32, 1, 3, 3]);
    assert_eq!(initializer("conv2d_2.bias"), [64]);
    assert_eq!(initializer("dense.kernel"), [576, 64]);
    // One Transpose in (NHWC → NCHW), one out before Flatten.
    let transposes = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Transpose")
        .count();
    assert_eq!(transposes, 2);
    assert!(graph.doc_string.contains("/ 255") || graph.doc_string.contains("divided by 255"));
}

/// Runs `export CHECKPOINT OUTPUT` in `dir`, expects it to fail with every one of `needles`,
/// and checks that `dir` holds only `before` afterwards (no partial or temporary file).
fn export_fails(dir: &Path, checkpoint: &Path, output: &Path, needles: &[&str]) {
    let before = names_in(dir);
    fails_with(gpu_cnn().arg("export").arg(checkpoint).arg(output), needles);
    assert_eq!(names_in(dir), before, "export left files behind");
}

#[test]
fn export_refuses_bad_paths_and_files_leaving_nothing() {
    let (dir, checkpoint) = preset_checkpoint("dense");
    let out = dir.path().join("model.onnx");
    export_fails(
        dir.path(),
        &dir.path().join("missing.safetensors"),
        &out,
        &["missing.safetensors"],
    );
    let text = dir.path().join("notes.safetensors");
    fs::write(&text, "not a checkpoint").expect("write");
    export_fails(dir.path(), &text, &out, &["notes.safetensors"]);
    let nowhere = dir.path().join("no-such-dir").join("model.onnx");
    export_fails(dir.path(), &checkpoint, &nowhere, &["no-such-dir"]);
    // A checkpoint named .onnx is not overwritten by its own export.
    let named_onnx = dir.path().join("checkpoint.onnx");
    fs::copy(&checkpoint, &named_onnx).expect("copy");
    export_fails(
        dir.path(),
        &named_onnx,
        &named_onnx,
        &["checkpoint being exported"],
    );
    assert_eq!(fs::read(&named_onnx).ok(), fs::read(&checkpoint).ok());
    for bad in ["model.safetensors", "model.onnx.txt", "model"] {
        export_fails(
            dir.path(),
            &checkpoint,
            &dir.path().join(bad),
            &[bad, "end in .onnx"],
        );
    }
}
