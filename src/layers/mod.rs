//! The layers: one folder per op, each with `mod.rs` (its `Params` struct mirroring the WGSL
//! struct, shape rule, bind groups, dispatch sizes, `encode_*` functions) and `cpu.rs`, the plain
//! reference the GPU kernels are tested against.

pub mod bias;
pub mod conv2d;
pub mod dense;
pub mod gather;
pub mod matmul;
pub mod pool2d;
pub mod softmax;
pub mod softmax_xent;

/// Gradients of a layer with a kernel and a bias, as its CPU reference returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// Gradient of the layer's input, masked by `input > 0` when the input is a ReLU output.
    pub input: Vec<f32>,
    /// Gradient of the kernel (Keras layout).
    pub kernel: Vec<f32>,
    /// Gradient of the bias.
    pub bias: Vec<f32>,
}
