//! The library's error type: one variant per module boundary, each carrying that module's
//! typed error, plus the trainer's own checks.

use thiserror::Error;

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::gpu::GpuError;
use crate::model::memory::MemoryError;
use crate::model::ModelError;
use crate::report::ReportError;

/// Everything a user can cause or meet while running gpu-cnn.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or checking the data set.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The device, a limit or a GPU command.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// The model definition or its shapes.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's buffers do not fit the device (checked before any allocation); boxed, as
    /// it names a layer, a buffer and a limit.
    #[error(transparent)]
    Memory(#[from] Box<MemoryError>),
    /// Writing or reading a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Writing a report.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A setting out of its range.
    #[error("invalid {setting} {value}: {hint}")]
    InvalidSetting {
        /// The option, e.g. `--batch-size`.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        hint: String,
    },
    /// Training produced a non-finite loss.
    #[error(
        "training diverged: the loss became {loss} in epoch {epoch}; lower the learning rate or \
         check the input data"
    )]
    Diverged {
        /// Epoch (from 1).
        epoch: usize,
        /// The loss seen.
        loss: f64,
    },
}

/// Short for `Result<T, gpu_cnn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
