//! The `gpu-cnn` command line: parse, build a configuration, call the library, print.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use gpu_cnn::data::{bundled_mnist_dir, load_dir};
use gpu_cnn::gpu::context::list_adapters;
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::presets;
use gpu_cnn::train::{per_step, EpochStats, Progress, TrainConfig, Trainer};

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
    Devices,
    /// Train a model on MNIST (or any directory of the four IDX files), then test it.
    Train(TrainArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// Model preset.
    #[arg(long, default_value = "dense", value_parser = clap::builder::PossibleValuesParser::new(presets::NAMES))]
    model: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Samples per training step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Fraction of the training set held out for validation (its last part, as in Keras).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    validation_split: f64,
    /// Seed of initialisation, subsampling and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on a random subset of this many training samples.
    #[arg(long)]
    train_samples: Option<usize>,
    /// Adapter: auto, vulkan, metal, dx12, gl, an index or a name substring (see `devices`).
    #[arg(long, default_value = "auto")]
    device: DeviceSelector,
    /// Directory with the four MNIST IDX files, gzipped or raw [default: bundled MNIST].
    #[arg(long)]
    data: Option<PathBuf>,
}

fn devices() -> Result<(), gpu_cnn::Error> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(gpu_cnn::gpu::GpuError::NoAdapter {
            backends: "all enabled".into(),
        }
        .into());
    }
    for adapter in adapters {
        println!("{adapter}");
    }
    Ok(())
}

fn epoch_line(stats: &EpochStats) -> String {
    let mut line = format!(
        "{steps}/{steps} - {secs:.1}s {each} - loss: {loss:.4} - accuracy: {acc:.4}",
        steps = stats.steps,
        secs = stats.seconds,
        each = per_step(stats.seconds, stats.steps),
        loss = stats.loss,
        acc = stats.accuracy,
    );
    if let Some(val) = stats.validation {
        line += &format!(
            " - val_loss: {:.4} - val_accuracy: {:.4}",
            val.loss, val.accuracy
        );
    }
    line
}

fn train(args: TrainArgs) -> Result<(), gpu_cnn::Error> {
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        validation_split: args.validation_split,
        seed: args.seed,
        train_samples: args.train_samples,
        ..TrainConfig::default()
    };
    let dir = args.data.unwrap_or_else(bundled_mnist_dir);
    let data = load_dir(&dir)?;
    config.validate(data.train.len())?;
    let spec = presets::preset(&args.model)?;
    let ctx = GpuContext::new(&args.device)?;
    println!("Device: {}", ctx.describe());
    let mut trainer = Trainer::new(&ctx, spec, &data, config.clone())?;
    let (train_len, validation_len) = trainer.split_sizes();
    println!(
        "Model '{}': {} parameters; training on {train_len} samples, validating on {validation_len}",
        args.model,
        trainer.network().param_count()
    );
    let epochs = config.epochs;
    trainer.fit(|progress| {
        if let Progress::Epoch(stats) = progress {
            println!("Epoch {}/{epochs}", stats.epoch);
            println!("{}", epoch_line(&stats));
        }
    })?;
    let test = trainer.evaluate_test()?;
    println!(
        "{n}/{n} - loss: {:.4} - accuracy: {:.4}",
        test.loss,
        test.accuracy,
        n = test.samples
    );
    println!("\nTest accuracy: {:.4}", test.accuracy);
    Ok(())
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Devices => devices(),
        Command::Train(args) => train(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
