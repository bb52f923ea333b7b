//! `gpu-cnn predict`: Keras's `model.predict` on test images by index (or all of them) or on
//! PNG files: the class probabilities and the most probable class of each, printed, or written
//! to a CSV or NPY file with `--output` ([`gpu_cnn::export`]).

use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use gpu_cnn::data::{load_digit, Dataset};
use gpu_cnn::evaluate::argmax;
use gpu_cnn::export::{self, Samples};
use gpu_cnn::restore;
use gpu_cnn::Error;

use super::Setup;

/// Test-set positions: `N` or `A..B` (B excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indices(Range<usize>);

impl FromStr for Indices {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{text}' is not N or A..B (e.g. 0..5)"))
        };
        match text.split_once("..") {
            Some((start, end)) => {
                let (start, end) = (number(start)?, number(end)?);
                if start >= end {
                    return Err(format!("'{text}' is empty: give A..B with A < B"));
                }
                Ok(Self(start..end))
            }
            None => {
                let n = number(text)?;
                let end = n
                    .checked_add(1)
                    .ok_or_else(|| format!("'{text}' is past any test set"))?;
                Ok(Self(n..end))
            }
        }
    }
}

/// Arguments of `predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A checkpoint written by `train --save`.
    #[arg(value_name = "CHECKPOINT")]
    checkpoint: PathBuf,
    /// PNG images of digits (any size, colour or greyscale, dark-on-light or light-on-dark).
    #[arg(value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// Test-set images to predict: N or A..B [default: 0 when no IMAGE is given].
    #[arg(long, value_name = "N|A..B")]
    index: Option<Indices>,
    /// Predict the whole test set (best with --output).
    #[arg(long, conflicts_with_all = ["index", "images"])]
    all: bool,
    /// Write the predictions to FILE instead of printing them: CSV (a header, then
    /// `index,label,predicted,p0,...` per test image or `path,predicted,p0,...` per IMAGE), or a
    /// float32 [samples, classes] numpy array when FILE ends in .npy.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    setup: Setup,
}

fn print_prediction(name: &str, label: Option<u8>, probabilities: &[f32]) -> Result<(), Error> {
    let best = argmax(probabilities);
    let truth = label.map_or(String::new(), |l| format!(" (label {l})"));
    say!(
        "{name}{truth}: predicted {best} (p = {:.4})",
        probabilities[best]
    )?;
    let row: Vec<String> = probabilities.iter().map(|p| format!("{p:.8e}")).collect();
    say!("  [{}]", row.join(" "))
}

/// Prints the probabilities and the predicted class of each image asked for, or writes them
/// to `--output` and prints how many.
pub fn run(args: PredictArgs) -> Result<(), Error> {
    if args.output.is_some() && args.index.is_some() && !args.images.is_empty() {
        return Err(Error::InvalidSetting {
            setting: "--output",
            value: "with both --index and IMAGE files".to_string(),
            hint: "a file holds test images or image files, not both: run predict once for each"
                .to_string(),
        });
    }
    let output = args.output.as_deref().map(export::claim).transpose()?;
    let saved = super::load_checkpoint(&args.checkpoint)?;
    let [rows, cols, _] = saved.spec.input;
    let digits = args
        .images
        .iter()
        .map(|path| load_digit(path, rows, cols))
        .collect::<Result<Vec<_>, _>>()?;
    // Test images are predicted when asked for, or when no IMAGE is given (image 0 by default).
    let data = (args.index.is_some() || digits.is_empty())
        .then(|| args.setup.load_data())
        .transpose()?;
    let index = data.as_ref().map(|data| match &args.index {
        Some(index) => index.0.clone(),
        None if args.all => 0..data.test.len(),
        None => 0..1,
    });
    if let (Some(range), Some(data)) = (&index, &data) {
        super::check_test_set(&args.checkpoint, &saved.spec, data, &args.setup)?;
        if range.end > data.test.len() {
            return Err(Error::InvalidSetting {
                setting: "--index",
                value: format!("{}..{}", range.start, range.end),
                hint: format!(
                    "the test set has {} images: give indices below that",
                    data.test.len()
                ),
            });
        }
    }
    let ctx = args.setup.open_device()?;
    let inference = restore::inference(&ctx, saved)?;
    let classes = inference.network().spec.classes;
    if let (Some(range), Some(data)) = (index, &data) {
        let image_len = data.test.sample_len();
        let subset = Dataset {
            images: data.test.images[range.start * image_len..range.end * image_len].to_vec(),
            labels: data.test.labels[range.clone()].to_vec(),
            rows,
            cols,
        };
        let predictions = inference.predict(&subset)?;
        if let Some(output) = &output {
            let samples = Samples::Test {
                first: range.start,
                labels: &subset.labels,
            };
            export::write(output, samples, &predictions.probabilities, classes)?;
            return say!(
                "Wrote {} predictions to {} (accuracy {:.4})",
                range.len(),
                output.path.display(),
                predictions.stats.accuracy
            );
        }
        for (i, probabilities) in range.zip(predictions.probabilities.chunks(classes)) {
            print_prediction(
                &format!("test[{i}]"),
                Some(data.test.labels[i]),
                probabilities,
            )?;
        }
    }
    if !digits.is_empty() {
        let drawn = Dataset {
            labels: vec![0; digits.len()],
            images: digits.concat(),
            rows,
            cols,
        };
        let predictions = inference.predict(&drawn)?;
        if let Some(output) = &output {
            let samples = Samples::Files(&args.images);
            export::write(output, samples, &predictions.probabilities, classes)?;
            return say!(
                "Wrote {} predictions to {}",
                args.images.len(),
                output.path.display()
            );
        }
        for (path, probabilities) in args
            .images
            .iter()
            .zip(predictions.probabilities.chunks(classes))
        {
            print_prediction(&path.display().to_string(), None, probabilities)?;
        }
    }
    Ok(())
}
