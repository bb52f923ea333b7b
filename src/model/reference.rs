//! The whole network on the CPU, built from the layers' `cpu.rs` references: the oracle for
//! the golden-run test (GPU and CPU from the same initial values, step for step) and for the
//! network-level gradient check.

use super::network::first_param_indices;
use super::ops::{input_is_relu, layer_ops, LayerOp};
use super::shape::LayerInfo;
use super::ModelError;
use crate::gpu::slab::SlabLayout;
use crate::layers::softmax_xent::{self, Metrics};
use crate::layers::{conv2d, dense, pool2d, Gradients};
use crate::optim::adam::{self, AdamConfig};

/// Parameters and Adam state on the host, in the same slab layout as the GPU.
pub struct CpuNetwork {
    layers: Vec<LayerInfo>,
    layout: SlabLayout,
    classes: usize,
    /// Parameter values.
    pub params: Vec<f32>,
    /// Adam's first moment.
    pub m: Vec<f32>,
    /// Adam's second moment.
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: u64,
}

impl CpuNetwork {
    /// A network with these layers and initial `params` (laid out as `layout`).
    pub fn new(
        layers: Vec<LayerInfo>,
        layout: SlabLayout,
        classes: usize,
        params: Vec<f32>,
    ) -> Self {
        let total = layout.total;
        Self {
            layers,
            layout,
            classes,
            params,
            m: vec![0.0; total],
            v: vec![0.0; total],
            t: 0,
        }
    }

    fn tensor(&self, index: usize) -> &[f32] {
        let slot = &self.layout.tensors[index];
        &self.params[slot.offset..slot.offset + slot.len]
    }

    /// Each layer's output for `batch` (`rows` samples), the input first.
    pub fn forward(&self, batch: &[f32], rows: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let ops = layer_ops(&self.layers, rows)?;
        let first = first_param_indices(&self.layers);
        let mut outputs = vec![batch.to_vec()];
        for (index, op) in ops.iter().enumerate() {
            let x = &outputs[index];
            let (kernel, bias) = (
                || self.tensor(first[index]),
                || self.tensor(first[index] + 1),
            );
            let y = match *op {
                LayerOp::Flatten => x.clone(),
                LayerOp::Dense { shape, relu } => {
                    dense::cpu::forward(shape, relu, x, kernel(), bias())
                }
                LayerOp::Conv2D { shape, relu } => {
                    conv2d::cpu::forward(&shape, relu, x, kernel(), bias())
                }
                LayerOp::Pool { kind, params } => pool2d::cpu::forward(&params, kind, x),
            };
            outputs.push(y);
        }
        Ok(outputs)
    }

    /// Loss metrics and the full gradient slab for one batch of `rows` (the first
    /// `batch_rows` real).
    pub fn gradients(
        &self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
    ) -> Result<(Metrics, Vec<f32>), ModelError> {
        let ops = layer_ops(&self.layers, rows)?;
        let masked = input_is_relu(&ops);
        let first = first_param_indices(&self.layers);
        let outputs = self.forward(batch, rows)?;
        let params = softmax_xent::Params {
            rows: rows as u32,
            classes: self.classes as u32,
            ..Default::default()
        };
        let logits = &outputs[outputs.len() - 1];
        let (mut dy, metrics) = softmax_xent::cpu::forward(&params, logits, labels, batch_rows);
        let mut grads = vec![0.0; self.layout.total];
        for (index, op) in ops.iter().enumerate().rev() {
            let x = &outputs[index];
            let kernel = || self.tensor(first[index]);
            let layer_grads = match *op {
                LayerOp::Flatten => continue, // the gradient passes through unchanged
                LayerOp::Pool { kind, params } => {
                    dy = pool2d::cpu::backward_input(&params, kind, masked[index], x, &dy);
                    continue;
                }
                LayerOp::Dense { shape, .. } => {
                    dense::cpu::backward(shape, masked[index], x, kernel(), &dy)
                }
                LayerOp::Conv2D { shape, .. } => {
                    conv2d::cpu::backward(&shape, masked[index], x, kernel(), &dy)
                }
            };
            let Gradients {
                input,
                kernel,
                bias,
            } = layer_grads;
            for (slot, values) in [(first[index], &kernel), (first[index] + 1, &bias)] {
                let offset = self.layout.tensors[slot].offset;
                grads[offset..offset + values.len()].copy_from_slice(values);
            }
            dy = input;
        }
        Ok((metrics, grads))
    }

    /// One training step (gradients, then Adam); returns the step's metrics.
    pub fn train_step(
        &mut self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
        config: &AdamConfig,
    ) -> Result<Metrics, ModelError> {
        let (metrics, grads) = self.gradients(batch, labels, rows, batch_rows)?;
        self.t += 1;
        let params = config.params(self.layout.total);
        adam::cpu::step(
            &params,
            config.alpha(self.t),
            &grads,
            &mut self.params,
            &mut self.m,
            &mut self.v,
        );
        Ok(metrics)
    }
}
