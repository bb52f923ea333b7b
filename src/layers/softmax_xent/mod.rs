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

use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

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

/// What `softmax_xent.forward` reads and writes.
pub struct Io<'a> {
    /// `[rows, classes]` logits.
    pub logits: wgpu::BufferBinding<'a>,
    /// `[rows]` labels.
    pub labels: wgpu::BufferBinding<'a>,
    /// `[rows, classes]` gradient of the logits.
    pub grad: wgpu::BufferBinding<'a>,
    /// One [`Metrics`] row per step.
    pub metrics: wgpu::BufferBinding<'a>,
}

/// How a `softmax_xent.forward` launch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    /// Write the logits gradient (training) or not (inference).
    pub write_grad: bool,
    /// Workgroups, each of 256 rows at a time, each writing its own [`Metrics`] row of a step
    /// (training uses one: one metrics row per step).
    pub groups: u32,
}

impl Overrides for Launch {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![("WRITE_GRAD", flag(self.write_grad))]
    }
}

/// Rows one `softmax_xent.forward` workgroup takes at a time.
pub const ROWS_PER_GROUP: u32 = 256;

impl Launch {
    /// Training: the gradient, one workgroup, one metrics row per step.
    pub const TRAINING: Self = Self {
        write_grad: true,
        groups: 1,
    };

    /// Inference over batches of `rows`: no gradient, a workgroup per 256 rows.
    pub fn inference(rows: usize) -> Self {
        Self {
            write_grad: false,
            groups: (rows as u32).div_ceil(ROWS_PER_GROUP).max(1),
        }
    }
}

/// Builds the `softmax_xent.forward` launch.
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    launch: Launch,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    Dispatch::new(
        ctx,
        Kernel::SoftmaxXentForward,
        label,
        &launch,
        &params,
        &[io.logits, io.labels, io.grad, io.metrics],
        [launch.groups, 1, 1],
    )
}
