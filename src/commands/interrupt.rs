//! Ctrl-C (SIGINT, SIGTERM, SIGHUP) without losing finished work. While a command has said it
//! can stop cleanly ([`stop_cleanly`]: `train` does while fitting), the first signal only asks
//! it to: training stops at the next chunk boundary, saves where `--save` was given and the
//! program exits 130. Any other time, and on a second signal, the program exits 130 at once;
//! files are written atomically, so that leaves no torn file.

use std::sync::atomic::{AtomicBool, Ordering};

use super::output::complain;

/// The exit code of a program stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_CODE: u8 = 130;

/// Whether the running command can stop cleanly when asked.
static CLEAN_STOP: AtomicBool = AtomicBool::new(false);
/// Whether a stop has been asked for.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the signal handler (once, at start). Where it cannot be installed, Ctrl-C keeps
/// its default (the program ends at once) and a warning says so.
pub fn install() {
    let installed = ctrlc::set_handler(|| {
        if CLEAN_STOP.load(Ordering::SeqCst) && !REQUESTED.swap(true, Ordering::SeqCst) {
            complain(format_args!(
                "\nInterrupted: stopping after the steps in flight (Ctrl-C again to quit now)\n"
            ));
        } else {
            std::process::exit(i32::from(EXIT_CODE));
        }
    });
    if let Err(error) = installed {
        log::warn!("Ctrl-C will end gpu-cnn at once, saving nothing: {error}");
    }
}

/// From now on the first Ctrl-C only asks the command to stop ([`requested`]).
pub fn stop_cleanly() {
    CLEAN_STOP.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C asked the command to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
