//! Column sums back into an image, the second half of a convolution's input gradient where it
//! has fewer output than input pixels (`conv2d`'s passes choose it):
//!
//! ```text
//! columns [B·OH·OW, KH·KW·C_in] = dz [B·OH·OW, C_out] · kernelᵀ   (a plain GEMM, matmul)
//! dx[b, ih, iw, ci] = Σ_{ki,kj} columns[(b, oh, ow), (ki, kj, ci)]   over the taps with
//!                     oh·sh + ki − pt = ih and ow·sw + kj − pl = iw   (this op)
//!                     (⊙ (x > 0) when the planner fused a ReLU before)
//! ```
//! An implicit GEMM over `dz` walks every tap of every input pixel, the zero padding included:
//! 28% of conv2d_1's multiply-adds in the lecture's CNN, 64% of conv2d_2's, and three quarters
//! of any stride-2 convolution's. The column GEMM does only the real ones.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Mirrors `struct Params` of `shaders/col2im/forward.wgsl`: the convolution's geometry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch rows.
    pub batch: u32,
    /// Input height.
    pub in_h: u32,
    /// Input width.
    pub in_w: u32,
    /// Input channels.
    pub in_c: u32,
    /// Output height.
    pub out_h: u32,
    /// Output width.
    pub out_w: u32,
    /// Kernel height.
    pub kernel_h: u32,
    /// Kernel width.
    pub kernel_w: u32,
    /// Vertical stride.
    pub stride_h: u32,
    /// Horizontal stride.
    pub stride_w: u32,
    /// Zero rows above the input.
    pub pad_top: u32,
    /// Zero columns left of the input.
    pub pad_left: u32,
}

impl Params {
    /// Rows of the column matrix: output pixels of the batch.
    pub fn column_rows(&self) -> usize {
        (self.batch * self.out_h * self.out_w) as usize
    }

    /// Columns of the column matrix: taps times input channels.
    pub fn column_len(&self) -> usize {
        (self.kernel_h * self.kernel_w * self.in_c) as usize
    }

    /// Values of the input gradient.
    pub fn input_len(&self) -> usize {
        (self.batch * self.in_h * self.in_w * self.in_c) as usize
    }
}

/// The override constants of one `col2im.forward` pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Col2imOverrides {
    /// Zero `dx` where `x <= 0` (the planner fused the previous layer's ReLU).
    pub mask_by_input: bool,
    /// Both strides are 1 (no division in the kernel).
    pub unit_stride: bool,
}

impl Overrides for Col2imOverrides {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("MASK_BY_INPUT", flag(self.mask_by_input)),
            ("UNIT_STRIDE", flag(self.unit_stride)),
        ]
    }
}

/// Channels and pixels one workgroup covers (the kernel's workgroup size).
const CHANNEL_LANES: u32 = 32;
const PIXEL_LANES: u32 = 8;

/// What one `col2im.forward` launch reads and writes.
pub struct Io<'a> {
    /// `[B·OH·OW, KH·KW·C_in]` the column gradient.
    pub columns: wgpu::BufferBinding<'a>,
    /// `[B, IH, IW, C_in]` the convolution's input (read when masking).
    pub x: wgpu::BufferBinding<'a>,
    /// `[B, IH, IW, C_in]` the input gradient.
    pub dx: wgpu::BufferBinding<'a>,
}

/// Builds the `col2im.forward` launch `columns → dx`, zeroing `dx` where `x <= 0` when
/// `mask_by_input`.
pub fn encode(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    mask_by_input: bool,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    let overrides = Col2imOverrides {
        mask_by_input,
        unit_stride: params.stride_h == 1 && params.stride_w == 1,
    };
    Dispatch::new(
        ctx,
        Kernel::Col2imForward,
        label,
        &overrides,
        &params,
        &[io.columns, io.x, io.dx],
        [
            params.in_c.div_ceil(CHANNEL_LANES),
            (params.in_h * params.in_w).div_ceil(PIXEL_LANES),
            params.batch,
        ],
    )
}
