//! What a training run is as data: its settings, what each epoch did, and the state that lets
//! it continue exactly. Below `train` and `checkpoint`, which both speak it.

use serde::{Deserialize, Serialize};

use crate::evaluate::EvalStats;
use crate::optim::plateau::{PlateauConfig, PlateauState};
use crate::optim::schedule::Schedule;
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
    /// How the learning rate changes over the run's steps.
    pub schedule: Schedule,
    /// Keras's `ReduceLROnPlateau`, when on.
    pub plateau: Option<PlateauConfig>,
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
            schedule: Schedule::Constant,
            plateau: None,
        }
    }
}

impl TrainConfig {
    /// Whether the learning rate can change during the run (a schedule, or reduce-on-plateau).
    pub fn varies_learning_rate(&self) -> bool {
        self.schedule.varies() || self.plateau.is_some()
    }

    /// The learning rate of step `step` (0 for the first update) once `plateau` has scaled it.
    pub fn learning_rate(&self, step: u64, plateau: &PlateauState) -> f64 {
        let scheduled = self
            .schedule
            .learning_rate(self.optimizer.learning_rate(), step);
        plateau.learning_rate(self.plateau.as_ref(), scheduled)
    }
}

/// A [`TrainConfig`] as checkpoints hold it: those written before the optimizer could be
/// chosen name Adam's settings `adam` instead of `optimizer`; those written before schedules
/// have neither `schedule` nor `plateau` (a constant rate).
#[derive(Deserialize)]
struct StoredTrainConfig {
    epochs: usize,
    batch_size: usize,
    validation_split: f64,
    seed: u64,
    train_samples: Option<usize>,
    optimizer: Option<OptimizerConfig>,
    adam: Option<AdamConfig>,
    #[serde(default)]
    schedule: Schedule,
    #[serde(default)]
    plateau: Option<PlateauConfig>,
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
            schedule: stored.schedule,
            plateau: stored.plateau,
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
    /// The learning rate of the epoch's last step, when a schedule or reduce-on-plateau
    /// varies it (Keras logs `learning_rate` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
}

/// The value `--early-stopping`, `--save-best` and `--reduce-lr-on-plateau` watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Monitor {
    /// The validation loss (lower is better).
    #[serde(rename = "val_loss")]
    ValLoss,
    /// The validation accuracy (higher is better).
    #[serde(rename = "val_accuracy")]
    ValAccuracy,
    /// The training loss (lower is better).
    #[serde(rename = "loss")]
    Loss,
    /// The training accuracy (higher is better).
    #[serde(rename = "accuracy")]
    Accuracy,
}

impl Monitor {
    /// Its name as Keras spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ValLoss => "val_loss",
            Self::ValAccuracy => "val_accuracy",
            Self::Loss => "loss",
            Self::Accuracy => "accuracy",
        }
    }

    /// Whether it is measured on the validation split.
    pub fn needs_validation(self) -> bool {
        matches!(self, Self::ValLoss | Self::ValAccuracy)
    }

    /// Whether higher is better (Keras's mode `max`, from the name).
    pub fn maximised(self) -> bool {
        matches!(self, Self::ValAccuracy | Self::Accuracy)
    }

    /// Whether `value` beats `best` (none yet: any number does) by more than `min_delta`.
    pub fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        match best {
            None => !value.is_nan(),
            Some(best) if self.maximised() => value - min_delta > best,
            Some(best) => value + min_delta < best,
        }
    }

    /// Its value in `stats` (NaN without a validation split).
    pub fn of(self, stats: &EpochStats) -> f64 {
        match self {
            Self::ValLoss => stats.validation.map_or(f64::NAN, |v| v.loss),
            Self::ValAccuracy => stats.validation.map_or(f64::NAN, |v| v.accuracy),
            Self::Loss => stats.loss,
            Self::Accuracy => stats.accuracy,
        }
    }
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
    /// Reduce-on-plateau's state (the factor it has reduced the rate by, its counters).
    pub plateau: PlateauState,
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

#[cfg(test)]
mod tests {
    use super::Monitor;

    #[test]
    fn a_loss_improves_by_falling_an_accuracy_by_rising_each_by_more_than_min_delta() {
        assert!(Monitor::ValLoss.improves(0.5, None, 0.1));
        assert!(!Monitor::ValLoss.improves(f64::NAN, None, 0.0));
        assert!(Monitor::Loss.improves(0.49, Some(0.5), 0.0));
        assert!(!Monitor::Loss.improves(0.5, Some(0.5), 0.0));
        assert!(!Monitor::ValLoss.improves(0.45, Some(0.5), 0.05));
        assert!(Monitor::ValLoss.improves(0.44, Some(0.5), 0.05));
        assert!(!Monitor::ValLoss.improves(0.6, Some(0.5), 0.0));
        assert!(Monitor::Accuracy.improves(0.61, Some(0.6), 0.0));
        assert!(!Monitor::ValAccuracy.improves(0.62, Some(0.6), 0.02));
        assert!(Monitor::ValAccuracy.improves(0.63, Some(0.6), 0.02));
        assert!(!Monitor::ValAccuracy.improves(f64::NAN, Some(0.6), 0.0));
    }
}
