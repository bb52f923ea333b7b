//! Standard output that never panics. `println!` panics when stdout is a closed pipe
//! (`gpu-cnn predict ... | head -1`) or a full disk (`> /dev/full`); every command prints
//! through [`say!`] instead:
//! - a closed pipe (EPIPE) means the reader has what it wanted: output stops quietly for the
//!   rest of the run, the command still finishes its work (a checkpoint is still saved) and
//!   exits with success, as Unix tools do;
//! - any other write error (no space, I/O) is an [`Error::Output`] the command returns.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use gpu_cnn::Error;

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

/// Writes an error message to stderr, ignoring a stderr that cannot take it.
pub fn complain(text: fmt::Arguments) {
    let _ = io::stderr().lock().write_fmt(text);
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
