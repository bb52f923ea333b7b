//! The layers: one folder per op. A layer folder owns everything about its op: its model-file
//! fields (Keras's names) and shape rule ([`Layer`]), its tensors, its launches and its CPU
//! twin ([`Op`]), and the `Params` structs that mirror its WGSL kernels. Helper ops that are
//! not layers (gather, matmul, bias, col2im, softmax, softmax_xent) live here too.
//!
//! Adding a layer: its folder, its shader(s), its test file, one line in
//! `model::spec`'s registry and its README row.

pub mod activation;
pub mod batch_normalization;
pub mod bias;
pub mod col2im;
pub mod conv2d;
pub mod dense;
pub mod dropout;
pub mod flatten;
pub mod gather;
pub mod layer;
pub mod matmul;
pub mod pool2d;
pub mod rules;
pub mod shape;
pub mod softmax;
pub mod softmax_xent;

pub use layer::{Layer, Op};

use layer::{HostGradients, HostTensors};

/// Gradients of a layer with a kernel and a bias, as its CPU reference returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// Gradient of the layer's input, masked by `input > 0` when asked to.
    pub input: Vec<f32>,
    /// Gradient of the kernel (Keras layout).
    pub kernel: Vec<f32>,
    /// Gradient of the bias.
    pub bias: Vec<f32>,
}

impl From<Gradients> for HostGradients {
    fn from(gradients: Gradients) -> Self {
        Self {
            dx: gradients.input,
            tensors: HostTensors::from([("kernel", gradients.kernel), ("bias", gradients.bias)]),
        }
    }
}
