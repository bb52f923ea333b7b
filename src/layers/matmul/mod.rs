//! General matrix product with a fused epilogue, `C [M, N] = epilogue(op(A) · op(B))`: the
//! GEMM behind every pass of the dense layer (`shaders/matmul/forward.wgsl`).
//!
//! `op(A)` is `A [M, K]` or, transposed, `A` stored `[K, M]`; `op(B)` is `B [K, N]` or `B`
//! stored `[N, K]`.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel, KernelCache};

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
    /// Padding to 16 bytes.
    pub _pad: u32,
}

impl Params {
    /// `C [m, n]` summed over `k`.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Self {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            _pad: 0,
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

/// Layout flags of the two operands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transpose {
    /// `A` is stored `[K, M]`.
    pub a: bool,
    /// `B` is stored `[N, K]`.
    pub b: bool,
}

/// Rows and columns of C that one workgroup computes.
const TILE: u32 = 64;

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
    cache: &KernelCache,
    label: &str,
    params: Params,
    transpose: Transpose,
    epilogue: Epilogue,
    operands: Operands<'_>,
) -> Result<Dispatch, GpuError> {
    let constants = [
        ("TRANS_A", f64::from(u8::from(transpose.a))),
        ("TRANS_B", f64::from(u8::from(transpose.b))),
        ("EPILOGUE", epilogue.code()),
    ];
    Dispatch::new(
        ctx,
        cache,
        Kernel::MatmulForward,
        label,
        &constants,
        &params,
        &[
            operands.a,
            operands.b,
            operands.bias,
            operands.mask,
            operands.c,
        ],
        [params.n.div_ceil(TILE), params.m.div_ceil(TILE), 1],
    )
}
