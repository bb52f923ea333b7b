//! Softmax probabilities for prediction (Keras `model.predict`), written at each batch's
//! position in a buffer covering the whole data source:
//!
//! ```text
//! probabilities[start + r, c] = exp(z[r, c] − max_c' z[r, c']) / Σ_c' exp(z[r, c'] − max)
//! ```

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

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

/// What `softmax.forward` reads and writes.
pub struct Io<'a> {
    /// `[rows, classes]` logits.
    pub logits: wgpu::BufferBinding<'a>,
    /// `[samples, classes]` probabilities, each step's rows at its samples' positions.
    pub probabilities: wgpu::BufferBinding<'a>,
}

/// Builds the `softmax.forward` launch.
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        Kernel::SoftmaxForward,
        label,
        &(),
        &params,
        &[io.logits, io.probabilities],
        [params.rows.div_ceil(64), 1, 1],
    )
}
