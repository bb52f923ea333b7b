//! A model as data: the input shape, the number of classes and the layers in order.

use std::fmt;

/// A layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// Softmax over the last axis (only on the output layer, fused into the loss).
    Softmax,
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::Softmax => "softmax",
        })
    }
}

/// One layer of a sequential model, with Keras's meaning.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    /// `[H, W, C]` → `[H·W·C]`, a free reshape.
    Flatten,
    /// Fully connected: `[in]` → `[units]`.
    Dense {
        /// Output units.
        units: usize,
        /// Activation applied to the output.
        activation: Activation,
    },
}

impl LayerSpec {
    /// The Keras class name's snake-case stem (`dense`, `flatten`), used to name layers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Flatten => "flatten",
            Self::Dense { .. } => "dense",
        }
    }
}

/// A sequential model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// Name (the preset's or the file's).
    pub name: String,
    /// Input `[height, width, channels]`.
    pub input: [usize; 3],
    /// Number of classes the last layer must output.
    pub classes: usize,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}
