//! 2-D convolution, NHWC activations and Keras kernel layout `[kh, kw, c_in, c_out]`:
//!
//! ```text
//! forward          y[b, oh, ow, co] = act(bias[co] + Σ_{ki,kj,ci} x[b, oh·sh+ki−pt, ow·sw+kj−pl, ci]
//!                                                              · kernel[ki, kj, ci, co])
//! backward_input   dx[b, ih, iw, ci] = Σ over (oh, ow, ki, kj, co) with oh·sh+ki−pt = ih and
//!                                      ow·sw+kj−pl = iw of dz[b, oh, ow, co] · kernel[ki, kj, ci, co],
//!                                      (⊙ (x > 0) when the planner fused a ReLU before)
//! backward_weight  dkernel[ki, kj, ci, co] = Σ_{b,oh,ow} x[b, oh·sh+ki−pt, ow·sw+kj−pl, ci] · dz[b, oh, ow, co]
//!                  dbias[co] = Σ_{b,oh,ow} dz[b, oh, ow, co]
//! ```
//! Zero padding (`pt`, `pl`) follows Keras's `valid`/`same` rules ([`geometry`]). Forward and
//! backward_weight are one launch each of the tiled GEMM as an implicit GEMM (no im2col
//! buffer; the weight gradient's GEMM sums the bias gradient too). backward_input is an
//! implicit GEMM over `dz` where the output has as many pixels as the input (`same`, stride 1),
//! else a plain GEMM into the column gradient `dz · kernelᵀ` and col2im ([`col2im`]), which
//! spends no multiply-add on the padding. The forward can also compute a 2×2, stride-2
//! pooling of its output in the same launch ([`ConvShape::pooled_forward`]) where the planner
//! folds the pooling layer after it. The `activation` field expands to an Activation layer the
//! planner may fold into the forward.

pub mod cpu;
pub mod geometry;

use serde::{Deserialize, Serialize};

use crate::layers::activation::{Activation, Function};
use crate::layers::col2im;
use crate::layers::layer::{Layer, Op, Problem, TensorDef};
use crate::layers::matmul::passes::{Gemm, InputGradient, KernelLayer, KernelLayerGemms};
use crate::layers::matmul::{self, Layout, Transpose};
use crate::layers::rules::{
    at_least_one, check_kernel, image, image_output, kernel_and_bias, size_at_least_one,
    COLLAPSE_HINT,
};
use crate::layers::shape::{Padding, Shape, Size2};
use crate::layers::Gradients;

/// Keras `Conv2D(filters, kernel_size, strides, padding, activation)` over NHWC input, kernel
/// `[kh, kw, c_in, filters]`, plus bias.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2D {
    /// Output channels.
    pub filters: usize,
    /// Kernel height and width.
    pub kernel_size: Size2,
    /// Step between windows (default 1).
    #[serde(default = "Size2::one")]
    pub strides: Size2,
    /// `valid` (default) or `same`.
    #[serde(default)]
    pub padding: Padding,
    /// Activation (default linear).
    #[serde(default)]
    pub activation: Activation,
}

impl Layer for Conv2D {
    fn class_name(&self) -> &'static str {
        "Conv2D"
    }

    fn kind(&self) -> &'static str {
        "conv2d"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        let (h, w, c) = image(input, "Conv2D")?;
        at_least_one("filters", self.filters)?;
        size_at_least_one("kernel_size", self.kernel_size)?;
        size_at_least_one("strides", self.strides)?;
        let (kernel, strides) = (self.kernel_size, self.strides);
        check_kernel(&[kernel.h, kernel.w, c, self.filters])?;
        let rows = geometry::output_extent(h, kernel.h, strides.h, self.padding);
        let cols = geometry::output_extent(w, kernel.w, strides.w, self.padding);
        let (Some((out_h, _)), Some((out_w, _))) = (rows, cols) else {
            return Err(Problem::new(
                format!(
                    "the output collapses to nothing: the {}x{} kernel does not fit the {h}x{w} \
                     input without padding",
                    kernel.h, kernel.w
                ),
                COLLAPSE_HINT,
            ));
        };
        image_output(out_h, out_w, self.filters)
    }

    fn tensors(&self, input: Shape) -> Vec<TensorDef> {
        let kernel = vec![
            self.kernel_size.h,
            self.kernel_size.w,
            input.channels(),
            self.filters,
        ];
        kernel_and_bias(kernel, self.filters)
    }

    fn activation(&self) -> Activation {
        self.activation
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.output_shape(input)?;
        let (h, w, c) = image(input, "Conv2D")?;
        let shape = ConvShape::new(
            rows,
            [h, w, c],
            self.filters,
            self.kernel_size,
            self.strides,
            self.padding,
        )
        .ok_or_else(|| Problem::new("the output collapses to nothing", COLLAPSE_HINT))?;
        let longest_sum = shape.gemms().longest_sum();
        if longest_sum > matmul::MAX_IMPLICIT_K {
            return Err(Problem::new(
                format!(
                    "at batch {rows} one pass sums {longest_sum} terms; the implicit GEMM \
                     indexes at most {} exactly",
                    matmul::MAX_IMPLICIT_K
                ),
                "use a smaller --batch-size",
            ));
        }
        Ok(Box::new(shape))
    }
}

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

    /// The layer's GEMMs: forward and backward_weight implicit, backward_input as
    /// [`ConvShape::input_gradient`] chooses.
    pub fn gemms(&self) -> KernelLayerGemms {
        let (pixels, taps) = (self.output_pixels(), self.taps());
        KernelLayerGemms {
            forward: Gemm {
                params: self.gemm(pixels, self.out_c, taps * self.in_c),
                layout: Layout::ConvForward,
            },
            pooled_forward: self.pooled_forward(),
            backward_input: self.input_gradient(),
            backward_weight: Gemm {
                params: self.gemm(taps * self.in_c, self.out_c, pixels),
                layout: Layout::ConvBackwardWeight,
            },
        }
    }

    /// The forward GEMM with its rows in 2×2 pooling windows (`[B·PH·PW·4, C_out]`, PH and PW
    /// the output's height and width halved, floored), where the output has a whole window.
    pub fn pooled_forward(&self) -> Option<matmul::Params> {
        let (pooled_h, pooled_w) = (self.out_h / 2, self.out_w / 2);
        let rows = self.batch * pooled_h * pooled_w * 4;
        (rows > 0).then(|| matmul::Params {
            pooled_h: pooled_h as u32,
            pooled_w: pooled_w as u32,
            ..self.gemm(rows, self.out_c, self.taps() * self.in_c)
        })
    }

    /// The input gradient through the column gradient where the output has fewer pixels than
    /// the input (the implicit GEMM would walk that many more taps, in the padding or between
    /// strides), else the implicit GEMM: the same multiply-adds, without a column buffer.
    pub fn input_gradient(&self) -> InputGradient {
        if self.out_h * self.out_w < self.in_h * self.in_w {
            InputGradient::Columns {
                gemm: self.column_gemm(),
                col2im: self.col2im(),
            }
        } else {
            InputGradient::Gemm(self.implicit_input_gemm())
        }
    }

    /// `dx` as one implicit GEMM over `dz`: `[B·IH·IW, C_in]` summed over `KH·KW·C_out`.
    pub fn implicit_input_gemm(&self) -> Gemm {
        let input_pixels = self.batch * self.in_h * self.in_w;
        Gemm {
            params: self.gemm(input_pixels, self.in_c, self.taps() * self.out_c),
            layout: Layout::ConvBackwardInput {
                unit_stride: self.stride_h == 1 && self.stride_w == 1,
            },
        }
    }

    /// The column gradient `[B·OH·OW, KH·KW·C_in] = dz · kernelᵀ`, the kernel read as its
    /// `[KH·KW·C_in, C_out]` matrix.
    pub fn column_gemm(&self) -> Gemm {
        Gemm {
            params: matmul::Params::new(self.output_pixels(), self.taps() * self.in_c, self.out_c),
            layout: Layout::Matrices(Transpose { a: false, b: true }),
        }
    }

    /// The geometry col2im sums the column gradient over.
    pub fn col2im(&self) -> col2im::Geometry {
        col2im::Geometry {
            batch: self.batch as u32,
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            in_c: self.in_c as u32,
            out_h: self.out_h as u32,
            out_w: self.out_w as u32,
            kernel_h: self.kernel_h as u32,
            kernel_w: self.kernel_w as u32,
            stride_h: self.stride_h as u32,
            stride_w: self.stride_w as u32,
            pad_top: self.pad_top as u32,
            pad_left: self.pad_left as u32,
        }
    }

    fn output_pixels(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }

    fn taps(&self) -> usize {
        self.kernel_h * self.kernel_w
    }
}

impl KernelLayer for ConvShape {
    fn gemms(&self) -> KernelLayerGemms {
        ConvShape::gemms(self)
    }

    fn reference_forward(&self, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        cpu::forward(self, Function::Linear, x, kernel, bias)
    }

    fn reference_backward(&self, x: &[f32], kernel: &[f32], dy: &[f32]) -> Gradients {
        cpu::backward(self, false, x, kernel, dy)
    }
}
