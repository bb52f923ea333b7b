//! Softmax cross-entropy (Keras `sparse_categorical_crossentropy` on a softmax output), its
//! gradient and the correct count, in one kernel:
//!
//! ```text
//! loss[r]     = logsumexp(z[r, :]) - z[r, label[r]]
//! dz[r, c]    = (softmax(z[r, :])[c] - [c == label[r]]) / batch_rows
//! metrics     = (Σ_r loss[r], #{r : argmax z[r, :] == label[r]})
//! ```
//! Padding rows (label [`crate::layers::gather::NO_LABEL`]) get a zero gradient and do not count.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel, KernelCache};

/// Mirrors `struct Params` of `shaders/softmax_xent/forward.wgsl`.
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

/// One step's metrics row, mirrored by `struct Metrics` in the kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Metrics {
    /// Sum of the per-sample losses of the step.
    pub loss_sum: f32,
    /// Samples whose argmax equals the label.
    pub correct: u32,
}

/// Builds the `softmax_xent.forward` launch.
pub fn encode_forward(
    ctx: &GpuContext,
    cache: &KernelCache,
    label: &str,
    params: Params,
    logits: wgpu::BufferBinding<'_>,
    labels: wgpu::BufferBinding<'_>,
    grad: wgpu::BufferBinding<'_>,
    metrics: wgpu::BufferBinding<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        cache,
        Kernel::SoftmaxXentForward,
        label,
        &[],
        &params,
        &[logits, labels, grad, metrics],
        [1, 1, 1],
    )
}
