//! Bias gradient: `bias_grad[c] = Σ_r grad[r, c]` over an output gradient `[rows, cols]`.
//! Shared by every layer with a bias.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Mirrors `struct Params` of `shaders/bias/backward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Rows summed over (batch × positions).
    pub rows: u32,
    /// Columns (units or channels).
    pub cols: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

/// Columns one workgroup of `bias.backward` covers.
const COLS_PER_GROUP: u32 = 16;

/// What `bias.backward` reads and writes.
pub struct Io<'a> {
    /// `[rows, cols]` output gradient.
    pub grad: wgpu::BufferBinding<'a>,
    /// `[cols]` its column sums.
    pub bias_grad: wgpu::BufferBinding<'a>,
}

/// Builds the `bias.backward` launch: `grad [rows, cols]` → `bias_grad [cols]`.
pub fn encode_backward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        Kernel::BiasBackward,
        label,
        &(),
        &params,
        &[io.grad, io.bias_grad],
        [params.cols.div_ceil(COLS_PER_GROUP), 1, 1],
    )
}
