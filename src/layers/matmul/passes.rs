//! The three passes of a layer with a kernel and a bias (dense, conv2d) as launches of the one
//! GEMM: the layer chooses the GEMM sizes and operand [`Layout`] of each pass, this module the
//! epilogues, the label and the bias gradient.

use super::{encode, encode_split_k, Epilogue, Layout, Operands, Params};
use crate::gpu::{Dispatch, GpuContext, GpuError, KernelCache};
use crate::layers::bias;

/// The GEMM of one pass: its sizes and how it reads its operands.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    /// Sizes (and convolution geometry).
    pub params: Params,
    /// How A and B are read.
    pub layout: Layout,
}

/// `y = act(opA(x) · kernel + bias)`: the forward pass, with ReLU when `relu`.
pub fn forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    gemm: Gemm,
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
    let operands = Operands {
        mask: x.clone(),
        a: x,
        b: kernel,
        bias,
        c: y,
    };
    let label = format!("{label}.forward");
    encode(
        ctx,
        cache,
        &label,
        gemm.params,
        gemm.layout,
        epilogue,
        operands,
    )
}

/// `dx = opA(dz) · opB(kernel)`, zeroed where `x <= 0` when `mask_by_input` (the input is a
/// ReLU output): the backward_input pass with ReLU's backward fused in.
pub fn backward_input(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    gemm: Gemm,
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
    let operands = Operands {
        a: dz,
        bias: kernel.clone(),
        b: kernel,
        mask: x,
        c: dx,
    };
    let label = format!("{label}.backward_input");
    encode(
        ctx,
        cache,
        &label,
        gemm.params,
        gemm.layout,
        epilogue,
        operands,
    )
}

/// `dkernel = opA(x) · dz` (split over k when that fills the device better) and
/// `dbias = Σ_rows dz` over `dz`'s `[rows, cols]`: the backward_weight launches.
pub fn backward_weight(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    gemm: Gemm,
    (rows, cols): (usize, usize),
    x: wgpu::BufferBinding<'_>,
    dz: wgpu::BufferBinding<'_>,
    kernel_grad: wgpu::BufferBinding<'_>,
    bias_grad: wgpu::BufferBinding<'_>,
) -> Result<Vec<Dispatch>, GpuError> {
    let label = format!("{label}.backward_weight");
    let mut dispatches = encode_split_k(
        ctx,
        cache,
        &label,
        gemm.params,
        gemm.layout,
        x,
        dz.clone(),
        kernel_grad,
    )?;
    let bias_params = bias::Params {
        rows: rows as u32,
        cols: cols as u32,
        ..Default::default()
    };
    let bias_label = format!("{label}.bias");
    dispatches.push(bias::encode_backward(
        ctx,
        cache,
        &bias_label,
        bias_params,
        dz,
        bias_grad,
    )?);
    Ok(dispatches)
}
