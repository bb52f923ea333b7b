//! The whole network on the CPU, built from the layers' `cpu.rs` references: the oracle for
//! the golden-run test (GPU and CPU from the same initial values, step for step) and for the
//! network-level gradient check.

use super::shape::LayerInfo;
use super::spec::{Activation, LayerSpec};
use crate::gpu::slab::SlabLayout;
use crate::layers::dense::{self, DenseShape};
use crate::layers::softmax_xent::{self, Metrics};
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

fn dense_shape(layer: &LayerInfo, rows: usize) -> Option<DenseShape> {
    match layer.spec {
        LayerSpec::Dense { units, .. } => Some(DenseShape {
            rows,
            inputs: layer.input.len(),
            units,
        }),
        _ => None,
    }
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

    fn tensor(&self, values: &[f32], index: usize) -> Vec<f32> {
        let slot = &self.layout.tensors[index];
        values[slot.offset..slot.offset + slot.len].to_vec()
    }

    /// Each layer's output for `batch` (`rows` samples), the input first.
    pub fn forward(&self, batch: &[f32], rows: usize) -> Vec<Vec<f32>> {
        let mut outputs = vec![batch.to_vec()];
        let mut p = 0;
        for layer in &self.layers {
            let x = outputs.last().cloned().unwrap_or_default();
            let y = match dense_shape(layer, rows) {
                Some(shape) => dense::cpu::forward(
                    shape,
                    layer.activation() == Activation::Relu,
                    &x,
                    &self.tensor(&self.params, p),
                    &self.tensor(&self.params, p + 1),
                ),
                None => x,
            };
            p += layer.params.len();
            outputs.push(y);
        }
        outputs
    }

    /// Loss metrics and the full gradient slab for one batch.
    pub fn gradients(
        &self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
    ) -> (Metrics, Vec<f32>) {
        let outputs = self.forward(batch, rows);
        let params = softmax_xent::Params {
            rows: rows as u32,
            classes: self.classes as u32,
            ..Default::default()
        };
        let logits = outputs.last().cloned().unwrap_or_default();
        let (mut dz, metrics) = softmax_xent::cpu::forward(&params, &logits, labels, batch_rows);
        let mut grads = vec![0.0; self.layout.total];
        let mut p = self.layout.tensors.len();
        for (index, layer) in self.layers.iter().enumerate().rev() {
            p -= layer.params.len();
            let Some(shape) = dense_shape(layer, rows) else {
                continue; // Flatten: the gradient passes through unchanged.
            };
            let x = &outputs[index];
            let input_is_relu = self.layers[..index]
                .iter()
                .rev()
                .find(|l| !matches!(l.spec, LayerSpec::Flatten))
                .is_some_and(|l| l.activation() == Activation::Relu);
            let g =
                dense::cpu::backward(shape, input_is_relu, x, &self.tensor(&self.params, p), &dz);
            for (slot, values) in [(p, &g.kernel), (p + 1, &g.bias)] {
                let offset = self.layout.tensors[slot].offset;
                grads[offset..offset + values.len()].copy_from_slice(values);
            }
            dz = g.input;
        }
        (metrics, grads)
    }

    /// One training step (gradients, then Adam); returns the step's metrics.
    pub fn train_step(
        &mut self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
        config: &AdamConfig,
    ) -> Metrics {
        let (metrics, grads) = self.gradients(batch, labels, rows, batch_rows);
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
        metrics
    }
}
