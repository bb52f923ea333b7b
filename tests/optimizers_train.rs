//! SGD with momentum and RMSprop train the `dense` preset end to end on the real adapter: one
//! epoch on a seeded 5,000-sample subset of the bundled MNIST (4,500 to train after Keras's 10%
//! validation split, batch 32: 141 steps), then the full 10,000-image test set.
//!
//! Bar: test accuracy >= 0.85, as the lecture's Keras runs reach with these optimizers; a wrong
//! sign, a missing momentum or a misplaced epsilon leaves it far lower or diverges.

mod common;

use gpu_cnn::data::{bundled_mnist_dir, load_dir};
use gpu_cnn::model::presets::preset;
use gpu_cnn::optim::{OptimizerConfig, RmspropConfig, SgdConfig};
use gpu_cnn::train::{TrainConfig, Trainer};

/// The least test accuracy each optimizer must reach.
const MIN_ACCURACY: f64 = 0.85;

#[test]
fn sgd_with_momentum_and_rmsprop_train_dense_to_85_percent_in_one_epoch_on_5000_samples() {
    let ctx = common::context();
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let mut failures = Vec::new();
    for optimizer in [
        OptimizerConfig::Sgd(SgdConfig {
            learning_rate: 0.01,
            momentum: 0.9,
            nesterov: false,
        }),
        OptimizerConfig::Rmsprop(RmspropConfig {
            learning_rate: 0.001,
            ..RmspropConfig::default()
        }),
    ] {
        let config = TrainConfig {
            epochs: 1,
            batch_size: 32,
            train_samples: Some(5_000),
            seed: 7,
            optimizer,
            ..TrainConfig::default()
        };
        let mut trainer =
            Trainer::new(&ctx, preset("dense").expect("dense"), &data, config).expect("trainer");
        trainer.fit(|_| {}).expect("fit");
        let test = trainer.evaluate_test().expect("test");
        eprintln!("{}: test accuracy {:.4}", optimizer.name(), test.accuracy);
        if test.accuracy.is_nan() || test.accuracy < MIN_ACCURACY {
            failures.push(format!("{}: {:.4}", optimizer.name(), test.accuracy));
        }
    }
    assert!(
        failures.is_empty(),
        "below {MIN_ACCURACY}: {}",
        failures.join(", ")
    );
}
