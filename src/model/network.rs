//! The network on the GPU: its parameter slab, the non-trainable state beside it, and the
//! dispatch plans (built once) that run a batch through it: gather → each node's forward →
//! softmax cross-entropy → (training) each node's backward in reverse → one optimizer dispatch.

use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::layout::{activation_layout, BufferDef};
use super::memory::{self, BatchUse, MemoryLimits};
use super::plan::{head, nodes, schedule, Fusion, Node, Step};
use super::shape::{self, LayerInfo, Role};
use super::spec::ModelSpec;
use crate::error::Error;
use crate::gpu::buffers::{self, whole};
use crate::gpu::slab::{self, Layouts, ParamSlab, SlabLayout};
use crate::gpu::step_table::StepTable;
use crate::gpu::{Dispatch, GpuContext, GpuError};
use crate::layers::gather::{self, Source};
use crate::layers::layer::{BackwardIo, ForwardIo, Init, Pass, Tensors, View};
use crate::layers::{col2im, softmax, softmax_xent};
use crate::optim::OptimizerConfig;

/// A model's layers with their parameters and state resident on the GPU.
pub struct Network {
    /// The model as specified.
    pub spec: ModelSpec,
    /// Its layers with shapes resolved.
    pub layers: Vec<LayerInfo>,
    /// Parameters, gradients and Adam moments.
    pub slab: ParamSlab,
    /// Non-trainable state (moving statistics), laid out as [`state_layout`].
    pub state: StateSlab,
    /// Seed of the random streams (Dropout).
    pub seed: u64,
    /// The fusions its plans apply.
    pub fusion: Fusion,
}

/// The non-trainable tensors of a network in one buffer.
pub struct StateSlab {
    /// Where each tensor lives.
    pub layout: SlabLayout,
    /// The values.
    pub buffer: wgpu::Buffer,
}

/// The layout of `layers`' tensors of `role`, each starting at a multiple of `align`.
fn layout_of(layers: &[LayerInfo], role: Role, align: usize) -> SlabLayout {
    SlabLayout::new(
        layers
            .iter()
            .flat_map(|layer| layer.tensors_of(role))
            .map(|(name, tensor)| (name, tensor.shape.clone())),
        align,
    )
}

/// The slab layout of `layers`' trainable tensors, each starting at a multiple of `align`.
pub fn slab_layout(layers: &[LayerInfo], align: usize) -> SlabLayout {
    layout_of(layers, Role::Trainable, align)
}

/// The layout of `layers`' non-trainable state, each tensor starting at a multiple of `align`.
pub fn state_layout(layers: &[LayerInfo], align: usize) -> SlabLayout {
    layout_of(layers, Role::State, align)
}

/// Keras's initial values of `layers`' tensors of `role` laid out as `layout`: glorot-uniform
/// kernels drawn in layer order from `seed`, zeros and ones as each tensor asks.
pub fn initial_values(
    layers: &[LayerInfo],
    role: Role,
    layout: &SlabLayout,
    seed: u64,
) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values = vec![0.0; layout.total];
    let tensors = layers.iter().flat_map(|layer| layer.tensors_of(role));
    for ((_, tensor), slot) in tensors.zip(&layout.tensors) {
        let slice = &mut values[slot.offset..slot.offset + slot.len];
        match tensor.init {
            Init::Zeros => {}
            Init::Ones => slice.fill(1.0),
            Init::GlorotUniform => {
                let (fan_in, fan_out) = fans(&tensor.shape);
                let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt() as f32;
                // A non-empty symmetric range: Uniform::new only fails on an empty or infinite one.
                let Ok(uniform) = Uniform::new_inclusive(-limit, limit) else {
                    continue;
                };
                for value in slice {
                    *value = uniform.sample(&mut rng);
                }
            }
        }
    }
    values
}

/// Keras's fan-in and fan-out of a kernel: the receptive field times the last two axes.
fn fans(shape: &[usize]) -> (usize, usize) {
    let n = shape.len();
    if n < 2 {
        return (shape.iter().product(), shape.iter().product());
    }
    let receptive: usize = shape[..n - 2].iter().product();
    (receptive * shape[n - 2], receptive * shape[n - 1])
}

/// The seed of node `origin`'s random streams, from the network's seed.
pub fn node_seed(seed: u64, origin: usize) -> u32 {
    let mixed = seed ^ (origin as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed ^ (mixed >> 32)) as u32
}

/// A recorded sequence of launches over one batch: one gather per data source, then the body.
pub struct Plan {
    /// Batch capacity.
    pub rows: usize,
    gathers: Vec<Dispatch>,
    body: Vec<Dispatch>,
    logits: wgpu::Buffer,
}

impl Plan {
    /// Records steps `steps_range` of `table`, reading batches from source `source`, into one
    /// compute pass of `encoder`.
    pub fn record(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        label: &str,
        table: &StepTable,
        steps_range: std::ops::Range<usize>,
        source: usize,
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes: None,
        });
        for step in steps_range {
            self.gathers[source].record(&mut pass, table, step);
            for dispatch in &self.body {
                dispatch.record(&mut pass, table, step);
            }
        }
    }

    /// The logits of the last batch run, `[rows, classes]`.
    pub fn logits(&self) -> &wgpu::Buffer {
        &self.logits
    }

    /// Every launch of one step, in order, reading from source `source` (for profiling).
    pub fn dispatches(&self, source: usize) -> impl Iterator<Item = &Dispatch> {
        std::iter::once(&self.gathers[source]).chain(&self.body)
    }
}

/// What a plan does after the loss.
#[derive(Clone, Copy)]
pub enum Purpose<'a> {
    /// Backward through every layer, then one optimizer step, which records in row `step.slot`
    /// of `first_non_finite` the first parameter it left NaN or infinite (see
    /// [`OptimizerConfig::encode_step`]).
    Train {
        /// The optimizer and its settings.
        optimizer: &'a OptimizerConfig,
        /// `[steps] u32`, each [`crate::optim::ALL_FINITE`] before its step runs.
        first_non_finite: &'a wgpu::Buffer,
    },
    /// Nothing more, or the softmax probabilities of each sample written at its position in
    /// `probabilities` (`[samples, classes]`).
    Evaluate {
        /// Where predictions go, if wanted.
        probabilities: Option<&'a wgpu::Buffer>,
    },
}

/// The activation buffers of one plan: buffer 0 is the batch; node `i` reads `io[i].0` and
/// writes `io[i].1` (the same buffer for a view).
struct Activations {
    buffers: Vec<wgpu::Buffer>,
    grads: Vec<Option<wgpu::Buffer>>,
    io: Vec<(usize, usize)>,
    scratch: Vec<Vec<(&'static str, wgpu::Buffer)>>,
}

impl Network {
    /// Resolves `spec`'s shapes, initialises its tensors from `seed` and uploads them.
    pub fn new(ctx: &GpuContext, spec: ModelSpec, seed: u64) -> Result<Self, Error> {
        let layers = shape::infer(&spec)?;
        let align = slab::alignment(ctx);
        // Before any allocation: the initial values alone may be tens of gigabytes.
        memory::network(&layers, align).check(&MemoryLimits::of(ctx))?;
        let layout = slab_layout(&layers, align);
        let params = initial_values(&layers, Role::Trainable, &layout, seed);
        let state_layout = state_layout(&layers, align);
        let state = initial_values(&layers, Role::State, &state_layout, seed);
        Ok(Self {
            slab: ParamSlab::new(ctx, layout, &params)?,
            state: StateSlab {
                buffer: buffers::storage_with(ctx, "network.state", &state)?,
                layout: state_layout,
            },
            spec,
            layers,
            seed,
            fusion: Fusion::default(),
        })
    }

    /// Where its tensors live, as checkpoints need them.
    pub fn layouts(&self) -> Layouts {
        Layouts {
            params: self.slab.layout.clone(),
            state: self.state.layout.clone(),
        }
    }

    /// Overwrites its parameters and state (laid out as [`Network::layouts`]), e.g. from a
    /// checkpoint.
    pub fn load(&self, ctx: &GpuContext, params: &[f32], state: &[f32]) {
        self.slab.write(ctx, &self.slab.params, params);
        ctx.queue
            .write_buffer(&self.state.buffer, 0, bytemuck::cast_slice(state));
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.slab.layout.param_count()
    }

    /// Non-trainable values (moving statistics).
    pub fn state_count(&self) -> usize {
        self.state.layout.param_count()
    }

    /// The most batch rows a forward-only plan of this network may take on `ctx`
    /// ([`memory::max_rows`]).
    pub fn max_rows(&self, ctx: &GpuContext) -> usize {
        let input_len = self.spec.input.iter().product::<usize>();
        memory::max_rows(&self.layers, input_len, MemoryLimits::of(ctx).max_binding)
    }

    /// Builds the plan for batches of `rows` from each of `sources`: forward, loss and
    /// accuracy (metrics go to `metrics`, one [`softmax_xent::Metrics`] row per step), then
    /// what `purpose` asks for.
    pub fn plan(
        &self,
        ctx: &GpuContext,
        rows: usize,
        sources: &[Source<'_>],
        metrics: &wgpu::Buffer,
        purpose: Purpose<'_>,
    ) -> Result<Plan, Error> {
        let training = matches!(purpose, Purpose::Train { .. });
        self.check_plan(ctx, rows, training)?;
        let nodes = nodes(&self.layers, rows)?;
        let steps = schedule(&nodes, training, self.fusion);
        let acts = self.activations(ctx, rows, &nodes, &steps, training)?;
        let batch_labels =
            buffers::storage(ctx, &format!("batch.labels [{rows}]"), rows as u64 * 4)?;
        let gathers = self.gathers(ctx, rows, sources, &acts.buffers[0], &batch_labels)?;
        let head = head(&nodes, &steps, training, self.fusion);
        let mut body = self.forward(ctx, rows, (&nodes, &steps, head), &acts, training)?;
        let logits = &acts.buffers[acts.io.last().map_or(0, |io| io.1)];
        let loss_io = LossIo {
            labels: &batch_labels,
            metrics,
            head: head.map(|h| (&nodes[h], &steps[h], acts.io[h].0)),
        };
        body.extend(self.loss(ctx, rows, &acts, loss_io, purpose)?);
        if let Purpose::Train {
            optimizer,
            first_non_finite,
        } = purpose
        {
            body.extend(self.backward(ctx, rows, (&nodes, &steps, head), &acts)?);
            body.push(optimizer.encode_step(ctx, &self.slab, first_non_finite)?);
        }
        Ok(Plan {
            rows,
            gathers,
            body,
            logits: logits.clone(),
        })
    }

    /// Checks the network's buffers and those of a plan of `rows` against `ctx`'s limits,
    /// before the plan allocates any.
    fn check_plan(&self, ctx: &GpuContext, rows: usize, training: bool) -> Result<(), Error> {
        let input_len = self.spec.input.iter().product::<usize>();
        let use_ = BatchUse {
            rows,
            training,
            fusion: self.fusion,
        };
        let mut plan = memory::network(&self.layers, slab::alignment(ctx));
        plan.extend(memory::batch(
            &self.layers,
            input_len,
            use_,
            &ctx.profile(),
        )?);
        Ok(plan.check(&MemoryLimits::of(ctx))?)
    }

    /// Allocates the batch, every node's output (a view shares its input's) and, in training,
    /// their gradients, and each layer's scratch tensors: the [`activation_layout`] of the
    /// plan, which the memory plan sizes too.
    fn activations(
        &self,
        ctx: &GpuContext,
        rows: usize,
        nodes: &[Node],
        steps: &[Step],
        training: bool,
    ) -> Result<Activations, GpuError> {
        let input_len = self.spec.input.iter().product::<usize>();
        let layout = activation_layout(&self.layers, nodes, steps, (rows, input_len), training);
        let allocate = |def: &BufferDef| buffers::storage(ctx, &def.label, def.bytes());
        let scratch = layout.scratch.iter().map(|tensors| {
            let buffers = tensors
                .iter()
                .map(|(name, def)| Ok((*name, allocate(def)?)));
            buffers.collect::<Result<_, GpuError>>()
        });
        Ok(Activations {
            buffers: layout
                .buffers
                .iter()
                .map(allocate)
                .collect::<Result<_, _>>()?,
            grads: layout
                .grads
                .iter()
                .map(|grad| grad.as_ref().map(allocate).transpose())
                .collect::<Result<_, _>>()?,
            scratch: scratch.collect::<Result<_, _>>()?,
            io: layout.io,
        })
    }

    /// One gather launch per data source into the batch buffers.
    fn gathers(
        &self,
        ctx: &GpuContext,
        rows: usize,
        sources: &[Source<'_>],
        batch: &wgpu::Buffer,
        batch_labels: &wgpu::Buffer,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let params = gather::Params {
            rows: rows as u32,
            sample_len: self.spec.input.iter().product::<usize>() as u32,
            ..Default::default()
        };
        let io = gather::Io {
            batch: whole(batch),
            batch_labels: whole(batch_labels),
        };
        sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                gather::encode_forward(
                    ctx,
                    &format!("gather.source{i}"),
                    params,
                    source,
                    io.clone(),
                )
            })
            .collect()
    }

    /// `node`'s parameters, state and `scratch` by name, and the gradients of its parameters.
    fn tensors<'a>(
        &'a self,
        node: &Node,
        scratch: &'a [(&'static str, wgpu::Buffer)],
    ) -> (Tensors<'a>, Tensors<'a>) {
        let (mut tensors, mut grads) = (Tensors::default(), Tensors::default());
        let Some(index) = node.layer else {
            return (tensors, grads);
        };
        let layer = &self.layers[index];
        for (name, tensor) in layer.tensors_of(Role::Trainable) {
            if let Some(slot) = self.slab.layout.index_of(&name) {
                let shape = tensor.shape.clone();
                let param = self.slab.binding(&self.slab.params, slot);
                tensors.insert(
                    tensor.name,
                    View {
                        binding: param,
                        shape: shape.clone(),
                    },
                );
                grads.insert(
                    tensor.name,
                    View {
                        binding: self.slab.binding(&self.slab.grads, slot),
                        shape,
                    },
                );
            }
        }
        for (name, tensor) in layer.tensors_of(Role::State) {
            if let Some(slot) = self.state.layout.index_of(&name) {
                let binding = self.state.layout.binding(&self.state.buffer, slot);
                tensors.insert(
                    tensor.name,
                    View {
                        binding,
                        shape: tensor.shape.clone(),
                    },
                );
            }
        }
        for (name, buffer) in scratch {
            tensors.insert(name, View::whole(buffer, Vec::new()));
        }
        (tensors, grads)
    }

    /// Every node's forward launches, in order (but the head's: the loss launch runs it).
    fn forward(
        &self,
        ctx: &GpuContext,
        rows: usize,
        (nodes, steps, head): Schedule<'_>,
        acts: &Activations,
        training: bool,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let mut body = Vec::new();
        for (i, (node, step)) in nodes.iter().zip(steps).enumerate() {
            if step.pass == Pass::View || step.forward_in_producer || head == Some(i) {
                continue;
            }
            let (x, y) = acts.io[i];
            let (tensors, _) = self.tensors(node, &acts.scratch[i]);
            let pooled = step.pools_into.and_then(|p| {
                let kind = nodes[p].op.pooling_2x2()?;
                let output = &acts.buffers[acts.io[p].1];
                Some((kind, View::whole(output, nodes[p].output.batched(rows))))
            });
            let io = ForwardIo {
                label: &node.label,
                x: View::whole(&acts.buffers[x], node.input.batched(rows)),
                tensors,
                y: View::whole(&acts.buffers[y], node.output.batched(rows)),
                activation: step.activation,
                pooled,
                training,
                seed: node_seed(self.seed, node.origin),
            };
            body.extend(node.op.encode_forward(ctx, &io)?);
        }
        Ok(body)
    }

    /// Every node's backward launches, in reverse (but the head's: the loss launch runs it).
    fn backward(
        &self,
        ctx: &GpuContext,
        rows: usize,
        (nodes, steps, head): Schedule<'_>,
        acts: &Activations,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let mut body = Vec::new();
        for (i, (node, step)) in nodes.iter().zip(steps).enumerate().rev() {
            if head == Some(i) {
                continue;
            }
            let (x, y) = acts.io[i];
            let Some(dy) = &acts.grads[y] else {
                continue; // a view of the raw batch: nothing to propagate
            };
            if step.pass == Pass::View {
                continue; // the gradient buffer is shared with the input's
            }
            let (tensors, grads) = self.tensors(node, &acts.scratch[i]);
            let dy_shape = step
                .dy_columns
                .map_or(node.output.batched(rows), |g| columns_shape(&g));
            let dx_shape = match (step.dx_as_columns, node.op.input_gradient_columns()) {
                (true, Some(g)) => columns_shape(&g),
                _ => node.input.batched(rows),
            };
            let io = BackwardIo {
                label: &node.label,
                x: View::whole(&acts.buffers[x], node.input.batched(rows)),
                tensors,
                dy: View::whole(dy, dy_shape),
                grads,
                dx: acts.grads[x].as_ref().map(|dx| View::whole(dx, dx_shape)),
                mask_input: step.mask_input,
                dy_columns: step.dy_columns,
                dx_as_columns: step.dx_as_columns,
                seed: node_seed(self.seed, node.origin),
            };
            body.extend(node.op.encode_backward(ctx, &io)?);
        }
        Ok(body)
    }

    /// The loss, accuracy and logits gradient of the last node's output (with the head's
    /// forward before and its gradients after, where the plan has one); the class
    /// probabilities when asked for.
    fn loss(
        &self,
        ctx: &GpuContext,
        rows: usize,
        acts: &Activations,
        io: LossIo<'_>,
        purpose: Purpose<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let classes = self.spec.classes;
        let last = acts.io.last().map_or(0, |io| io.1);
        let logits = &acts.buffers[last];
        // Inference writes no gradient; the kernel still takes a binding for it.
        let scratch;
        let (logits_grad, launch) = match &acts.grads[last] {
            Some(grad) => (grad, softmax_xent::Launch::TRAINING),
            None => {
                scratch = buffers::storage(ctx, "logits.grad (unused)", 4)?;
                (&scratch, softmax_xent::Launch::inference(rows))
            }
        };
        let mut shape = softmax_xent::Params {
            rows: rows as u32,
            classes: classes as u32,
            ..Default::default()
        };
        let head = match io.head {
            Some((node, step, x)) => {
                Some(self.head(node, step, &acts.buffers[x], &acts.grads[x], &mut shape)?)
            }
            None => None,
        };
        let io = softmax_xent::Io {
            logits: whole(logits),
            labels: whole(io.labels),
            grad: whole(logits_grad),
            metrics: whole(io.metrics),
            head,
        };
        let loss = softmax_xent::encode_forward(ctx, "softmax_xent", shape, launch, io)?;
        let mut launches = vec![loss];
        if let Purpose::Evaluate {
            probabilities: Some(probabilities),
        } = purpose
        {
            let params = softmax::Params {
                rows: rows as u32,
                classes: classes as u32,
                ..Default::default()
            };
            let io = softmax::Io {
                logits: whole(logits),
                probabilities: whole(probabilities),
            };
            launches.push(softmax::encode_forward(ctx, "softmax", params, io)?);
        }
        Ok(launches)
    }
}

/// The shape of a column gradient, `[B·OH·OW, KH·KW·C_in]`.
fn columns_shape(geometry: &col2im::Geometry) -> Vec<usize> {
    vec![geometry.column_rows(), geometry.column_len()]
}

/// The nodes of a plan, how each runs, and which one the loss launch runs as the head.
type Schedule<'a> = (&'a [Node], &'a [Step], Option<usize>);

/// What the loss launch reads and writes besides the logits: the labels, the metrics rows,
/// and the head's node, step and input buffer index where the plan has one.
struct LossIo<'a> {
    labels: &'a wgpu::Buffer,
    metrics: &'a wgpu::Buffer,
    head: Option<(&'a Node, &'a Step, usize)>,
}

impl Network {
    /// The head's bindings for the loss launch, and its sizes and slab offsets in `shape`.
    fn head<'a>(
        &'a self,
        node: &Node,
        step: &Step,
        x: &'a wgpu::Buffer,
        dx: &'a Option<wgpu::Buffer>,
        shape: &mut softmax_xent::Params,
    ) -> Result<softmax_xent::Head<'a>, GpuError> {
        let missing = |what: &str| GpuError::Wgpu {
            context: node.label.clone(),
            message: format!("the classifier head has no {what}"),
        };
        let sizes = node.op.head_shape().ok_or_else(|| missing("Dense sizes"))?;
        let offset_of = |tensor: &str| {
            let name = format!("{}.{tensor}", node.label);
            let slot = self
                .slab
                .layout
                .index_of(&name)
                .ok_or_else(|| missing(tensor))?;
            Ok::<u32, GpuError>(self.slab.layout.tensors[slot].offset as u32)
        };
        shape.inputs = sizes.inputs as u32;
        shape.kernel_at = offset_of("kernel")?;
        shape.bias_at = offset_of("bias")?;
        Ok(softmax_xent::Head {
            x: whole(x),
            weights: whole(&self.slab.params),
            weight_grads: whole(&self.slab.grads),
            dx: dx.as_ref().map(whole),
            mask_input: step.mask_input,
        })
    }
}
