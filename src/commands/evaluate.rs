//! `gpu-cnn evaluate`: Keras's `model.evaluate` of a saved checkpoint on the test set.

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::restore;
use gpu_cnn::Error;

use super::progress::evaluation_line;
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
    setup: Setup,
}

/// Prints the test loss and accuracy (and writes the report).
pub fn run(args: EvaluateArgs) -> Result<(), Error> {
    let saved = super::load_checkpoint(&args.checkpoint)?;
    reporting::prepare(args.report.as_ref())?;
    let data = args.setup.load_data()?;
    super::check_test_set(&args.checkpoint, &saved.spec, &data, &args.setup)?;
    let ctx = args.setup.open_device()?;
    let inference = restore::inference(&ctx, saved)?;
    let predictions = inference.predict(&data.test)?;
    say!("{}", evaluation_line(&predictions.stats))?;
    say!("\nTest accuracy: {:.4}", predictions.stats.accuracy)?;
    if let Some(dir) = &args.report {
        say_part!(
            "\n{}",
            reporting::evaluation(dir, &data.test, &predictions)?
        )?;
        say!("Report written to {}", dir.display())?;
    }
    Ok(())
}
