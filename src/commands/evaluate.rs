//! `gpu-cnn evaluate`: Keras's `model.evaluate` of a saved checkpoint on the test set.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use gpu_cnn::restore;
use gpu_cnn::Error;
use serde::Serialize;

use super::output::{OutputArgs, TestResult};
use super::progress::PassBar;
use super::{reporting, Setup};

/// Arguments of `evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A checkpoint written by `train --save`.
    #[arg(value_name = "CHECKPOINT")]
    checkpoint: PathBuf,
    /// Write the confusion matrix (text and PNG) and the mistakes to this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    setup: Setup,
}

/// What `evaluate --json` prints.
#[derive(Serialize)]
struct EvaluateResult<'a> {
    checkpoint: &'a Path,
    model: &'a str,
    device: String,
    test: TestResult,
    report: Option<&'a Path>,
}

/// Prints the test loss and accuracy (and writes the report).
pub fn run(args: EvaluateArgs) -> Result<(), Error> {
    args.output.apply();
    let saved = super::load_checkpoint(&args.checkpoint)?;
    reporting::prepare(args.report.as_ref())?;
    let data = args.setup.load_data()?;
    let names = args.setup.names(Some(saved.spec.classes))?;
    super::check_test_set(&args.checkpoint, &saved.spec, &data, &args.setup)?;
    let ctx = args.setup.open_device()?;
    let inference = restore::inference(&ctx, saved)?;
    let bar = PassBar::new(args.output.verbose, data.test.len());
    let start = Instant::now();
    let predictions = inference.predict_reporting(&data.test, |done| bar.update(done))?;
    bar.finish();
    let test = TestResult {
        stats: predictions.stats,
        seconds: start.elapsed().as_secs_f64(),
    };
    if !args.output.json {
        test.say()?;
    }
    if let Some(dir) = &args.report {
        let matrix = reporting::evaluation(dir, &data.test, &predictions, &names)?;
        if !args.output.json {
            say_part!("\n{matrix}")?;
        }
        note!("Report written to {}", dir.display());
    }
    if args.output.json {
        super::output::json(&EvaluateResult {
            checkpoint: &args.checkpoint,
            model: &inference.network().spec.name,
            device: ctx.describe(),
            test,
            report: args.report.as_deref(),
        })?;
    }
    Ok(())
}
