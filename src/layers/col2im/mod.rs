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
//!
//! The sum runs in `pool2d.backward_input`, which reads its output gradient from a column
//! gradient: folded into the backward of a pooling layer before the convolution where the
//! planner can, else alone, as the backward of a 1×1 average pooling
//! ([`crate::layers::pool2d::encode_col2im`]). This module holds the geometry and the CPU
//! reference.

pub mod cpu;

/// A convolution's geometry, as col2im sums its column gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
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

impl Geometry {
    /// Rows of the column matrix: output pixels of the batch.
    pub fn column_rows(&self) -> usize {
        self.batch as usize * self.out_h as usize * self.out_w as usize
    }

    /// Columns of the column matrix: taps times input channels.
    pub fn column_len(&self) -> usize {
        self.kernel_h as usize * self.kernel_w as usize * self.in_c as usize
    }

    /// Values of the column matrix, `column_rows · column_len`, saturating (a size no device
    /// holds is reported by the memory check, not wrapped).
    pub fn column_values(&self) -> u64 {
        (self.column_rows() as u64).saturating_mul(self.column_len() as u64)
    }

    /// Values of the input gradient.
    pub fn input_len(&self) -> usize {
        self.batch as usize * self.in_h as usize * self.in_w as usize * self.in_c as usize
    }
}
