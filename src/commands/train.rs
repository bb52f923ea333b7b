//! `gpu-cnn train`: Keras's `fit` then `evaluate`, with checkpoints and reports.
//!
//! Everything a user can get wrong is checked before training starts: the settings, the
//! checkpoint resumed and its settings, the data against the model, and that the `--save`
//! path and `--report` directory can be written. Ctrl-C stops at the next chunk boundary and
//! saves the steps done (see [`super::interrupt`]).
//!
//! `--backup DIR` is Keras's `BackupAndRestore`: the run's state is saved to `DIR` after every
//! epoch and on Ctrl-C, a run started again with the same `--backup` continues from it, and a
//! run that finishes deletes it.
//!
//! `--early-stopping`, `--save-best`, `--log` and `--reduce-lr-on-plateau` are Keras's
//! callbacks (see [`super::callbacks`]). A model file's `[optimizer]` table gives the default
//! optimizer and schedule, which the options override.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use gpu_cnn::atomic::Claim;
use gpu_cnn::checkpoint::{self, RawCheckpoint};
use gpu_cnn::compat;
use gpu_cnn::data::MnistSplits;
use gpu_cnn::model::{file, presets, ModelSpec};
use gpu_cnn::optim::OptimizerSettings;
use gpu_cnn::train::{EpochStats, FitOutcome, TrainConfig, TrainState, Trainer};
use gpu_cnn::Error;
use serde::Serialize;

use super::callbacks::CallbackArgs;
use super::output::{OutputArgs, TestResult};
use super::progress::{Estimate, PassBar, Reporter};
use super::{interrupt, model_help, reporting, FitArgs, Setup};

/// Arguments of `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[arg(long, value_name = "NAME|PATH", help = format!(
        "{} [default: cnn, the lecture's CNN; with --resume: the checkpoint's model]",
        model_help()
    ))]
    model: Option<String>,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Save the weights, model and training state to this .safetensors file at the end (and
    /// on Ctrl-C).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Also save to the --save file every N epochs.
    #[arg(long, value_name = "N", requires = "save")]
    checkpoint_every: Option<usize>,
    /// Continue the run saved in this checkpoint, with its model and settings.
    #[arg(long, value_name = "FILE", conflicts_with = "backup")]
    resume: Option<PathBuf>,
    /// Keep the run's state in this directory after every epoch and on Ctrl-C; started again
    /// with the same --backup, the run continues from it; deleted when the run finishes.
    #[arg(long, value_name = "DIR")]
    backup: Option<PathBuf>,
    /// Write the confusion matrix, history and mistakes (text and PNG) to this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    callbacks: CallbackArgs,
    #[command(flatten)]
    setup: Setup,
}

/// The file `--backup DIR` keeps the run's state in.
const BACKUP_FILE: &str = "backup.safetensors";

/// What `train --json` prints.
#[derive(Serialize)]
struct TrainResult<'a> {
    model: &'a str,
    parameters: usize,
    device: String,
    config: &'a TrainConfig,
    train_samples: usize,
    validation_samples: usize,
    /// Every epoch's figures (of a resumed run, the checkpoint's epochs too).
    history: &'a [EpochStats],
    /// The test pass; `None` when Ctrl-C stopped the run.
    test: Option<TestResult>,
    saved: Option<&'a Path>,
    report: Option<&'a Path>,
    /// Where Ctrl-C stopped the run, if it did.
    stopped: Option<StoppedAt>,
}

/// Where Ctrl-C stopped training.
#[derive(Clone, Copy, Serialize)]
struct StoppedAt {
    epoch: usize,
    step: usize,
    steps: usize,
}

/// The model and settings a run trains with, and the checkpoint it continues.
struct Run {
    spec: ModelSpec,
    config: TrainConfig,
    resumed: Option<RawCheckpoint>,
}

impl TrainArgs {
    /// The backup file of `--backup DIR`, the directory created when missing.
    fn backup_file(&self) -> Result<Option<PathBuf>, Error> {
        let Some(dir) = &self.backup else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir).map_err(|source| Error::InvalidSetting {
            setting: "--backup",
            value: dir.display().to_string(),
            hint: format!("the directory cannot be created ({source}): give another"),
        })?;
        Ok(Some(dir.join(BACKUP_FILE)))
    }

    /// The checkpoint the run continues: `--resume`, or the backup when one is there.
    fn resume_from(&self) -> Result<Option<PathBuf>, Error> {
        match &self.resume {
            Some(path) => Ok(Some(path.clone())),
            None => Ok(self.backup_file()?.filter(|file| file.exists())),
        }
    }

    /// The model and settings: the checkpoint's when resuming (checked against the options
    /// given), else `--model` and the options.
    fn run(&self, resume_from: Option<&Path>) -> Result<Run, Error> {
        let Some(path) = resume_from else {
            let (spec, defaults) = resolve_model(self.model.as_deref().unwrap_or("cnn"))?;
            return Ok(Run {
                spec,
                config: TrainConfig {
                    plateau: self.callbacks.plateau()?,
                    ..self.fit.config_over(&defaults)?
                },
                resumed: None,
            });
        };
        let raw = super::load_checkpoint(path)?;
        if let Some(model) = &self.model {
            let mut wanted = presets::resolve(model)?;
            if presets::NAMES.contains(&model.as_str()) {
                // A preset takes the size of the images it was trained on.
                wanted.input = raw.spec.input;
            }
            checkpoint::check_model(path, &raw.spec, &wanted)?;
        }
        self.callbacks.check_resumed(raw.config.plateau.as_ref())?;
        Ok(Run {
            spec: raw.spec.clone(),
            config: self.fit.resumed(&raw.config, raw.epochs_done())?,
            resumed: Some(raw),
        })
    }

    /// Fits `spec` to the data: a preset takes the data's image size; a model file or a
    /// resumed checkpoint must already have it.
    fn fit_to_data(
        &self,
        spec: &mut ModelSpec,
        data: &MnistSplits,
        resume_from: Option<&Path>,
    ) -> Result<(), Error> {
        let is_preset = resume_from.is_none()
            && presets::NAMES.contains(&self.model.as_deref().unwrap_or("cnn"));
        if is_preset {
            spec.input = compat::image_shape(&data.train);
        }
        let fix = match (resume_from, &self.model) {
            (Some(path), _) => format!(
                "{} was trained on other images: resume with the --data it was trained on",
                path.display()
            ),
            (None, Some(file)) => {
                let [h, w, c] = compat::image_shape(&data.train);
                format!("set `input = [{h}, {w}, {c}]` in {file}")
            }
            (None, None) => String::new(),
        };
        compat::check(spec, &data.train, &self.setup.describe("training"), &fix)?;
        compat::check(spec, &data.test, &self.setup.describe("test"), &fix)?;
        compat::check_not_empty(&data.test, &self.setup.describe("test"))
    }
}

/// The model `--model` names and the run's default optimizer and schedule: a model file's
/// `[optimizer]` table, none for a preset.
fn resolve_model(name: &str) -> Result<(ModelSpec, OptimizerSettings), Error> {
    let path = Path::new(name);
    if presets::NAMES.contains(&name) || !path.exists() {
        return Ok((presets::resolve(name)?, OptimizerSettings::default()));
    }
    let file = file::load_file(path)?;
    Ok((file.spec, file.optimizer))
}

/// Trains, checkpoints, tests and reports.
pub fn run(args: TrainArgs) -> Result<(), Error> {
    args.output.apply();
    if args.checkpoint_every == Some(0) {
        return Err(Error::InvalidSetting {
            setting: "--checkpoint-every",
            value: "0".into(),
            hint: "give a number of epochs of at least 1".into(),
        });
    }
    let resume_from = args.resume_from()?;
    let Run {
        mut spec,
        config,
        resumed,
    } = args.run(resume_from.as_deref())?;
    let claim = args.save.as_deref().map(checkpoint::claim).transpose()?;
    let backup = args
        .backup_file()?
        .as_deref()
        .map(checkpoint::claim)
        .transpose()?;
    let mut callbacks = args.callbacks.prepare(args.save.as_ref())?;
    reporting::prepare(args.report.as_ref())?;
    let data = args.setup.load_data()?;
    let names = args.setup.names(Some(spec.classes))?;
    args.fit_to_data(&mut spec, &data, resume_from.as_deref())?;
    config.validate(data.train.len())?;
    let ctx = args.setup.open_device()?;
    let name = spec.name.clone();
    let mut trainer = Trainer::new(&ctx, spec.clone(), &data, config.clone())?;
    if let Some(raw) = resumed {
        let saved = raw.into_checkpoint(&trainer.network().layouts())?;
        trainer.restore(saved.state)?;
        note!("{}", resumed_line(&trainer));
    }
    let (train_len, validation_len) = trainer.split_sizes();
    callbacks.check(validation_len)?;
    note!(
        "Model '{name}': {} parameters; training on {train_len} samples, validating on {validation_len}",
        trainer.network().param_count()
    );
    let estimate = estimate(&trainer, ctx.info.device_type == wgpu::DeviceType::Cpu);
    let mut reporter = Reporter::new(args.output.verbose, config.epochs, String::new(), estimate);
    interrupt::stop_cleanly();
    let outcome = trainer.fit_until(
        |progress| reporter.report(progress),
        |trainer| {
            if let Some(backup) = &backup {
                save(trainer, backup)?;
            }
            if let (Some(claim), Some(every)) = (&claim, args.checkpoint_every) {
                if trainer.epochs_done() % every == 0 {
                    save(trainer, claim)?;
                }
            }
            callbacks.after_epoch(trainer)
        },
        interrupt::requested,
    )?;
    reporter.finish();
    let history = match outcome {
        FitOutcome::Stopped { .. } => trainer.history().to_vec(),
        _ => callbacks.finish(&mut trainer)?,
    };
    if let Some(claim) = &claim {
        save(&trainer, claim)?;
        note!("Saved {}", claim.path.display());
    }
    let mut result = TrainResult {
        model: &name,
        parameters: trainer.network().param_count(),
        device: ctx.describe(),
        config: &config,
        train_samples: train_len,
        validation_samples: validation_len,
        history: &history,
        test: None,
        saved: claim.as_ref().map(|claim| claim.path.as_path()),
        report: None,
        stopped: None,
    };
    if let FitOutcome::Stopped { epoch, step, steps } = outcome {
        if let Some(backup) = &backup {
            save(&trainer, backup)?;
        }
        stopped(&args, epoch, step, steps);
        result.stopped = Some(StoppedAt { epoch, step, steps });
        return match args.output.json {
            true => super::output::json(&result),
            false => Ok(()),
        };
    }
    if let Some(backup) = &backup {
        // The run is done: its backup has served (Keras's BackupAndRestore deletes it too).
        checkpoint::remove(&backup.path)?;
    }
    let bar = PassBar::new(args.output.verbose, data.test.len());
    let start = Instant::now();
    let test = trainer.predict_test_reporting(|done| bar.update(done))?;
    bar.finish();
    let tested = TestResult {
        stats: test.stats,
        seconds: start.elapsed().as_secs_f64(),
    };
    result.test = Some(tested);
    if !args.output.json {
        tested.say()?;
    }
    if let Some(dir) = &args.report {
        reporting::training(dir, &history)?;
        let matrix = reporting::evaluation(dir, &data.test, &test, &names)?;
        if !args.output.json {
            say_part!("\n{matrix}")?;
        }
        note!("Report written to {}", dir.display());
        result.report = Some(dir);
    }
    match args.output.json {
        true => super::output::json(&result),
        false => Ok(()),
    }
}

/// What the expected-duration line needs: the steps this run trains.
fn estimate(trainer: &Trainer, cpu_adapter: bool) -> Option<Estimate> {
    let per_epoch = trainer.steps_per_epoch();
    let steps_before = trainer.state_partial_steps().map_or(0, |(_, step)| step);
    let epochs_left = trainer
        .config()
        .epochs
        .saturating_sub(trainer.epochs_done());
    let steps_left = (epochs_left * per_epoch).saturating_sub(steps_before);
    (steps_left > 0).then(|| Estimate::new(steps_left, cpu_adapter))
}

/// Saves the trainer's run to the claimed checkpoint file.
fn save(trainer: &Trainer, claim: &Claim) -> Result<(), Error> {
    save_state(trainer, claim, &trainer.state()?)
}

/// Saves `state`, taken from `trainer`, to the claimed checkpoint file.
pub(super) fn save_state(
    trainer: &Trainer,
    claim: &Claim,
    state: &TrainState,
) -> Result<(), Error> {
    checkpoint::save(
        &claim.path,
        &trainer.network().spec,
        trainer.config(),
        &trainer.network().layouts(),
        state,
    )?;
    Ok(())
}

/// Where a resumed run continues.
fn resumed_line(trainer: &Trainer) -> String {
    let epochs = trainer.config().epochs;
    match trainer.state_partial_steps() {
        Some((epoch, step)) => format!(
            "Resumed in epoch {epoch} of {epochs} after step {step} of {}",
            trainer.steps_per_epoch()
        ),
        None => format!("Resumed after epoch {} of {epochs}", trainer.epochs_done()),
    }
}

/// Says where Ctrl-C stopped training and how to continue; the program then exits 130.
fn stopped(args: &TrainArgs, epoch: usize, step: usize, steps: usize) {
    note!("Stopped in epoch {epoch} after step {step} of {steps}");
    match (&args.backup, &args.save) {
        (Some(dir), _) => note!(
            "Continue with the same command: its --backup {} holds the run",
            dir.display()
        ),
        (None, Some(path)) => note!(
            "Continue with: gpu-cnn train --resume {0} --save {0}",
            path.display()
        ),
        (None, None) => {
            note!("Nothing was saved: give --save FILE or --backup DIR to keep an interrupted run")
        }
    }
}
