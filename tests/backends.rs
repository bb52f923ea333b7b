//! The same training on every backend of this machine (default: Vulkan and GL, which Mesa
//! gives headless machines as lavapipe and llvmpipe) ends at the same weights and accuracy:
//! the kernels mean the same after naga translates them to SPIR-V and to GLSL. (On Mesa both
//! run through LLVM and agree bit for bit; other drivers may round differently, hence the
//! tolerance: 1e-4 relative to 1e-3 + |w| per weight after one epoch, and equal accuracy.)
//!
//! `GPU_CNN_TEST_BACKENDS` (comma-separated, default `vulkan,gl`) names the backends; each
//! must be present (the test fails, never skips).

mod common;

use common::bundled_subset;
use gpu_cnn::data::MnistSplits;
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::presets::preset;
use gpu_cnn::train::{TrainConfig, Trainer};

/// The trained parameters and the test accuracy of `model` after one epoch on `ctx`.
fn train(ctx: &GpuContext, model: &str, data: &MnistSplits) -> (Vec<f32>, f64) {
    let config = TrainConfig {
        epochs: 1,
        batch_size: 32,
        seed: 5,
        ..TrainConfig::default()
    };
    let mut trainer =
        Trainer::new(ctx, preset(model).expect("preset"), data, config).expect("trainer");
    trainer.fit(|_| {}).expect("fit");
    let accuracy = trainer.evaluate_test().expect("test").accuracy;
    (trainer.parameters().expect("parameters"), accuracy)
}

#[test]
fn dense_and_a_cnn_train_to_the_same_weights_on_every_backend() {
    let backends = std::env::var("GPU_CNN_TEST_BACKENDS").unwrap_or_else(|_| "vulkan,gl".into());
    let contexts: Vec<(String, GpuContext)> = backends
        .split(',')
        .map(|name| {
            let selector: DeviceSelector = name.parse().unwrap_or(DeviceSelector::Auto);
            let ctx = GpuContext::new(&selector)
                .unwrap_or_else(|e| panic!("no {name} adapter: {e} (set GPU_CNN_TEST_BACKENDS)"));
            (name.to_string(), ctx)
        })
        .collect();
    let data = bundled_subset(256, 100);
    for model in ["dense", "cnn-small"] {
        let runs: Vec<_> = contexts
            .iter()
            .map(|(name, ctx)| (name, train(ctx, model, &data)))
            .collect();
        let (first, (weights, accuracy)) = &runs[0];
        for (name, (other, other_accuracy)) in &runs[1..] {
            let worst = weights
                .iter()
                .zip(other)
                .map(|(a, b)| (a - b).abs() / (1e-3 + a.abs()))
                .fold(0.0f32, f32::max);
            println!("{model}: {first} vs {name}: worst relative difference {worst:e}");
            assert!(
                worst < 1e-4,
                "{model}: {first} vs {name} differ by {worst:e}"
            );
            assert_eq!(accuracy, other_accuracy, "{model}: {first} vs {name}");
        }
    }
}
