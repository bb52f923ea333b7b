//! Dense (fully connected) layer, Keras layout:
//!
//! ```text
//! forward          y  [B, units] = act(x [B, in] · kernel [in, units] + bias [units])
//! backward_input   dx [B, in]    = dz · kernelᵀ, ⊙ (x > 0) when x is a ReLU output
//! backward_weight  dkernel       = xᵀ · dz,  dbias = Σ_rows dz
//! ```
//! `dz` is the gradient with respect to the layer's pre-activation output: the loss kernel or
//! the next layer's `backward_input` has already applied this layer's ReLU mask. Every pass is
//! one `matmul.forward` launch (plus `bias.backward`).

pub mod cpu;

use crate::gpu::{Dispatch, GpuContext, GpuError, KernelCache};
use crate::layers::matmul::passes::{self, Gemm};
use crate::layers::matmul::{self, Layout, Transpose};

/// The sizes of one dense layer at a given batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseShape {
    /// Batch rows.
    pub rows: usize,
    /// Input features.
    pub inputs: usize,
    /// Output units.
    pub units: usize,
}

impl DenseShape {
    fn gemm(m: usize, n: usize, k: usize, transpose: Transpose) -> Gemm {
        Gemm {
            params: matmul::Params::new(m, n, k),
            layout: Layout::Matrices(transpose),
        }
    }
}

/// Builds the forward launch: `y = act(x · kernel + bias)`.
pub fn encode_forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: DenseShape,
    relu: bool,
    x: wgpu::BufferBinding<'_>,
    kernel: wgpu::BufferBinding<'_>,
    bias: wgpu::BufferBinding<'_>,
    y: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let gemm = DenseShape::gemm(shape.rows, shape.units, shape.inputs, Transpose::default());
    passes::forward(ctx, cache, label, gemm, relu, x, kernel, bias, y)
}

/// Builds the backward_input launch: `dx = dz · kernelᵀ`, masked by `x > 0` when
/// `mask_by_input` (the input is a ReLU output).
pub fn encode_backward_input(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: DenseShape,
    mask_by_input: bool,
    dz: wgpu::BufferBinding<'_>,
    kernel: wgpu::BufferBinding<'_>,
    x: wgpu::BufferBinding<'_>,
    dx: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let transpose = Transpose { a: false, b: true };
    let gemm = DenseShape::gemm(shape.rows, shape.inputs, shape.units, transpose);
    passes::backward_input(ctx, cache, label, gemm, mask_by_input, dz, kernel, x, dx)
}

/// Builds the backward_weight launches: `dkernel = xᵀ · dz` (split over the batch when that
/// fills the device better) and `dbias = Σ_rows dz`.
pub fn encode_backward_weight(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: DenseShape,
    x: wgpu::BufferBinding<'_>,
    dz: wgpu::BufferBinding<'_>,
    kernel_grad: wgpu::BufferBinding<'_>,
    bias_grad: wgpu::BufferBinding<'_>,
) -> Result<Vec<Dispatch>, GpuError> {
    let transpose = Transpose { a: true, b: false };
    let gemm = DenseShape::gemm(shape.inputs, shape.units, shape.rows, transpose);
    let dz_shape = (shape.rows, shape.units);
    passes::backward_weight(
        ctx,
        cache,
        label,
        gemm,
        dz_shape,
        x,
        dz,
        kernel_grad,
        bias_grad,
    )
}
