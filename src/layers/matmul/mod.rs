//! General matrix product with a fused epilogue, `C [M, N] = epilogue(opA · opB)`: the one
//! tiled GEMM (`shaders/matmul/forward.wgsl`) behind every pass of the dense and conv2d layers.
//! [`Operands`] says how `opA` and `opB` are read: plain (optionally transposed) matrices, or
//! a convolution's input, kernel and output gradient addressed as implicit GEMM operands.

pub mod cpu;
pub mod passes;
pub mod plan;
pub mod split;

pub use plan::{plan, GemmPlan};
pub use split::{encode_plan, encode_sum_splits, SumIo, SumParams};

use bytemuck::{Pod, Zeroable};

use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};
use crate::layers::activation::Function;
use crate::layers::shape::PoolKind;

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
    /// The pooled output's height ([`Layout::ConvForwardPooled`]).
    pub pooled_h: u32,
    /// The pooled output's width ([`Layout::ConvForwardPooled`]).
    pub pooled_w: u32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
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

    /// These parameters summed over the whole of k in one split.
    pub fn unsplit(self) -> Self {
        Self {
            k_chunk: self.k.next_multiple_of(TILE_K).max(TILE_K),
            ..self
        }
    }

    /// Number of k splits (the grid's z size).
    pub fn splits(&self) -> u32 {
        self.k.div_ceil(self.k_chunk).max(1)
    }

    /// These parameters with k split into sums of `k_chunk` terms (rounded up to whole k
    /// slices).
    pub fn split_into(self, k_chunk: u32) -> Self {
        Self {
            k_chunk: k_chunk.next_multiple_of(TILE_K).max(TILE_K),
            ..self
        }
    }
}

/// What happens to each sum before it is stored (the `EPILOGUE` override).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// `c = sum`.
    None,
    /// `c = sum + bias[n]`.
    Bias,
    /// `c = f(sum + bias[n])`: a layer with its activation fused.
    BiasActivation(Function),
    /// `c = sum` where `mask[m, n] > 0`, else 0: ReLU backward fused into the gradient.
    ReluMask,
    /// `c = sum`, and the column sums of opB go to [`Operands::column_sums`]: a weight
    /// gradient's GEMM also gives its bias gradient, `Σ_k dz[k, n]`.
    ColumnSums,
}

impl Epilogue {
    /// Its override constants: `EPILOGUE`, and the activation's with
    /// [`Epilogue::BiasActivation`].
    fn constants(self) -> Vec<(&'static str, f64)> {
        let mut constants = vec![("EPILOGUE", self.code())];
        if let Self::BiasActivation(function) = self {
            constants.extend(function.constants());
        }
        constants
    }

    fn code(self) -> f64 {
        match self {
            Self::None => 0.0,
            Self::Bias => 1.0,
            Self::BiasActivation(_) => 2.0,
            Self::ReluMask => 3.0,
            Self::ColumnSums => 4.0,
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
    /// [`Layout::ConvForward`] with C's rows in 2×2 pooling windows, four rows a window (`m`
    /// = batch · pooled_h · pooled_w · 4), and the pooling of the output (max or average,
    /// stride 2) written to [`Operands::pooled`] too: the convolution and the pooling layer
    /// after it in one launch.
    ConvForwardPooled(PoolKind),
    /// `A` = the conv output gradient gathered per input pixel, `B` = the kernel re-indexed.
    ConvBackwardInput {
        /// Both strides are 1: every tap lands on a whole output position, so the gather
        /// needs no division (the `UNIT_STRIDE` override).
        unit_stride: bool,
    },
    /// `A` = transposed im2col of the conv input, `B` = the output gradient.
    ConvBackwardWeight,
}

/// The shape of the block of C that one workgroup computes: `lanes_m × lanes_n` threads, each
/// computing a block of `4·micro_m × 4·micro_n` outputs (the `LANES_*` and `MICRO_*`
/// overrides). Four shapes ([`Tile::SHAPES`]), each in 4 × 4 blocks per thread or 8 × 8 in a
/// quarter of the threads, and the two widest also in 16 × 8 blocks in an eighth of them. A
/// larger block reads each value it loads from the tile for more multiply-adds (loads from
/// workgroup memory are half the time of a GEMM on lavapipe); a smaller one spreads staging
/// over more threads, which pays where k is short. The kernel's workgroup arrays hold at most
/// a 64 × 64 tile, and a thread stages at most eight vec4s of A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    lanes_m: u32,
    lanes_n: u32,
    micro_m: u32,
    micro_n: u32,
}

impl Tile {
    /// 64 × 64: the default, for large products.
    pub const M64_N64: Self = Self::new(64, 64, 1, 1);
    /// 64 × 32: for N ≤ 32.
    pub const M64_N32: Self = Self::new(64, 32, 1, 1);
    /// 32 × 64: for M ≤ 32.
    pub const M32_N64: Self = Self::new(32, 64, 1, 1);
    /// 16 × 32: for small M and N (a 3×3 kernel's taps by 32 channels).
    pub const M16_N32: Self = Self::new(16, 32, 1, 1);
    /// Every tile shape in 4 × 4 blocks per thread, largest first.
    pub const SHAPES: [Self; 4] = [Self::M64_N64, Self::M64_N32, Self::M32_N64, Self::M16_N32];
    /// Every tile: each shape in 4 × 4 and in 8 × 8 blocks per thread, and the shapes 64 wide
    /// in 16 × 8 blocks.
    pub const ALL: [Self; 10] = [
        Self::M64_N64,
        Self::M64_N32,
        Self::M32_N64,
        Self::M16_N32,
        Self::M64_N64.in_large_blocks(),
        Self::M64_N32.in_large_blocks(),
        Self::M32_N64.in_large_blocks(),
        Self::M16_N32.in_large_blocks(),
        Self::M64_N64.in_tall_blocks(),
        Self::M32_N64.in_tall_blocks(),
    ];

    const fn new(rows: u32, cols: u32, micro_m: u32, micro_n: u32) -> Self {
        Self {
            lanes_m: rows / 4 / micro_m,
            lanes_n: cols / 4 / micro_n,
            micro_m,
            micro_n,
        }
    }

    /// The same shape with each thread computing an 8 × 8 block.
    pub const fn in_large_blocks(self) -> Self {
        Self::new(self.rows(), self.cols(), 2, 2)
    }

    /// The same shape with each thread computing a 16 × 8 block (for shapes 64 wide: narrower
    /// ones would stage more than eight vec4s of A per thread).
    pub const fn in_tall_blocks(self) -> Self {
        Self::new(self.rows(), self.cols(), 4, 2)
    }

    /// The block of C one thread computes, rows by columns.
    pub fn block(self) -> (u32, u32) {
        (4 * self.micro_m, 4 * self.micro_n)
    }

    /// Rows of C per tile.
    pub const fn rows(self) -> u32 {
        4 * self.lanes_m * self.micro_m
    }

    /// Columns of C per tile.
    pub const fn cols(self) -> u32 {
        4 * self.lanes_n * self.micro_n
    }

    /// Tiles covering an `m × n` product: the workgroups of one split.
    pub fn count(self, m: u32, n: u32) -> u32 {
        m.div_ceil(self.rows()) * n.div_ceil(self.cols())
    }

    /// The tile for an `m × n` product on a CPU adapter that runs `parallel` workgroups at
    /// once: the shape of least [`Tile::cost`], the larger tile on ties, in its largest blocks
    /// per thread ([`Tile::in_tallest_blocks`]), whatever k: on lavapipe even a 9-term k (the
    /// first convolution's forward) and a 32-term one (dense's weight gradient at batch 32) run
    /// 5% and 35% faster in them than in 4 × 4 blocks. Padding alone would pick a 16 × 32 tile
    /// for a 1000 × 1000 product (it pads 1.6% less than 64 × 64) at four times the loads per
    /// multiply-add. A pure function of the sizes, so a run is reproducible on any adapter.
    pub fn for_product(m: u32, n: u32, parallel: u32) -> Self {
        // SHAPES is ordered largest first and `min_by_key` keeps the first of equal keys.
        let shape = Self::SHAPES
            .into_iter()
            .min_by_key(|&tile| tile.cost(m, n, parallel))
            .unwrap_or(Self::M64_N64);
        shape.in_tallest_blocks()
    }

    /// The same shape in the largest block per thread it has: 16 × 8 for shapes 64 wide, else
    /// 8 × 8. On lavapipe 16 × 8 blocks run conv2d_1.forward (7,744 × 64 × 288) in 23% less
    /// time than 8 × 8 ones, and its weight gradient (288 × 64 × 7,744) in 28% less.
    pub fn in_tallest_blocks(self) -> Self {
        if self.cols() == 64 {
            self.in_tall_blocks()
        } else {
            self.in_large_blocks()
        }
    }

    /// What one k step of an `m × n` product costs in this tile's shape on a device that runs
    /// `parallel` workgroups at once, in multiply-adds: each tile's `rows · cols` (padding
    /// included) plus the staging of its `rows` values of A and `cols` values of B
    /// (`STAGING_COST_A`, `STAGING_COST_B`), times the rounds of `parallel` tiles the
    /// device runs. On lavapipe's two cores, 5 tiles take 3 rounds and 9 half-size tiles 4.5:
    /// conv2d_1's weight gradient (288 × 64) runs 9% faster in 32 × 64 tiles than in 64 × 64
    /// ones for the same CPU time.
    pub fn cost(self, m: u32, n: u32, parallel: u32) -> u64 {
        let staging = STAGING_COST_A * self.rows() + STAGING_COST_B * self.cols();
        let per_tile = self.rows() * self.cols() + staging;
        let rounds = self.count(m, n).div_ceil(parallel.max(1));
        u64::from(rounds) * u64::from(per_tile)
    }
}

/// What staging one value of A (`rows` of them per k step) and one value of B (`cols`) in
/// workgroup memory costs, in multiply-adds, for [`Tile::cost`]. Fitted on lavapipe to the
/// wall time of conv2d_1.forward (7,744 × 64 × 288, 8 × 8 blocks per thread) in 64 × 64,
/// 32 × 64 and 64 × 32 tiles (1 : 1.16 : 1.63), they predict conv2d_1's column gradient
/// (7,744 × 288 × 64, another layout) within 2% (1 : 1.05 : 1.47 measured 1 : 1.06 : 1.46).
/// Staging, not the multiply-adds, is what a tile costs there: A's row descriptors and
/// addressing (im2col for a convolution) cost about four times B's.
const STAGING_COST_A: u32 = 200;
const STAGING_COST_B: u32 = 50;

impl Default for Tile {
    fn default() -> Self {
        Self::M64_N64
    }
}

/// The override constants of one `matmul.forward` pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulOverrides {
    /// How A and B are read.
    pub layout: Layout,
    /// What happens to each sum.
    pub epilogue: Epilogue,
    /// The block of C one workgroup computes ([`Tile::for_product`] picks it per GEMM).
    pub tile: Tile,
}

impl Overrides for MatmulOverrides {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        let (code, transpose) = match self.layout {
            Layout::Matrices(transpose) => (0.0, transpose),
            Layout::ConvForward | Layout::ConvForwardPooled(_) => (1.0, Transpose::default()),
            Layout::ConvBackwardInput { .. } => (2.0, Transpose::default()),
            Layout::ConvBackwardWeight => (3.0, Transpose::default()),
        };
        let unit_stride = matches!(self.layout, Layout::ConvBackwardInput { unit_stride: true });
        let pooled = match self.layout {
            Layout::ConvForwardPooled(kind) => Some(kind),
            _ => None,
        };
        let mut constants = self.epilogue.constants();
        constants.extend([
            ("OPERANDS", code),
            ("TRANS_A", flag(transpose.a)),
            ("TRANS_B", flag(transpose.b)),
            ("UNIT_STRIDE", flag(unit_stride)),
            ("POOLED", flag(pooled.is_some())),
            ("POOL_AVERAGE", flag(pooled == Some(PoolKind::Average))),
            ("LANES_M", f64::from(self.tile.lanes_m)),
            ("LANES_N", f64::from(self.tile.lanes_n)),
            ("MICRO_M", f64::from(self.tile.micro_m)),
            ("MICRO_N", f64::from(self.tile.micro_n)),
        ]);
        constants
    }
}

/// Depth of one k slice.
const TILE_K: u32 = 16;
/// Longest k of a convolution's implicit GEMM: the kernel splits k into taps and channels with
/// f32 division, exact below 2^21 whatever the device's division error (k indices run a
/// slice past k).
pub const MAX_IMPLICIT_K: u32 = (1 << 21) - TILE_K;

/// The operands of one launch; `bias` and `mask` are read only by the epilogues that use them
/// (pass any read-only buffer otherwise).
#[derive(Clone, Debug)]
pub struct Operands<'a> {
    /// Left operand.
    pub a: wgpu::BufferBinding<'a>,
    /// Right operand.
    pub b: wgpu::BufferBinding<'a>,
    /// `[N]`, for [`Epilogue::Bias`] and [`Epilogue::BiasActivation`].
    pub bias: wgpu::BufferBinding<'a>,
    /// `[M, N]`, for [`Epilogue::ReluMask`].
    pub mask: wgpu::BufferBinding<'a>,
    /// The result.
    pub c: wgpu::BufferBinding<'a>,
    /// `[N]`, for [`Epilogue::ColumnSums`] in one split (with split-K they go to row M of
    /// each partial in `c`).
    pub column_sums: Option<wgpu::BufferBinding<'a>>,
    /// `[B, pooled_h, pooled_w, N]`, for [`Layout::ConvForwardPooled`].
    pub pooled: Option<wgpu::BufferBinding<'a>>,
}

/// Builds one `matmul.forward` launch of `params` in tiles of `overrides.tile`, split as
/// `params.k_chunk` says (over the grid [`plan::grid`] gives).
pub fn encode(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    overrides: MatmulOverrides,
    operands: Operands<'_>,
) -> Result<Dispatch, GpuError> {
    let (mut sums_stand_in, mut pooled_stand_in) = (None, None);
    let column_sums = buffers::or_stand_in(ctx, label, operands.column_sums, &mut sums_stand_in)?;
    let pooled = buffers::or_stand_in(ctx, label, operands.pooled, &mut pooled_stand_in)?;
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
            column_sums,
            pooled,
        ],
        plan::grid(&params, overrides.tile),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_for_product_fits_narrow_and_wide_products() {
        let (large, tall) = (Tile::in_large_blocks, Tile::in_tall_blocks);
        let for_product = |m, n| Tile::for_product(m, n, 2);
        // conv2d.backward_weight of a 3×3, 1-channel input, 32 filters: 9 taps × 32.
        assert_eq!(for_product(9, 32), large(Tile::M16_N32));
        // 10,816 input pixels × 32 channels (an implicit input gradient).
        assert_eq!(for_product(10_816, 32), large(Tile::M64_N32));
        // conv2d.forward: 43,264 output pixels × 32 filters.
        assert_eq!(for_product(43_264, 32), large(Tile::M64_N32));
        // conv2d_1.forward: 7,744 output pixels × 64 filters: the full tile.
        assert_eq!(for_product(7_744, 64), tall(Tile::M64_N64));
        // conv2d_1.backward_weight: 288 taps × 64 filters: 9 unpadded tiles of 32 rows take
        // 4.5 rounds of two, 5 tiles of 64 rows (10% padding) 3 rounds of twice the work.
        assert_eq!(for_product(288, 64), tall(Tile::M32_N64));
        // conv2d_1's column gradient: 7,744 output pixels × 288 (taps × channels): 64 × 64
        // tiles stage fewer values than unpadded 64 × 32 ones.
        assert_eq!(for_product(7_744, 288), tall(Tile::M64_N64));
        // Rounds: 9 tiles of 64 × 64 in 5 rounds of two beat 18 of 32 × 64 in 9; one at a
        // time, the same.
        assert_eq!(for_product(576, 64), tall(Tile::M64_N64));
        assert_eq!(Tile::for_product(576, 64, 1), tall(Tile::M64_N64));
        // A 64 × 10 output: four 16 × 32 tiles in two rounds stage less than one 64 × 32.
        assert_eq!(for_product(64, 10), large(Tile::M16_N32));
        assert_eq!(for_product(1, 1), large(Tile::M16_N32));
        assert_eq!(for_product(1000, 1000), tall(Tile::M64_N64));
    }

    #[test]
    fn large_blocks_keep_the_shape_with_a_quarter_of_the_threads() {
        for tile in Tile::SHAPES {
            let large = tile.in_large_blocks();
            assert_eq!((large.rows(), large.cols()), (tile.rows(), tile.cols()));
            assert_eq!(
                4 * large.lanes_m * large.lanes_n,
                tile.lanes_m * tile.lanes_n
            );
        }
    }

    #[test]
    fn tall_blocks_keep_the_shape_with_an_eighth_of_the_threads_and_eight_a_quads_each() {
        for tile in [Tile::M64_N64, Tile::M32_N64] {
            let tall = tile.in_tall_blocks();
            assert_eq!((tall.rows(), tall.cols()), (tile.rows(), tile.cols()));
            assert_eq!(8 * tall.lanes_m * tall.lanes_n, tile.lanes_m * tile.lanes_n);
            // A k slice of A is 16 rows of rows / 4 quads, over the tile's threads.
            let a_quads = 16 * tall.rows() / 4;
            assert_eq!(a_quads / (tall.lanes_m * tall.lanes_n), 8);
            assert_eq!(tile.in_tallest_blocks(), tall);
        }
        let narrow = Tile::M64_N32;
        assert_eq!(narrow.in_tallest_blocks(), narrow.in_large_blocks());
    }
}
