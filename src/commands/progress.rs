//! Keras-style progress, on stderr with the other diagnostics ([`super::output`]): a progress
//! bar per epoch and per evaluation pass (verbose 1 on a terminal), one line per epoch (verbose
//! 2, or 1 when stderr is not a terminal), or nothing (verbose 0). After the first steps of a
//! run, the time the whole run's training will take.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use gpu_cnn::evaluate::EvalStats;
use gpu_cnn::train::{per_step, EpochStats, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// How much a command prints, as Keras's `verbose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Verbosity {
    /// Only the result: no diagnostics, no progress.
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
    /// The expected duration, until it is said (once, early in the run).
    estimate: Option<Estimate>,
}

/// The expected training time of a run, said once its speed is known: measured from the end
/// of the first chunk of steps (which also pays for warming up) over at least
/// [`MEASURE_FOR`], or over the first epoch when that ends sooner.
pub struct Estimate {
    /// Steps the run trains from its start (or from where it resumed).
    steps_left: usize,
    /// The adapter is a CPU (software) one, where the note says how to get a quicker run.
    cpu_adapter: bool,
    /// When the first chunk's steps landed, and how many steps of the epoch were done then.
    first: Option<(Instant, usize)>,
}

/// Runs whose training is expected to take longer than this on a CPU adapter get the hint of
/// quicker commands.
const LONG_RUN: Duration = Duration::from_secs(5 * 60);

/// How long the speed is measured before the estimate is said.
pub const MEASURE_FOR: Duration = Duration::from_millis(500);

impl Estimate {
    /// The estimate of a run of `steps_left` steps, on a CPU adapter or not.
    pub fn new(steps_left: usize, cpu_adapter: bool) -> Self {
        Self {
            steps_left,
            cpu_adapter,
            first: None,
        }
    }

    /// Takes the report that `done` steps of the first epoch have landed; returns the line to
    /// say once the speed is measured.
    fn steps_landed(&mut self, done: usize) -> Option<String> {
        let Some((start, first_done)) = self.first else {
            self.first = Some((Instant::now(), done));
            return None;
        };
        let seconds = start.elapsed().as_secs_f64();
        let steps = done.saturating_sub(first_done);
        (steps > 0 && seconds >= MEASURE_FOR.as_secs_f64())
            .then(|| self.line(seconds / steps as f64))
    }

    /// The line said when training steps take `step_seconds` each.
    pub fn line(&self, step_seconds: f64) -> String {
        let total = step_seconds * self.steps_left as f64;
        let mut line = format!(
            "Expected training time: about {} ({} steps at {})",
            human_duration(total),
            self.steps_left,
            per_step(step_seconds, 1)
        );
        if self.cpu_adapter && total > LONG_RUN.as_secs_f64() {
            line += "\nThis is a CPU (software) adapter. For a quicker run: --train-samples 5000 \
                     --epochs 1 (the lecture's subset), or --model dense; a GPU takes seconds";
        }
        line
    }
}

/// A duration as people say it: `48s`, `12 min`, `1 h 05 min`.
pub fn human_duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..=89 => format!("{seconds}s"),
        90..=3599 => format!("{} min", (seconds + 30) / 60),
        _ => format!("{} h {:02} min", seconds / 3600, (seconds % 3600 + 30) / 60),
    }
}

/// A bar over the samples of one evaluation or prediction pass, on stderr: shown at verbose 1
/// on a terminal, nothing otherwise.
pub struct PassBar(Option<ProgressBar>);

impl PassBar {
    /// A bar for a pass over `samples` samples.
    pub fn new(verbosity: Verbosity, samples: usize) -> Self {
        let shown = verbosity == Verbosity::Bar && std::io::stderr().is_terminal();
        Self(shown.then(|| {
            ProgressBar::new(samples as u64)
                .with_style(bar_style("{pos:>5}/{len} [{bar:30}] - ETA: {eta}"))
        }))
    }

    /// Moves the bar to `done` samples.
    pub fn update(&self, done: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(done as u64);
        }
    }

    /// Clears the bar (the result line follows).
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Keras's bar: `=` done, `>` the head, `.` to do.
fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=>.")
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

/// The Keras `evaluate` line of a pass that took `seconds`:
/// `10000/10000 - 2.1s - loss: 0.0369 - accuracy: 0.9891`.
pub fn evaluation_line(stats: &EvalStats, seconds: f64) -> String {
    format!(
        "{n}/{n} - {seconds:.1}s - {}",
        metrics(stats.loss, stats.accuracy),
        n = stats.samples
    )
}

impl Reporter {
    /// A reporter for `epochs` epochs; `prefix` goes before each "Epoch" header (the model's
    /// name in a comparison); with `estimate`, the expected training time is said after the
    /// first steps.
    pub fn new(
        verbosity: Verbosity,
        epochs: usize,
        prefix: String,
        estimate: Option<Estimate>,
    ) -> Self {
        let verbosity = match verbosity {
            Verbosity::Bar if !std::io::stderr().is_terminal() => Verbosity::Line,
            other => other,
        };
        Self {
            verbosity,
            epochs,
            bar: None,
            prefix,
            estimate,
        }
    }

    /// Clears a bar left by an epoch that stopped part-way.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Says a line above the bar, if one is drawn.
    fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| note!("{line}")),
            None => note!("{line}"),
        }
    }

    /// Handles one progress report.
    pub fn report(&mut self, progress: Progress) {
        match (self.verbosity, progress) {
            (Verbosity::Silent, _) => {}
            (_, Progress::EpochStart { epoch, steps }) => {
                note!("{}Epoch {epoch}/{}", self.prefix, self.epochs);
                if self.verbosity == Verbosity::Bar {
                    let style = bar_style("{pos:>5}/{len} [{bar:30}] - ETA: {eta} - {msg}");
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
                if let Some(line) = self.estimate.as_mut().and_then(|e| e.steps_landed(done)) {
                    self.note(&line);
                    self.estimate = None;
                }
            }
            (_, Progress::Epoch(stats)) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                note!("{}", epoch_line(&stats));
                if let Some(estimate) = self.estimate.take() {
                    if stats.epoch < self.epochs {
                        note!(
                            "{}",
                            estimate.line(stats.seconds / stats.steps.max(1) as f64)
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(0.4), "0s");
        assert_eq!(human_duration(48.0), "48s");
        assert_eq!(human_duration(89.4), "89s");
        assert_eq!(human_duration(90.0), "2 min");
        assert_eq!(human_duration(12.0 * 60.0 + 20.0), "12 min");
        assert_eq!(human_duration(3600.0 + 5.0 * 60.0), "1 h 05 min");
        assert_eq!(human_duration(-3.0), "0s");
    }

    #[test]
    fn a_long_run_on_a_cpu_adapter_is_told_the_quicker_commands() {
        let long = 8440;
        let on_cpu = Estimate::new(long, true).line(0.3);
        assert!(
            on_cpu.starts_with("Expected training time: about 42 min (8440 steps at 300ms/step)"),
            "{on_cpu}"
        );
        assert!(
            on_cpu.contains("--train-samples 5000 --epochs 1"),
            "{on_cpu}"
        );
        let on_gpu = Estimate::new(long, false).line(0.3);
        assert!(!on_gpu.contains("quicker"), "{on_gpu}");
        let short = Estimate::new(100, true).line(0.3);
        assert!(!short.contains("quicker"), "{short}");
    }

    #[test]
    fn the_estimate_waits_for_the_speed_after_the_first_chunk() {
        let mut estimate = Estimate::new(1000, false);
        assert_eq!(
            estimate.steps_landed(10),
            None,
            "the first chunk only starts the clock"
        );
        std::thread::sleep(MEASURE_FOR);
        let line = estimate.steps_landed(30).expect("measured over 20 steps");
        assert!(line.contains("(1000 steps at "), "{line}");
    }

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
