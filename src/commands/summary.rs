//! `gpu-cnn summary`: Keras's `model.summary()`, with every shape checked; no GPU needed.

use clap::Args;
use gpu_cnn::model::{presets, shape};

use super::model_help;

/// Arguments of `summary`.
#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[arg(long, value_name = "NAME|PATH", help = model_help())]
    model: String,
}

/// Prints the model's table.
pub fn run(args: SummaryArgs) -> Result<(), gpu_cnn::Error> {
    let spec = presets::resolve(&args.model)?;
    let layers = shape::infer(&spec)?;
    say_part!("{}", gpu_cnn::report::summary(&spec, &layers))?;
    Ok(())
}
