//! What a training run is as data: its settings, what each epoch did, and the state that lets
//! it continue exactly. Below `train` and `checkpoint`, which both speak it.

use serde::{Deserialize, Serialize};

use crate::evaluate::EvalStats;
use crate::optim::adam::AdamConfig;

/// How to train (Keras `fit` arguments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Optimizer settings.
    pub adam: AdamConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 5,
            batch_size: 32,
            validation_split: 0.1,
            seed: 0,
            train_samples: None,
            adam: AdamConfig::default(),
        }
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
    /// Adam steps taken (Adam's `t`).
    pub steps_done: u64,
    /// Parameter slab (laid out as the network's [`crate::gpu::slab::SlabLayout`]).
    pub params: Vec<f32>,
    /// Adam's first moment, same layout.
    pub m: Vec<f32>,
    /// Adam's second moment, same layout.
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
