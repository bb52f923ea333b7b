//! `gpu-cnn completions`: a script for each shell that names the subcommands; an unknown shell
//! is refused by the argument parser. Needs no GPU.

mod common;

use common::cli::{fails_with, gpu_cnn, stdout_of};

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(gpu_cnn().args(["completions", shell]));
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for subcommand in ["train", "predict", "evaluate", "completions"] {
            assert!(
                script.contains(subcommand),
                "{shell} script lacks {subcommand}:\n{script}"
            );
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_an_argument_error_listing_the_shells() {
    let mut command = gpu_cnn();
    command.args(["completions", "tcsh"]);
    fails_with(
        &mut command,
        &["invalid value 'tcsh'", "bash", "zsh", "fish"],
    );
    // clap's exit status for a usage error.
    command.assert().code(2);
}
