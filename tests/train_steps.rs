//! Whole training steps: the GPU trainer against the CPU reference network step for step
//! (golden run), bit-for-bit reproducibility, and a short real training run on lavapipe.
//!
//! Golden tolerance: after each epoch of 3 Adam steps, |gpu − cpu| ≤ 2e-5 + 1e-3·|cpu| per
//! parameter, losses within 1e-4 relative. Adam moves every parameter by about lr = 1e-3 per
//! step whatever the gradient's size, so a disagreement in any gradient's sign would show.

mod common;

use common::*;
use gpu_cnn::data::{
    bundled_mnist_dir, epoch_order, load_dir, split_validation, Dataset, MnistSplits,
};
use gpu_cnn::gpu::{GpuContext, LaunchProfile};
use gpu_cnn::layers::conv2d::Conv2D;
use gpu_cnn::layers::dense::Dense;
use gpu_cnn::layers::flatten::Flatten;
use gpu_cnn::layers::gather::{self, Params as GatherParams};
use gpu_cnn::layers::pool2d::{AveragePooling2D, Window};
use gpu_cnn::model::network::initial_values;
use gpu_cnn::model::plan::Fusion;
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::reference::CpuNetwork;
use gpu_cnn::model::shape::Role;
use gpu_cnn::model::spec::{Activation, LayerSpec, ModelSpec};
use gpu_cnn::optim::plateau::{PlateauConfig, PlateauState};
use gpu_cnn::optim::schedule::{CosineDecay, PiecewiseConstantDecay};
use gpu_cnn::optim::{AdamWConfig, OptimizerConfig, Schedule, Setting};
use gpu_cnn::run::Monitor;
use gpu_cnn::train::{Submitted, TrainConfig, Trainer};
use rand::Rng;

/// Random images of `rows × cols` pixels with random labels.
fn synthetic(samples: usize, rows: usize, cols: usize, seed: u64) -> Dataset {
    let mut rng = rng(seed);
    Dataset {
        images: (0..samples * rows * cols).map(|_| rng.random()).collect(),
        labels: (0..samples).map(|_| rng.random_range(0..10)).collect(),
        rows,
        cols,
    }
}

/// The dense preset with `hidden` units in its hidden layer.
fn dense(hidden: usize) -> ModelSpec {
    let mut spec = preset("dense").expect("preset");
    spec.layers[1] = LayerSpec::Dense(Dense {
        units: hidden,
        activation: Activation::Relu,
    });
    spec
}

/// Trains `epochs` epochs on the GPU and the same steps on the CPU; compares after each epoch.
fn golden(data: &MnistSplits, spec: ModelSpec, config: TrainConfig) {
    golden_on(&context(), data, spec, config);
}

/// [`golden`] on `ctx` (which may plan as another device would).
fn golden_on(ctx: &GpuContext, data: &MnistSplits, spec: ModelSpec, config: TrainConfig) {
    let mut trainer = Trainer::new(ctx, spec, data, config.clone()).expect("trainer");
    let network = trainer.network();
    let layouts = network.layouts();
    let check_layouts = layouts.clone();
    let layers = &network.layers;
    let initial = initial_values(layers, Role::Trainable, &layouts.params, config.seed);
    let state = initial_values(layers, Role::State, &layouts.state, config.seed);
    assert_eq!(
        trainer.parameters().unwrap(),
        initial,
        "GPU starts from the CPU's initial values"
    );
    let mut cpu = CpuNetwork::new(
        layers.clone(),
        (layouts.params, layouts.state),
        10,
        (initial, state),
        config.seed,
    );

    let all: Vec<u32> = (0..data.train.len() as u32).collect();
    let (train, _) = split_validation(&all, config.validation_split).unwrap();
    let rows = config.batch_size;
    let sample_len = data.train.sample_len();
    let labels: Vec<u32> = data.train.labels.iter().map(|&l| u32::from(l)).collect();
    let params = GatherParams {
        rows: rows as u32,
        sample_len: sample_len as u32,
        ..Default::default()
    };
    // Reduce-on-plateau as the run counts it, from the GPU's epochs (the CPU's equal them).
    let mut plateau = PlateauState::default();
    let mut step = 0u64;
    for epoch in 1..=config.epochs {
        let stats = trainer.run_epoch(epoch, &mut |_| {}).expect("epoch");
        let order = epoch_order(&train, config.seed, epoch - 1);
        let mut loss = 0.0f64;
        for start in (0..train.len()).step_by(rows) {
            let batch_rows = rows.min(train.len() - start);
            let (batch, batch_labels) = gather::cpu::forward(
                &params,
                &data.train.images,
                &labels,
                &order,
                start,
                batch_rows,
            );
            // The optimizer at this step's (scheduled, reduced) learning rate.
            let mut optimizer = config.optimizer;
            optimizer.set(Setting::LearningRate, config.learning_rate(step, &plateau));
            step += 1;
            let metrics = cpu
                .train_step(&batch, &batch_labels, rows, batch_rows, &optimizer)
                .expect("cpu step");
            loss += f64::from(metrics.loss_sum);
        }
        if let Some(reduce) = &config.plateau {
            plateau.after_epoch(reduce, &stats, config.learning_rate(step - 1, &plateau));
        }
        let cpu_loss = loss / train.len() as f64;
        assert!(
            (stats.loss - cpu_loss).abs() <= 1e-4 * cpu_loss.abs(),
            "epoch {epoch} loss: gpu {} vs cpu {cpu_loss}",
            stats.loss
        );
        let gpu = trainer.parameters().unwrap();
        // A bias right before BatchNormalization has a gradient of exactly zero in exact
        // arithmetic (the normalisation subtracts the batch mean), so its computed gradient is
        // rounding noise that Adam scales to steps of about ±lr: there GPU and CPU may move in
        // opposite directions, but never by more than Adam's step per step taken.
        let steps = (epoch * train.len().div_ceil(rows)) as f32;
        let adam_bound = 2.0 * config.optimizer.learning_rate() as f32 * steps;
        for (index, slot) in check_layouts.params.tensors.iter().enumerate() {
            let range = slot.offset..slot.offset + slot.len;
            let atol = if feeds_batch_norm(&trainer.network().layers, &slot.name) {
                adam_bound
            } else {
                2e-5
            };
            assert_close(
                &format!(
                    "parameters after epoch {epoch}: tensor {index} {}",
                    slot.name
                ),
                &gpu[range.clone()],
                &cpu.params[range],
                atol,
                1e-3,
            );
        }
    }
}

/// Whether tensor `name` is the bias of a layer that BatchNormalization directly follows.
fn feeds_batch_norm(layers: &[gpu_cnn::model::LayerInfo], name: &str) -> bool {
    layers.windows(2).any(|pair| {
        matches!(pair[1].spec, LayerSpec::BatchNormalization(_))
            && name == format!("{}.bias", pair[0].name)
    })
}

#[test]
fn golden_run_matches_cpu_for_three_steps_on_odd_synthetic_data() {
    // 21 training samples in batches of 7: three full steps per epoch, two epochs.
    let data = MnistSplits {
        train: synthetic(21, 6, 5, 1),
        test: synthetic(9, 6, 5, 2),
    };
    golden(
        &data,
        dense(13),
        TrainConfig {
            epochs: 2,
            batch_size: 7,
            validation_split: 0.0,
            seed: 3,
            ..Default::default()
        },
    );
}

#[test]
fn golden_run_with_schedules_and_plateau_matches_cpu_at_each_steps_rate_adam_and_adamw() {
    // 21 training samples in batches of 7: three steps an epoch, three epochs. Each case's
    // rates differ from the optimizer's learning rate by far more than the tolerance would
    // let a kernel that ignored them pass.
    let data = MnistSplits {
        train: synthetic(21, 6, 5, 1),
        test: synthetic(9, 6, 5, 2),
    };
    let adamw = OptimizerConfig::Adamw(AdamWConfig {
        weight_decay: 20.0,
        ..AdamWConfig::default()
    });
    let cosine = Schedule::Cosine(CosineDecay {
        decay_steps: 5,
        alpha: 0.1,
        warmup_steps: 3,
        warmup_target: Some(0.01),
    });
    // Piecewise ignores the optimizer's rate: AdamW's decay must follow the values.
    let piecewise = Schedule::Piecewise(PiecewiseConstantDecay {
        boundaries: vec![1, 4],
        values: vec![0.004, 0.0005, 0.002],
    });
    // A min_delta no loss can beat: the rate halves after epoch 2 (patience 1).
    let plateau = PlateauConfig {
        patience: 1,
        factor: 0.5,
        cooldown: 0,
        min_lr: 0.0,
        monitor: Monitor::Loss,
        min_delta: 1e9,
    };
    let cases = [
        (OptimizerConfig::default(), cosine.clone(), None),
        (adamw, cosine, None),
        (adamw, piecewise, None),
        (adamw, Schedule::Constant, Some(plateau)),
    ];
    for (optimizer, schedule, plateau) in cases {
        golden(
            &data,
            dense(13),
            TrainConfig {
                epochs: 3,
                batch_size: 7,
                validation_split: 0.0,
                seed: 3,
                optimizer,
                schedule,
                plateau,
                ..Default::default()
            },
        );
    }
}

#[test]
fn golden_run_matches_cpu_with_a_short_last_batch() {
    // 30 samples, 20% validation → 24 training samples in batches of 10: 10, 10, 4.
    let data = MnistSplits {
        train: synthetic(30, 7, 4, 4),
        test: synthetic(5, 7, 4, 5),
    };
    golden(
        &data,
        dense(11),
        TrainConfig {
            epochs: 2,
            batch_size: 10,
            validation_split: 0.2,
            seed: 6,
            ..Default::default()
        },
    );
}

#[test]
fn golden_run_matches_cpu_on_mnist_with_the_lecture_model() {
    let data = bundled_subset(96, 10);
    golden(
        &data,
        dense(128),
        TrainConfig {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            seed: 7,
            ..Default::default()
        },
    );
}

#[test]
fn golden_run_matches_cpu_with_a_big_gpus_plan_of_cnn_and_dense() {
    // The plans the launch-plan test checks (cnn at batch 64, dense at batch 32), split-K
    // forwards and input gradients included, run here on lavapipe.
    let mut ctx = context();
    ctx.plan_as(LaunchProfile::big_gpu());
    let data = bundled_subset(64, 10);
    for (name, batch_size) in [("cnn", 64), ("dense", 32)] {
        let config = TrainConfig {
            epochs: 1,
            batch_size,
            validation_split: 0.0,
            seed: 12,
            ..Default::default()
        };
        golden_on(&ctx, &data, preset(name).expect("preset"), config);
    }
}

#[test]
fn golden_run_matches_cpu_for_every_cnn_preset_on_mnist() {
    // 21 samples in batches of 10: steps of 10, 10 and a short 1.
    let data = bundled_subset(21, 10);
    for name in [
        "cnn",
        "cnn-same",
        "cnn-extra-pool",
        "keras-convnet",
        "cnn-bn",
    ] {
        let spec = preset(name).expect("preset");
        golden(
            &data,
            spec,
            TrainConfig {
                epochs: 1,
                batch_size: 10,
                validation_split: 0.0,
                seed: 8,
                ..Default::default()
            },
        );
    }
}

#[test]
fn golden_run_matches_cpu_for_strided_same_padded_conv_with_average_pooling() {
    use gpu_cnn::model::spec::{Padding, Size2};
    let spec = ModelSpec {
        name: "strided".into(),
        input: [9, 7, 1],
        classes: 10,
        layers: vec![
            LayerSpec::Conv2D(Conv2D {
                filters: 5,
                kernel_size: Size2 { h: 3, w: 2 },
                strides: Size2 { h: 2, w: 1 },
                padding: Padding::Same,
                activation: Activation::Relu,
            }),
            LayerSpec::AveragePooling2D(AveragePooling2D(Window::new(Size2::square(2)))),
            LayerSpec::Conv2D(Conv2D {
                filters: 3,
                kernel_size: Size2::square(2),
                strides: Size2::square(1),
                padding: Padding::Valid,
                activation: Activation::Linear,
            }),
            LayerSpec::Flatten(Flatten {}),
            LayerSpec::Dense(Dense {
                units: 10,
                activation: Activation::Softmax,
            }),
        ],
    };
    let data = MnistSplits {
        train: synthetic(15, 9, 7, 9),
        test: synthetic(4, 9, 7, 10),
    };
    golden(
        &data,
        spec,
        TrainConfig {
            epochs: 2,
            batch_size: 5,
            validation_split: 0.0,
            seed: 11,
            ..Default::default()
        },
    );
}

fn train_once(data: &MnistSplits, config: &TrainConfig) -> (Vec<f32>, f64) {
    let ctx = context();
    let mut trainer =
        Trainer::new(&ctx, preset("dense").unwrap(), data, config.clone()).expect("trainer");
    trainer.fit(|_| {}).expect("fit");
    (
        trainer.parameters().unwrap(),
        trainer.evaluate_test().unwrap().accuracy,
    )
}

#[test]
fn same_seed_gives_bit_identical_weights_and_accuracy() {
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let config = TrainConfig {
        epochs: 2,
        train_samples: Some(1000),
        seed: 11,
        ..Default::default()
    };
    let (first, first_accuracy) = train_once(&data, &config);
    let (second, second_accuracy) = train_once(&data, &config);
    let first_bits: Vec<u32> = first.iter().map(|v| v.to_bits()).collect();
    let second_bits: Vec<u32> = second.iter().map(|v| v.to_bits()).collect();
    assert!(
        first_bits == second_bits,
        "weights differ between two runs with the same seed"
    );
    assert_eq!(first_accuracy.to_bits(), second_accuracy.to_bits());
    let other = TrainConfig { seed: 12, ..config };
    assert_ne!(
        train_once(&data, &other).0,
        first,
        "a different seed must train differently"
    );
}

#[test]
fn dense_model_learns_mnist_from_a_small_subset() {
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let config = TrainConfig {
        epochs: 1,
        train_samples: Some(2000),
        seed: 1,
        ..Default::default()
    };
    let (_, accuracy) = train_once(&data, &config);
    assert!(
        accuracy >= 0.85,
        "test accuracy {accuracy} after one epoch on 1800 samples (expected ≥ 0.85)"
    );
}

#[test]
fn fused_and_plain_plans_train_to_the_same_weights() {
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let ctx = context();
    let config = TrainConfig {
        epochs: 1,
        train_samples: Some(200),
        batch_size: 64,
        seed: 3,
        ..Default::default()
    };
    // cnn fuses every ReLU (into conv/dense epilogues and the pool/GEMM backward masks);
    // keras-convnet also runs Dropout; cnn-bn's ReLUs follow BatchNormalization and never fuse.
    for name in ["cnn", "keras-convnet", "dense"] {
        let spec = preset(name).unwrap();
        let train = |fusion| {
            let mut trainer =
                Trainer::with_fusion(&ctx, spec.clone(), &data, config.clone(), fusion)
                    .expect("trainer");
            trainer.fit(|_| {}).expect("fit");
            let launches = trainer.plan().dispatches(0).count();
            (trainer.parameters().expect("parameters"), launches)
        };
        let (fused, fused_launches) = train(Fusion::ALL);
        let (plain, plain_launches) = train(Fusion::NONE);
        assert!(
            fused_launches < plain_launches,
            "{name}: fusion saves launches ({fused_launches} vs {plain_launches})"
        );
        // max(z, 0) in the epilogue or a kernel of its own, a mask in the GEMM or a multiply
        // by 0/1 after it: the same f32 values (a zero may differ in sign only).
        assert_eq!(fused, plain, "{name}: fused and plain weights differ");
    }
}

#[test]
fn resuming_from_a_saved_state_equals_an_uninterrupted_run_bit_for_bit() {
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let ctx = context();
    let config = TrainConfig {
        epochs: 3,
        train_samples: Some(600),
        batch_size: 64,
        seed: 5,
        ..Default::default()
    };
    // keras-convnet resumes its Dropout streams, cnn-bn its moving statistics.
    for name in ["cnn-small", "keras-convnet", "cnn-bn"] {
        resume_matches(&ctx, &data, name, &config);
    }
}

/// Trains `name` for `config.epochs` straight, and for all but one then resumed from the
/// saved state; parameters, state and losses must agree bit for bit.
fn resume_matches(ctx: &GpuContext, data: &MnistSplits, name: &str, config: &TrainConfig) {
    let spec = preset(name).unwrap();
    let mut straight = Trainer::new(ctx, spec.clone(), data, config.clone()).expect("trainer");
    straight.fit(|_| {}).expect("fit");

    let mut first = Trainer::new(
        ctx,
        spec.clone(),
        data,
        TrainConfig {
            epochs: 2,
            ..config.clone()
        },
    )
    .expect("trainer");
    first.fit(|_| {}).expect("fit");
    let saved = first.state().expect("state");
    let mut resumed = Trainer::new(ctx, spec, data, config.clone()).expect("trainer");
    resumed.restore(saved).expect("restore");
    resumed.fit(|_| {}).expect("fit");

    let bits = |t: &Trainer| {
        let state = t.state().unwrap();
        let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        (bits(&state.params), bits(&state.state))
    };
    assert!(
        bits(&straight) == bits(&resumed),
        "{name}: resumed weights or state differ from the uninterrupted run"
    );
    assert_eq!(straight.history().len(), 3);
    assert_eq!(resumed.history().len(), 3);
    for (a, b) in straight.history().iter().zip(resumed.history()) {
        assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "epoch {} loss", a.epoch);
    }
}

#[test]
fn an_epoch_driven_by_submit_and_poll_without_blocking_equals_run_epoch() {
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let ctx = context();
    let config = TrainConfig {
        epochs: 1,
        train_samples: Some(600),
        batch_size: 32,
        seed: 4,
        ..Default::default()
    };
    let spec = preset("dense").unwrap();
    let mut blocking = Trainer::new(&ctx, spec.clone(), &data, config.clone()).expect("trainer");
    let expected = blocking.run_epoch(1, &mut |_| {}).expect("epoch");

    let mut driven = Trainer::new(&ctx, spec, &data, config).expect("trainer");
    let mut run = driven.begin_epoch(1);
    let (mut chunks, mut reports) = (0, 0);
    loop {
        match driven.submit_chunk(&mut run).expect("submit") {
            Submitted::Chunk => chunks += 1,
            Submitted::Busy => {}
            Submitted::Done => break,
        }
        reports += usize::from(driven.poll(&mut run).expect("poll").is_some());
    }
    // Spin on the non-blocking poll, as an event loop would.
    while !run.is_complete() {
        reports += usize::from(driven.poll(&mut run).expect("poll").is_some());
    }
    let stats = driven.finish_epoch(run, &mut |_| {}).expect("finish");
    assert!(
        chunks > 1 && reports >= 1,
        "{chunks} chunks, {reports} reports"
    );
    assert_eq!(stats.loss.to_bits(), expected.loss.to_bits(), "epoch loss");
    assert_eq!(stats.accuracy, expected.accuracy);
    assert_eq!(
        driven.parameters().unwrap(),
        blocking.parameters().unwrap(),
        "weights"
    );
}

#[test]
fn golden_run_matches_cpu_with_tanh_and_with_gelu_hidden_layers() {
    // 21 training samples in batches of 7: three steps per epoch, two epochs.
    let data = MnistSplits {
        train: synthetic(21, 6, 5, 11),
        test: synthetic(9, 6, 5, 12),
    };
    let config = TrainConfig {
        epochs: 2,
        batch_size: 7,
        validation_split: 0.0,
        seed: 5,
        ..Default::default()
    };
    let mut tanh = dense(13);
    tanh.layers[1] = LayerSpec::Dense(Dense {
        units: 13,
        activation: Activation::Tanh,
    });
    golden(&data, tanh, config.clone());
    // gelu after a convolution, then a leaky ReLU of its own slope after a Dense layer.
    let gelu: ModelSpec = toml::from_str(
        r#"
        [[layers]]
        type = "Conv2D"
        filters = 4
        kernel_size = [3, 2]
        activation = "gelu"
        [[layers]]
        type = "Flatten"
        [[layers]]
        type = "Dense"
        units = 9
        [[layers]]
        type = "LeakyReLU"
        negative_slope = 0.1
        [[layers]]
        type = "Dense"
        units = 10
        activation = "softmax"
        "#,
    )
    .expect("model");
    golden(&data, gelu, config);
}
