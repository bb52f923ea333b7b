//! What a model is (spec, presets), what shapes it implies (checked before any GPU work), and
//! the network that runs it on the GPU, with its CPU reference twin.

pub mod network;
pub mod presets;
pub mod reference;
pub mod shape;
pub mod spec;

pub use network::Network;
pub use shape::{LayerInfo, Shape};
pub use spec::{Activation, LayerSpec, ModelSpec};

use thiserror::Error;

/// What can be wrong with a model.
#[derive(Debug, Error)]
pub enum ModelError {
    /// `--model` named neither a preset nor a file.
    #[error("unknown model '{name}'; presets: {presets}")]
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
}
