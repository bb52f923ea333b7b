//! A model as data: the input shape, the number of classes and the layers in order. These types
//! are also the model file format (TOML, see the README): layer `type`s and field names are
//! Keras's.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A layer's activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Identity (Keras's default).
    #[default]
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

/// Keras padding of a convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: the output shrinks by the kernel size minus one.
    #[default]
    Valid,
    /// Zero padding so that the output is `ceil(input / stride)`.
    Same,
}

/// A height × width pair; in a model file either one number for both or `[h, w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SizeInFile", into = "[usize; 2]")]
pub struct Size2 {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
}

impl Size2 {
    /// The same size in both directions.
    pub const fn square(n: usize) -> Self {
        Self { h: n, w: n }
    }
}

impl fmt::Display for Size2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.h, self.w)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeInFile {
    One(usize),
    Two([usize; 2]),
}

impl From<SizeInFile> for Size2 {
    fn from(size: SizeInFile) -> Self {
        match size {
            SizeInFile::One(n) => Self::square(n),
            SizeInFile::Two([h, w]) => Self { h, w },
        }
    }
}

impl From<Size2> for [usize; 2] {
    fn from(size: Size2) -> Self {
        [size.h, size.w]
    }
}

fn one() -> Size2 {
    Size2::square(1)
}

/// Max or average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest value of each window.
    Max,
    /// The mean of each window.
    Average,
}

/// One layer of a sequential model, with Keras's meaning and defaults.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution over NHWC input, kernel `[kh, kw, c_in, filters]`, plus bias.
    Conv2D {
        /// Output channels.
        filters: usize,
        /// Kernel height and width.
        kernel_size: Size2,
        /// Step between windows (default 1).
        #[serde(default = "one")]
        strides: Size2,
        /// `valid` (default) or `same`.
        #[serde(default)]
        padding: Padding,
        /// Activation (default linear).
        #[serde(default)]
        activation: Activation,
    },
    /// Max pooling over windows (valid padding, floor on odd sizes).
    MaxPooling2D {
        /// Window height and width.
        pool_size: Size2,
        /// Step between windows (default: the pool size).
        #[serde(default)]
        strides: Option<Size2>,
    },
    /// Average pooling over windows (valid padding, floor on odd sizes).
    AveragePooling2D {
        /// Window height and width.
        pool_size: Size2,
        /// Step between windows (default: the pool size).
        #[serde(default)]
        strides: Option<Size2>,
    },
    /// `[H, W, C]` → `[H·W·C]`, a free reshape.
    Flatten,
    /// Fully connected: `[in]` → `[units]`.
    Dense {
        /// Output units.
        units: usize,
        /// Activation (default linear).
        #[serde(default)]
        activation: Activation,
    },
}

impl LayerSpec {
    /// The Keras layer name stem (`conv2d`, `max_pooling2d`, `dense`, ...), used to name layers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Conv2D { .. } => "conv2d",
            Self::MaxPooling2D { .. } => "max_pooling2d",
            Self::AveragePooling2D { .. } => "average_pooling2d",
            Self::Flatten => "flatten",
            Self::Dense { .. } => "dense",
        }
    }

    /// The Keras class name (`Conv2D`, `MaxPooling2D`, ...).
    pub fn class_name(&self) -> &'static str {
        match self {
            Self::Conv2D { .. } => "Conv2D",
            Self::MaxPooling2D { .. } => "MaxPooling2D",
            Self::AveragePooling2D { .. } => "AveragePooling2D",
            Self::Flatten => "Flatten",
            Self::Dense { .. } => "Dense",
        }
    }

    /// The layer's activation (`Linear` for layers without one).
    pub fn activation(&self) -> Activation {
        match *self {
            Self::Conv2D { activation, .. } | Self::Dense { activation, .. } => activation,
            _ => Activation::Linear,
        }
    }

    /// Pooling kind, window and strides (the strides default to the window), for pool layers.
    pub fn pool(&self) -> Option<(PoolKind, Size2, Size2)> {
        match *self {
            Self::MaxPooling2D { pool_size, strides } => {
                Some((PoolKind::Max, pool_size, strides.unwrap_or(pool_size)))
            }
            Self::AveragePooling2D { pool_size, strides } => {
                Some((PoolKind::Average, pool_size, strides.unwrap_or(pool_size)))
            }
            _ => None,
        }
    }
}

fn default_classes() -> usize {
    10
}

fn default_input() -> [usize; 3] {
    [28, 28, 1]
}

/// A sequential model.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Name (the preset's, or the file's stem when the file gives none).
    #[serde(default)]
    pub name: String,
    /// Input `[height, width, channels]` (default `[28, 28, 1]`; training sets it from the data).
    #[serde(default = "default_input")]
    pub input: [usize; 3],
    /// Number of classes the last layer must output (default 10).
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}
