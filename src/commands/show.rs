//! `gpu-cnn show`: the lecture's look at the data: shapes, a label histogram and sample images.

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::data::{class_counts, subsample};
use gpu_cnn::report::{self, histogram, samples};
use gpu_cnn::Error;

use super::Setup;

/// Arguments of `show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Count labels of a random subset of this many training samples (the lecture's 5k).
    #[arg(long)]
    train_samples: Option<usize>,
    /// Seed of the subset.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training images in `samples.png`.
    #[arg(long, default_value_t = 10)]
    count: usize,
    /// Write `samples.png`, `histogram.png` and `histogram.txt` to this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    #[command(flatten)]
    setup: Setup,
}

/// Prints the shapes and the label histogram (and writes the pictures).
pub fn run(args: ShowArgs) -> Result<(), Error> {
    if let Some(dir) = &args.report {
        report::ensure_dir(dir)?;
    }
    let data = args.setup.load_data()?;
    let names = args.setup.names(None)?;
    let (train, test) = (&data.train, &data.test);
    say!(
        "Train images shape: ({}, {}, {})",
        train.len(),
        train.rows,
        train.cols
    )?;
    say!("Train labels shape: ({},)", train.labels.len())?;
    say!(
        "Test images shape: ({}, {}, {})",
        test.len(),
        test.rows,
        test.cols
    )?;
    say!("Test labels shape: ({},)", test.labels.len())?;
    let labels: Vec<u8> = match args.train_samples {
        Some(n) => subsample(train.len(), n, args.seed)?
            .iter()
            .map(|&i| train.labels[i as usize])
            .collect(),
        None => train.labels.clone(),
    };
    let counts = class_counts(&labels);
    let table = histogram::text(&counts);
    say!("\nLabels of {} training samples:\n{table}", labels.len())?;
    if let Some(key) = names.key(counts.len()) {
        say!("Classes of {}: {key}", names.title)?;
    }
    if let Some(dir) = &args.report {
        report::write_text(&dir.join("histogram.txt"), &table)?;
        histogram::png(
            &dir.join("histogram.png"),
            &counts,
            &format!("Histogram of Labels in {} Training Set", names.title),
        )?;
        let shown = args.count.min(train.len());
        let images: Vec<&[u8]> = (0..shown).map(|i| train.image(i)).collect();
        let captions: Vec<String> = (0..shown)
            .map(|i| names.class(usize::from(train.labels[i])))
            .collect();
        samples::png(
            &dir.join("samples.png"),
            &images,
            train.rows,
            train.cols,
            &captions,
            shown.clamp(1, 10),
        )?;
        note!("Report written to {}", dir.display());
    }
    Ok(())
}
