//! `gpu-cnn predict`: Keras's `model.predict` on test images by index (or all of them) or on
//! PNG files: the class probabilities and the most probable class of each, printed, or written
//! to a CSV or NPY file with `--output` ([`gpu_cnn::export`]).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Args;
use gpu_cnn::data::{load_digit, DataNames, Dataset};
use gpu_cnn::evaluate::argmax;
use gpu_cnn::export::{self, Samples};
use gpu_cnn::restore;
use gpu_cnn::Error;
use serde::Serialize;

use super::output::OutputArgs;
use super::progress::PassBar;
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
    print: OutputArgs,
    #[command(flatten)]
    setup: Setup,
}

/// One image's prediction, as printed and as `--json` writes it.
#[derive(Serialize)]
struct Prediction<'a> {
    /// Its position in the test set, for a test image.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_index: Option<usize>,
    /// Its file, for an IMAGE.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a Path>,
    /// Its label, for a test image.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<u8>,
    /// The label's class name, where the data set names its classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    label_name: Option<String>,
    predicted: usize,
    /// The predicted class's name, where the data set names its classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    predicted_name: Option<String>,
    probabilities: &'a [f32],
}

impl<'a> Prediction<'a> {
    /// The prediction of `probabilities` for an image labelled `label` (a test image's), its
    /// classes named by `names`; neither a test index nor an image file yet.
    fn new(probabilities: &'a [f32], label: Option<u8>, names: &DataNames) -> Self {
        let name_of = |class: usize| names.classes.as_ref().map(|_| names.class(class));
        let predicted = argmax(probabilities);
        Self {
            test_index: None,
            image: None,
            label,
            label_name: label.and_then(|label| name_of(usize::from(label))),
            predicted,
            predicted_name: name_of(predicted),
            probabilities,
        }
    }

    fn say(&self) -> Result<(), Error> {
        let name = match (self.test_index, self.image) {
            (Some(i), _) => format!("test[{i}]"),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => String::new(),
        };
        let named = |class: usize, name: &Option<String>| match name {
            Some(name) => format!("{class} {name}"),
            None => class.to_string(),
        };
        let truth = self.label.map_or(String::new(), |label| {
            format!(" (label {})", named(usize::from(label), &self.label_name))
        });
        say!(
            "{name}{truth}: predicted {} (p = {:.4})",
            named(self.predicted, &self.predicted_name),
            self.probabilities[self.predicted]
        )?;
        let row: Vec<String> = self
            .probabilities
            .iter()
            .map(|p| format!("{p:.8e}"))
            .collect();
        say!("  [{}]", row.join(" "))
    }
}

/// What `predict --json` prints: the predictions, or with `--output` where they went.
#[derive(Serialize, Default)]
struct PredictResult<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    predictions: Vec<Prediction<'a>>,
    /// Accuracy over the test images predicted (none for IMAGE files).
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
    /// The `--output` file, and how many predictions it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    written: Option<usize>,
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
    let names = args.setup.names(Some(saved.spec.classes))?;
    let ctx = args.setup.open_device()?;
    let inference = restore::inference(&ctx, saved)?;
    let classes = inference.network().spec.classes;
    let mut result = PredictResult::default();
    let test_predictions;
    if let (Some(range), Some(data)) = (index, &data) {
        let image_len = data.test.sample_len();
        let subset = Dataset {
            images: data.test.images[range.start * image_len..range.end * image_len].to_vec(),
            labels: data.test.labels[range.clone()].to_vec(),
            rows,
            cols,
        };
        let bar = PassBar::new(args.print.verbose, subset.len());
        test_predictions = inference.predict_reporting(&subset, |done| bar.update(done))?;
        bar.finish();
        result.accuracy = Some(test_predictions.stats.accuracy);
        if let Some(output) = &output {
            let samples = Samples::Test {
                first: range.start,
                labels: &subset.labels,
            };
            export::write(output, samples, &test_predictions.probabilities, classes)?;
            note!(
                "Wrote {} predictions to {} (accuracy {:.4})",
                range.len(),
                output.path.display(),
                test_predictions.stats.accuracy
            );
            result.output = Some(&output.path);
            result.written = Some(range.len());
        } else {
            let rows = test_predictions.probabilities.chunks(classes);
            result
                .predictions
                .extend(range.zip(rows).map(|(i, probabilities)| Prediction {
                    test_index: Some(i),
                    ..Prediction::new(probabilities, Some(data.test.labels[i]), &names)
                }));
        }
    }
    let drawn_predictions;
    if !digits.is_empty() {
        let drawn = Dataset {
            labels: vec![0; digits.len()],
            images: digits.concat(),
            rows,
            cols,
        };
        drawn_predictions = inference.predict(&drawn)?;
        if let Some(output) = &output {
            let samples = Samples::Files(&args.images);
            export::write(output, samples, &drawn_predictions.probabilities, classes)?;
            note!(
                "Wrote {} predictions to {}",
                args.images.len(),
                output.path.display()
            );
            result.output = Some(&output.path);
            result.written = Some(args.images.len());
        } else {
            let rows = drawn_predictions.probabilities.chunks(classes);
            result
                .predictions
                .extend(
                    args.images
                        .iter()
                        .zip(rows)
                        .map(|(path, probabilities)| Prediction {
                            image: Some(path),
                            ..Prediction::new(probabilities, None, &names)
                        }),
                );
        }
    }
    if args.print.json {
        return super::output::json(&result);
    }
    result.predictions.iter().try_for_each(Prediction::say)
}
