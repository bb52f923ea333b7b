//! 2-D convolution, NHWC activations and Keras kernel layout `[kh, kw, c_in, c_out]`:
//!
//! ```text
//! forward          y[b, oh, ow, co] = act(bias[co] + Σ_{ki,kj,ci} x[b, oh·sh+ki−pt, ow·sw+kj−pl, ci]
//!                                                              · kernel[ki, kj, ci, co])
//! backward_input   dx[b, ih, iw, ci] = Σ over (oh, ow, ki, kj, co) with oh·sh+ki−pt = ih and
//!                                      ow·sw+kj−pl = iw of dz[b, oh, ow, co] · kernel[ki, kj, ci, co],
//!                                      ⊙ (x > 0) when x is a ReLU output
//! backward_weight  dkernel[ki, kj, ci, co] = Σ_{b,oh,ow} x[b, oh·sh+ki−pt, ow·sw+kj−pl, ci] · dz[b, oh, ow, co]
//!                  dbias[co] = Σ_{b,oh,ow} dz[b, oh, ow, co]
//! ```
//! Zero padding (`pt`, `pl`) follows Keras's `valid`/`same` rules ([`geometry`]). Every pass is
//! one launch of the tiled GEMM as an implicit GEMM (no im2col buffer), plus `bias.backward`.

pub mod cpu;
pub mod geometry;

use crate::gpu::{Dispatch, GpuContext, GpuError, KernelCache};
use crate::layers::matmul::passes::{self, Gemm};
use crate::layers::matmul::{self, Layout};
use crate::model::spec::{Padding, Size2};

/// Every size of one convolution at a given batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Batch rows.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Output channels (filters).
    pub out_c: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
}

impl ConvShape {
    /// The shape of a convolution of `filters` over `[h, w, c]` inputs, or `None` when its
    /// output would be empty.
    pub fn new(
        batch: usize,
        [h, w, c]: [usize; 3],
        filters: usize,
        kernel: Size2,
        strides: Size2,
        padding: Padding,
    ) -> Option<Self> {
        let (out_h, pad_top) = geometry::output_extent(h, kernel.h, strides.h, padding)?;
        let (out_w, pad_left) = geometry::output_extent(w, kernel.w, strides.w, padding)?;
        Some(Self {
            batch,
            in_h: h,
            in_w: w,
            in_c: c,
            out_h,
            out_w,
            out_c: filters,
            kernel_h: kernel.h,
            kernel_w: kernel.w,
            stride_h: strides.h,
            stride_w: strides.w,
            pad_top,
            pad_left,
        })
    }

    /// Values in one batch of inputs.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Values in one batch of outputs.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c
    }

    /// Values in the kernel.
    pub fn kernel_len(&self) -> usize {
        self.kernel_h * self.kernel_w * self.in_c * self.out_c
    }

    /// GEMM parameters `C [m, n]` summed over `k`, carrying this geometry.
    fn gemm(&self, m: usize, n: usize, k: usize) -> matmul::Params {
        matmul::Params {
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            in_c: self.in_c as u32,
            out_h: self.out_h as u32,
            out_w: self.out_w as u32,
            out_c: self.out_c as u32,
            kernel_h: self.kernel_h as u32,
            kernel_w: self.kernel_w as u32,
            stride_h: self.stride_h as u32,
            stride_w: self.stride_w as u32,
            pad_top: self.pad_top as u32,
            pad_left: self.pad_left as u32,
            ..matmul::Params::new(m, n, k)
        }
    }

    fn output_pixels(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }

    fn taps(&self) -> usize {
        self.kernel_h * self.kernel_w
    }
}

/// Builds the forward launch: `y = act(conv(x, kernel) + bias)`.
pub fn encode_forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: &ConvShape,
    relu: bool,
    x: wgpu::BufferBinding<'_>,
    kernel: wgpu::BufferBinding<'_>,
    bias: wgpu::BufferBinding<'_>,
    y: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let gemm = Gemm {
        params: shape.gemm(
            shape.output_pixels(),
            shape.out_c,
            shape.taps() * shape.in_c,
        ),
        layout: Layout::ConvForward,
    };
    passes::forward(ctx, cache, label, gemm, relu, x, kernel, bias, y)
}

/// Builds the backward_input launch: `dx` from `dz`, masked by `x > 0` when `mask_by_input`.
pub fn encode_backward_input(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: &ConvShape,
    mask_by_input: bool,
    dz: wgpu::BufferBinding<'_>,
    kernel: wgpu::BufferBinding<'_>,
    x: wgpu::BufferBinding<'_>,
    dx: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    let input_pixels = shape.batch * shape.in_h * shape.in_w;
    let gemm = Gemm {
        params: shape.gemm(input_pixels, shape.in_c, shape.taps() * shape.out_c),
        layout: Layout::ConvBackwardInput,
    };
    passes::backward_input(ctx, cache, label, gemm, mask_by_input, dz, kernel, x, dx)
}

/// Builds the backward_weight launches: the kernel gradient (split over output pixels when
/// that fills the device better) and the bias gradient.
pub fn encode_backward_weight(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    shape: &ConvShape,
    x: wgpu::BufferBinding<'_>,
    dz: wgpu::BufferBinding<'_>,
    kernel_grad: wgpu::BufferBinding<'_>,
    bias_grad: wgpu::BufferBinding<'_>,
) -> Result<Vec<Dispatch>, GpuError> {
    let gemm = Gemm {
        params: shape.gemm(
            shape.taps() * shape.in_c,
            shape.out_c,
            shape.output_pixels(),
        ),
        layout: Layout::ConvBackwardWeight,
    };
    let dz_shape = (shape.output_pixels(), shape.out_c);
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
