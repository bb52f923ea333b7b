//! General matrix product with a fused epilogue, `C [M, N] = epilogue(opA · opB)`: the one
//! tiled GEMM (`shaders/matmul/forward.wgsl`) behind every pass of the dense and conv2d layers.
//! [`Operands`] says how `opA` and `opB` are read: plain (optionally transposed) matrices, or
//! a convolution's input, kernel and output gradient addressed as implicit GEMM operands.

pub mod cpu;
pub mod passes;

use bytemuck::{Pod, Zeroable};

use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};
use crate::layers::bias;

/// Mirrors `struct Params` of `shaders/matmul/forward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Rows of C.
    pub m: u32,
    /// Columns of C.
    pub n: u32,
    /// The summed dimension.
    pub k: u32,
    /// `k` summed by one split (a multiple of the 16-deep k slice); `k` or more: no split.
    pub k_chunk: u32,
    /// Input height (convolutions).
    pub in_h: u32,
    /// Input width (convolutions).
    pub in_w: u32,
    /// Input channels (convolutions).
    pub in_c: u32,
    /// Output height (convolutions).
    pub out_h: u32,
    /// Output width (convolutions).
    pub out_w: u32,
    /// Output channels (convolutions).
    pub out_c: u32,
    /// Kernel height (convolutions).
    pub kernel_h: u32,
    /// Kernel width (convolutions).
    pub kernel_w: u32,
    /// Vertical stride (convolutions).
    pub stride_h: u32,
    /// Horizontal stride (convolutions).
    pub stride_w: u32,
    /// Zero rows above the input (convolutions).
    pub pad_top: u32,
    /// Zero columns left of the input (convolutions).
    pub pad_left: u32,
}

impl Params {
    /// `C [m, n]` summed over `k`, for plain matrices, in one split.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Self {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            k_chunk: (k as u32).next_multiple_of(TILE_K).max(TILE_K),
            ..Self::default()
        }
    }

    /// Number of k splits (the grid's z size).
    pub fn splits(&self) -> u32 {
        self.k.div_ceil(self.k_chunk).max(1)
    }

    /// These parameters with the k range split so that a product with few output tiles
    /// still gives the device `target_workgroups` workgroups, each summing at least
    /// [`MIN_SPLIT_K`] terms. Depends on the shape and the target alone, so runs on one
    /// adapter are reproducible.
    pub fn split_k(self, target_workgroups: u32) -> Self {
        let tiles = self.m.div_ceil(TILE) * self.n.div_ceil(TILE);
        let splits = (target_workgroups / tiles.max(1))
            .min(self.k / MIN_SPLIT_K)
            .clamp(1, MAX_SPLITS);
        let k_chunk = self.k.div_ceil(splits).next_multiple_of(TILE_K).max(TILE_K);
        Self { k_chunk, ..self }
    }
}

/// What happens to each sum before it is stored (the `EPILOGUE` override).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// `c = sum`.
    None,
    /// `c = sum + bias[n]`.
    Bias,
    /// `c = max(sum + bias[n], 0)`: a dense layer with ReLU.
    BiasRelu,
    /// `c = sum` where `mask[m, n] > 0`, else 0: ReLU backward fused into the gradient.
    ReluMask,
}

impl Epilogue {
    fn code(self) -> f64 {
        match self {
            Self::None => 0.0,
            Self::Bias => 1.0,
            Self::BiasRelu => 2.0,
            Self::ReluMask => 3.0,
        }
    }
}

/// Layout flags of two plain matrix operands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transpose {
    /// `A` is stored `[K, M]`.
    pub a: bool,
    /// `B` is stored `[N, K]`.
    pub b: bool,
}

/// How the kernel reads its operands (the `OPERANDS` override).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Plain matrices, each optionally transposed.
    Matrices(Transpose),
    /// `A` = im2col of the conv input, `B` = the kernel.
    ConvForward,
    /// `A` = the conv output gradient gathered per input pixel, `B` = the kernel re-indexed.
    ConvBackwardInput,
    /// `A` = transposed im2col of the conv input, `B` = the output gradient.
    ConvBackwardWeight,
}

/// The override constants of one `matmul.forward` pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulOverrides {
    /// How A and B are read.
    pub layout: Layout,
    /// What happens to each sum.
    pub epilogue: Epilogue,
}

impl Overrides for MatmulOverrides {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        let (code, transpose) = match self.layout {
            Layout::Matrices(transpose) => (0.0, transpose),
            Layout::ConvForward => (1.0, Transpose::default()),
            Layout::ConvBackwardInput => (2.0, Transpose::default()),
            Layout::ConvBackwardWeight => (3.0, Transpose::default()),
        };
        vec![
            ("OPERANDS", code),
            ("TRANS_A", flag(transpose.a)),
            ("TRANS_B", flag(transpose.b)),
            ("EPILOGUE", self.epilogue.code()),
        ]
    }
}

/// Rows and columns of C that one workgroup computes.
const TILE: u32 = 64;
/// Depth of one k slice.
const TILE_K: u32 = 16;
/// Fewest terms one split sums.
pub const MIN_SPLIT_K: u32 = 256;
/// Most splits of one product.
const MAX_SPLITS: u32 = 64;

/// The operands of one launch; `bias` and `mask` are read only by the epilogues that use them
/// (pass any read-only buffer otherwise).
pub struct Operands<'a> {
    /// Left operand.
    pub a: wgpu::BufferBinding<'a>,
    /// Right operand.
    pub b: wgpu::BufferBinding<'a>,
    /// `[N]`, for [`Epilogue::Bias`] and [`Epilogue::BiasRelu`].
    pub bias: wgpu::BufferBinding<'a>,
    /// `[M, N]`, for [`Epilogue::ReluMask`].
    pub mask: wgpu::BufferBinding<'a>,
    /// The result.
    pub c: wgpu::BufferBinding<'a>,
}

/// Builds one `matmul.forward` launch.
pub fn encode(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    overrides: MatmulOverrides,
    operands: Operands<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        Kernel::MatmulForward,
        label,
        &overrides,
        &params,
        &[
            operands.a,
            operands.b,
            operands.bias,
            operands.mask,
            operands.c,
        ],
        [
            params.n.div_ceil(TILE),
            params.m.div_ceil(TILE),
            params.splits(),
        ],
    )
}

/// The operands of a plain product `c = opA(a) · opB(b)`.
pub struct Product<'a> {
    /// Left operand.
    pub a: wgpu::BufferBinding<'a>,
    /// Right operand.
    pub b: wgpu::BufferBinding<'a>,
    /// The result.
    pub c: wgpu::BufferBinding<'a>,
}

/// Builds `C = opA · opB` (no epilogue) split over k as [`Params::split_k`] decides for this
/// device ([`GpuContext::target_workgroups`]): one launch writing `c` directly, or one writing
/// `[splits, M, N]` partials plus the `bias.backward` launch that sums them into `c` in a fixed
/// order.
pub fn encode_split_k(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    layout: Layout,
    product: Product<'_>,
) -> Result<Vec<Dispatch>, GpuError> {
    let params = params.split_k(ctx.target_workgroups());
    let splits = params.splits();
    let partials;
    let target = if splits == 1 {
        product.c.clone()
    } else {
        let len = u64::from(splits) * u64::from(params.m) * u64::from(params.n);
        partials = buffers::storage(
            ctx,
            &format!("{label}.partials [{splits}, {}, {}]", params.m, params.n),
            len * 4,
        )?;
        buffers::whole(&partials)
    };
    let operands = Operands {
        bias: product.a.clone(),
        mask: product.a.clone(),
        a: product.a,
        b: product.b,
        c: target.clone(),
    };
    let overrides = MatmulOverrides {
        layout,
        epilogue: Epilogue::None,
    };
    let gemm = encode(ctx, label, params, overrides, operands)?;
    if splits == 1 {
        return Ok(vec![gemm]);
    }
    let sum = bias::encode_backward(
        ctx,
        &format!("{label}.sum_splits"),
        bias::Params {
            rows: splits,
            cols: params.m * params.n,
            ..Default::default()
        },
        bias::Io {
            grad: target,
            bias_grad: product.c,
        },
    )?;
    Ok(vec![gemm, sum])
}
