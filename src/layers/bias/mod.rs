//! Column sums in a fixed order, `bias_grad[c] = Σ_r grad[r, c]` over `[rows, cols]`. On the
//! GPU it sums split-K partials (the weight-gradient GEMM gives each layer's bias gradient
//! itself, [`crate::layers::matmul::Epilogue::ColumnSums`]); its CPU twin is every layer's
//! bias-gradient reference.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};

/// Mirrors `struct Params` of `shaders/bias/backward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Rows summed over (batch × positions).
    pub rows: u32,
    /// Columns (units or channels).
    pub cols: u32,
    /// The last `tail_len` column sums go to [`Io::tail`] (0: none).
    pub tail_len: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
}

/// Columns one workgroup of `bias.backward` covers.
pub const COLS_PER_GROUP: u32 = 16;

/// What `bias.backward` reads and writes.
pub struct Io<'a> {
    /// `[rows, cols]` output gradient.
    pub grad: wgpu::BufferBinding<'a>,
    /// `[cols − tail_len]` its column sums.
    pub bias_grad: wgpu::BufferBinding<'a>,
    /// `[tail_len]` the last column sums, where `tail_len` > 0.
    pub tail: Option<wgpu::BufferBinding<'a>>,
}

/// Builds the `bias.backward` launch: `grad [rows, cols]` → `bias_grad [cols − tail_len]` and
/// `tail [tail_len]`.
pub fn encode_backward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    let mut stand_in = None;
    let tail = buffers::or_stand_in(ctx, label, io.tail, &mut stand_in)?;
    Dispatch::new(
        ctx,
        Kernel::BiasBackward,
        label,
        &(),
        &params,
        &[io.grad, io.bias_grad, tail],
        [params.cols.div_ceil(COLS_PER_GROUP), 1, 1],
    )
}
