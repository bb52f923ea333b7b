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
//!
//! `ReduceLROnPlateau` (`--reduce-lr-on-plateau`) watches `--monitor` with `--min-delta` too,
//! but it is part of the run ([`gpu_cnn::optim::plateau`]): the trainer counts its epochs and
//! its state is saved in checkpoints, so unlike the count above a resumed run continues it.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use gpu_cnn::atomic::{self, Claim};
use gpu_cnn::optim::plateau::PlateauConfig;
use gpu_cnn::report;
use gpu_cnn::run::Monitor;
use gpu_cnn::train::{EpochStats, TrainState, Trainer};
use gpu_cnn::Error;

use super::{reporting, train};

/// `--monitor`'s values: [`Monitor`]'s, with Keras's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MonitorArg(Monitor);

impl ValueEnum for MonitorArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Self(Monitor::ValLoss),
            Self(Monitor::ValAccuracy),
            Self(Monitor::Loss),
            Self(Monitor::Accuracy),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

/// The callback options of `train`.
#[derive(Args, Debug)]
pub struct CallbackArgs {
    /// Stop when --monitor has not improved for PATIENCE epochs, and end with the best
    /// epoch's weights (Keras's EarlyStopping with restore_best_weights=True).
    #[arg(long, value_name = "PATIENCE")]
    early_stopping: Option<usize>,
    /// The value --early-stopping, --save-best and --reduce-lr-on-plateau watch; a loss
    /// should fall, an accuracy rise.
    #[arg(long, value_enum, default_value = "val_loss")]
    monitor: MonitorArg,
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
    #[command(flatten)]
    plateau: Box<PlateauArgs>,
}

/// Reduce-on-plateau's options (Keras's `ReduceLROnPlateau`); it shares `--monitor` and
/// `--min-delta`.
#[derive(Args, Debug)]
struct PlateauArgs {
    /// Multiply the learning rate by --reduce-lr-factor when --monitor has not improved for
    /// PATIENCE epochs (Keras's ReduceLROnPlateau); with a schedule, its rate.
    #[arg(long, value_name = "PATIENCE")]
    reduce_lr_on_plateau: Option<usize>,
    /// The factor of each reduction [default: 0.1].
    #[arg(
        long,
        value_name = "FACTOR",
        requires = "reduce_lr_on_plateau",
        allow_negative_numbers = true
    )]
    reduce_lr_factor: Option<f64>,
    /// Epochs after a reduction before waiting starts again [default: 0].
    #[arg(long, value_name = "N", requires = "reduce_lr_on_plateau")]
    reduce_lr_cooldown: Option<usize>,
    /// The lowest rate a reduction leaves [default: 0].
    #[arg(
        long,
        value_name = "RATE",
        requires = "reduce_lr_on_plateau",
        allow_negative_numbers = true
    )]
    min_lr: Option<f64>,
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
    /// Reduce-on-plateau's settings, when `--reduce-lr-on-plateau` is given; one out of its
    /// range is refused.
    pub fn plateau(&self) -> Result<Option<PlateauConfig>, Error> {
        let Some(patience) = self.plateau.reduce_lr_on_plateau else {
            return Ok(None);
        };
        let plateau = PlateauConfig {
            patience,
            factor: self.plateau.reduce_lr_factor.unwrap_or(0.1),
            cooldown: self.plateau.reduce_lr_cooldown.unwrap_or(0),
            min_lr: self.plateau.min_lr.unwrap_or(0.0),
            monitor: self.monitor.0,
            min_delta: self.min_delta,
        };
        match plateau.invalid_setting() {
            Some((setting, value, hint)) => Err(Error::InvalidSetting {
                setting,
                value,
                hint: hint.into(),
            }),
            None => Ok(Some(plateau)),
        }
    }

    /// Refuses reduce-on-plateau settings of a resumed run that differ from `saved`, the
    /// checkpoint's: a resumed run keeps them.
    pub fn check_resumed(&self, saved: Option<&PlateauConfig>) -> Result<(), Error> {
        match (self.plateau()?, saved) {
            (Some(given), saved) if Some(&given) != saved => Err(Error::InvalidSetting {
                setting: "--reduce-lr-on-plateau",
                value: describe(Some(&given)),
                hint: format!(
                    "the checkpoint was trained with {}, and a resumed run keeps it: leave                      --reduce-lr-on-plateau and its options out, or train afresh without                      --resume",
                    describe(saved)
                ),
            }),
            _ => Ok(()),
        }
    }

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
        let watching = self.early_stopping.is_some()
            || self.save_best.is_some()
            || self.plateau.reduce_lr_on_plateau.is_some();
        Ok(Callbacks {
            monitor: watching.then_some(self.monitor.0),
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

/// Reduce-on-plateau's settings as a message shows them.
fn describe(plateau: Option<&PlateauConfig>) -> String {
    plateau.map_or("no --reduce-lr-on-plateau".into(), |p| {
        format!(
            "--reduce-lr-on-plateau {} --reduce-lr-factor {} --reduce-lr-cooldown {} --min-lr {} \
             --monitor {} --min-delta {}",
            p.patience,
            p.factor,
            p.cooldown,
            p.min_lr,
            p.monitor.name(),
            p.min_delta
        )
    })
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
        let value = monitor.of(stats);
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
