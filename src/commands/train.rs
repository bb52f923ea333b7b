//! `gpu-cnn train`: Keras's `fit` then `evaluate`, with checkpoints and reports.

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::checkpoint;
use gpu_cnn::model::presets;
use gpu_cnn::train::{TrainConfig, Trainer};
use gpu_cnn::Error;

use super::progress::{evaluation_line, Reporter, Verbosity};
use super::{model_help, reporting, FitArgs, Setup};

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
    /// Output: 0 silent, 1 a progress bar per epoch, 2 one line per epoch (as Keras).
    #[arg(long, value_enum, default_value = "1")]
    verbose: Verbosity,
    /// Save the weights, model and training state to this .safetensors file at the end.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Also save to the --save file every N epochs.
    #[arg(long, value_name = "N", requires = "save")]
    checkpoint_every: Option<usize>,
    /// Continue the run saved in this checkpoint, with its model and settings.
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// Write the confusion matrix, history and mistakes (text and PNG) to this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    setup: Setup,
}

/// Trains, checkpoints, tests and reports.
pub fn run(args: TrainArgs) -> Result<(), Error> {
    if args.checkpoint_every == Some(0) {
        return Err(Error::InvalidSetting {
            setting: "--checkpoint-every",
            value: "0".into(),
            hint: "give a number of epochs of at least 1".into(),
        });
    }
    // Everything a user can get wrong is checked before the data loads or a device opens.
    let (spec, config, resumed) = match &args.resume {
        Some(path) => {
            let raw = super::load_checkpoint(path)?;
            if let Some(model) = &args.model {
                checkpoint::check_model(path, &raw.spec, &presets::resolve(model)?)?;
            }
            let config = TrainConfig {
                epochs: args.fit.epochs,
                ..raw.config.clone()
            };
            (raw.spec.clone(), config, Some(raw))
        }
        None => {
            let spec = presets::resolve(args.model.as_deref().unwrap_or("cnn"))?;
            (spec, args.fit.config(), None)
        }
    };
    reporting::prepare(args.report.as_ref())?;
    let data = args.setup.load_data()?;
    config.validate(data.train.len())?;
    let ctx = args.setup.open_device()?;
    let name = spec.name.clone();
    let mut trainer = Trainer::new(&ctx, spec.clone(), &data, config.clone())?;
    if let Some(raw) = resumed {
        let saved = raw.into_checkpoint(&trainer.network().layouts())?;
        trainer.restore(saved.state)?;
        println!(
            "Resumed after epoch {} of {}",
            trainer.epochs_done(),
            config.epochs
        );
    }
    let (train_len, validation_len) = trainer.split_sizes();
    println!(
        "Model '{name}': {} parameters; training on {train_len} samples, validating on {validation_len}",
        trainer.network().param_count()
    );
    let save = |trainer: &Trainer, path: &PathBuf| -> Result<(), Error> {
        let state = trainer.state()?;
        checkpoint::save(
            path,
            &spec,
            trainer.config(),
            &trainer.network().layouts(),
            &state,
        )?;
        Ok(())
    };
    let mut reporter = Reporter::new(args.verbose, config.epochs, String::new());
    trainer.fit_then(
        |progress| reporter.report(progress),
        |trainer| match (&args.save, args.checkpoint_every) {
            (Some(path), Some(every)) if trainer.epochs_done() % every == 0 => save(trainer, path),
            _ => Ok(()),
        },
    )?;
    if let Some(path) = &args.save {
        save(&trainer, path)?;
        println!("Saved {}", path.display());
    }
    let test = trainer.predict_test()?;
    println!("{}", evaluation_line(&test.stats));
    println!("\nTest accuracy: {:.4}", test.stats.accuracy);
    if let Some(dir) = &args.report {
        reporting::training(dir, trainer.history())?;
        print!("\n{}", reporting::evaluation(dir, &data.test, &test)?);
        println!("Report written to {}", dir.display());
    }
    Ok(())
}
