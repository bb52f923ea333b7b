//! Planning, with no device: a model's layers become a list of [`Node`]s (each layer's op, and
//! the activation its `activation` field expands to), and the planner decides how each node
//! runs in training or inference, folding activations into their neighbours where both sides
//! can ([`Fusion`]). Encoding the plan into launches is `network.rs`'s job.
//!
//! The activation fusion: an activation node whose producer can apply it in its forward
//! epilogue (Dense, Conv2D) becomes a view of the producer's output. In inference any
//! activation folds. In training only a ReLU does, and only where the first kernel after it
//! (looking through views such as Flatten) can zero its input gradient where its input is not
//! positive (Dense, Conv2D, pooling), which is exactly ReLU's backward. The other functions'
//! backward needs their input, the pre-activation, which a fused forward does not keep. Where
//! either side cannot, the activation runs as its own kernels.
//!
//! The pooling fusion: a 2×2, stride-2 pooling right after a convolution (but for views) is
//! computed by the convolution's forward launch, whose rows then run over pooling windows.
//!
//! The col2im fusion: in training, a convolution whose input gradient goes through its column
//! gradient ([`crate::layers::col2im`]) leaves the col2im sum to the backward of a pooling
//! layer right before it, which reads the column gradient as its output gradient.

use super::shape::LayerInfo;
use super::spec::{Activation, LayerSpec};
use super::ModelError;
use crate::gpu::LaunchProfile;
use crate::layers::activation::ActivationLayer;
use crate::layers::activation::Function;
use crate::layers::col2im;
use crate::layers::layer::{Layer, Op, Pass};
use crate::layers::matmul::passes::{forward_epilogue, Gemm, BACKWARD_WEIGHT_EPILOGUE};
use crate::layers::matmul::{Epilogue, GemmPlan};
use crate::layers::shape::Shape;

/// Which optimisations the planner applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fusion {
    /// Fold ReLUs into the GEMM that produces them and the backward that consumes them.
    pub activations: bool,
    /// In training, run a last Dense layer inside the loss launch ([`head`]).
    pub head: bool,
    /// In training, sum a convolution's column gradient in the backward of the pooling layer
    /// before it, instead of in a col2im launch of its own.
    pub col2im: bool,
    /// Compute a 2×2, stride-2 pooling layer's forward in the launch of the convolution
    /// before it.
    pub pooling: bool,
}

impl Fusion {
    /// Every fusion (the default).
    pub const ALL: Self = Self {
        activations: true,
        head: true,
        col2im: true,
        pooling: true,
    };
    /// None: every node runs its own kernels (the plain path fusions are tested against).
    pub const NONE: Self = Self {
        activations: false,
        head: false,
        col2im: false,
        pooling: false,
    };
}

/// The most multiply-adds of one pass of a head the loss launch runs (in one workgroup):
/// beyond it the Dense layer's own GEMMs, spread over the device, are faster.
pub const MAX_HEAD_PRODUCT: usize = 1 << 22;

/// The node the loss launch runs as the classifier head, if any: in training with
/// `fusion.head`, the last node when it is a Dense kernel with no fused activation (its
/// softmax is the loss's) whose product is at most [`MAX_HEAD_PRODUCT`].
pub fn head(nodes: &[Node], steps: &[Step], training: bool, fusion: Fusion) -> Option<usize> {
    let last = nodes.len().checked_sub(1)?;
    let shape = nodes[last].op.head_shape()?;
    let fits = shape.rows * shape.inputs * shape.units <= MAX_HEAD_PRODUCT;
    let plain = steps[last].pass == Pass::Kernel && steps[last].activation == Function::Linear;
    (training && fusion.head && fits && plain).then_some(last)
}

impl Default for Fusion {
    fn default() -> Self {
        Self::ALL
    }
}

/// One op of the plan.
pub struct Node {
    /// Prefix of its launch labels: the layer's name, or `name.activation`.
    pub label: String,
    /// The layer whose tensors it uses (an expanded activation uses none).
    pub layer: Option<usize>,
    /// Index of the layer it comes from (seeds its random streams).
    pub origin: usize,
    /// What runs.
    pub op: Box<dyn Op>,
    /// Shape of one sample of its input.
    pub input: Shape,
    /// Shape of one sample of its output.
    pub output: Shape,
}

/// How one node runs in a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// A kernel, or a view of the input.
    pub pass: Pass,
    /// The activation fused into its forward epilogue.
    pub activation: Function,
    /// Its backward zeroes the input gradient where the input is not positive.
    pub mask_input: bool,
    /// Its output gradient is the next node's column gradient, of this geometry.
    pub dy_columns: Option<col2im::Geometry>,
    /// Its backward writes the input gradient as its column gradient alone.
    pub dx_as_columns: bool,
    /// The pooling node whose forward its forward launch computes too.
    pub pools_into: Option<usize>,
    /// Its forward runs in the launch of the node before it (a folded pooling).
    pub forward_in_producer: bool,
}

/// Whether `spec` is the output softmax the loss kernel applies itself.
fn is_loss_softmax(spec: &LayerSpec) -> bool {
    matches!(spec, LayerSpec::Activation(ActivationLayer { activation }) if *activation == Activation::Softmax)
}

/// Every node of `layers` at batch size `rows`: each layer's op, then an activation node where
/// its `activation` field asks for one. The output softmax is the loss's and gets no node.
pub fn nodes(layers: &[LayerInfo], rows: usize) -> Result<Vec<Node>, ModelError> {
    let mut nodes = Vec::with_capacity(layers.len() + 4);
    for (index, info) in layers.iter().enumerate() {
        if is_loss_softmax(&info.spec) {
            continue;
        }
        let layer = info.spec.layer();
        let problem = |p: crate::layers::layer::Problem| ModelError::Layer {
            index,
            layer: info.name.clone(),
            problem: p.problem,
            input: info.input.to_string(),
            hint: p.hint,
        };
        nodes.push(Node {
            label: info.name.clone(),
            layer: Some(index),
            origin: index,
            op: layer.op(info.input, rows).map_err(problem)?,
            input: info.input,
            output: info.output,
        });
        let activation = info.activation();
        if activation.function().is_some_and(|f| f != Function::Linear) {
            let layer = ActivationLayer { activation };
            nodes.push(Node {
                label: format!("{}.activation", info.name),
                layer: None,
                origin: index,
                op: layer.op(info.output, rows).map_err(problem)?,
                input: info.output,
                output: info.output,
            });
        }
    }
    Ok(nodes)
}

/// How each of `nodes` runs, in training or inference, with `fusion`.
pub fn schedule(nodes: &[Node], training: bool, fusion: Fusion) -> Vec<Step> {
    let mut steps: Vec<Step> = nodes
        .iter()
        .map(|node| Step {
            pass: node.op.pass(training),
            activation: Function::Linear,
            mask_input: false,
            dy_columns: None,
            dx_as_columns: false,
            pools_into: None,
            forward_in_producer: false,
        })
        .collect();
    if fusion.activations {
        fuse_activations(nodes, training, &mut steps);
    }
    if training && fusion.col2im {
        fuse_col2im(nodes, &mut steps);
    }
    if fusion.pooling {
        fuse_pooling(nodes, &mut steps);
    }
    steps
}

/// Folds each 2×2, stride-2 pooling into the forward of the convolution before it (looking
/// through views, such as a ReLU already folded into the convolution) where the convolution
/// can pool its output.
fn fuse_pooling(nodes: &[Node], steps: &mut [Step]) {
    for conv in 0..nodes.len() {
        let produces = steps[conv].pass == Pass::Kernel && nodes[conv].op.pools_output();
        let next = (conv + 1..nodes.len()).find(|&i| steps[i].pass == Pass::Kernel);
        let Some(pool) = next.filter(|_| produces) else {
            continue;
        };
        if nodes[pool].op.pooling_2x2().is_some() {
            steps[conv].pools_into = Some(pool);
            steps[pool].forward_in_producer = true;
        }
    }
}

/// Folds each activation into its producer's epilogue where the producer can apply it; in
/// training only a ReLU, and only where its consumer's backward can apply its mask.
fn fuse_activations(nodes: &[Node], training: bool, steps: &mut [Step]) {
    for node in 1..nodes.len() {
        let Some(function) = nodes[node].op.elementwise() else {
            continue;
        };
        if steps[node].pass != Pass::Kernel {
            continue;
        }
        let producer = node - 1;
        let produces = steps[producer].pass == Pass::Kernel
            && nodes[producer].op.fuses_activation()
            && steps[producer].activation == Function::Linear;
        let consumer = (node + 1..nodes.len()).find(|&i| steps[i].pass == Pass::Kernel);
        let consumes = !training
            || function == Function::Relu
                && consumer.is_some_and(|consumer| nodes[consumer].op.masks_input_gradient());
        if produces && consumes {
            steps[producer].activation = function;
            steps[node].pass = Pass::View;
            if let (true, Some(consumer)) = (training, consumer) {
                steps[consumer].mask_input = true;
            }
        }
    }
}

/// Leaves each convolution's col2im to the backward of the kernel node right before it where
/// that node can read a column gradient (pooling), and the convolution masks nothing itself.
fn fuse_col2im(nodes: &[Node], steps: &mut [Step]) {
    for conv in 1..nodes.len() {
        let Some(geometry) = nodes[conv].op.input_gradient_columns() else {
            continue;
        };
        let before = conv - 1;
        let fits = steps[conv].pass == Pass::Kernel
            && !steps[conv].mask_input
            && steps[before].pass == Pass::Kernel
            && nodes[before].op.reads_column_gradient();
        if fits {
            steps[conv].dx_as_columns = true;
            steps[before].dy_columns = Some(geometry);
        }
    }
}

/// One GEMM launch of a plan, as the layers' encoders run it on a device of some profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GemmLaunch {
    /// The launch's label (`conv2d_1.forward`).
    pub label: String,
    /// Its sizes and how it reads its operands.
    pub gemm: Gemm,
    /// What happens to each sum.
    pub epilogue: Epilogue,
    /// Its tile, k split and grid.
    pub plan: GemmPlan,
}

impl GemmLaunch {
    /// Floating-point operations of the product, `2·m·n·k`.
    pub fn flops(&self) -> u64 {
        let params = &self.gemm.params;
        2 * u64::from(params.m) * u64::from(params.n) * u64::from(params.k)
    }
}

/// Every GEMM launch of `nodes` run as `steps`, planned for `profile`, in the order the
/// network encodes them: the forwards, then (in training) each layer's weight and input
/// gradients in reverse. The head's passes run inside the loss launch and are not listed.
pub fn gemm_launches(
    nodes: &[Node],
    steps: &[Step],
    head: Option<usize>,
    training: bool,
    profile: &LaunchProfile,
) -> Vec<GemmLaunch> {
    let runs = |i: usize| steps[i].pass == Pass::Kernel && head != Some(i);
    let forwards = |i: usize| runs(i) && !steps[i].forward_in_producer;
    let launch = |i: usize, pass: &str, gemm: Gemm, epilogue: Epilogue| GemmLaunch {
        label: format!("{}.{pass}", nodes[i].label),
        gemm,
        epilogue,
        plan: gemm.plan(epilogue, profile),
    };
    let mut launches = Vec::new();
    for (i, node) in nodes.iter().enumerate().filter(|&(i, _)| forwards(i)) {
        let gemms = node.op.kernel_gemms();
        let epilogue = forward_epilogue(steps[i].activation);
        let pooled = steps[i].pools_into.and_then(|p| nodes[p].op.pooling_2x2());
        if let Some(gemm) = gemms.and_then(|gemms| gemms.forward_gemm(pooled)) {
            launches.push(launch(i, "forward", gemm, epilogue));
        }
    }
    if !training {
        return launches;
    }
    for (i, node) in nodes.iter().enumerate().rev().filter(|&(i, _)| runs(i)) {
        let Some(gemms) = node.op.kernel_gemms() else {
            continue;
        };
        let weight = gemms.backward_weight;
        launches.push(launch(
            i,
            "backward_weight",
            weight,
            BACKWARD_WEIGHT_EPILOGUE,
        ));
        // The batch has no gradient: a layer with no kernel before it has no input gradient.
        if steps[..i].iter().any(|step| step.pass == Pass::Kernel) {
            let input = gemms.backward_input;
            let epilogue = input.epilogue(steps[i].mask_input);
            launches.push(launch(i, "backward_input", input.gemm(), epilogue));
        }
    }
    launches
}
