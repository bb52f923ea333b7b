//! What a layer is: a value that knows its Keras fields, its shape rule, the tensors it owns and
//! the [`Op`] that runs it at a batch size, forward and backward, on the GPU and on the CPU.
//!
//! Launches take named, shaped tensor views ([`ForwardIo`], [`BackwardIo`]): inputs, then
//! outputs, the same names for every op (`x`, `y`, `dy`, `dx`, and each tensor by its Keras
//! name), so no launcher takes a row of positional bindings.

use std::collections::BTreeMap;

use super::activation::{Activation, Function};
use super::col2im;
use super::matmul::passes::KernelLayerGemms;
use super::shape::{PoolKind, Shape};
use crate::gpu::{Dispatch, GpuContext, GpuError};

/// Why one layer cannot be built: what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub hint: String,
}

impl Problem {
    /// A problem and its hint.
    pub fn new(problem: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

/// How a tensor starts (Keras's initializers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot (Xavier) uniform over the kernel's fans.
    GlorotUniform,
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
}

/// What a tensor is to training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Trained by the optimizer: lives in the parameter slab, has a gradient.
    Trainable,
    /// Model state that is not trained (moving statistics): saved in checkpoints.
    State,
    /// Per-plan working memory shared by a layer's forward and backward; never saved.
    Scratch,
}

/// One tensor a layer owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorDef {
    /// Keras's name within the layer (`kernel`, `bias`, `gamma`, `moving_mean`, ...).
    pub name: &'static str,
    /// Keras layout.
    pub shape: Vec<usize>,
    /// Initial value.
    pub init: Init,
    /// Trainable, state or scratch.
    pub role: Role,
}

impl TensorDef {
    /// Values in the tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A layer of a sequential model, as its model-file fields describe it.
pub trait Layer {
    /// Keras's class name (`Conv2D`, `MaxPooling2D`, ...).
    fn class_name(&self) -> &'static str;
    /// Keras's name stem (`conv2d`, `max_pooling2d`, ...), numbered to name layers.
    fn kind(&self) -> &'static str;
    /// The shape leaving the layer for the shape `input` reaching it, or what is wrong.
    fn output_shape(&self, input: Shape) -> Result<Shape, Problem>;
    /// The tensors the layer owns for `input` (parameters, state, scratch).
    fn tensors(&self, _input: Shape) -> Vec<TensorDef> {
        Vec::new()
    }
    /// The `activation` shorthand of Dense and Conv2D: an activation applied after the layer.
    fn activation(&self) -> Activation {
        Activation::Linear
    }
    /// The op that runs the layer on batches of `rows` samples of `input` (a shape
    /// [`Layer::output_shape`] accepted; any other is the same problem it reports).
    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem>;
}

/// A GPU buffer range with the shape of what it holds.
#[derive(Clone, Debug)]
pub struct View<'a> {
    /// Where the values are.
    pub binding: wgpu::BufferBinding<'a>,
    /// Their dimensions (`[rows, ...]` for activations, Keras's layout for tensors).
    pub shape: Vec<usize>,
}

impl<'a> View<'a> {
    /// All of `buffer`, holding a tensor of `shape`.
    pub fn whole(buffer: &'a wgpu::Buffer, shape: Vec<usize>) -> Self {
        Self {
            binding: buffer.as_entire_buffer_binding(),
            shape,
        }
    }

    /// Values in the view.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the view holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A layer's tensors (or their gradients) by Keras name.
#[derive(Clone, Debug, Default)]
pub struct Tensors<'a> {
    views: BTreeMap<&'static str, View<'a>>,
}

impl<'a> Tensors<'a> {
    /// Adds (or replaces) tensor `name`.
    pub fn insert(&mut self, name: &'static str, view: View<'a>) {
        self.views.insert(name, view);
    }

    /// Tensor `name`, or an error naming the launch that wanted it.
    pub fn get(&self, label: &str, name: &str) -> Result<wgpu::BufferBinding<'a>, GpuError> {
        self.views
            .get(name)
            .map(|view| view.binding.clone())
            .ok_or_else(|| GpuError::Wgpu {
                context: label.to_string(),
                message: format!("the plan gave no tensor `{name}`"),
            })
    }
}

/// What one forward launch reads and writes.
#[derive(Clone, Debug)]
pub struct ForwardIo<'a> {
    /// The layer's name, prefix of every launch label (`dense_1` → `dense_1.forward`).
    pub label: &'a str,
    /// The input `[rows, ...]`.
    pub x: View<'a>,
    /// Parameters, state and scratch by name.
    pub tensors: Tensors<'a>,
    /// The output `[rows, ...]`.
    pub y: View<'a>,
    /// An activation the planner fused into this launch ([`Op::fuses_activation`]).
    pub activation: Function,
    /// The pooling layer after this one, where the planner folded its forward into this
    /// launch ([`Op::pools_output`]): its kind and output `[rows, ...]`.
    pub pooled: Option<(PoolKind, View<'a>)>,
    /// Training (batch statistics, dropout) or inference.
    pub training: bool,
    /// The layer's seed for random streams (Dropout).
    pub seed: u32,
}

/// What one backward pass reads and writes.
#[derive(Clone, Debug)]
pub struct BackwardIo<'a> {
    /// The layer's name, prefix of every launch label.
    pub label: &'a str,
    /// The forward input `[rows, ...]`.
    pub x: View<'a>,
    /// Parameters, state and scratch by name.
    pub tensors: Tensors<'a>,
    /// The gradient of the output `[rows, ...]`.
    pub dy: View<'a>,
    /// Where each trainable tensor's gradient goes, by name.
    pub grads: Tensors<'a>,
    /// The gradient of the input, when anything before the layer needs it.
    pub dx: Option<View<'a>>,
    /// The planner fused the previous layer's ReLU: zero `dx` where `x <= 0`
    /// ([`Op::masks_input_gradient`]).
    pub mask_input: bool,
    /// `dy` is the column gradient of the next layer, a convolution of this geometry, whose
    /// col2im the planner folded into this backward ([`Op::reads_column_gradient`]).
    pub dy_columns: Option<col2im::Geometry>,
    /// Write `dx` as the column gradient alone: the previous layer's backward sums it
    /// ([`Op::input_gradient_columns`]).
    pub dx_as_columns: bool,
    /// The layer's seed for random streams (Dropout).
    pub seed: u32,
}

/// A layer's tensors on the host, by name.
pub type HostTensors = BTreeMap<&'static str, Vec<f32>>;

/// The CPU twin's view of one batch.
#[derive(Clone, Copy, Debug)]
pub struct CpuStep {
    /// Training or inference.
    pub training: bool,
    /// Real rows of the batch (the rest is padding).
    pub batch_rows: usize,
    /// Steps taken before this one in the run.
    pub step: u32,
    /// The layer's seed.
    pub seed: u32,
}

/// Gradients of one layer from its CPU twin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostGradients {
    /// Gradient of the input.
    pub dx: Vec<f32>,
    /// Gradient of each trainable tensor, by name.
    pub tensors: HostTensors,
}

/// How a layer's forward pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// One or more kernel launches write a new output.
    Kernel,
    /// The output is the input's buffer, reinterpreted (Flatten; Dropout in inference); the
    /// gradient passes through unchanged.
    View,
}

/// The sizes of a Dense layer run as the classifier head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadShape {
    /// Batch rows.
    pub rows: usize,
    /// Input features.
    pub inputs: usize,
    /// Output units (the classes).
    pub units: usize,
}

/// A layer at one batch size: its launches and its CPU twin.
pub trait Op {
    /// Whether forward writes a new buffer or is a view of its input, in training or not.
    fn pass(&self, _training: bool) -> Pass {
        Pass::Kernel
    }
    /// Whether its forward launch can apply an activation to its output in the same kernel.
    fn fuses_activation(&self) -> bool {
        false
    }
    /// Whether its backward can zero the input gradient where `x <= 0` in the same kernel.
    fn masks_input_gradient(&self) -> bool {
        false
    }
    /// Its sizes where it is a Dense layer the loss launch can run as the classifier head
    /// (`softmax_xent::Head`); `None` for every other op.
    fn head_shape(&self) -> Option<HeadShape> {
        None
    }
    /// Its GEMMs where it is a layer with a kernel and a bias (dense, conv2d), so a plan's
    /// launches can be listed with no device; `None` for every other op.
    fn kernel_gemms(&self) -> Option<KernelLayerGemms> {
        None
    }

    /// The geometry of its input gradient's column gradient, where its backward computes one
    /// (a convolution with fewer output than input pixels) and can leave the col2im sum to the
    /// previous layer's backward.
    fn input_gradient_columns(&self) -> Option<col2im::Geometry> {
        None
    }
    /// Whether its backward can read its output gradient as the next convolution's column
    /// gradient, summing it as col2im does (pooling).
    fn reads_column_gradient(&self) -> bool {
        false
    }
    /// Whether its forward launch can also write the 2×2, stride-2 pooling of its output
    /// (a convolution with an output of at least 2 × 2).
    fn pools_output(&self) -> bool {
        false
    }
    /// Its kind where it is a 2×2 pooling with stride 2 a producer can compute
    /// ([`Op::pools_output`]).
    fn pooling_2x2(&self) -> Option<PoolKind> {
        None
    }

    /// Its function where it is an elementwise activation the planner may fold into its
    /// neighbours' kernels.
    fn elementwise(&self) -> Option<Function> {
        None
    }
    /// The forward launches `x → y`.
    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError>;
    /// The backward launches `dy → dx` and the tensor gradients.
    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError>;
    /// The CPU twin of the forward pass; updates state tensors (moving statistics) in
    /// `tensors` as the GPU does.
    fn cpu_forward(&self, step: CpuStep, x: &[f32], tensors: &mut HostTensors) -> Vec<f32>;
    /// The CPU twin of the backward pass, from the forward input `x` and the output gradient.
    fn cpu_backward(
        &self,
        step: CpuStep,
        x: &[f32],
        dy: &[f32],
        tensors: &HostTensors,
    ) -> HostGradients;
}
