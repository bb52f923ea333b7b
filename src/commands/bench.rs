//! `gpu-cnn bench`: training and inference speed of models on this device, as a table or JSON.

use std::fmt::Write;

use clap::Args;
use gpu_cnn::bench::{self, BenchConfig, BenchReport};
use gpu_cnn::model::presets;
use gpu_cnn::Error;

use super::Setup;

/// Arguments of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Models to measure, each `NAME` or `NAME@BATCH` (a preset or a model file) [default:
    /// cnn@64 dense@32, the lecture's CNN and dense model at their benchmark batch sizes].
    #[arg(long = "model", value_name = "NAME[@BATCH]")]
    models: Vec<String>,
    /// Training samples per measured epoch.
    #[arg(long, default_value_t = 2048)]
    samples: usize,
    /// Skip the per-launch timing of one training step.
    #[arg(long)]
    no_profile: bool,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    setup: Setup,
}

/// The batch size of a model measured without `@BATCH`.
const DEFAULT_BATCH: usize = 32;

/// `NAME[@BATCH]` → (name, batch).
fn parse_model(text: &str) -> Result<(&str, usize), Error> {
    let Some((name, batch)) = text.rsplit_once('@') else {
        return Ok((text, DEFAULT_BATCH));
    };
    match batch.parse() {
        Ok(batch) if batch > 0 => Ok((name, batch)),
        _ => Err(Error::InvalidSetting {
            setting: "--model",
            value: text.to_string(),
            hint: "give NAME or NAME@BATCH with a batch size of at least 1, e.g. cnn@64".into(),
        }),
    }
}

/// Measures every model and prints the results.
pub fn run(args: BenchArgs) -> Result<(), Error> {
    if args.samples == 0 {
        return Err(Error::InvalidSetting {
            setting: "--samples",
            value: "0".into(),
            hint: "give at least one batch of training samples, e.g. 2048".into(),
        });
    }
    let wanted = match args.models.is_empty() {
        true => vec!["cnn@64".to_string(), "dense@32".to_string()],
        false => args.models.clone(),
    };
    // Every model is checked before the data loads or the device opens.
    let configs = wanted
        .iter()
        .map(|text| {
            let (name, batch_size) = parse_model(text)?;
            Ok(BenchConfig {
                model: presets::resolve(name)?,
                batch_size,
                samples: args.samples,
                profile: !args.no_profile,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let data = args.setup.load_data()?;
    let ctx = args.setup.open_device()?;
    let mut reports = Vec::with_capacity(configs.len());
    for config in &configs {
        let report = bench::run(&ctx, &data, config)?;
        if !args.json {
            say_part!("{}", kernel_table(&report))?;
        }
        reports.push(report);
    }
    if args.json {
        super::output::json(&reports)?;
    } else {
        say_part!("{}", summary_table(&reports))?;
    }
    Ok(())
}

/// One line per model.
fn summary_table(reports: &[BenchReport]) -> String {
    let mut out = String::from(
        "\nmodel            batch  launches/step  train samples/s  s/54k epoch  epoch1/epoch2  setup s  \
         first chunk s  inference images/s\n",
    );
    for r in reports {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<16} {:>5}  {:>13}  {:>15.0}  {:>11.2}  {:>13.2}  {:>7.2}  {:>13.3}  {:>18.0}",
            r.model,
            r.batch_size,
            r.dispatches_per_step,
            r.train_samples_per_second,
            r.seconds_per_lecture_epoch,
            r.first_epoch_ratio,
            r.setup_seconds,
            r.first_chunk_seconds,
            r.inference_images_per_second,
        );
    }
    out
}

/// The launches of one training step with their times, slowest first.
fn kernel_table(report: &BenchReport) -> String {
    let Some(clock) = report.clock else {
        return String::new();
    };
    let mut out = format!(
        "\n{} at batch {}: one training step, ms per launch ({clock:?}, mean of {})\n",
        report.model,
        report.batch_size,
        bench::PROFILE_REPEATS
    );
    let mut kernels: Vec<_> = report.kernels.iter().collect();
    kernels.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    for kernel in &kernels {
        let [x, y, z] = kernel.workgroups;
        let _ = writeln!(
            out,
            "{:>10.3}  {:<44} {x}×{y}×{z} workgroups",
            kernel.ms, kernel.label
        );
    }
    let total: f64 = report.kernels.iter().map(|k| k.ms).sum();
    let _ = writeln!(out, "{total:>10.3}  total");
    out
}
