//! 2-D max and average pooling, NHWC, valid padding (Keras's default; floor on odd sizes):
//!
//! ```text
//! forward          y[b, oh, ow, c] = max (mean) over the window at (oh·sh, ow·sw) of x[b, ·, ·, c]
//! backward_input   max: dy goes to the window's first maximum (row-major); mean: dy / area to
//!                  every element of the window; ⊙ (x > 0) when x is a ReLU output
//! ```

pub mod cpu;
pub mod geometry;

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel, KernelCache};
use crate::model::spec::{PoolKind, Size2};

/// Mirrors `struct Params` of `shaders/pool2d/*.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch rows.
    pub batch: u32,
    /// Input height.
    pub in_h: u32,
    /// Input width.
    pub in_w: u32,
    /// Channels (unchanged by pooling).
    pub channels: u32,
    /// Output height.
    pub out_h: u32,
    /// Output width.
    pub out_w: u32,
    /// Window height.
    pub pool_h: u32,
    /// Window width.
    pub pool_w: u32,
    /// Vertical stride.
    pub stride_h: u32,
    /// Horizontal stride.
    pub stride_w: u32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
}

impl Params {
    /// The parameters of pooling `[h, w, c]` inputs with `pool` windows every `strides`, or
    /// `None` when the output would be empty.
    pub fn new(batch: usize, [h, w, c]: [usize; 3], pool: Size2, strides: Size2) -> Option<Self> {
        let out_h = geometry::output_extent(h, pool.h, strides.h)?;
        let out_w = geometry::output_extent(w, pool.w, strides.w)?;
        Some(Self {
            batch: batch as u32,
            in_h: h as u32,
            in_w: w as u32,
            channels: c as u32,
            out_h: out_h as u32,
            out_w: out_w as u32,
            pool_h: pool.h as u32,
            pool_w: pool.w as u32,
            stride_h: strides.h as u32,
            stride_w: strides.w as u32,
            ..Self::default()
        })
    }

    /// Values in one batch of inputs.
    pub fn input_len(&self) -> usize {
        (self.batch * self.in_h * self.in_w * self.channels) as usize
    }

    /// Values in one batch of outputs.
    pub fn output_len(&self) -> usize {
        (self.batch * self.out_h * self.out_w * self.channels) as usize
    }
}

fn average(kind: PoolKind) -> (&'static str, f64) {
    ("AVERAGE", f64::from(u8::from(kind == PoolKind::Average)))
}

/// Builds the forward launch `x → y`.
pub fn encode_forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    kind: PoolKind,
    params: Params,
    x: wgpu::BufferBinding<'_>,
    y: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.forward");
    let grid = grid_for(ctx, &label, params.output_len() as u64, 256)?;
    Dispatch::new(
        ctx,
        cache,
        Kernel::Pool2dForward,
        &label,
        &[average(kind)],
        &params,
        &[x, y],
        grid,
    )
}

/// Builds the backward_input launch `(x, dy) → dx`, masked by `x > 0` when `mask_by_input`.
pub fn encode_backward_input(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    kind: PoolKind,
    params: Params,
    mask_by_input: bool,
    x: wgpu::BufferBinding<'_>,
    dy: wgpu::BufferBinding<'_>,
    dx: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.backward_input");
    let grid = grid_for(ctx, &label, params.input_len() as u64, 256)?;
    let constants = [
        average(kind),
        ("MASK_BY_INPUT", f64::from(u8::from(mask_by_input))),
    ];
    Dispatch::new(
        ctx,
        cache,
        Kernel::Pool2dBackwardInput,
        &label,
        &constants,
        &params,
        &[x, dy, dx],
        grid,
    )
}
