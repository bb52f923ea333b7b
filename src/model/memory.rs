//! The memory plan: every buffer a network allocates, on the device and on the host, sized from
//! its shapes alone, and the check of that plan against a device's limits, made before any of
//! it is allocated. A model too big is refused in milliseconds, naming the layer, the buffer,
//! its size and the limit, instead of aborting in an allocation of tens of gigabytes.
//!
//! The sizes come from the functions the allocating code uses: [`slab_layout`] and
//! [`state_layout`] for the parameter slab (and Adam's moments) and the state,
//! [`activation_layout`] for activations, gradients and scratch, [`gemm_launches`] with
//! [`partials_shape`] for split-k partials, and [`Geometry::column_values`] for column
//! gradients.
//!
//! Budgets: wgpu 30 reports no device memory size, so a GPU's total is held to
//! [`GPU_MEMORY_BUDGET`], a stated cap (an allocation past the real memory is still caught, by
//! the out-of-memory error scope of [`crate::gpu::buffers`]). A CPU adapter (lavapipe) keeps
//! its buffers in host memory, so there device and host buffers together must fit the memory
//! the OS reports available (`MemAvailable` of `/proc/meminfo`; elsewhere the same stated cap).

use std::fmt;
use std::mem::size_of;

use thiserror::Error;

use super::layout::activation_layout;
use super::network::{slab_layout, state_layout};
use super::plan::{gemm_launches, head, nodes, schedule, Fusion};
use super::shape::{self, LayerInfo};
use super::spec::ModelSpec;
use super::ModelError;
use crate::data::MnistSplits;
use crate::error::Error;
use crate::gpu::{slab, GpuContext, LaunchProfile};
#[cfg(doc)]
use crate::layers::col2im::Geometry;
use crate::layers::layer::Pass;
use crate::layers::matmul;
use crate::layers::matmul::split::partials_shape;
use crate::layers::softmax_xent::{self, Metrics};

/// The total a GPU's buffers may take: wgpu 30 does not report a device's memory size.
pub const GPU_MEMORY_BUDGET: u64 = 32 << 30;

/// Where a buffer lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A device storage buffer, bound whole in shaders: held to the binding limit.
    Storage,
    /// A device buffer mapped for reading back: held to the buffer size limit.
    Staging,
    /// Host memory (initial values, readbacks).
    Host,
}

/// One buffer of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    /// The layer it belongs to, by index and name; `None` for the network's own buffers.
    pub layer: Option<(usize, String)>,
    /// Its label, as the allocating code names it.
    pub buffer: String,
    /// Its size.
    pub bytes: u64,
    /// Where it lives.
    pub place: Place,
    /// Its size grows with the batch (activations, gradients, partials, columns).
    pub per_batch: bool,
}

/// Every buffer one use of a network allocates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The buffers, in allocation order.
    pub needs: Vec<Need>,
}

/// What a device allows, as the memory check reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    /// The adapter's name, for messages.
    pub adapter: String,
    /// Largest storage binding (bytes).
    pub max_binding: u64,
    /// Largest buffer (bytes).
    pub max_buffer: u64,
    /// The most all device buffers may take together.
    pub device_budget: u64,
    /// The most host buffers may take together (with the device's where they share memory).
    pub host_budget: u64,
    /// Device buffers live in host memory (a CPU adapter).
    pub shared: bool,
}

/// A plan that does not fit.
#[derive(Debug, Error)]
pub enum MemoryError {
    /// One buffer exceeds a per-buffer limit of the device.
    #[error(
        "{owner}: buffer `{buffer}` needs {} but the device '{adapter}' allows at most {} for \
         {limit}; {hint}",
        Size(*.bytes), Size(*.allowed)
    )]
    BufferTooLarge {
        /// `layer 1 (dense)`, or `the network`.
        owner: String,
        /// The buffer's label.
        buffer: String,
        /// Its size.
        bytes: u64,
        /// Which limit (`one storage binding`, `one buffer`).
        limit: &'static str,
        /// The limit.
        allowed: u64,
        /// The adapter's name.
        adapter: String,
        /// What to change.
        hint: String,
    },
    /// The buffers together exceed the memory budget.
    #[error(
        "the model needs {} of {what} memory in {count} buffers, but {budget_name} is {}; the \
         largest is `{largest}` of {owner} ({}); {hint}",
        Size(*.total), Size(*.budget), Size(*.largest_bytes)
    )]
    OverBudget {
        /// `device` or `host`.
        what: &'static str,
        /// Their total.
        total: u64,
        /// How many buffers.
        count: usize,
        /// What the budget is.
        budget_name: &'static str,
        /// The budget.
        budget: u64,
        /// The largest buffer's label.
        largest: String,
        /// Its owner.
        owner: String,
        /// Its size.
        largest_bytes: u64,
        /// What to change.
        hint: String,
    },
}

/// A size in bytes with its GiB or MiB, e.g. `31700035248 bytes (29.52 GiB)`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        match bytes {
            b if b >= 1 << 30 => write!(f, "{b} bytes ({:.2} GiB)", b as f64 / (1u64 << 30) as f64),
            b if b >= 1 << 20 => write!(f, "{b} bytes ({:.2} MiB)", b as f64 / (1u64 << 20) as f64),
            b => write!(f, "{b} bytes"),
        }
    }
}

impl MemoryLimits {
    /// The limits of an adapter of `device_type` offering `limits`.
    pub fn new(adapter: &str, device_type: wgpu::DeviceType, limits: &wgpu::Limits) -> Self {
        let shared = device_type == wgpu::DeviceType::Cpu;
        let host_budget = available_host_memory().unwrap_or(GPU_MEMORY_BUDGET);
        Self {
            adapter: adapter.to_string(),
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            max_buffer: limits.max_buffer_size,
            device_budget: if shared {
                host_budget
            } else {
                GPU_MEMORY_BUDGET
            },
            host_budget,
            shared,
        }
    }

    /// The limits of the device `ctx` opened.
    pub fn of(ctx: &GpuContext) -> Self {
        Self::new(&ctx.info.name, ctx.info.device_type, &ctx.limits)
    }
}

/// The memory the OS reports available (`MemAvailable`), where it does (Linux).
fn available_host_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `layer 3 (dense_1)` or `the network`.
fn owner(layer: &Option<(usize, String)>) -> String {
    match layer {
        Some((index, name)) => format!("layer {index} ({name})"),
        None => "the network".into(),
    }
}

/// The hint for a buffer that is too large: parameter buffers shrink with the layer, batch
/// buffers with the batch too.
fn hint(need: &Need) -> String {
    let layer = owner(&need.layer);
    match (need.per_batch, &need.layer) {
        (true, Some(_)) => format!(
            "use a smaller --batch-size, or fewer units or filters in {layer} (or pool before it)"
        ),
        (true, None) => "use a smaller --batch-size or smaller images".into(),
        (false, Some(_)) => format!(
            "use fewer units or filters in {layer}, which holds the most parameters, or pool \
             before it"
        ),
        (false, None) => "use fewer units or filters".into(),
    }
}

impl MemoryPlan {
    fn push(&mut self, layer: Option<(usize, String)>, buffer: String, bytes: u64, place: Place) {
        self.needs.push(Need {
            layer,
            buffer,
            bytes: bytes.max(4).next_multiple_of(4),
            place,
            per_batch: false,
        });
    }

    /// [`MemoryPlan::push`] of a buffer whose size grows with the batch.
    fn push_batched(&mut self, layer: Option<(usize, String)>, buffer: String, bytes: u64) {
        self.push(layer, buffer, bytes, Place::Storage);
        if let Some(need) = self.needs.last_mut() {
            need.per_batch = true;
        }
    }

    /// Adds every buffer of `other`.
    pub fn extend(&mut self, other: MemoryPlan) {
        self.needs.extend(other.needs);
    }

    /// Bytes on the device (storage and staging buffers).
    pub fn device_bytes(&self) -> u64 {
        self.sum(|place| place != Place::Host)
    }

    /// Bytes on the host.
    pub fn host_bytes(&self) -> u64 {
        self.sum(|place| place == Place::Host)
    }

    fn sum(&self, filter: impl Fn(Place) -> bool) -> u64 {
        let needs = self.needs.iter().filter(|need| filter(need.place));
        needs.fold(0u64, |total, need| total.saturating_add(need.bytes))
    }

    /// Checks every buffer against the device's per-buffer limits, then the totals against
    /// the budgets; the first that does not fit is the error.
    pub fn check(&self, limits: &MemoryLimits) -> Result<(), Box<MemoryError>> {
        for need in &self.needs {
            let (limit, allowed) = match need.place {
                Place::Storage => ("one storage binding", limits.max_binding),
                Place::Staging => ("one buffer", limits.max_buffer),
                Place::Host => continue,
            };
            if need.bytes > allowed {
                return Err(Box::new(MemoryError::BufferTooLarge {
                    owner: owner(&need.layer),
                    buffer: need.buffer.clone(),
                    bytes: need.bytes,
                    limit,
                    allowed,
                    adapter: limits.adapter.clone(),
                    hint: hint(need),
                }));
            }
        }
        let device = |place: Place| place != Place::Host;
        self.check_total("device", device, "its budget", limits.device_budget)?;
        match limits.shared {
            true => self.check_total(
                "host and device",
                |_| true,
                "the memory available",
                limits.host_budget,
            ),
            false => self.check_total(
                "host",
                |p| p == Place::Host,
                "the memory available",
                limits.host_budget,
            ),
        }
    }

    fn check_total(
        &self,
        what: &'static str,
        filter: impl Fn(Place) -> bool,
        budget_name: &'static str,
        budget: u64,
    ) -> Result<(), Box<MemoryError>> {
        let total = self.sum(&filter);
        let needs = self.needs.iter().filter(|need| filter(need.place));
        // The first of equal largest (`max_by_key` keeps the last).
        let Some(largest) = needs.clone().rev().max_by_key(|need| need.bytes) else {
            return Ok(());
        };
        if total <= budget {
            return Ok(());
        }
        Err(Box::new(MemoryError::OverBudget {
            what,
            total,
            count: needs.count(),
            budget_name,
            budget,
            largest: largest.buffer.clone(),
            owner: owner(&largest.layer),
            largest_bytes: largest.bytes,
            hint: hint(largest),
        }))
    }
}

/// The layer holding the most values of `count` (its index and name), to blame for a slab.
fn biggest(layers: &[LayerInfo], count: fn(&LayerInfo) -> usize) -> Option<(usize, String)> {
    // The first of equal largest (`max_by_key` keeps the last).
    let largest = layers
        .iter()
        .enumerate()
        .rev()
        .max_by_key(|(_, l)| count(l));
    let (index, layer) = largest?;
    Some((index, layer.name.clone()))
}

/// The network's own buffers, made once whatever it runs: the parameter slab with its
/// gradients and Adam's moments, and the state, on the device; their initial values on the
/// host. `align` is the slab alignment in values ([`crate::gpu::slab::alignment`]).
pub fn network(layers: &[LayerInfo], align: usize) -> MemoryPlan {
    let mut plan = MemoryPlan::default();
    let params = slab_layout(layers, align);
    let param_bytes = (params.padded_len() as u64).saturating_mul(4);
    let owner = biggest(layers, LayerInfo::param_count);
    for buffer in ["slab.params", "slab.grads", "slab.adam_m", "slab.adam_v"] {
        plan.push(owner.clone(), buffer.into(), param_bytes, Place::Storage);
    }
    plan.push(owner, "initial parameters".into(), param_bytes, Place::Host);
    let state = state_layout(layers, align);
    let state_bytes = (state.total as u64).saturating_mul(4);
    let owner = biggest(layers, LayerInfo::state_count);
    plan.push(
        owner.clone(),
        "network.state".into(),
        state_bytes,
        Place::Storage,
    );
    plan.push(owner, "initial state".into(), state_bytes, Place::Host);
    plan
}

/// What a batch plan is for, as its buffers differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchUse {
    /// Batch rows.
    pub rows: usize,
    /// Training (gradients, partials and columns of the backward pass) or a forward pass.
    pub training: bool,
    /// The fusions the plan applies.
    pub fusion: Fusion,
}

/// The buffers of one plan at a batch size ([`crate::model::Network::plan`]): activations,
/// their gradients in training, scratch tensors, the batch labels, split-k partials (as
/// `profile` plans the GEMMs) and column gradients.
pub fn batch(
    layers: &[LayerInfo],
    input_len: usize,
    batch: BatchUse,
    profile: &LaunchProfile,
) -> Result<MemoryPlan, ModelError> {
    let BatchUse {
        rows,
        training,
        fusion,
    } = batch;
    let nodes = nodes(layers, rows)?;
    let steps = schedule(&nodes, training, fusion);
    let layout = activation_layout(layers, &nodes, &steps, (rows, input_len), training);
    let mut plan = MemoryPlan::default();
    let defs = layout.buffers.iter().chain(layout.grads.iter().flatten());
    let scratch = layout.scratch.iter().flatten().map(|(_, def)| def);
    for def in defs.chain(scratch) {
        plan.push_batched(def.layer.clone(), def.label.clone(), def.bytes());
    }
    plan.push_batched(None, format!("batch.labels [{rows}]"), rows as u64 * 4);
    let head = head(&nodes, &steps, training, fusion);
    for launch in gemm_launches(&nodes, &steps, head, training, profile) {
        let [splits, m, n] = partials_shape(&launch.plan, launch.epilogue);
        if splits > 1 {
            let values = u64::from(splits) * u64::from(m) * u64::from(n);
            // A launch's label is its node's: the layer's name, a dot, the pass.
            let name = launch.label.split('.').next().unwrap_or_default();
            let layer = layers.iter().position(|l| l.name == name);
            let layer = layer.map(|i| (i, layers[i].name.clone()));
            let label = format!("{}.partials [{splits}, {m}, {n}]", launch.label);
            plan.push_batched(layer, label, values.saturating_mul(4));
        }
    }
    if training {
        for (i, (node, step)) in nodes.iter().zip(&steps).enumerate() {
            let has_dx = layout.grads[layout.io[i].0].is_some();
            let runs = step.pass == Pass::Kernel && head != Some(i) && !step.dx_as_columns;
            if let Some(geometry) = node.op.input_gradient_columns().filter(|_| runs && has_dx) {
                let label = format!("{}.backward_input.columns", node.label);
                let owner = Some((node.origin, layers[node.origin].name.clone()));
                let bytes = geometry.column_values().saturating_mul(4);
                plan.push_batched(owner, label, bytes);
            }
        }
    }
    Ok(plan)
}

/// The most batch rows whose widest activation (of `input_len` values or any layer's output)
/// still fits one storage binding of `max_binding` bytes, and whose convolutions stay within
/// the implicit GEMM's exact k range ([`matmul::MAX_IMPLICIT_K`]); forward-only plans pick
/// their batch within it.
pub fn max_rows(layers: &[LayerInfo], input_len: usize, max_binding: u64) -> usize {
    let widest = layers
        .iter()
        .map(|layer| layer.output.len())
        .fold(input_len, usize::max);
    let by_memory = (max_binding / (widest.max(1) as u64 * 4)).max(1);
    // A convolution's weight gradient sums over every output pixel of the batch.
    let most_pixels = layers.iter().map(|l| l.output.pixels()).max().unwrap_or(1);
    let by_index_range = u64::from(matmul::MAX_IMPLICIT_K) / most_pixels.max(1) as u64;
    by_memory.min(by_index_range).max(1) as usize
}

/// The sizes of an evaluator's own buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalBuffers {
    /// Steps of the longest source.
    pub max_steps: usize,
    /// Metrics rows one step writes (one per loss workgroup).
    pub metrics_per_step: usize,
    /// `eval.probabilities [longest, classes]`, bytes.
    pub probabilities: u64,
    /// `eval.metrics`, bytes.
    pub metrics: u64,
}

/// The buffers of an evaluator over sources of up to `longest` samples in batches of `rows`
/// ([`crate::evaluate::Evaluator`]).
pub fn eval_buffers(rows: usize, longest: usize, classes: usize) -> EvalBuffers {
    let (rows, longest) = (rows.max(1), longest.max(1));
    let max_steps = longest.div_ceil(rows);
    let metrics_per_step = softmax_xent::Launch::inference(rows).groups as usize;
    let metrics = max_steps as u64 * metrics_per_step as u64 * size_of::<Metrics>() as u64;
    EvalBuffers {
        max_steps,
        metrics_per_step,
        probabilities: (longest as u64 * classes as u64).saturating_mul(4),
        metrics,
    }
}

/// The sizes of a training run beyond its model: the data sets and the split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingRun {
    /// Batch rows of a training step.
    pub batch: usize,
    /// Training samples (after the validation split).
    pub train: usize,
    /// Validation samples.
    pub validation: usize,
    /// Samples of the training and test sets, resident on the device.
    pub data: [usize; 2],
    /// Values of one image.
    pub sample_len: usize,
}

impl TrainingRun {
    /// The run over `data` with `train` and `validation` samples in batches of `batch_size`.
    pub fn of(data: &MnistSplits, train: usize, validation: usize, batch_size: usize) -> Self {
        Self {
            batch: batch_size.min(train).max(1),
            train,
            validation,
            data: [data.train.len(), data.test.len()],
            sample_len: data.train.rows * data.train.cols,
        }
    }

    /// Every buffer of the run ([`crate::train::Trainer`]): the network, the training plan,
    /// the evaluator's plan over the validation and test sets, the resident data and the
    /// index lists.
    pub fn plan(
        &self,
        layers: &[LayerInfo],
        classes: usize,
        (align, max_binding): (usize, u64),
        fusion: Fusion,
        profile: &LaunchProfile,
    ) -> Result<MemoryPlan, ModelError> {
        let mut plan = network(layers, align);
        let train = BatchUse {
            rows: self.batch,
            training: true,
            fusion,
        };
        plan.extend(batch(layers, self.sample_len, train, profile)?);
        let longest = self.validation.max(self.data[1]);
        let rows = longest
            .min(max_rows(layers, self.sample_len, max_binding))
            .max(1);
        let evaluate = BatchUse {
            rows,
            training: false,
            fusion,
        };
        plan.extend(batch(layers, self.sample_len, evaluate, profile)?);
        let eval = eval_buffers(rows, longest, classes);
        plan.push(
            None,
            "eval.probabilities".into(),
            eval.probabilities,
            Place::Storage,
        );
        plan.push(None, "eval.metrics".into(), eval.metrics, Place::Storage);
        plan.push(
            None,
            "eval.results".into(),
            eval.probabilities,
            Place::Staging,
        );
        plan.push(None, "predictions".into(), eval.probabilities, Place::Host);
        for (name, samples) in ["train", "test"].into_iter().zip(self.data) {
            let images = (samples as u64).saturating_mul(self.sample_len as u64);
            plan.push(None, format!("{name}.images"), images, Place::Storage);
            plan.push(
                None,
                format!("{name}.labels"),
                samples as u64 * 4,
                Place::Storage,
            );
        }
        let indices = [
            ("train.order", self.train),
            ("validation.indices", self.validation),
            ("test.indices", self.data[1]),
        ];
        for (name, samples) in indices {
            plan.push(None, name.into(), samples as u64 * 4, Place::Storage);
        }
        let steps = self.train.div_ceil(self.batch) as u64;
        plan.push(
            None,
            "train.metrics".into(),
            steps * size_of::<Metrics>() as u64,
            Place::Storage,
        );
        plan.push(
            None,
            "train.first_non_finite".into(),
            steps * 4,
            Place::Storage,
        );
        Ok(plan)
    }

    /// Checks the run of `spec` (its input taken from the data) against `ctx`'s limits with
    /// `fusion`, before anything is allocated.
    pub fn check(&self, ctx: &GpuContext, spec: &ModelSpec, fusion: Fusion) -> Result<(), Error> {
        let layers = shape::infer(spec)?;
        let limits = MemoryLimits::of(ctx);
        let sizes = (slab::alignment(ctx), limits.max_binding);
        let plan = self.plan(&layers, spec.classes, sizes, fusion, &ctx.profile())?;
        Ok(plan.check(&limits)?)
    }
}
