//! The layers: one folder per op, each with `mod.rs` (its `Params` struct mirroring the WGSL
//! struct, shape rule, bind groups, dispatch sizes, `encode_*` functions) and `cpu.rs`, the plain
//! reference the GPU kernels are tested against.

pub mod bias;
pub mod conv2d;
pub mod dense;
pub mod gather;
pub mod matmul;
pub mod pool2d;
pub mod softmax_xent;
