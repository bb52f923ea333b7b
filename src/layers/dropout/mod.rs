//! Dropout while training, Keras's inverted form, over `len` values (any shape, flattened):
//!
//! ```text
//! forward          y[i]  = keep(i) ? x[i] · scale : 0          scale = 1 / (1 − rate)
//! backward_input   dx[i] = keep(i) ? dy[i] · scale : 0
//! keep(i)          = (hash(seed, step, i) >> 8) ≥ threshold      threshold = round(rate · 2^24)
//! ```
//! `seed` is the layer's, `step` the run's global step from the per-step table
//! ([`StepParams::step`](crate::gpu::step_table::StepParams)), so each layer and each step
//! draws its own mask, a resumed run draws what an unbroken one would, and backward recomputes
//! the forward's mask instead of storing it. An element is kept with probability `1 − rate`
//! (exactly, up to 2^-24). The hash is integer-only and identical in WGSL and in
//! [`cpu::hash`]. At inference dropout is the identity and no kernel runs.

pub mod cpu;
pub mod layer;

pub use layer::{Dropout, DropoutOp};

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Threads per workgroup of both dropout kernels.
const WORKGROUP: u64 = 256;

/// `2^24`: `keep` compares the top 24 bits of the hash with the threshold.
const THRESHOLD_ONE: f64 = 16_777_216.0;

/// Mirrors `struct Params` of `shaders/dropout/*.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Values in `x` (and `y`, `dy`, `dx`).
    pub len: u32,
    /// The layer's seed: one random stream per layer.
    pub seed: u32,
    /// `round(rate · 2^24)`: an element is dropped when the top 24 bits of its hash are below.
    pub threshold: u32,
    /// `1 / (1 − rate)` in f32: kept elements are scaled so the expectation is unchanged.
    pub scale: f32,
}

impl Params {
    /// The parameters of dropping a fraction `rate` of `len` values with the layer's `seed`,
    /// or `None` unless `0 ≤ rate < 1`.
    pub fn new(len: usize, seed: u32, rate: f32) -> Option<Self> {
        if !(0.0..1.0).contains(&rate) {
            return None;
        }
        Some(Self {
            len: len as u32,
            seed,
            threshold: (f64::from(rate) * THRESHOLD_ONE).round() as u32,
            scale: 1.0 / (1.0 - rate),
        })
    }
}

/// What one `dropout.forward` launch reads and writes: `x → y` in the forward pass, `dy → dx`
/// in the backward pass (the same mask, drawn again from the same seed and step).
pub struct Buffers<'a> {
    /// `[len]` values to mask and scale.
    pub input: wgpu::BufferBinding<'a>,
    /// `[len]` the result.
    pub output: wgpu::BufferBinding<'a>,
}

/// Builds one `dropout.forward` launch labelled `label` (reads the step table's `step`).
pub fn encode(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    buffers: Buffers<'_>,
) -> Result<Dispatch, GpuError> {
    let grid = grid_for(ctx, label, u64::from(params.len), WORKGROUP)?;
    Dispatch::new(
        ctx,
        Kernel::DropoutForward,
        label,
        &(),
        &params,
        &[buffers.input, buffers.output],
        grid,
    )
}
