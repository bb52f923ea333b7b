//! `gpu-cnn compare`: the lecture's hyperparameter tuning as one command: train several
//! models with the same settings and print one table.

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::compare::compare;
use gpu_cnn::model::presets;
use gpu_cnn::report::{self, compare as table, CompareRow};
use gpu_cnn::Error;

use super::progress::{Reporter, Verbosity};
use super::{FitArgs, Setup};

/// Arguments of `compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Models: presets or .toml model files.
    #[arg(value_name = "MODEL", required = true)]
    models: Vec<String>,
    #[command(flatten)]
    fit: FitArgs,
    /// Output while training: 0 only the table, 1 progress bars, 2 one line per epoch.
    #[arg(long, value_enum, default_value = "2")]
    verbose: Verbosity,
    /// Write `compare.txt` and the bar chart `compare.png` to this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    setup: Setup,
}

/// Trains each model and prints the comparison table.
pub fn run(args: CompareArgs) -> Result<(), Error> {
    super::output::set_quiet(args.verbose == Verbosity::Silent);
    let specs = args
        .models
        .iter()
        .map(|model| presets::resolve(model))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = &args.report {
        report::ensure_dir(dir)?;
    }
    let config = args.fit.config()?;
    let data = args.setup.load_data()?;
    config.validate(data.train.len())?;
    let ctx = args.setup.open_device()?;
    let mut reporters: Vec<(String, Reporter)> = Vec::new();
    let results = compare(&ctx, &specs, &data, &config, |model, progress| {
        if reporters.last().is_none_or(|(name, _)| name != model) {
            let reporter = Reporter::new(args.verbose, config.epochs, format!("[{model}] "), None);
            reporters.push((model.to_string(), reporter));
        }
        if let Some((_, reporter)) = reporters.last_mut() {
            reporter.report(progress);
        }
    })?;
    let rows: Vec<CompareRow> = results
        .iter()
        .map(|r| CompareRow {
            model: r.model.clone(),
            params: r.params,
            seconds_per_epoch: r.seconds_per_epoch,
            val_accuracy: r.val_accuracy,
            test_accuracy: r.test_accuracy,
        })
        .collect();
    let text = table::text(&rows);
    say_part!("\n{text}")?;
    if let Some(dir) = &args.report {
        report::write_text(&dir.join("compare.txt"), &text)?;
        table::png(&dir.join("compare.png"), &rows)?;
        note!("Report written to {}", dir.display());
    }
    Ok(())
}
