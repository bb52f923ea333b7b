//! The library's error type: one variant per module boundary, each carrying that module's
//! typed error, plus the trainer's own checks.

use thiserror::Error;

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::export::ExportError;
use crate::gpu::GpuError;
use crate::model::memory::MemoryError;
use crate::model::ModelError;
use crate::onnx::OnnxError;
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
    /// Writing a predictions file (`predict --output`).
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Building or writing an ONNX model (`export`).
    #[error(transparent)]
    Onnx(#[from] OnnxError),
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
    /// Training produced a non-finite loss or parameter; nothing was saved from that step on.
    #[error(
        "training diverged: {what} became {value} at step {step} of epoch {epoch}; no checkpoint \
         was written from it (an earlier one is untouched); lower --learning-rate (now \
         {learning_rate:e}) or raise --batch-size, and check the input data"
    )]
    Diverged {
        /// Epoch (from 1).
        epoch: usize,
        /// Step within the epoch (from 1).
        step: usize,
        /// What became non-finite: `the loss`, or `a parameter of dense_1.kernel`.
        what: String,
        /// The value seen (`NaN`, `inf`).
        value: String,
        /// The learning rate training ran with.
        learning_rate: f64,
    },
    /// The data does not fit the model (image size, channels or labels).
    #[error("{data} does not fit model '{model}': {problem}; {hint}")]
    Mismatch {
        /// The data, e.g. `the test set of assets/mnist`.
        data: String,
        /// The model's name.
        model: String,
        /// What differs.
        problem: String,
        /// What to change.
        hint: String,
    },
    /// A data set has no samples where some are needed.
    #[error("{data} has no samples; give a data directory whose files hold images")]
    EmptyData {
        /// The data, e.g. `the test set of assets/mnist`.
        data: String,
    },
    /// Writing to standard output failed (a closed pipe is not a failure: output just stops).
    #[error(
        "could not write to standard output: {source}; check that the file or disk it goes to \
         has space"
    )]
    Output {
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

/// Short for `Result<T, gpu_cnn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
