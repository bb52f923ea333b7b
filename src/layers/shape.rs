//! Shapes and geometry every layer speaks: the shape of one sample's activation, and the
//! height × width pairs and padding of Keras's spatial layers. Below `model/`, so layers never
//! import the model.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The shape of one sample's activation (the batch axis is implicit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[height, width, channels]`.
    Image {
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
        /// Channels.
        c: usize,
    },
    /// `[features]`.
    Flat(usize),
}

impl Shape {
    /// Values per sample.
    pub fn len(&self) -> usize {
        match *self {
            Self::Image { h, w, c } => h * w * c,
            Self::Flat(n) => n,
        }
    }

    /// Pixels per sample (`h · w` of an image, 1 for a flat vector).
    pub fn pixels(&self) -> usize {
        match *self {
            Self::Image { h, w, .. } => h * w,
            Self::Flat(_) => 1,
        }
    }

    /// Whether the shape holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last axis: channels of an image, features of a flat vector.
    pub fn channels(&self) -> usize {
        match *self {
            Self::Image { c, .. } => c,
            Self::Flat(n) => n,
        }
    }

    /// `[batch, ...]` dimensions of `rows` samples of this shape.
    pub fn batched(&self, rows: usize) -> Vec<usize> {
        match *self {
            Self::Image { h, w, c } => vec![rows, h, w, c],
            Self::Flat(n) => vec![rows, n],
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image { h, w, c } => write!(f, "({h}, {w}, {c})"),
            Self::Flat(n) => write!(f, "({n},)"),
        }
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

    /// `1 × 1`, the default stride of a convolution.
    pub const fn one() -> Self {
        Self::square(1)
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

/// Max or average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest value of each window.
    Max,
    /// The mean of each window.
    Average,
}
