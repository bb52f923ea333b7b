//! Checkpoints on the host: exact round trips (across slab alignments too), the Keras names and
//! shapes in a plain safetensors file, atomic writes, and a clear error naming the file for
//! every way a checkpoint can be wrong. No GPU needed.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use gpu_cnn::checkpoint::{self, CheckpointError, FORMAT};
use gpu_cnn::evaluate::EvalStats;
use gpu_cnn::gpu::slab::{Layouts, SlabLayout};
use gpu_cnn::input_file::InputFileError;
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::shape::infer;
use gpu_cnn::model::{LayerSpec, ModelSpec};
use gpu_cnn::optim::plateau::{PlateauConfig, PlateauState};
use gpu_cnn::optim::schedule::{CosineDecay, PiecewiseConstantDecay};
use gpu_cnn::optim::{
    AdamConfig, AdamWConfig, OptimizerConfig, RmspropConfig, Schedule, SgdConfig,
};
use gpu_cnn::run::Monitor;
use gpu_cnn::train::{EpochStats, PartialEpoch, TrainConfig, TrainState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tempfile::TempDir;

/// A preset and its slab layouts at `align` elements.
fn model(name: &str, align: usize) -> (ModelSpec, Layouts) {
    let spec = preset(name).unwrap();
    let layers = infer(&spec).unwrap();
    let layouts = Layouts {
        params: slab_layout(&layers, align),
        state: state_layout(&layers, align),
    };
    (spec, layouts)
}

/// Settings unlike the defaults, with f64s that need every digit.
fn config(rng: &mut StdRng) -> TrainConfig {
    TrainConfig {
        epochs: 7,
        batch_size: 61,
        validation_split: 0.13,
        seed: 0xdead_beef_1234,
        train_samples: Some(4999),
        optimizer: OptimizerConfig::Adam(AdamConfig {
            learning_rate: rng.random::<f64>() * 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }),
        schedule: Schedule::Constant,
        plateau: None,
    }
}

/// A random state laid out as `layout` (zeros in the padding, as the GPU slab has), with
/// awkward values (-0, subnormal, extremes) at the start of the parameters.
fn state(layouts: &Layouts, rng: &mut StdRng) -> TrainState {
    let mut slab = |layout: &SlabLayout| {
        let mut values = vec![0.0f32; layout.total];
        for slot in &layout.tensors {
            for value in &mut values[slot.offset..slot.offset + slot.len] {
                *value = rng.random_range(-2.0f32..2.0);
            }
        }
        values
    };
    let mut params = slab(&layouts.params);
    params[..4].copy_from_slice(&[-0.0, f32::MIN_POSITIVE / 3.0, f32::MAX, -1e-30]);
    let (m, v) = (slab(&layouts.params), slab(&layouts.params));
    let moving = slab(&layouts.state);
    let mut history = (1..=3)
        .map(|epoch| EpochStats {
            epoch,
            steps: 141,
            seconds: rng.random::<f64>() * 10.0,
            loss: rng.random(),
            accuracy: rng.random(),
            validation: (epoch != 2).then(|| EvalStats {
                loss: rng.random(),
                accuracy: rng.random(),
                samples: 500,
            }),
            learning_rate: (epoch == 3).then_some(2.5e-4),
        })
        .collect::<Vec<_>>();
    // serde_json's default parser reads this back one ulp off (its `float_roundtrip` does not).
    history[0].seconds = 9.974181520260423;
    TrainState {
        epochs_done: 3,
        steps_done: 423,
        params,
        m,
        v,
        state: moving,
        history,
        // An interruption stopped epoch 4 after 17 steps.
        partial: Some(PartialEpoch {
            epoch: 4,
            steps: 17,
            seconds: rng.random::<f64>(),
            loss_sums: (0..17).map(|_| rng.random::<f32>() * 64.0).collect(),
            correct: (0..17).map(|_| rng.random_range(0..=64)).collect(),
        }),
        plateau: PlateauState::default(),
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Saves a random `cnn` checkpoint (align 64) at `dir/run.safetensors`.
fn saved_cnn(dir: &Path) -> (PathBuf, ModelSpec, TrainConfig, Layouts, TrainState) {
    let mut rng = StdRng::seed_from_u64(7);
    let (spec, layout) = model("cnn", 64);
    let (config, state) = (config(&mut rng), state(&layout, &mut rng));
    let path = dir.join("run.safetensors");
    checkpoint::save(&path, &spec, &config, &layout, &state).unwrap();
    (path, spec, config, layout, state)
}

/// One tensor to write: name, dtype, shape, bytes.
type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// Rewrites the safetensors file at `path` with `edit` applied to its tensors and metadata.
fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<Entry>, &mut HashMap<String, String>)) {
    let bytes = fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut entries: Vec<Entry> = file
        .iter()
        .map(|(name, t)| {
            (
                name.into(),
                t.dtype(),
                t.shape().to_vec(),
                t.data().to_vec(),
            )
        })
        .collect();
    edit(&mut entries, &mut metadata);
    let views = entries.iter().map(|(name, dtype, shape, data)| {
        (name, TensorView::new(*dtype, shape.clone(), data).unwrap())
    });
    fs::write(path, safetensors::serialize(views, Some(metadata)).unwrap()).unwrap();
}

/// Loads `path` into `layout`, expecting an error whose message names the file.
fn load_error(path: &Path, layout: &Layouts) -> CheckpointError {
    let error = match checkpoint::load(path) {
        Ok(raw) => raw.into_checkpoint(layout).unwrap_err(),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    error
}

fn entries_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_then_load_round_trips_every_bit_of_state_spec_and_config() {
    let dir = TempDir::new().unwrap();
    let (path, spec, config, layout, state) = saved_cnn(dir.path());
    let raw = checkpoint::load(&path).unwrap();
    assert_eq!(raw.path, path);
    let loaded = raw.into_checkpoint(&layout).unwrap();
    assert_eq!(loaded.spec, spec);
    assert_eq!(loaded.config, config);
    assert_eq!(bits(&loaded.state.params), bits(&state.params));
    assert_eq!(bits(&loaded.state.m), bits(&state.m));
    assert_eq!(bits(&loaded.state.v), bits(&state.v));
    assert_eq!(loaded.state.epochs_done, 3);
    assert_eq!(loaded.state.steps_done, 423);
    // f64s compared with ==: the JSON round trip must keep every bit.
    assert_eq!(loaded.state.history, state.history);
}

#[test]
fn every_optimizer_and_its_settings_round_trip_through_train_config() {
    let dir = TempDir::new().unwrap();
    let (path, spec, config, layout, state) = saved_cnn(dir.path());
    for optimizer in [
        OptimizerConfig::Sgd(SgdConfig {
            learning_rate: 0.013,
            momentum: 0.87,
            nesterov: true,
        }),
        OptimizerConfig::Rmsprop(RmspropConfig {
            learning_rate: 7e-4,
            rho: 0.85,
            momentum: 0.3,
            epsilon: 3e-8,
        }),
        OptimizerConfig::Adamw(AdamWConfig {
            adam: AdamConfig {
                learning_rate: 2e-3,
                beta1: 0.8,
                beta2: 0.99,
                epsilon: 1e-6,
            },
            weight_decay: 0.0123,
        }),
    ] {
        let config = TrainConfig {
            optimizer,
            ..config.clone()
        };
        checkpoint::save(&path, &spec, &config, &layout, &state).unwrap();
        let loaded = checkpoint::load(&path)
            .unwrap()
            .into_checkpoint(&layout)
            .unwrap();
        assert_eq!(loaded.config, config);
    }
}

#[test]
fn schedules_plateau_settings_and_plateau_state_round_trip_and_older_files_load_without() {
    let dir = TempDir::new().unwrap();
    let (path, spec, config, layout, state) = saved_cnn(dir.path());
    let plateau = PlateauConfig {
        patience: 3,
        factor: 0.25,
        cooldown: 2,
        min_lr: 1e-6,
        monitor: Monitor::ValAccuracy,
        min_delta: 0.01,
    };
    let reduced = PlateauState {
        scale: 0.0625,
        best: Some(0.8125),
        wait: 1,
        cooldown: 2,
    };
    for schedule in [
        Schedule::Cosine(CosineDecay {
            decay_steps: 1000,
            alpha: 0.125,
            warmup_steps: 100,
            warmup_target: Some(0.01),
        }),
        Schedule::Piecewise(PiecewiseConstantDecay {
            boundaries: vec![10, 20],
            values: vec![0.5, 0.25, 0.125],
        }),
    ] {
        let config = TrainConfig {
            schedule,
            plateau: Some(plateau),
            ..config.clone()
        };
        let state = TrainState {
            plateau: reduced,
            ..state.clone()
        };
        checkpoint::save(&path, &spec, &config, &layout, &state).unwrap();
        let loaded = checkpoint::load(&path)
            .unwrap()
            .into_checkpoint(&layout)
            .unwrap();
        assert_eq!(loaded.config, config);
        assert_eq!(loaded.state, state);
    }
    // A file without the plateau metadata (from before it, or never reduced) loads with none.
    rewrite(&path, |_, metadata| {
        assert!(metadata.remove("plateau").is_some(), "saved with a plateau");
    });
    let loaded = checkpoint::load(&path)
        .unwrap()
        .into_checkpoint(&layout)
        .unwrap();
    assert_eq!(loaded.state.plateau, PlateauState::default());
}

#[test]
fn train_config_written_before_optimizers_had_names_loads_as_adam() {
    let dir = TempDir::new().unwrap();
    let (path, _, config, layout, _) = saved_cnn(dir.path());
    let OptimizerConfig::Adam(adam) = config.optimizer else {
        panic!("saved_cnn trains with adam");
    };
    // The train_config of checkpoints written before --optimizer: Adam's settings as `adam`.
    let old = format!(
        r#"{{"epochs":{},"batch_size":{},"validation_split":{},"seed":{},"train_samples":{},"adam":{{"learning_rate":{},"beta1":0.9,"beta2":0.999,"epsilon":1e-7}}}}"#,
        config.epochs,
        config.batch_size,
        config.validation_split,
        config.seed,
        config.train_samples.unwrap(),
        adam.learning_rate
    );
    rewrite(&path, |_, metadata| {
        metadata.insert("train_config".into(), old);
    });
    let loaded = checkpoint::load(&path)
        .unwrap()
        .into_checkpoint(&layout)
        .unwrap();
    assert_eq!(loaded.config, config);
    // Neither is a damaged file, named as such.
    rewrite(&path, |_, metadata| {
        let text = metadata["train_config"].replace("\"adam\"", "\"unknown\"");
        metadata.insert("train_config".into(), text);
    });
    let message = load_error(&path, &layout).to_string();
    assert!(message.contains("train_config"), "{message}");
}

#[test]
fn batch_normalization_moving_statistics_round_trip_under_kerass_names() {
    let dir = TempDir::new().unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let (spec, layouts) = model("cnn-bn", 16);
    assert_eq!(
        layouts.state.param_count(),
        320,
        "cnn-bn's non-trainable values"
    );
    let (config, state) = (config(&mut rng), state(&layouts, &mut rng));
    let path = dir.path().join("bn.safetensors");
    checkpoint::save(&path, &spec, &config, &layouts, &state).unwrap();

    let bytes = fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    for name in [
        "batch_normalization.gamma",
        "batch_normalization.beta",
        "batch_normalization.moving_mean",
        "batch_normalization_2.moving_variance",
    ] {
        assert!(file.tensor(name).is_ok(), "{name} is in the file");
    }
    // Moving statistics are state, not trained: Adam's moments do not cover them.
    assert!(file
        .tensor("optimizer/m/batch_normalization.moving_mean")
        .is_err());
    assert!(file.tensor("optimizer/m/batch_normalization.gamma").is_ok());

    let loaded = checkpoint::load(&path)
        .unwrap()
        .into_checkpoint(&layouts)
        .unwrap();
    assert_eq!(bits(&loaded.state.params), bits(&state.params));
    assert_eq!(bits(&loaded.state.state), bits(&state.state));
    assert!(loaded.state.state.iter().any(|&v| v != 0.0));
}

#[test]
fn checkpoint_saved_at_align_64_loads_exactly_into_align_1_and_16() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, saved_layout, saved) = saved_cnn(dir.path());
    for align in [1, 16] {
        let (_, layout) = model("cnn", align);
        assert_ne!(
            layout.params.total, saved_layout.params.total,
            "align {align} must move tensors"
        );
        let loaded = checkpoint::load(&path)
            .unwrap()
            .into_checkpoint(&layout)
            .unwrap()
            .state;
        for (from, to) in [
            (&saved.params, &loaded.params),
            (&saved.m, &loaded.m),
            (&saved.v, &loaded.v),
        ] {
            assert_eq!(to.len(), layout.params.total);
            let mut expected = vec![0.0f32; layout.params.total];
            for (a, b) in saved_layout
                .params
                .tensors
                .iter()
                .zip(&layout.params.tensors)
            {
                expected[b.offset..b.offset + b.len]
                    .copy_from_slice(&from[a.offset..a.offset + a.len]);
            }
            assert_eq!(bits(to), bits(&expected), "align {align}");
        }
        assert_eq!(loaded.history, saved.history);
    }
}

#[test]
fn file_is_plain_safetensors_with_keras_names_shapes_and_metadata() {
    let dir = TempDir::new().unwrap();
    let (path, spec, _, layout, state) = saved_cnn(dir.path());
    let bytes = fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<&str> = file.names();
    names.sort();
    let mut expected: Vec<String> = ["", "optimizer/m/", "optimizer/v/"]
        .iter()
        .flat_map(|p| {
            layout
                .params
                .tensors
                .iter()
                .map(move |t| format!("{p}{}", t.name))
        })
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, shape) in [
        ("conv2d.kernel", vec![3, 3, 1, 32]),
        ("conv2d.bias", vec![32]),
        ("conv2d_2.kernel", vec![3, 3, 64, 64]),
        ("dense.kernel", vec![576, 64]),
        ("dense_1.kernel", vec![64, 10]),
        ("dense_1.bias", vec![10]),
        ("optimizer/v/dense_1.bias", vec![10]),
    ] {
        let tensor = file.tensor(name).unwrap();
        assert_eq!(tensor.dtype(), Dtype::F32, "{name}");
        assert_eq!(tensor.shape(), shape, "{name}");
    }
    // The bytes are the slab's values, little-endian, unpadded.
    let slot = layout
        .params
        .tensors
        .iter()
        .find(|t| t.name == "dense.bias")
        .unwrap();
    let data = file
        .tensor("optimizer/m/dense.bias")
        .unwrap()
        .data()
        .to_vec();
    let expected: Vec<u8> = state.m[slot.offset..slot.offset + slot.len]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(data, expected);

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().as_ref().unwrap();
    assert_eq!(metadata["format"], FORMAT);
    assert_eq!(metadata["epochs_done"], "3");
    assert_eq!(metadata["steps_done"], "423");
    // The model is a TOML model file the model parser reads back.
    let model = gpu_cnn::model::file::parse(&metadata["model"], Path::new("x.toml")).unwrap();
    assert_eq!(model, spec);
}

#[test]
fn missing_file_is_not_found_naming_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nope.safetensors");
    let (_, layout) = model("cnn", 64);
    let error = load_error(&path, &layout);
    assert!(
        matches!(
            error,
            CheckpointError::File(InputFileError::NotFound { .. })
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("no such checkpoint file"),
        "{error}"
    );
}

#[test]
fn truncated_file_is_damaged_naming_it_with_a_hint() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    let bytes = fs::read(&path).unwrap();
    for keep in [bytes.len() - 1, bytes.len() / 2, 100, 5, 0] {
        fs::write(&path, &bytes[..keep]).unwrap();
        let error = load_error(&path, &layout);
        assert!(matches!(error, CheckpointError::Damaged { .. }), "{error}");
        assert!(error
            .to_string()
            .contains("damaged or not a gpu-cnn checkpoint"));
    }
}

#[test]
fn garbage_file_is_damaged_naming_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("model.toml");
    fs::write(&path, "name = \"cnn\"\n[[layers]]\ntype = \"Flatten\"\n").unwrap();
    let (_, layout) = model("cnn", 64);
    let error = load_error(&path, &layout);
    assert!(matches!(error, CheckpointError::Damaged { .. }), "{error}");
}

#[test]
fn wrong_or_missing_format_is_rejected_saying_what_was_found() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    rewrite(&path, |_, metadata| {
        metadata.insert("format".into(), "pt".into());
    });
    let error = load_error(&path, &layout);
    assert!(matches!(error, CheckpointError::Format { .. }), "{error}");
    assert!(error.to_string().contains("\"pt\""), "{error}");
    assert!(error.to_string().contains(FORMAT), "{error}");

    rewrite(&path, |_, metadata| {
        metadata.remove("format");
    });
    let error = load_error(&path, &layout);
    assert!(error.to_string().contains("is missing"), "{error}");
}

#[test]
fn unparsable_model_config_history_or_counter_names_the_metadata_key() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    let good = fs::read(&path).unwrap();
    for (key, value) in [
        ("model", Some("[[layers]]\ntype = \"Conv3D\"")),
        ("train_config", Some("{\"epochs\": 5}")),
        ("history", Some("[{")),
        ("steps_done", Some("-1")),
        ("epochs_done", None),
    ] {
        fs::write(&path, &good).unwrap();
        rewrite(&path, |_, metadata| match value {
            Some(value) => drop(metadata.insert(key.into(), value.into())),
            None => drop(metadata.remove(key)),
        });
        let error = load_error(&path, &layout);
        assert!(
            matches!(error, CheckpointError::Metadata { key: k, .. } if k == key),
            "{error}"
        );
        assert!(error.to_string().contains(&format!("`{key}`")), "{error}");
    }
}

#[test]
fn tensor_of_wrong_shape_names_tensor_expected_and_found() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    rewrite(&path, |entries, _| {
        let bias = entries.iter_mut().find(|e| e.0 == "dense_1.bias").unwrap();
        bias.2 = vec![2, 5];
    });
    let error = load_error(&path, &layout);
    let message = error.to_string();
    assert!(matches!(error, CheckpointError::Shape { .. }), "{message}");
    assert!(
        message.contains("`dense_1.bias` has shape [2, 5]"),
        "{message}"
    );
    assert!(message.contains("expects [10]"), "{message}");
}

#[test]
fn missing_tensor_is_named() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    rewrite(&path, |entries, _| {
        entries.retain(|e| e.0 != "optimizer/v/conv2d_1.kernel");
    });
    let error = load_error(&path, &layout);
    assert!(
        matches!(error, CheckpointError::MissingTensor { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("`optimizer/v/conv2d_1.kernel`"));
}

#[test]
fn tensors_the_model_lacks_are_listed() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    rewrite(&path, |entries, _| {
        entries.push(("dense_2.bias".into(), Dtype::F32, vec![3], vec![0; 12]));
        entries.push((
            "optimizer/iterations".into(),
            Dtype::I64,
            vec![],
            vec![0; 8],
        ));
    });
    let error = load_error(&path, &layout);
    assert!(
        matches!(error, CheckpointError::UnexpectedTensors { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("dense_2.bias, optimizer/iterations"),
        "{error}"
    );
}

#[test]
fn tensor_of_wrong_dtype_is_named() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, layout, _) = saved_cnn(dir.path());
    rewrite(&path, |entries, _| {
        let bias = entries.iter_mut().find(|e| e.0 == "conv2d.bias").unwrap();
        bias.1 = Dtype::F16;
        bias.3.truncate(bias.3.len() / 2);
    });
    let error = load_error(&path, &layout);
    assert!(matches!(error, CheckpointError::Dtype { .. }), "{error}");
    assert!(
        error.to_string().contains("`conv2d.bias` is F16"),
        "{error}"
    );
}

#[test]
fn cnn_checkpoint_checked_against_cnn_small_names_both_models() {
    let dir = TempDir::new().unwrap();
    let (path, _, _, _, _) = saved_cnn(dir.path());
    let raw = checkpoint::load(&path).unwrap();
    let (small, small_layout) = model("cnn-small", 64);
    let error = checkpoint::check_model(&path, &raw.spec, &small).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, CheckpointError::ModelMismatch { .. }),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("'cnn'") && message.contains("'cnn-small'"),
        "{message}"
    );
    assert!(message.contains("8 layers vs 5"), "{message}");
    // Skipping the check still cannot load the wrong weights.
    let error = load_error(&path, &small_layout);
    assert!(matches!(error, CheckpointError::Shape { .. }), "{error}");
}

#[test]
fn check_model_ignores_the_name_but_not_a_layer_setting() {
    let path = Path::new("run.safetensors");
    let cnn = preset("cnn").unwrap();
    let mut renamed = cnn.clone();
    renamed.name = "my-cnn".into();
    checkpoint::check_model(path, &cnn, &renamed).unwrap();
    let mut wider = cnn.clone();
    let LayerSpec::Dense(dense) = &mut wider.layers[6] else {
        panic!("cnn's layer 6 is its hidden Dense layer");
    };
    dense.units = 65;
    let message = checkpoint::check_model(path, &cnn, &wider)
        .unwrap_err()
        .to_string();
    assert!(message.contains("layer 6"), "{message}");
}

#[test]
fn save_into_missing_directory_names_it_and_leaves_nothing() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no").join("such");
    let path = missing.join("run.safetensors");
    let mut rng = StdRng::seed_from_u64(1);
    let (spec, layout) = model("cnn-small", 16);
    let state = state(&layout, &mut rng);
    let error = checkpoint::save(&path, &spec, &config(&mut rng), &layout, &state).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, CheckpointError::MissingDirectory { .. }),
        "{message}"
    );
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(!path.exists());
    assert!(entries_in(dir.path()).is_empty());
}

#[test]
fn failed_save_onto_a_directory_leaves_no_temp_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.safetensors");
    fs::create_dir(&path).unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let (spec, layout) = model("cnn", 16);
    let state = state(&layout, &mut rng);
    let error = checkpoint::save(&path, &spec, &config(&mut rng), &layout, &state).unwrap_err();
    assert!(matches!(error, CheckpointError::Write { .. }), "{error}");
    assert!(error.to_string().contains(&path.display().to_string()));
    assert_eq!(entries_in(dir.path()), ["run.safetensors"]);
    assert!(path.is_dir());
}

#[test]
fn state_that_does_not_fit_the_layout_is_refused_and_nothing_written() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.safetensors");
    let mut rng = StdRng::seed_from_u64(3);
    let (spec, layout) = model("cnn", 16);
    let (_, other) = model("cnn", 64);
    let state = state(&other, &mut rng);
    let error = checkpoint::save(&path, &spec, &config(&mut rng), &layout, &state).unwrap_err();
    assert!(matches!(error, CheckpointError::Encode { .. }), "{error}");
    assert!(entries_in(dir.path()).is_empty());
}

#[test]
fn saving_again_replaces_the_checkpoint_whole() {
    let dir = TempDir::new().unwrap();
    let (path, spec, config, layout, mut state) = saved_cnn(dir.path());
    state.steps_done += 141;
    state.epochs_done += 1;
    state.params.iter_mut().for_each(|p| *p *= 0.5);
    checkpoint::save(&path, &spec, &config, &layout, &state).unwrap();
    let loaded = checkpoint::load(&path)
        .unwrap()
        .into_checkpoint(&layout)
        .unwrap();
    assert_eq!(bits(&loaded.state.params), bits(&state.params));
    assert_eq!(loaded.state.steps_done, 564);
    assert_eq!(entries_in(dir.path()), ["run.safetensors"]);
}

#[cfg(unix)]
#[test]
fn checkpoint_file_gets_the_mode_of_an_ordinary_new_file_not_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let (path, ..) = saved_cnn(dir.path());
    let plain = dir.path().join("plain");
    fs::write(&plain, b"x").unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&plain));
}
