//! One module per subcommand: its clap arguments and the glue that calls the library and
//! prints. Shared here: the options several commands take.

pub mod compare;
pub mod devices;
pub mod evaluate;
pub mod predict;
pub mod progress;
pub mod reporting;
pub mod show;
pub mod summary;
pub mod train;

use std::path::PathBuf;

use clap::Args;
use gpu_cnn::data::{bundled_mnist_dir, load_dir, MnistSplits};
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::presets;

/// The `--model` help: the presets, and that a model file works too.
pub fn model_help() -> String {
    format!(
        "Model: a preset ({}) or a path to a .toml model file (see the README's \"Model files\")",
        presets::NAMES.join(", ")
    )
}

/// Where the data comes from and which adapter runs it.
#[derive(Args, Clone, Debug)]
pub struct Setup {
    /// Adapter: auto, vulkan, metal, dx12, gl, an index or a name substring (see `devices`).
    #[arg(long, default_value = "auto")]
    pub device: DeviceSelector,
    /// Directory with the four MNIST IDX files, gzipped or raw [default: bundled MNIST].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl Setup {
    /// Reads the data set (bundled MNIST unless `--data`).
    pub fn load_data(&self) -> Result<MnistSplits, gpu_cnn::Error> {
        let dir = self.data.clone().unwrap_or_else(bundled_mnist_dir);
        Ok(load_dir(&dir)?)
    }

    /// Opens the adapter and says which it is.
    pub fn open_device(&self) -> Result<GpuContext, gpu_cnn::Error> {
        let ctx = GpuContext::new(&self.device)?;
        println!("Device: {}", ctx.describe());
        Ok(ctx)
    }
}
