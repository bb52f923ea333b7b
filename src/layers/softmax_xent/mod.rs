//! Softmax cross-entropy (Keras `sparse_categorical_crossentropy` on a softmax output), its
//! gradient and the correct count, in one kernel:
//!
//! ```text
//! loss[r]     = logsumexp(z[r, :]) - z[r, label[r]]
//! dz[r, c]    = (softmax(z[r, :])[c] - [c == label[r]]) / batch_rows
//! metrics     = (Σ_r loss[r], #{r : argmax z[r, :] == label[r]})
//! ```
//! Padding rows (label [`crate::layers::gather::NO_LABEL`]) get a zero gradient and do not count.
//!
//! In training the same launch can run the classifier head around the loss ([`Head`]): the
//! last Dense layer's forward before it and that layer's gradients after it, in one workgroup,
//! instead of four launches of their own.

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::kernels::{flag, Overrides};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};

/// Mirrors `struct Params` of `shaders/softmax_xent/forward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch capacity.
    pub rows: u32,
    /// Number of classes.
    pub classes: u32,
    /// With a [`Head`]: the Dense layer's input width.
    pub inputs: u32,
    /// With a [`Head`]: the offset of its kernel `[inputs, classes]` in the slabs.
    pub kernel_at: u32,
    /// With a [`Head`]: the offset of its bias `[classes]` in the slabs.
    pub bias_at: u32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
    /// Padding to 16-byte multiples.
    pub _pad2: u32,
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
    /// The classifier head run in the same launch, in training.
    pub head: Option<Head<'a>>,
}

/// The last Dense layer folded into the loss launch: `logits = x · kernel + bias` before the
/// loss, its kernel and bias gradients and (if wanted) its input gradient after it.
pub struct Head<'a> {
    /// `[rows, inputs]` the layer's input.
    pub x: wgpu::BufferBinding<'a>,
    /// The parameter slab, holding the kernel and bias at [`Params::kernel_at`] and
    /// [`Params::bias_at`].
    pub weights: wgpu::BufferBinding<'a>,
    /// The gradient slab, laid out as the parameters.
    pub weight_grads: wgpu::BufferBinding<'a>,
    /// `[rows, inputs]` the input gradient, where the layer below needs one.
    pub dx: Option<wgpu::BufferBinding<'a>>,
    /// Zero the input gradient where `x <= 0` (the layer below's ReLU, fused).
    pub mask_input: bool,
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

/// The override constants of one launch: its [`Launch`] and what its head computes.
struct Constants {
    launch: Launch,
    /// `(input gradient, masked)` with a head.
    head: Option<(bool, bool)>,
    /// The launch's sizes (a head's loops take them as constants).
    params: Params,
}

impl Overrides for Constants {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut constants = self.launch.constants();
        if let Some((dx, mask)) = self.head {
            constants.extend([
                ("HEAD", 1.0),
                ("HEAD_DX", flag(dx)),
                ("HEAD_MASK", flag(mask)),
                ("HEAD_ROWS", f64::from(self.params.rows)),
                ("HEAD_INPUTS", f64::from(self.params.inputs)),
                ("HEAD_CLASSES", f64::from(self.params.classes)),
            ]);
        }
        constants
    }
}

/// Builds the `softmax_xent.forward` launch (with the head where `io` has one: training only,
/// in one workgroup).
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    launch: Launch,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    if io.head.is_some() && launch != Launch::TRAINING {
        return Err(GpuError::Wgpu {
            context: label.to_string(),
            message: "the classifier head runs only in a training launch of one workgroup"
                .to_string(),
        });
    }
    let constants = Constants {
        launch,
        head: io
            .head
            .as_ref()
            .map(|head| (head.dx.is_some(), head.dx.is_some() && head.mask_input)),
        params,
    };
    // Without a head (or its dx) the kernel still declares those bindings: the labels stand in
    // for what it would read, 4-byte buffers for what it would write.
    let (mut grads_stand_in, mut dx_stand_in) = (None, None);
    let (x, weights, weight_grads, dx) = match io.head {
        Some(head) => (head.x, head.weights, Some(head.weight_grads), head.dx),
        None => (io.labels.clone(), io.labels.clone(), None, None),
    };
    let weight_grads = buffers::or_stand_in(ctx, label, weight_grads, &mut grads_stand_in)?;
    let dx = buffers::or_stand_in(ctx, &format!("{label}.dx"), dx, &mut dx_stand_in)?;
    Dispatch::new(
        ctx,
        Kernel::SoftmaxXentForward,
        label,
        &constants,
        &params,
        &[
            io.logits,
            io.labels,
            io.grad,
            io.metrics,
            x,
            weights,
            weight_grads,
            dx,
        ],
        [launch.groups, 1, 1],
    )
}
