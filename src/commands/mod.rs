//! One module per subcommand: its clap arguments and the glue that calls the library and
//! prints. Shared here: the options several commands take.

pub mod bench;
pub mod compare;
pub mod devices;
pub mod evaluate;
pub mod predict;
pub mod progress;
pub mod reporting;
pub mod show;
pub mod summary;
pub mod train;

use std::path::{Path, PathBuf};

use clap::Args;
use gpu_cnn::checkpoint::{self, RawCheckpoint};
use gpu_cnn::data::{bundled_mnist_dir, load_dir, MnistSplits};
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::{presets, shape};
use gpu_cnn::train::TrainConfig;

/// The `--model` help: the presets, and that a model file works too.
pub fn model_help() -> String {
    format!(
        "Model: a preset ({}) or a path to a .toml model file (see the README's \"Model files\")",
        presets::NAMES.join(", ")
    )
}

/// Reads the checkpoint at `path` and checks that its tensors fit its model, before any data
/// loads or device opens.
pub fn load_checkpoint(path: &Path) -> Result<RawCheckpoint, gpu_cnn::Error> {
    let raw = checkpoint::load(path)?;
    let layers = shape::infer(&raw.spec)?;
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    raw.clone().into_checkpoint(&layouts)?;
    Ok(raw)
}

/// Keras's `fit` settings, shared by `train` and `compare`.
#[derive(Args, Clone, Debug)]
pub struct FitArgs {
    /// Epochs to train (with --resume: the total to reach).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Samples per training step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Fraction of the training set held out for validation (its last part, as in Keras).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub validation_split: f64,
    /// Seed of initialisation, subsampling and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train on a random subset of this many training samples.
    #[arg(long)]
    pub train_samples: Option<usize>,
}

impl FitArgs {
    /// The training configuration these settings describe (Keras's Adam).
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            validation_split: self.validation_split,
            seed: self.seed,
            train_samples: self.train_samples,
            ..TrainConfig::default()
        }
    }
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
        let ctx = self.open_device_quietly()?;
        println!("Device: {}", ctx.describe());
        Ok(ctx)
    }

    /// Opens the adapter.
    pub fn open_device_quietly(&self) -> Result<GpuContext, gpu_cnn::Error> {
        Ok(GpuContext::new(&self.device)?)
    }
}
