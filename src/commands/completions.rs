//! `gpu-cnn completions`: the shell completion script of the whole command line
//! ([`clap_complete`]), printed to standard output for the shell to load.

use clap::Args;
use clap_complete::Shell;
use gpu_cnn::Error;

/// Arguments of `completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL")]
    shell: Shell,
}

/// Prints the completion script of `command` (the whole `gpu-cnn` command line) for the shell
/// asked for.
pub fn run(args: CompletionsArgs, mut command: clap::Command) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "gpu-cnn", &mut script);
    say_part!("{}", String::from_utf8_lossy(&script))
}
