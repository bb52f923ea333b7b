//! What a training run is as data: its settings, what each epoch did, and the state that lets
//! it continue exactly. Below `train` and `checkpoint`, which both speak it.

use serde::{Deserialize, Serialize};

use crate::evaluate::EvalStats;
use crate::optim::{AdamConfig, OptimizerConfig};

/// How to train (Keras `fit` arguments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredTrainConfig")]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Fraction of the training set held out for validation (its tail, before shuffling).
    pub validation_split: f64,
    /// Seed of initialisation, subsampling and shuffling.
    pub seed: u64,
    /// Train on a random subset of this many samples (the lecture's 5k).
    pub train_samples: Option<usize>,
    /// The optimizer and its settings.
    pub optimizer: OptimizerConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 5,
            batch_size: 32,
            validation_split: 0.1,
            seed: 0,
            train_samples: None,
            optimizer: OptimizerConfig::default(),
        }
    }
}

/// A [`TrainConfig`] as checkpoints hold it: those written before the optimizer could be
/// chosen name Adam's settings `adam` instead of `optimizer`.
#[derive(Deserialize)]
struct StoredTrainConfig {
    epochs: usize,
    batch_size: usize,
    validation_split: f64,
    seed: u64,
    train_samples: Option<usize>,
    optimizer: Option<OptimizerConfig>,
    adam: Option<AdamConfig>,
}

impl TryFrom<StoredTrainConfig> for TrainConfig {
    type Error = &'static str;

    fn try_from(stored: StoredTrainConfig) -> Result<Self, Self::Error> {
        let optimizer = match (stored.optimizer, stored.adam) {
            (Some(optimizer), None) => optimizer,
            (None, Some(adam)) => OptimizerConfig::Adam(adam),
            (None, None) => return Err("missing field `optimizer`"),
            (Some(_), Some(_)) => return Err("both `optimizer` and `adam` given"),
        };
        Ok(Self {
            epochs: stored.epochs,
            batch_size: stored.batch_size,
            validation_split: stored.validation_split,
            seed: stored.seed,
            train_samples: stored.train_samples,
            optimizer,
        })
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Steps taken.
    pub steps: usize,
    /// Wall time of the training steps.
    #[serde(with = "crate::json_float")]
    pub seconds: f64,
    /// Mean training loss over the epoch.
    #[serde(with = "crate::json_float")]
    pub loss: f64,
    /// Training accuracy over the epoch.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Validation loss and accuracy, when there is a validation split.
    pub validation: Option<EvalStats>,
}

/// Everything needed to continue training exactly where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken (Adam's `t`).
    pub steps_done: u64,
    /// Parameter slab (laid out as the network's [`crate::gpu::slab::SlabLayout`]).
    pub params: Vec<f32>,
    /// The optimizer's state in `m` (Adam's first moment, SGD's velocity, RMSprop's
    /// momentum), same layout.
    pub m: Vec<f32>,
    /// The optimizer's state in `v` (Adam's second moment, RMSprop's average of squares), same
    /// layout.
    pub v: Vec<f32>,
    /// Non-trainable state (moving statistics), laid out as the network's state layout.
    pub state: Vec<f32>,
    /// The epochs completed so far.
    pub history: Vec<EpochStats>,
    /// The epoch an interruption stopped part-way, finished first when training continues.
    pub partial: Option<PartialEpoch>,
}

/// An epoch stopped part-way at a chunk boundary (Ctrl-C): the steps it completed, so that a
/// resumed run takes exactly the steps an uninterrupted one would.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Steps of it completed (`epochs_done` epochs and these steps make `steps_done`).
    pub steps: usize,
    /// Wall time of those steps.
    pub seconds: f64,
    /// Each completed step's summed loss, for the epoch's mean.
    pub loss_sums: Vec<f32>,
    /// Each completed step's correct predictions, for the epoch's accuracy.
    pub correct: Vec<u32>,
}
