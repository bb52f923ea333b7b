//! The page's training form, as the library's [`TrainConfig`].

use gpu_cnn::optim::{OptimizerConfig, Setting};
use gpu_cnn::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// What the page's training form holds; a missing field takes the CLI's default.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Fraction held out for validation.
    pub validation_split: f64,
    /// `adam`, `sgd`, `rmsprop` or `adamw`.
    pub optimizer: String,
    /// The optimizer's learning rate; `None` keeps Keras's default for the optimizer chosen.
    pub learning_rate: Option<f64>,
    /// Train on this many random samples (0: all).
    pub limit_train: usize,
    /// Seed of initialisation, subsampling and shuffling.
    pub seed: u64,
}

impl Default for Settings {
    /// The CLI's defaults, the learning rate that of whichever optimizer is chosen.
    fn default() -> Self {
        Self {
            learning_rate: None,
            ..Self::of(&TrainConfig::default())
        }
    }
}

impl Settings {
    /// The form that gives `config` back (a loaded checkpoint's run, to go on with it).
    pub fn of(config: &TrainConfig) -> Self {
        Self {
            epochs: config.epochs,
            batch_size: config.batch_size,
            validation_split: config.validation_split,
            optimizer: config.optimizer.name().to_string(),
            learning_rate: Some(config.optimizer.learning_rate()),
            limit_train: config.train_samples.unwrap_or(0),
            seed: config.seed,
        }
    }

    /// The run these settings ask for; an unknown optimizer is an error naming the choices.
    /// The library checks every value when training starts ([`TrainConfig::validate`]).
    pub fn config(&self) -> Result<TrainConfig, String> {
        let mut optimizer = OptimizerConfig::keras_default(&self.optimizer).ok_or_else(|| {
            format!(
                "unknown optimizer '{}': choose adam, sgd, rmsprop or adamw",
                self.optimizer
            )
        })?;
        if let Some(rate) = self.learning_rate {
            optimizer.set(Setting::LearningRate, rate);
        }
        Ok(TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            validation_split: self.validation_split,
            seed: self.seed,
            train_samples: (self.limit_train > 0).then_some(self.limit_train),
            optimizer,
            ..TrainConfig::default()
        })
    }
}

/// Whether a trainer of `current` can go on under `wanted`: the same run, perhaps longer.
pub fn continues(current: &TrainConfig, wanted: &TrainConfig) -> bool {
    let mut same = wanted.clone();
    same.epochs = current.epochs;
    same == *current && wanted.epochs >= current.epochs
}
