//! The whole network on the CPU, built from the layers' CPU twins: the oracle for the
//! golden-run test (GPU and CPU from the same initial values, step for step) and for the
//! network-level gradient check. Forward is a loop over the plan's nodes, backward the same
//! loop in reverse; nothing is fused here.

use super::network::node_seed;
use super::plan::{nodes, Node};
use super::shape::{LayerInfo, Role};
use super::ModelError;
use crate::gpu::slab::SlabLayout;
use crate::layers::layer::{CpuStep, HostTensors};
use crate::layers::softmax_xent::{self, Metrics};
use crate::optim::OptimizerConfig;

/// Parameters, state and the optimizer's state on the host, in the same layouts as the GPU.
pub struct CpuNetwork {
    layers: Vec<LayerInfo>,
    layout: SlabLayout,
    state_layout: SlabLayout,
    classes: usize,
    seed: u64,
    /// Parameter values.
    pub params: Vec<f32>,
    /// Non-trainable state (moving statistics).
    pub state: Vec<f32>,
    /// The optimizer's state in `m` (Adam's first moment).
    pub m: Vec<f32>,
    /// The optimizer's state in `v` (Adam's second moment).
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: u64,
}

/// A forward pass on the host: the nodes run, every node's output (the input first) and each
/// node's tensors as the forward left them.
type ForwardRun = (Vec<Node>, Vec<Vec<f32>>, Vec<HostTensors>);

/// Where the tensors of one node live in the two slabs.
struct Slots {
    trainable: Vec<(&'static str, usize)>,
    state: Vec<(&'static str, usize)>,
}

impl CpuNetwork {
    /// A network with these layers, initial `params` (laid out as `layout`) and `state` (laid
    /// out as `state_layout`); `seed` seeds the random streams as the GPU network's does.
    pub fn new(
        layers: Vec<LayerInfo>,
        (layout, state_layout): (SlabLayout, SlabLayout),
        classes: usize,
        (params, state): (Vec<f32>, Vec<f32>),
        seed: u64,
    ) -> Self {
        let total = layout.total;
        Self {
            layers,
            layout,
            state_layout,
            classes,
            seed,
            params,
            state,
            m: vec![0.0; total],
            v: vec![0.0; total],
            t: 0,
        }
    }

    fn slots(&self, node: &Node) -> Slots {
        let mut slots = Slots {
            trainable: Vec::new(),
            state: Vec::new(),
        };
        let Some(index) = node.layer else {
            return slots;
        };
        let layer = &self.layers[index];
        for (name, tensor) in layer.tensors_of(Role::Trainable) {
            slots
                .trainable
                .extend(self.layout.index_of(&name).map(|i| (tensor.name, i)));
        }
        for (name, tensor) in layer.tensors_of(Role::State) {
            slots
                .state
                .extend(self.state_layout.index_of(&name).map(|i| (tensor.name, i)));
        }
        slots
    }

    /// The host tensors of one node, copied out of the slabs.
    fn tensors(&self, slots: &Slots) -> HostTensors {
        let copy = |layout: &SlabLayout, values: &[f32], index: usize| {
            let slot = &layout.tensors[index];
            values[slot.offset..slot.offset + slot.len].to_vec()
        };
        let trainable = slots
            .trainable
            .iter()
            .map(|&(name, i)| (name, copy(&self.layout, &self.params, i)));
        let state = slots
            .state
            .iter()
            .map(|&(name, i)| (name, copy(&self.state_layout, &self.state, i)));
        trainable.chain(state).collect()
    }

    /// Runs the forward pass over `batch` (`rows` samples, the first `batch_rows` real):
    /// every node's output, the input first, and each node's tensors as the forward left them
    /// (scratch, and in training the updated state, included).
    fn run_forward(
        &self,
        batch: &[f32],
        rows: usize,
        step: CpuStep,
    ) -> Result<ForwardRun, ModelError> {
        let nodes = nodes(&self.layers, rows)?;
        let mut outputs = vec![batch.to_vec()];
        let mut all_tensors = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let mut tensors = self.tensors(&self.slots(node));
            let node_step = CpuStep {
                seed: node_seed(self.seed, node.origin),
                ..step
            };
            let y = node
                .op
                .cpu_forward(node_step, &outputs[outputs.len() - 1], &mut tensors);
            outputs.push(y);
            all_tensors.push(tensors);
        }
        Ok((nodes, outputs, all_tensors))
    }

    /// Each node's output for `batch` (`rows` samples), the input first, in inference.
    pub fn forward(&self, batch: &[f32], rows: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let step = CpuStep {
            training: false,
            batch_rows: rows,
            step: 0,
            seed: 0,
        };
        Ok(self.run_forward(batch, rows, step)?.1)
    }

    /// Loss metrics and the full gradient slab for one training batch of `rows` (the first
    /// `batch_rows` real), at the current step; updates the state (moving statistics).
    pub fn gradients(
        &mut self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
    ) -> Result<(Metrics, Vec<f32>), ModelError> {
        let step = CpuStep {
            training: true,
            batch_rows,
            step: self.t as u32,
            seed: 0,
        };
        let (nodes, outputs, tensors) = self.run_forward(batch, rows, step)?;
        // The state (moving statistics) as the training forward left it, as on the GPU.
        for (node, node_tensors) in nodes.iter().zip(&tensors) {
            for (name, index) in self.slots(node).state {
                let slot = &self.state_layout.tensors[index];
                let values = &mut self.state[slot.offset..slot.offset + slot.len];
                values.copy_from_slice(&node_tensors[name]);
            }
        }
        let params = softmax_xent::Params {
            rows: rows as u32,
            classes: self.classes as u32,
            ..Default::default()
        };
        let logits = &outputs[outputs.len() - 1];
        let (mut dy, metrics) = softmax_xent::cpu::forward(&params, logits, labels, batch_rows);
        let mut grads = vec![0.0; self.layout.total];
        for (i, node) in nodes.iter().enumerate().rev() {
            let node_step = CpuStep {
                seed: node_seed(self.seed, node.origin),
                ..step
            };
            let result = node
                .op
                .cpu_backward(node_step, &outputs[i], &dy, &tensors[i]);
            for (name, index) in self.slots(node).trainable {
                let slot = &self.layout.tensors[index];
                grads[slot.offset..slot.offset + slot.len].copy_from_slice(&result.tensors[name]);
            }
            dy = result.dx;
        }
        Ok((metrics, grads))
    }

    /// One training step (gradients, then the optimizer at its own learning rate: give a
    /// scheduled step the optimizer set to that step's rate); returns the step's metrics.
    pub fn train_step(
        &mut self,
        batch: &[f32],
        labels: &[u32],
        rows: usize,
        batch_rows: usize,
        optimizer: &OptimizerConfig,
    ) -> Result<Metrics, ModelError> {
        let (metrics, grads) = self.gradients(batch, labels, rows, batch_rows)?;
        self.t += 1;
        optimizer.cpu_step(
            self.t,
            optimizer.learning_rate(),
            &grads,
            &mut self.params,
            &mut self.m,
            &mut self.v,
        );
        Ok(metrics)
    }
}
