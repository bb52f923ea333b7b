//! Output that never panics, split as Unix tools split it: results on stdout, diagnostics
//! (the device, the model, progress, what was saved) on stderr, so `gpu-cnn evaluate ... --json
//! > result.json` or `| jq` gets only the result.
//!
//! `println!` panics when stdout is a closed pipe (`gpu-cnn predict ... | head -1`) or a full
//! disk (`> /dev/full`); every command prints its results through [`say!`] instead:
//! - a closed pipe (EPIPE) means the reader has what it wanted: output stops quietly for the
//!   rest of the run, the command still finishes its work (a checkpoint is still saved) and
//!   exits with success, as Unix tools do;
//! - any other write error (no space, I/O) is an [`Error::Output`] the command returns.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use gpu_cnn::evaluate::EvalStats;
use gpu_cnn::Error;

use super::progress::{evaluation_line, Verbosity};

/// Set once a write met a closed pipe: nothing more is written.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it; see the module documentation for errors.
pub fn write(text: fmt::Arguments) -> Result<(), Error> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        result => result.map_err(|source| Error::Output { source }),
    }
}

/// Set by `--verbose 0`: diagnostics are not written.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Writes an error message to stderr, ignoring a stderr that cannot take it.
pub fn complain(text: fmt::Arguments) {
    let _ = io::stderr().lock().write_fmt(text);
}

/// Hides (`true`) or shows the diagnostics [`note!`] writes, for the rest of the run.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Writes a diagnostic to stderr, unless `--verbose 0` asked for quiet; a stderr that cannot
/// take it is ignored, as diagnostics are not the command's result.
pub fn diagnose(text: fmt::Arguments) {
    if !QUIET.load(Ordering::Relaxed) {
        complain(text);
    }
}

/// Prints `value` as one pretty JSON document on stdout: the `--json` result of a command.
pub fn json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(|source| Error::Output {
        source: io::Error::other(source),
    })?;
    write(format_args!("{text}\n"))
}

/// `println!` through [`write`]: evaluates to `Result<(), gpu_cnn::Error>`.
macro_rules! say {
    () => {
        $crate::commands::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write`]: evaluates to `Result<(), gpu_cnn::Error>`.
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!($($arg)*))
    };
}

/// `eprintln!` for diagnostics through [`diagnose`]: hidden by `--verbose 0`, never fails.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::commands::output::diagnose(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// How a command prints (train, evaluate, predict): results on stdout, diagnostics and
/// progress on stderr (this module).
#[derive(Args, Clone, Debug)]
pub struct OutputArgs {
    /// Output: 0 only the result, 1 progress bars, 2 one line per epoch (as Keras).
    #[arg(long, value_enum, default_value = "1")]
    pub verbose: Verbosity,
    /// Print the result as one JSON document on stdout, and nothing else there (diagnostics
    /// still go to stderr).
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Applies `--verbose 0` (no diagnostics) for the rest of the run.
    pub fn apply(&self) {
        set_quiet(self.verbose == Verbosity::Silent);
    }
}

/// The loss and accuracy of a pass over a test set and how long it took, as `--json` prints
/// them.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct TestResult {
    /// Loss, accuracy and samples.
    #[serde(flatten)]
    pub stats: EvalStats,
    /// Seconds the pass took, readback included.
    pub seconds: f64,
}

impl TestResult {
    /// The Keras line and the accuracy line, as the text output prints them.
    pub fn say(&self) -> Result<(), Error> {
        say!("{}", evaluation_line(&self.stats, self.seconds))?;
        say!("\nTest accuracy: {:.4}", self.stats.accuracy)
    }
}
