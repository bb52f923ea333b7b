//! Encoding a [`GemmPlan`]: one `matmul.forward` launch when it sums k in one split, else one
//! writing `[splits, M (+1), N]` partials and one summing them in a fixed order: `bias.backward`
//! for a weight gradient (no epilogue, or column sums as the partials' last row), or
//! `matmul.sum_splits`, which applies the epilogue (bias, ReLU, mask) after the sum.

use bytemuck::{Pod, Zeroable};

use super::plan::sums_in_bias_backward;
use super::{encode, Epilogue, GemmPlan, Layout, MatmulOverrides, Operands};
use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::Overrides;
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};
use crate::layers::bias;

/// Mirrors `struct Params` of `shaders/matmul/sum_splits.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SumParams {
    /// Partials summed per element.
    pub splits: u32,
    /// Rows of C.
    pub m: u32,
    /// Columns of C.
    pub n: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
}

/// Threads of one `matmul.sum_splits` workgroup, one element of C each.
const SUM_THREADS: u64 = 256;

/// The `EPILOGUE` override of `matmul.sum_splits`.
struct SumOverrides(Epilogue);

impl Overrides for SumOverrides {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        self.0.constants()
    }
}

/// `[splits, rows, N]` of the partials `plan` writes when it splits k (`splits` is 1 when it
/// does not, and no partials are written): `M` rows, and one more for the column sums.
pub fn partials_shape(plan: &GemmPlan, epilogue: Epilogue) -> [u32; 3] {
    let sums = u32::from(epilogue == Epilogue::ColumnSums);
    [plan.splits(), plan.params.m + sums, plan.params.n]
}

/// The launches of `plan` for a GEMM reading its operands as `layout` and finishing with
/// `epilogue`: one launch into `operands.c` (and the column sums), or, split over k, the
/// launch into partials and the one that sums them into `operands.c`.
pub fn encode_plan(
    ctx: &GpuContext,
    label: &str,
    plan: &GemmPlan,
    layout: Layout,
    epilogue: Epilogue,
    operands: Operands<'_>,
) -> Result<Vec<Dispatch>, GpuError> {
    let overrides = |epilogue| MatmulOverrides {
        layout,
        epilogue,
        tile: plan.tile,
    };
    if plan.splits() == 1 {
        let launch = encode(ctx, label, plan.params, overrides(epilogue), operands)?;
        return Ok(vec![launch]);
    }
    // Partials carry no epilogue but the column sums' row.
    let partial_epilogue = match epilogue {
        Epilogue::ColumnSums => Epilogue::ColumnSums,
        _ => Epilogue::None,
    };
    let params = plan.params;
    let [splits, rows, n] = partials_shape(plan, epilogue);
    let len = u64::from(splits) * u64::from(rows) * u64::from(n);
    let partials = buffers::storage(
        ctx,
        &format!("{label}.partials [{splits}, {rows}, {n}]"),
        len * 4,
    )?;
    let into_partials = Operands {
        c: buffers::whole(&partials),
        column_sums: None,
        ..operands.clone()
    };
    let gemm = encode(
        ctx,
        label,
        params,
        overrides(partial_epilogue),
        into_partials,
    )?;
    let label = format!("{label}.sum_splits");
    let sum = if sums_in_bias_backward(epilogue) {
        let params = bias::Params {
            rows: splits,
            cols: rows * n,
            tail_len: if rows > params.m { n } else { 0 },
            ..Default::default()
        };
        let io = bias::Io {
            grad: buffers::whole(&partials),
            bias_grad: operands.c,
            tail: operands.column_sums,
        };
        bias::encode_backward(ctx, &label, params, io)?
    } else {
        let params = SumParams {
            splits,
            m: params.m,
            n,
            ..Default::default()
        };
        let io = SumIo {
            partials: buffers::whole(&partials),
            bias: operands.bias,
            mask: operands.mask,
            c: operands.c,
        };
        encode_sum_splits(ctx, &label, params, epilogue, io)?
    };
    Ok(vec![gemm, sum])
}

/// What `matmul.sum_splits` reads and writes.
pub struct SumIo<'a> {
    /// `[splits, M, N]` the partials.
    pub partials: wgpu::BufferBinding<'a>,
    /// `[N]`, for [`Epilogue::Bias`] and [`Epilogue::BiasActivation`] (any buffer otherwise).
    pub bias: wgpu::BufferBinding<'a>,
    /// `[M, N]`, for [`Epilogue::ReluMask`] (any buffer otherwise).
    pub mask: wgpu::BufferBinding<'a>,
    /// `[M, N]` the result.
    pub c: wgpu::BufferBinding<'a>,
}

/// Builds the `matmul.sum_splits` launch: `partials [splits, M, N]` → `c [M, N]` through
/// `epilogue` (bias, activation or mask; [`Epilogue::ColumnSums`] sums as [`Epilogue::None`]).
pub fn encode_sum_splits(
    ctx: &GpuContext,
    label: &str,
    params: SumParams,
    epilogue: Epilogue,
    io: SumIo<'_>,
) -> Result<Dispatch, GpuError> {
    let elements = u64::from(params.m) * u64::from(params.n);
    Dispatch::new(
        ctx,
        Kernel::MatmulSumSplits,
        label,
        &SumOverrides(epilogue),
        &params,
        &[io.partials, io.bias, io.mask, io.c],
        grid_for(ctx, label, elements, SUM_THREADS)?,
    )
}
