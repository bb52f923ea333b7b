//! One module per subcommand: its clap arguments and the glue that calls the library and
//! prints. Shared here: the options several commands take.

#[macro_use]
pub mod output;

pub mod bench;
pub mod callbacks;
pub mod compare;
pub mod completions;
pub mod devices;
pub mod evaluate;
pub mod export;
pub mod interrupt;
pub mod predict;
pub mod progress;
pub mod reporting;
pub mod schedule;
pub mod selftest;
pub mod show;
pub mod summary;
pub mod train;

use std::path::{Path, PathBuf};

use clap::Args;
use gpu_cnn::checkpoint::{self, RawCheckpoint};
use gpu_cnn::compat;
use gpu_cnn::data::{bundled_mnist_dir, describe, load_dir, DataNames, MnistSplits};
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::{presets, shape, ModelSpec};
use gpu_cnn::optim::{OptimizerConfig, OptimizerSettings, Setting};
use gpu_cnn::train::TrainConfig;
use gpu_cnn::Error;

/// The `--model` help: the presets, and that a model file works too.
pub fn model_help() -> String {
    format!(
        "Model: a preset ({}) or a path to a .toml model file (see the README's \"Model files\")",
        presets::NAMES.join(", ")
    )
}

/// Reads the checkpoint at `path` and checks that its tensors fit its model and are finite,
/// before any data loads or device opens.
pub fn load_checkpoint(path: &Path) -> Result<RawCheckpoint, gpu_cnn::Error> {
    let raw = checkpoint::load(path)?;
    let layers = shape::infer(&raw.spec)?;
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    raw.clone()
        .into_checkpoint(&layouts)?
        .check_finite(path, &layouts)?;
    Ok(raw)
}

/// Checks that the test set fits the model of the checkpoint at `path` (image size, labels)
/// and is not empty, before any device opens.
pub fn check_test_set(
    path: &Path,
    spec: &ModelSpec,
    data: &MnistSplits,
    setup: &Setup,
) -> Result<(), Error> {
    let what = setup.describe("test");
    let fix = format!(
        "{} was trained on other images: give the --data it was trained on",
        path.display()
    );
    compat::check(spec, &data.test, &what, &fix)?;
    compat::check_not_empty(&data.test, &what)?;
    Ok(())
}

/// Keras's `fit` settings, shared by `train` and `compare`. Each is optional so that a resumed
/// run can tell a setting given from one left out: `--resume` refuses any but `--epochs` that
/// differs from the checkpoint's.
#[derive(Args, Clone, Debug)]
pub struct FitArgs {
    /// Epochs to train [default: 5; with --resume: the checkpoint's] (with --resume: the total
    /// to reach).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Samples per training step [default: 32].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Optimizer, with Keras's formulas [default: adam].
    #[arg(long, value_name = "NAME", value_parser = OptimizerConfig::NAMES)]
    pub optimizer: Option<String>,
    /// The optimizer's learning rate [default: Keras's: adam 0.001, sgd 0.01, rmsprop 0.001,
    /// adamw 0.001].
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Momentum of sgd and rmsprop [default: 0].
    #[arg(long, value_name = "M", allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Nesterov momentum (sgd).
    #[arg(long)]
    pub nesterov: bool,
    /// Decay of rmsprop's average of squared gradients [default: 0.9].
    #[arg(long, value_name = "RHO", allow_negative_numbers = true)]
    pub rho: Option<f64>,
    /// adamw's decoupled weight decay [default: 0.004].
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// First-moment decay of adam and adamw [default: 0.9].
    #[arg(long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta_1: Option<f64>,
    /// Second-moment decay of adam and adamw [default: 0.999].
    #[arg(long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta_2: Option<f64>,
    /// Small constant of adam, adamw and rmsprop [default: 1e-7].
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
    /// Fraction of the training set held out for validation (its last part, as in Keras)
    /// [default: 0.1].
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub validation_split: Option<f64>,
    /// Seed of initialisation, subsampling and shuffling [default: 0].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Train on a random subset of this many training samples.
    #[arg(long, value_name = "N")]
    pub train_samples: Option<usize>,
    #[command(flatten)]
    pub schedule: Box<schedule::ScheduleArgs>,
}

impl FitArgs {
    /// The optimizer settings given, each with its value (`--nesterov` as 1).
    fn optimizer_settings(&self) -> Vec<(Setting, f64)> {
        [
            (Setting::LearningRate, self.learning_rate),
            (Setting::Momentum, self.momentum),
            (Setting::Nesterov, self.nesterov.then_some(1.0)),
            (Setting::Rho, self.rho),
            (Setting::WeightDecay, self.weight_decay),
            (Setting::Beta1, self.beta_1),
            (Setting::Beta2, self.beta_2),
            (Setting::Epsilon, self.epsilon),
        ]
        .into_iter()
        .filter_map(|(setting, value)| value.map(|value| (setting, value)))
        .collect()
    }

    /// The training configuration these settings describe, Keras's defaults (those of the
    /// chosen optimizer) for the settings not given. An optimizer setting that the optimizer
    /// does not take is refused.
    pub fn config(&self) -> Result<TrainConfig, Error> {
        self.config_over(&OptimizerSettings::default())
    }

    /// [`FitArgs::config`] with `file`'s optimizer and schedule (a model file's `[optimizer]`
    /// table) as the defaults of those given here. The file's optimizer settings are its
    /// optimizer's: `--optimizer` naming another leaves them out (its schedule still holds).
    pub fn config_over(&self, file: &OptimizerSettings) -> Result<TrainConfig, Error> {
        let file_name = file.name.as_deref().unwrap_or("adam");
        let name = self.optimizer.as_deref().unwrap_or(file_name);
        let mut optimizer =
            OptimizerConfig::keras_default(name).ok_or_else(|| Error::InvalidSetting {
                setting: "--optimizer",
                value: name.to_string(),
                hint: format!("give one of {}", OptimizerConfig::NAMES.join(", ")),
            })?;
        let file_settings = if name == file_name {
            file.settings.clone()
        } else {
            Vec::new()
        };
        let settings = [file_settings, self.optimizer_settings()].concat();
        for &(setting, value) in &settings {
            if !optimizer.set(setting, value) {
                return Err(not_taken(setting, value, &optimizer));
            }
        }
        let learning_rate_given = settings.iter().any(|(s, _)| *s == Setting::LearningRate);
        let schedule = (self.schedule.settings().over(&file.schedule))
            .build(learning_rate_given)
            .map_err(schedule::refused)?;
        let defaults = TrainConfig::default();
        Ok(TrainConfig {
            epochs: self.epochs.unwrap_or(defaults.epochs),
            batch_size: self.batch_size.unwrap_or(defaults.batch_size),
            validation_split: self.validation_split.unwrap_or(defaults.validation_split),
            seed: self.seed.unwrap_or(defaults.seed),
            train_samples: self.train_samples,
            optimizer,
            schedule,
            plateau: None,
        })
    }

    /// The configuration a run resumed from `saved` continues with: the saved one, trained up
    /// to `--epochs` when given. Any other setting given must equal the saved one: a resumed
    /// run that silently changed its batch or data would not be the run it continues.
    pub fn resumed(&self, saved: &TrainConfig, epochs_done: usize) -> Result<TrainConfig, Error> {
        let given = TrainConfig {
            epochs: self.epochs.unwrap_or(saved.epochs),
            batch_size: self.batch_size.unwrap_or(saved.batch_size),
            validation_split: self.validation_split.unwrap_or(saved.validation_split),
            seed: self.seed.unwrap_or(saved.seed),
            ..saved.clone()
        };
        let differs = |setting: &'static str, yours: String, saved: String| Error::InvalidSetting {
            setting,
            value: yours,
            hint: format!(
                "the checkpoint was trained with {saved}, and a resumed run keeps its settings: \
                 leave {setting} out, or train afresh without --resume"
            ),
        };
        if let Some(name) = self.optimizer.as_deref() {
            if name != saved.optimizer.name() {
                return Err(differs(
                    "--optimizer",
                    name.to_string(),
                    saved.optimizer.name().to_string(),
                ));
            }
        }
        for (setting, value) in self.optimizer_settings() {
            match saved.optimizer.get(setting) {
                None => return Err(not_taken(setting, value, &saved.optimizer)),
                Some(theirs) if theirs != value => {
                    return Err(differs(
                        setting.option(),
                        show(setting, value),
                        show(setting, theirs),
                    ))
                }
                Some(_) => {}
            }
        }
        let checks: [(&'static str, bool, String, String); 4] = [
            (
                "--batch-size",
                self.batch_size.is_some_and(|n| n != saved.batch_size),
                given.batch_size.to_string(),
                saved.batch_size.to_string(),
            ),
            (
                "--validation-split",
                self.validation_split
                    .is_some_and(|split| split != saved.validation_split),
                given.validation_split.to_string(),
                saved.validation_split.to_string(),
            ),
            (
                "--seed",
                self.seed.is_some_and(|seed| seed != saved.seed),
                given.seed.to_string(),
                saved.seed.to_string(),
            ),
            (
                "--train-samples",
                self.train_samples.is_some() && self.train_samples != saved.train_samples,
                self.train_samples.unwrap_or_default().to_string(),
                saved
                    .train_samples
                    .map_or("all samples".to_string(), |n| n.to_string()),
            ),
        ];
        if let Some((setting, _, yours, theirs)) = checks.into_iter().find(|check| check.1) {
            return Err(differs(setting, yours, theirs));
        }
        self.schedule.check_resumed(&saved.schedule)?;
        let epochs = self.epochs.unwrap_or(saved.epochs);
        if epochs < epochs_done {
            return Err(Error::InvalidSetting {
                setting: "--epochs",
                value: epochs.to_string(),
                hint: format!(
                    "the checkpoint has {epochs_done} epochs done: give --epochs of at least \
                     {epochs_done} (the total to reach)"
                ),
            });
        }
        Ok(TrainConfig {
            epochs,
            ..saved.clone()
        })
    }
}

/// A setting's value as the user writes it.
fn show(setting: Setting, value: f64) -> String {
    match setting {
        Setting::Nesterov => (value != 0.0).to_string(),
        _ => value.to_string(),
    }
}

/// The refusal of an optimizer setting that `optimizer` does not take.
fn not_taken(setting: Setting, value: f64, optimizer: &OptimizerConfig) -> Error {
    Error::InvalidSetting {
        setting: setting.option(),
        value: show(setting, value),
        hint: format!(
            "{} applies to {} only, and the optimizer is {}: choose one of those with \
             --optimizer, or leave {} out",
            setting.option(),
            setting.taken_by(),
            optimizer.name(),
            setting.option()
        ),
    }
}

/// Where the data comes from and which adapter runs it.
#[derive(Args, Clone, Debug)]
pub struct Setup {
    /// Adapter: auto, vulkan, metal, dx12, gl, an index or a name substring (see `devices`).
    #[arg(long, default_value = "auto")]
    pub device: DeviceSelector,
    /// Directory with the four MNIST IDX files, gzipped or raw [default: bundled MNIST].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl Setup {
    /// Reads the data set (bundled MNIST unless `--data`).
    pub fn load_data(&self) -> Result<MnistSplits, gpu_cnn::Error> {
        Ok(load_dir(&self.data_dir())?)
    }

    /// The data set's title and class names, checked to name `classes` classes when given
    /// (see [`gpu_cnn::data::names`]).
    pub fn names(&self, classes: Option<usize>) -> Result<DataNames, gpu_cnn::Error> {
        let dir = self.data_dir();
        let names = describe(&dir)?;
        if let Some(classes) = classes {
            names.check_count(classes, &dir)?;
        }
        Ok(names)
    }

    /// The data directory: `--data`, else the bundled MNIST.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(bundled_mnist_dir)
    }

    /// Names a split of the data in messages: `the test set of DIR`.
    pub fn describe(&self, split: &str) -> String {
        format!("the {split} set of {}", self.data_dir().display())
    }

    /// Opens the adapter and says which it is (a diagnostic, on stderr).
    pub fn open_device(&self) -> Result<GpuContext, gpu_cnn::Error> {
        let ctx = GpuContext::new(&self.device)?;
        note!("Device: {}", ctx.describe());
        Ok(ctx)
    }
}
