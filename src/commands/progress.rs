//! Keras-style training output: a progress bar per epoch (verbose 1 on a terminal), one line
//! per epoch (verbose 2, or 1 when stdout is not a terminal), or nothing (verbose 0).

use std::io::IsTerminal;

use gpu_cnn::evaluate::EvalStats;
use gpu_cnn::train::{per_step, EpochStats, Progress};
use gpu_cnn::Error;
use indicatif::{ProgressBar, ProgressStyle};

/// How much `train` prints, as Keras's `verbose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Verbosity {
    /// Silent.
    #[value(name = "0")]
    Silent,
    /// A progress bar per epoch (one line per epoch when not on a terminal).
    #[value(name = "1")]
    Bar,
    /// One line per epoch.
    #[value(name = "2")]
    Line,
}

/// Prints training progress as it arrives.
pub struct Reporter {
    verbosity: Verbosity,
    epochs: usize,
    bar: Option<ProgressBar>,
    prefix: String,
    /// The first error writing the output (training goes on; the command returns it).
    failed: Option<Error>,
}

fn metrics(loss: f64, accuracy: f64) -> String {
    format!("loss: {loss:.4} - accuracy: {accuracy:.4}")
}

/// The Keras summary line of an epoch: `844/844 - 3.1s 4ms/step - loss: ... - val_accuracy: ...`.
pub fn epoch_line(stats: &EpochStats) -> String {
    let mut line = format!(
        "{steps}/{steps} - {secs:.1}s {each} - {metrics}",
        steps = stats.steps,
        secs = stats.seconds,
        each = per_step(stats.seconds, stats.steps),
        metrics = metrics(stats.loss, stats.accuracy),
    );
    if let Some(val) = stats.validation {
        line += &format!(
            " - val_loss: {:.4} - val_accuracy: {:.4}",
            val.loss, val.accuracy
        );
    }
    if let Some(rate) = stats.learning_rate {
        line += &format!(" - learning_rate: {}", keras_number(rate));
    }
    line
}

/// A number as Keras's progress bar prints it: 4 decimals above 1e-3, else 4 in scientific
/// notation with a signed two-digit exponent (`1.0000e-04`).
fn keras_number(value: f64) -> String {
    if value.abs() > 1e-3 {
        return format!("{value:.4}");
    }
    let text = format!("{value:.4e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text,
    }
}

/// The Keras `evaluate` line: `10000/10000 - loss: 0.0369 - accuracy: 0.9891`.
pub fn evaluation_line(stats: &EvalStats) -> String {
    format!(
        "{n}/{n} - {}",
        metrics(stats.loss, stats.accuracy),
        n = stats.samples
    )
}

impl Reporter {
    /// A reporter for `epochs` epochs; `prefix` goes before each "Epoch" header (the model's
    /// name in a comparison).
    pub fn new(verbosity: Verbosity, epochs: usize, prefix: String) -> Self {
        let verbosity = match verbosity {
            Verbosity::Bar if !std::io::stdout().is_terminal() => Verbosity::Line,
            other => other,
        };
        Self {
            verbosity,
            epochs,
            bar: None,
            prefix,
            failed: None,
        }
    }

    /// Clears a bar left by an epoch that stopped part-way; returns the first error writing
    /// progress, if any.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.failed.take().map_or(Ok(()), Err)
    }

    fn keep_error(&mut self, written: Result<(), Error>) {
        if let (Err(error), None) = (written, &self.failed) {
            self.failed = Some(error);
        }
    }

    /// Handles one progress report.
    pub fn report(&mut self, progress: Progress) {
        match (self.verbosity, progress) {
            (Verbosity::Silent, _) => {}
            (_, Progress::EpochStart { epoch, steps }) => {
                let header = say!("{}Epoch {epoch}/{}", self.prefix, self.epochs);
                self.keep_error(header);
                if self.verbosity == Verbosity::Bar {
                    let style = ProgressStyle::with_template(
                        "{pos:>5}/{len} [{bar:30}] - ETA: {eta} - {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=>.");
                    self.bar = Some(ProgressBar::new(steps as u64).with_style(style));
                }
            }
            (
                _,
                Progress::Steps {
                    done,
                    loss,
                    accuracy,
                    ..
                },
            ) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(metrics(loss, accuracy));
                    bar.set_position(done as u64);
                }
            }
            (_, Progress::Epoch(stats)) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.keep_error(say!("{}", epoch_line(&stats)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::keras_number;

    #[test]
    fn numbers_print_as_keras_prints_them() {
        assert_eq!(keras_number(0.001), "1.0000e-03");
        assert_eq!(keras_number(0.0015), "0.0015");
        assert_eq!(keras_number(0.01), "0.0100");
        assert_eq!(keras_number(1e-4), "1.0000e-04");
        assert_eq!(keras_number(2.5e-12), "2.5000e-12");
        assert_eq!(keras_number(0.0), "0.0000e+00");
    }
}
