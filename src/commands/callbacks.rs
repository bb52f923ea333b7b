//! Keras's callbacks as `train` options: `EarlyStopping(restore_best_weights=True)`
//! (`--early-stopping`), `ModelCheckpoint(save_best_only=True)` (`--save-best`) and
//! `CSVLogger` (`--log`).
//!
//! Both early stopping and `--save-best` watch one value, `--monitor`; an epoch improves it
//! when it beats the best so far by more than `--min-delta` (down for a loss, up for an
//! accuracy). The count starts afresh in every run: a resumed run's first epoch is its first
//! best. When early stopping ends a run (or the run reaches `--epochs`), the best epoch's
//! state, kept on the host, is restored: the run ends as if it had stopped at its best epoch,
//! so `--save` then holds that epoch's weights, optimizer state and history, and `--resume`
//! of it continues after the best epoch. The report and `--log` keep every epoch trained.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gpu_cnn::atomic::{self, Claim};
use gpu_cnn::report;
use gpu_cnn::train::{EpochStats, TrainState, Trainer};
use gpu_cnn::Error;

use super::{reporting, train};

/// The value early stopping and `--save-best` watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Monitor {
    /// The validation loss (lower is better).
    #[value(name = "val_loss")]
    ValLoss,
    /// The validation accuracy (higher is better).
    #[value(name = "val_accuracy")]
    ValAccuracy,
    /// The training loss (lower is better).
    #[value(name = "loss")]
    Loss,
    /// The training accuracy (higher is better).
    #[value(name = "accuracy")]
    Accuracy,
}

impl Monitor {
    /// Its name as Keras spells it.
    fn name(self) -> &'static str {
        match self {
            Self::ValLoss => "val_loss",
            Self::ValAccuracy => "val_accuracy",
            Self::Loss => "loss",
            Self::Accuracy => "accuracy",
        }
    }

    /// Whether it is measured on the validation split.
    fn needs_validation(self) -> bool {
        matches!(self, Self::ValLoss | Self::ValAccuracy)
    }

    /// Whether higher is better (Keras's mode `max`, from the name).
    fn maximised(self) -> bool {
        matches!(self, Self::ValAccuracy | Self::Accuracy)
    }

    /// Whether `value` beats `best` (none yet: any number does) by more than `min_delta`.
    fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        match best {
            None => !value.is_nan(),
            Some(best) if self.maximised() => value - min_delta > best,
            Some(best) => value + min_delta < best,
        }
    }

    /// Its value in `stats` (`None` without a validation split).
    fn of(self, stats: &EpochStats) -> Option<f64> {
        match self {
            Self::ValLoss => stats.validation.map(|v| v.loss),
            Self::ValAccuracy => stats.validation.map(|v| v.accuracy),
            Self::Loss => Some(stats.loss),
            Self::Accuracy => Some(stats.accuracy),
        }
    }
}

/// The callback options of `train`.
#[derive(Args, Debug)]
pub struct CallbackArgs {
    /// Stop when --monitor has not improved for PATIENCE epochs, and end with the best
    /// epoch's weights (Keras's EarlyStopping with restore_best_weights=True).
    #[arg(long, value_name = "PATIENCE")]
    early_stopping: Option<usize>,
    /// The value --early-stopping and --save-best watch; a loss should fall, an accuracy rise.
    #[arg(long, value_enum, default_value = "val_loss")]
    monitor: Monitor,
    /// The least change of --monitor that counts as an improvement.
    #[arg(
        long,
        value_name = "DELTA",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    min_delta: f64,
    /// Save the checkpoint to FILE after every epoch that improves --monitor (Keras's
    /// ModelCheckpoint with save_best_only=True).
    #[arg(long, value_name = "FILE")]
    save_best: Option<PathBuf>,
    /// Write the history as CSV to FILE, rewritten whole after every epoch (Keras's CSVLogger).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Claims `path` for the option `setting` ([`atomic::claim`]).
fn claim(setting: &'static str, path: &Path) -> Result<Claim, Error> {
    atomic::claim(path).map_err(|source| Error::InvalidSetting {
        setting,
        value: path.display().to_string(),
        hint: format!("it cannot be written ({source}): give another path"),
    })
}

impl CallbackArgs {
    /// Checks the settings (against the `--save` file) and claims the files, before any
    /// training.
    pub fn prepare(&self, save: Option<&PathBuf>) -> Result<Callbacks, Error> {
        if self.early_stopping == Some(0) {
            return Err(Error::InvalidSetting {
                setting: "--early-stopping",
                value: "0".into(),
                hint: "give a patience of at least 1 epoch".into(),
            });
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::InvalidSetting {
                setting: "--min-delta",
                value: self.min_delta.to_string(),
                hint: "give a change of at least 0, e.g. 0.001".into(),
            });
        }
        if let (Some(best), Some(save)) = (&self.save_best, save) {
            if best == save {
                return Err(Error::InvalidSetting {
                    setting: "--save-best",
                    value: best.display().to_string(),
                    hint: "it is the --save file too: give each its own file".into(),
                });
            }
        }
        let watching = self.early_stopping.is_some() || self.save_best.is_some();
        Ok(Callbacks {
            monitor: watching.then_some(self.monitor),
            min_delta: self.min_delta,
            patience: self.early_stopping,
            best: None,
            wait: 0,
            best_state: None,
            stopped: false,
            save_best: self
                .save_best
                .as_deref()
                .map(|path| claim("--save-best", path))
                .transpose()?,
            log: self
                .log
                .as_deref()
                .map(|path| claim("--log", path))
                .transpose()?,
        })
    }
}

/// The callbacks of one run, between epochs.
pub struct Callbacks {
    /// The value watched, when early stopping or `--save-best` is on.
    monitor: Option<Monitor>,
    min_delta: f64,
    patience: Option<usize>,
    /// The best epoch so far and its value.
    best: Option<(usize, f64)>,
    /// Epochs since the best.
    wait: usize,
    /// The best epoch's state, kept for early stopping to restore.
    best_state: Option<TrainState>,
    /// Whether early stopping ended the run.
    stopped: bool,
    save_best: Option<Claim>,
    log: Option<Claim>,
}

impl Callbacks {
    /// Refuses a validation value to watch when the run has no validation split (`validation`
    /// samples); before training.
    pub fn check(&self, validation: usize) -> Result<(), Error> {
        match self.monitor {
            Some(monitor) if monitor.needs_validation() && validation == 0 => {
                Err(Error::InvalidSetting {
                    setting: "--monitor",
                    value: monitor.name().into(),
                    hint: "the run has no validation split: give --validation-split above 0, \
                           or --monitor loss or accuracy"
                        .into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// After each epoch: writes the log; on an epoch that improves the monitored value, saves
    /// it to `--save-best` and keeps its state for early stopping; says whether to stop.
    pub fn after_epoch(&mut self, trainer: &Trainer) -> Result<ControlFlow<()>, Error> {
        if let Some(log) = &self.log {
            report::write_text(&log.path, &reporting::history_csv(trainer.history()))?;
        }
        let (Some(monitor), Some(stats)) = (self.monitor, trainer.history().last()) else {
            return Ok(ControlFlow::Continue(()));
        };
        let value = monitor.of(stats).unwrap_or(f64::NAN);
        if monitor.improves(value, self.best.map(|(_, best)| best), self.min_delta) {
            self.best = Some((stats.epoch, value));
            self.wait = 0;
            if self.save_best.is_some() || self.patience.is_some() {
                let state = trainer.state()?;
                if let Some(claim) = &self.save_best {
                    train::save_state(trainer, claim, &state)?;
                }
                if self.patience.is_some() {
                    self.best_state = Some(state);
                }
            }
            return Ok(ControlFlow::Continue(()));
        }
        self.wait += 1;
        match self.patience {
            Some(patience) if self.wait >= patience => {
                self.stopped = true;
                Ok(ControlFlow::Break(()))
            }
            _ => Ok(ControlFlow::Continue(())),
        }
    }

    /// At the end of training: says where early stopping stopped and restores the best
    /// epoch's state; returns the whole history trained (the restored state's ends at the best
    /// epoch).
    pub fn finish(&mut self, trainer: &mut Trainer) -> Result<Vec<EpochStats>, Error> {
        let history = trainer.history().to_vec();
        if let (true, Some(last)) = (self.stopped, history.last()) {
            note!("Epoch {}: early stopping", last.epoch);
        }
        if let (Some(state), Some((best, _))) = (self.best_state.take(), self.best) {
            note!("Restoring model weights from the end of the best epoch: {best}.");
            trainer.restore(state)?;
        }
        Ok(history)
    }
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
