//! The activation table of one plan, with no device: which buffer each node reads and writes,
//! the size of every activation, gradient and scratch buffer, and their labels. The network
//! allocates exactly this table ([`crate::model::network`]) and the memory plan sizes it
//! ([`crate::model::memory`]), so the two cannot drift.

use super::plan::{Node, Step};
use super::shape::{LayerInfo, Role};
use crate::layers::layer::Pass;

/// One buffer of the table: its label (with its shape) and its size in f32 values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferDef {
    /// The wgpu label, e.g. `dense_1.output [32, 10]`.
    pub label: String,
    /// Values it holds (f32).
    pub values: u64,
    /// The layer it belongs to (index and name), `None` for the batch.
    pub layer: Option<(usize, String)>,
}

impl BufferDef {
    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        self.values.saturating_mul(4)
    }
}

/// The activation buffers of one plan: buffer 0 is the batch; node `i` reads `io[i].0` and
/// writes `io[i].1` (the same buffer for a view); `grads[b]` is the gradient of buffer `b`
/// (in training, for every buffer but the batch); `scratch[i]` node `i`'s scratch tensors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationLayout {
    /// Every activation buffer, the batch first.
    pub buffers: Vec<BufferDef>,
    /// The gradient of each buffer, where training computes one.
    pub grads: Vec<Option<BufferDef>>,
    /// The buffers each node reads and writes.
    pub io: Vec<(usize, usize)>,
    /// Each node's scratch tensors, by their names within the layer.
    pub scratch: Vec<Vec<(&'static str, BufferDef)>>,
}

/// The table of `nodes` run as `steps` over batches of `rows` samples of `input_len` values,
/// for training (gradients) or not. Sizes are computed in `u64`, saturating, so a size too
/// large for any device is reported by the memory check rather than wrapped.
pub fn activation_layout(
    layers: &[LayerInfo],
    nodes: &[Node],
    steps: &[Step],
    (rows, input_len): (usize, usize),
    training: bool,
) -> ActivationLayout {
    let batched = |values: usize| (rows as u64).saturating_mul(values as u64);
    let def = |label: &str, values: u64, layer: Option<(usize, String)>| BufferDef {
        label: format!("{label} [{rows}, {}]", values / rows.max(1) as u64),
        values,
        layer,
    };
    let mut layout = ActivationLayout {
        buffers: vec![def("batch", batched(input_len), None)],
        grads: vec![None],
        io: Vec::with_capacity(nodes.len()),
        scratch: Vec::with_capacity(nodes.len()),
    };
    for (node, step) in nodes.iter().zip(steps) {
        let owner = Some((node.origin, layers[node.origin].name.clone()));
        let input = layout.io.last().map_or(0, |io| io.1);
        if step.pass == Pass::View {
            layout.io.push((input, input));
        } else {
            let len = batched(node.output.len());
            let output = def(&format!("{}.output", node.label), len, owner.clone());
            layout.buffers.push(output);
            // The next convolution's column gradient, where it stands for this gradient.
            let grad_len = step.dy_columns.map_or(len, |g| g.column_values());
            let grad_label = format!("{}.output_grad", node.label);
            let grad = training.then(|| def(&grad_label, grad_len, owner.clone()));
            layout.grads.push(grad);
            layout.io.push((input, layout.buffers.len() - 1));
        }
        let scratch = node
            .layer
            .map(|index| layers[index].tensors_of(Role::Scratch));
        let scratch = scratch.into_iter().flatten().map(|(name, tensor)| {
            let buffer = BufferDef {
                label: name,
                values: tensor.len() as u64,
                layer: owner.clone(),
            };
            (tensor.name, buffer)
        });
        layout.scratch.push(scratch.collect());
    }
    layout
}
