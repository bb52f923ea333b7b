//! Softmax probabilities for prediction (Keras `model.predict`), written at each batch's
//! position in a buffer covering the whole data source:
//!
//! ```text
//! probabilities[start + r, c] = exp(z[r, c] − max_c' z[r, c']) / Σ_c' exp(z[r, c'] − max)
//! ```

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel, KernelCache};

/// Mirrors `struct Params` of `shaders/softmax/forward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch capacity.
    pub rows: u32,
    /// Number of classes.
    pub classes: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

/// Builds the `softmax.forward` launch.
pub fn encode_forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    params: Params,
    logits: wgpu::BufferBinding<'_>,
    probabilities: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        cache,
        Kernel::SoftmaxForward,
        label,
        &[],
        &params,
        &[logits, probabilities],
        [params.rows.div_ceil(64), 1, 1],
    )
}
