//! What a model is (spec, presets), what shapes it implies (checked before any GPU work), and
//! the network that runs it on the GPU, with its CPU reference twin.

pub mod file;
pub mod layout;
pub mod memory;
pub mod network;
pub mod plan;
pub mod presets;
pub mod reference;
pub mod shape;
pub mod spec;

pub use network::Network;
pub use shape::{LayerInfo, Shape};
pub use spec::{Activation, LayerSpec, ModelSpec};

use std::path::PathBuf;

use thiserror::Error;

use crate::input_file::InputFileError;

/// What can be wrong with a model.
#[derive(Debug, Error)]
pub enum ModelError {
    /// `--model` named neither a preset nor a file.
    #[error(
        "unknown model '{name}': not a preset and not an existing file; presets: {presets}; \
         a path to a .toml model file also works"
    )]
    UnknownModel {
        /// What was asked for.
        name: String,
        /// The preset names.
        presets: String,
    },
    /// A layer cannot take the shape that reaches it, or has invalid settings.
    #[error("layer {index} ({layer}): {problem} (input shape {input}); {hint}")]
    Layer {
        /// Position in the model, from 0.
        index: usize,
        /// Layer name, e.g. `dense_1`.
        layer: String,
        /// What is wrong.
        problem: String,
        /// The shape that reached the layer.
        input: String,
        /// What to do.
        hint: String,
    },
    /// The model's output does not fit the task.
    #[error("model '{model}': {problem}; {hint}")]
    Output {
        /// Model name.
        model: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: String,
    },
    /// The model's input shape cannot hold an image.
    #[error("model '{model}': {problem}; {hint}")]
    Input {
        /// Model name.
        model: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: String,
    },
    /// The model has more layers than [`crate::layers::rules::MAX_LAYERS`].
    #[error(
        "model '{model}': {layers} layers are more than the {max} a model may have; use fewer \
         layers (a deep stack of 1x1 convolutions adds parameters and time, not accuracy)"
    )]
    TooManyLayers {
        /// Model name.
        model: String,
        /// Layers in the model.
        layers: usize,
        /// The most allowed.
        max: usize,
    },
    /// A model file is missing, not a regular file, or too large to be a model file.
    #[error(transparent)]
    File(#[from] InputFileError),
    /// A model file is not UTF-8 TOML or does not describe a model (unknown layer type or
    /// field, wrong type, negative size, too many layers).
    #[error("{}: invalid model file: {error}", .path.display())]
    Parse {
        /// The model file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        error: file::FormatError,
    },
    /// A model file parses but describes a model whose shapes or output do not work.
    #[error("{}: {source}", .path.display())]
    InFile {
        /// The model file.
        path: PathBuf,
        /// The shape or output error.
        source: Box<ModelError>,
    },
}
