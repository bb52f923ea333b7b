//! The network on the GPU: its parameter slab, and the dispatch plans (built once) that run a
//! batch through it: gather → each layer's forward → softmax cross-entropy → (training) each
//! layer's backward in reverse → one Adam dispatch.

use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::ops::{input_is_relu, layer_ops, LayerOp};
use super::shape::{self, LayerInfo};
use super::spec::ModelSpec;
use crate::error::Error;
use crate::gpu::buffers::{self, whole};
use crate::gpu::slab::{self, ParamSlab, SlabLayout};
use crate::gpu::step_table::StepTable;
use crate::gpu::{Dispatch, GpuContext, KernelCache};
use crate::layers::gather::{self, Source};
use crate::layers::{conv2d, dense, pool2d, softmax, softmax_xent};
use crate::optim::adam::{self, AdamConfig};

/// A model's layers with their parameters resident on the GPU.
pub struct Network {
    /// The model as specified.
    pub spec: ModelSpec,
    /// Its layers with shapes resolved.
    pub layers: Vec<LayerInfo>,
    /// Parameters, gradients and Adam moments.
    pub slab: ParamSlab,
}

/// The slab layout of `layers`' parameters, each tensor starting at a multiple of `align`.
pub fn slab_layout(layers: &[LayerInfo], align: usize) -> SlabLayout {
    SlabLayout::new(
        layers
            .iter()
            .flat_map(|layer| &layer.params)
            .map(|param| (param.name.clone(), param.shape.clone())),
        align,
    )
}

/// The slab index of each layer's first tensor (its kernel; the bias follows), in the order
/// [`slab_layout`] lays them out.
pub fn first_param_indices(layers: &[LayerInfo]) -> Vec<usize> {
    layers
        .iter()
        .scan(0, |next, layer| {
            let first = *next;
            *next += layer.params.len();
            Some(first)
        })
        .collect()
}

/// Keras initial values: glorot-uniform kernels, zero biases, drawn in layer order from `seed`.
pub fn glorot_init(layout: &SlabLayout, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values = vec![0.0; layout.total];
    for tensor in &layout.tensors {
        if tensor.shape.len() < 2 {
            continue; // biases start at zero
        }
        let (fan_in, fan_out) = fans(&tensor.shape);
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        // A non-empty symmetric range: Uniform::new only fails on an empty or infinite one.
        let Ok(uniform) = Uniform::new_inclusive(-limit, limit) else {
            continue;
        };
        for value in &mut values[tensor.offset..tensor.offset + tensor.len] {
            *value = uniform.sample(&mut rng);
        }
    }
    values
}

/// Keras's fan-in and fan-out of a kernel: the receptive field times the last two axes.
fn fans(shape: &[usize]) -> (usize, usize) {
    let receptive: usize = shape[..shape.len() - 2].iter().product();
    let inputs = shape[shape.len() - 2];
    let outputs = shape[shape.len() - 1];
    (receptive * inputs, receptive * outputs)
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
    /// Backward through every layer, then one Adam step.
    Train(&'a AdamConfig),
    /// Nothing more, or the softmax probabilities of each sample written at its position in
    /// `probabilities` (`[samples, classes]`).
    Evaluate {
        /// Where predictions go, if wanted.
        probabilities: Option<&'a wgpu::Buffer>,
    },
}

/// One activation buffer of a plan, with its gradient in training.
struct Tensor {
    buffer: wgpu::Buffer,
    grad: Option<wgpu::Buffer>,
}

impl Network {
    /// Resolves `spec`'s shapes, initialises its parameters from `seed` and uploads them.
    pub fn new(ctx: &GpuContext, spec: ModelSpec, seed: u64) -> Result<Self, Error> {
        Self::with_values(ctx, spec, |layout| glorot_init(layout, seed))
    }

    /// Resolves `spec`'s shapes and uploads the parameter values `values` returns for its
    /// slab layout (e.g. from a checkpoint).
    pub fn with_values(
        ctx: &GpuContext,
        spec: ModelSpec,
        values: impl FnOnce(&SlabLayout) -> Vec<f32>,
    ) -> Result<Self, Error> {
        let layers = shape::infer(&spec)?;
        let layout = slab_layout(&layers, slab::alignment(ctx));
        let values = values(&layout);
        let slab = ParamSlab::new(ctx, layout, &values)?;
        Ok(Self { spec, layers, slab })
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.slab.layout.param_count()
    }

    /// The most batch rows whose widest activation still fits one storage binding of this
    /// device (forward-only plans pick their batch within it).
    pub fn max_rows(&self, ctx: &GpuContext) -> usize {
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size);
        let input = self.spec.input.iter().product::<usize>();
        let widest = self
            .layers
            .iter()
            .map(|layer| layer.output.len())
            .fold(input, usize::max);
        (limit / (widest.max(1) as u64 * 4)).max(1) as usize
    }

    /// Builds the plan for batches of `rows` from each of `sources`: forward, loss and
    /// accuracy (metrics go to `metrics`, one [`softmax_xent::Metrics`] row per step), then
    /// what `purpose` asks for.
    pub fn plan(
        &self,
        ctx: &GpuContext,
        cache: &KernelCache,
        rows: usize,
        sources: &[Source<'_>],
        metrics: &wgpu::Buffer,
        purpose: Purpose<'_>,
    ) -> Result<Plan, Error> {
        let adam = match purpose {
            Purpose::Train(adam) => Some(adam),
            Purpose::Evaluate { .. } => None,
        };
        let ops = layer_ops(&self.layers, rows)?;
        let input_len = self.spec.input.iter().product::<usize>();
        let new_buffer = |label: &str, values: usize| {
            let label = format!("{label} [{rows}, {}]", values / rows.max(1));
            buffers::storage(ctx, &label, (values * 4) as u64)
        };
        let batch_labels = new_buffer("batch.labels", rows)?;
        let mut tensors = vec![Tensor {
            buffer: new_buffer("batch", rows * input_len)?,
            grad: None,
        }];
        // io[i] = (input tensor, output tensor) of layer i; Flatten outputs its input tensor.
        let mut io = Vec::with_capacity(ops.len());
        for (layer, op) in self.layers.iter().zip(&ops) {
            let input = tensors.len() - 1;
            if matches!(op, LayerOp::Flatten) {
                io.push((input, input));
                continue;
            }
            let len = rows * layer.output.len();
            let grad = match adam {
                Some(_) => Some(new_buffer(&format!("{}.output_grad", layer.name), len)?),
                None => None,
            };
            tensors.push(Tensor {
                buffer: new_buffer(&format!("{}.output", layer.name), len)?,
                grad,
            });
            io.push((input, tensors.len() - 1));
        }
        let logits = &tensors[tensors.len() - 1];
        // Inference still writes the loss gradient: give it a scratch buffer.
        let logits_grad = match &logits.grad {
            Some(grad) => grad.clone(),
            None => new_buffer("logits.grad", rows * self.spec.classes)?,
        };

        let gather_params = gather::Params {
            rows: rows as u32,
            sample_len: input_len as u32,
            ..Default::default()
        };
        let gathers = sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                gather::encode_forward(
                    ctx,
                    cache,
                    &format!("gather.source{i}"),
                    gather_params,
                    source,
                    tensors[0].buffer.as_entire_buffer_binding(),
                    batch_labels.as_entire_buffer_binding(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;

        // first_param[i]: slab index of layer i's kernel (its bias follows).
        let first_param = first_param_indices(&self.layers);
        let params = |index: usize| self.slab.binding(&self.slab.params, first_param[index]);
        let bias = |index: usize| self.slab.binding(&self.slab.params, first_param[index] + 1);

        let mut body = Vec::new();
        for (index, (layer, op)) in self.layers.iter().zip(&ops).enumerate() {
            let (x, y) = (
                whole(&tensors[io[index].0].buffer),
                whole(&tensors[io[index].1].buffer),
            );
            let name = &layer.name;
            match *op {
                LayerOp::Flatten => {}
                LayerOp::Dense { shape, relu } => body.push(dense::encode_forward(
                    ctx,
                    cache,
                    name,
                    shape,
                    relu,
                    x,
                    params(index),
                    bias(index),
                    y,
                )?),
                LayerOp::Conv2D { shape, relu } => body.push(conv2d::encode_forward(
                    ctx,
                    cache,
                    name,
                    &shape,
                    relu,
                    x,
                    params(index),
                    bias(index),
                    y,
                )?),
                LayerOp::Pool { kind, params } => body.push(pool2d::encode_forward(
                    ctx, cache, name, kind, params, x, y,
                )?),
            }
        }
        body.push(softmax_xent::encode_forward(
            ctx,
            cache,
            "softmax_xent",
            softmax_xent::Params {
                rows: rows as u32,
                classes: self.spec.classes as u32,
                ..Default::default()
            },
            whole(&logits.buffer),
            whole(&batch_labels),
            whole(&logits_grad),
            whole(metrics),
        )?);

        if let Purpose::Evaluate {
            probabilities: Some(probabilities),
        } = purpose
        {
            let params = softmax::Params {
                rows: rows as u32,
                classes: self.spec.classes as u32,
                ..Default::default()
            };
            let logits = whole(&logits.buffer);
            body.push(softmax::encode_forward(
                ctx,
                cache,
                "softmax",
                params,
                logits,
                whole(probabilities),
            )?);
        }
        if let Some(adam) = adam {
            let masked = input_is_relu(&ops);
            let grads = |index: usize| self.slab.binding(&self.slab.grads, first_param[index]);
            let bias_grads =
                |index: usize| self.slab.binding(&self.slab.grads, first_param[index] + 1);
            for (index, (layer, op)) in self.layers.iter().zip(&ops).enumerate().rev() {
                let (input, output) = (&tensors[io[index].0], &tensors[io[index].1]);
                let (Some(dy), x) = (&output.grad, whole(&input.buffer)) else {
                    continue; // Flatten of the raw input: nothing to propagate
                };
                let dx = input.grad.as_ref().map(whole);
                let name = &layer.name;
                match *op {
                    LayerOp::Flatten => {}
                    LayerOp::Dense { shape, .. } => {
                        body.extend(dense::encode_backward_weight(
                            ctx,
                            cache,
                            name,
                            shape,
                            x.clone(),
                            whole(dy),
                            grads(index),
                            bias_grads(index),
                        )?);
                        if let Some(dx) = dx {
                            body.push(dense::encode_backward_input(
                                ctx,
                                cache,
                                name,
                                shape,
                                masked[index],
                                whole(dy),
                                params(index),
                                x,
                                dx,
                            )?);
                        }
                    }
                    LayerOp::Conv2D { shape, .. } => {
                        body.extend(conv2d::encode_backward_weight(
                            ctx,
                            cache,
                            name,
                            &shape,
                            x.clone(),
                            whole(dy),
                            grads(index),
                            bias_grads(index),
                        )?);
                        if let Some(dx) = dx {
                            body.push(conv2d::encode_backward_input(
                                ctx,
                                cache,
                                name,
                                &shape,
                                masked[index],
                                whole(dy),
                                params(index),
                                x,
                                dx,
                            )?);
                        }
                    }
                    LayerOp::Pool { kind, params } => {
                        if let Some(dx) = dx {
                            body.push(pool2d::encode_backward_input(
                                ctx,
                                cache,
                                name,
                                kind,
                                params,
                                masked[index],
                                x,
                                whole(dy),
                                dx,
                            )?);
                        }
                    }
                }
            }
            body.push(adam::encode_step(ctx, cache, adam, &self.slab)?);
        }
        Ok(Plan {
            rows,
            gathers,
            body,
            logits: logits.buffer.clone(),
        })
    }
}
