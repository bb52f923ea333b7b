//! The `gpu-cnn` command line: parse, call the subcommand, print its error. Each subcommand
//! lives in `commands/`.

mod commands;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use commands::output::complain;
use commands::{
    bench, compare, completions, devices, evaluate, export, interrupt, predict, selftest, show,
    summary, train,
};

/// Train and run convolutional neural networks in WGSL compute shaders (wgpu).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every GPU adapter with its index, backend, type, driver and limits.
    Devices(devices::DevicesArgs),
    /// Print a model's layers, output shapes and parameter counts (Keras's `model.summary()`),
    /// checking its shapes; needs no GPU.
    Summary(summary::SummaryArgs),
    /// Show the data set: shapes, label histogram, sample images.
    Show(show::ShowArgs),
    /// Train a model on MNIST (or any directory of the four IDX files), then test it.
    Train(train::TrainArgs),
    /// Test loss and accuracy of a saved checkpoint (Keras's `model.evaluate`).
    Evaluate(evaluate::EvaluateArgs),
    /// Class probabilities of test images or PNG files (Keras's `model.predict`).
    Predict(predict::PredictArgs),
    /// Write a checkpoint's network as an ONNX model (opset 13) for other runtimes.
    Export(export::ExportArgs),
    /// Train several models with the same settings and compare them in one table.
    Compare(compare::CompareArgs),
    /// Measure training and inference speed on this device (samples/s, launches per step,
    /// first-epoch cost, GPU time per kernel).
    Bench(bench::BenchArgs),
    /// Run every kernel against its CPU reference on this adapter and print a pass/fail table
    /// with the worst error of each: the first command to run on a new GPU or driver.
    Selftest(selftest::SelftestArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell, e.g.
    /// `gpu-cnn completions bash > ~/.local/share/bash-completion/completions/gpu-cnn`.
    Completions(completions::CompletionsArgs),
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    interrupt::install();
    let result = match Cli::parse().command {
        Command::Devices(args) => devices::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Show(args) => show::run(args),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Export(args) => export::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Selftest(args) => selftest::run(args),
        Command::Completions(args) => completions::run(args, Cli::command()),
    };
    match result {
        Ok(()) if interrupt::requested() => ExitCode::from(interrupt::EXIT_CODE),
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            complain(format_args!("error: {error}\n"));
            ExitCode::FAILURE
        }
    }
}
