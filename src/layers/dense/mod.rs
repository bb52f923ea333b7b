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
use crate::layers::bias;
use crate::layers::matmul::{self, Epilogue, Layout, Operands, Transpose};

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
    let epilogue = if relu {
        Epilogue::BiasRelu
    } else {
        Epilogue::Bias
    };
    matmul::encode(
        ctx,
        cache,
        &format!("{label}.forward"),
        matmul::Params::new(shape.rows, shape.units, shape.inputs),
        Layout::Matrices(Transpose::default()),
        epilogue,
        Operands {
            mask: x.clone(),
            a: x,
            b: kernel,
            bias,
            c: y,
        },
    )
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
    let epilogue = if mask_by_input {
        Epilogue::ReluMask
    } else {
        Epilogue::None
    };
    matmul::encode(
        ctx,
        cache,
        &format!("{label}.backward_input"),
        matmul::Params::new(shape.rows, shape.inputs, shape.units),
        Layout::Matrices(Transpose { a: false, b: true }),
        epilogue,
        Operands {
            a: dz,
            bias: kernel.clone(),
            b: kernel,
            mask: x,
            c: dx,
        },
    )
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
    let mut dispatches = matmul::encode_split_k(
        ctx,
        cache,
        &format!("{label}.backward_weight"),
        matmul::Params::new(shape.inputs, shape.units, shape.rows),
        Layout::Matrices(Transpose { a: true, b: false }),
        x,
        dz.clone(),
        kernel_grad,
    )?;
    let bias = bias::encode_backward(
        ctx,
        cache,
        &format!("{label}.backward_bias"),
        bias::Params {
            rows: shape.rows as u32,
            cols: shape.units as u32,
            ..Default::default()
        },
        dz,
        bias_grad,
    )?;
    dispatches.push(bias);
    Ok(dispatches)
}
