//! The network on the GPU: its parameter slab, and the dispatch plans (built once) that run a
//! batch through it: gather → each layer's forward → softmax cross-entropy → (training) each
//! layer's backward in reverse → one Adam dispatch.

use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::shape::{self, LayerInfo};
use super::spec::{Activation, LayerSpec, ModelSpec};
use crate::error::Error;
use crate::gpu::slab::{self, ParamSlab, SlabLayout};
use crate::gpu::step_table::StepTable;
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, KernelCache};
use crate::layers::dense::{self, DenseShape};
use crate::layers::gather::{self, Source};
use crate::layers::softmax_xent;
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

    /// Launches per step (gather included).
    pub fn dispatches_per_step(&self) -> usize {
        1 + self.body.len()
    }
}

/// Which buffer holds each activation, and what produced it.
struct Tensor {
    buffer: wgpu::Buffer,
    grad: Option<wgpu::Buffer>,
    /// Produced by a layer (not the input batch): it has a gradient in training.
    produced: bool,
    /// It is a ReLU output, so its gradient is masked by `value > 0`.
    relu: bool,
}

impl Network {
    /// Resolves `spec`'s shapes, initialises its parameters from `seed` and uploads them.
    pub fn new(ctx: &GpuContext, spec: ModelSpec, seed: u64) -> Result<Self, Error> {
        let layers = shape::infer(&spec)?;
        let layout = slab_layout(&layers, slab::alignment(ctx));
        let values = glorot_init(&layout, seed);
        let slab = ParamSlab::new(ctx, layout, &values)?;
        Ok(Self { spec, layers, slab })
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.slab.layout.param_count()
    }

    /// Builds the plan for batches of `rows` from each of `sources`; with `adam`, a training
    /// step (backward and update), without, inference with loss and accuracy. Metrics go to
    /// `metrics` (one [`softmax_xent::Metrics`] row per step).
    pub fn plan(
        &self,
        ctx: &GpuContext,
        cache: &KernelCache,
        rows: usize,
        sources: &[Source<'_>],
        metrics: &wgpu::Buffer,
        adam: Option<&AdamConfig>,
    ) -> Result<Plan, GpuError> {
        let training = adam.is_some();
        let input_len = self.spec.input.iter().product::<usize>();
        let new_buffer = |label: &str, values: usize| {
            buffers::storage(
                ctx,
                &format!("{label} [{rows}, {}]", values / rows.max(1)),
                (values * 4) as u64,
            )
        };
        let batch_labels = new_buffer("batch.labels", rows)?;
        let mut tensors = vec![Tensor {
            buffer: new_buffer("batch", rows * input_len)?,
            grad: None,
            produced: false,
            relu: false,
        }];
        // tensor_of[i] = (input tensor, output tensor) of layer i.
        let mut tensor_of = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let input = tensors.len() - 1;
            match layer.spec {
                LayerSpec::Flatten => tensor_of.push((input, input)),
                LayerSpec::Dense { .. } => {
                    let len = rows * layer.output.len();
                    tensors.push(Tensor {
                        buffer: new_buffer(&format!("{}.output", layer.name), len)?,
                        grad: Some(new_buffer(&format!("{}.output_grad", layer.name), len)?)
                            .filter(|_| training),
                        produced: true,
                        relu: layer.activation() == Activation::Relu,
                    });
                    tensor_of.push((input, tensors.len() - 1));
                }
                _ => unimplemented!("conv"),
            }
        }
        let logits_tensor = tensors.len() - 1;
        // Inference still writes the loss gradient: give it a scratch buffer.
        let logits_grad = match &tensors[logits_tensor].grad {
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

        let mut body = Vec::new();
        let mut param_index = 0;
        let mut first_param = Vec::with_capacity(self.layers.len());
        for (layer, &(input, output)) in self.layers.iter().zip(&tensor_of) {
            first_param.push(param_index);
            if let LayerSpec::Dense { units, activation } = layer.spec {
                let shape = DenseShape {
                    rows,
                    inputs: layer.input.len(),
                    units,
                };
                body.push(dense::encode_forward(
                    ctx,
                    cache,
                    &layer.name,
                    shape,
                    activation == Activation::Relu,
                    tensors[input].buffer.as_entire_buffer_binding(),
                    self.slab.binding(&self.slab.params, param_index),
                    self.slab.binding(&self.slab.params, param_index + 1),
                    tensors[output].buffer.as_entire_buffer_binding(),
                )?);
            }
            param_index += layer.params.len();
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
            tensors[logits_tensor].buffer.as_entire_buffer_binding(),
            batch_labels.as_entire_buffer_binding(),
            logits_grad.as_entire_buffer_binding(),
            metrics.as_entire_buffer_binding(),
        )?);

        if let Some(adam) = adam {
            for (index, layer) in self.layers.iter().enumerate().rev() {
                let (input, output) = tensor_of[index];
                let LayerSpec::Dense { units, .. } = layer.spec else {
                    continue;
                };
                let shape = DenseShape {
                    rows,
                    inputs: layer.input.len(),
                    units,
                };
                let (Some(dz), p) = (&tensors[output].grad, first_param[index]) else {
                    continue;
                };
                body.extend(dense::encode_backward_weight(
                    ctx,
                    cache,
                    &layer.name,
                    shape,
                    tensors[input].buffer.as_entire_buffer_binding(),
                    dz.as_entire_buffer_binding(),
                    self.slab.binding(&self.slab.grads, p),
                    self.slab.binding(&self.slab.grads, p + 1),
                )?);
                if let (true, Some(dx)) = (tensors[input].produced, &tensors[input].grad) {
                    body.push(dense::encode_backward_input(
                        ctx,
                        cache,
                        &layer.name,
                        shape,
                        tensors[input].relu,
                        dz.as_entire_buffer_binding(),
                        self.slab.binding(&self.slab.params, p),
                        tensors[input].buffer.as_entire_buffer_binding(),
                        dx.as_entire_buffer_binding(),
                    )?);
                }
            }
            body.push(adam::encode_step(ctx, cache, adam, &self.slab)?);
        }
        Ok(Plan {
            rows,
            gathers,
            body,
            logits: tensors[logits_tensor].buffer.clone(),
        })
    }
}
