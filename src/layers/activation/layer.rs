//! Activations as layers: Keras's `Activation(activation)`, `ReLU()` and
//! `LeakyReLU(negative_slope)`, and the `activation` field of Dense and Conv2D, which expands to
//! one of these after its layer. Running one alone is an elementwise kernel pair; the planner
//! folds an activation into the GEMM that produces it (in training, only a ReLU, whose mask the
//! backward that consumes it applies; see `model::plan`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{cpu, encode_backward_input, encode_forward, BackwardBuffers, ForwardBuffers};
use super::{Function, NegativeSlope, Params};
use crate::gpu::{Dispatch, GpuContext, GpuError};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Layer, Op, Problem,
};
use crate::layers::shape::Shape;

/// An activation function, by Keras's name (the formulas: [`Function`]'s module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity (Keras's default).
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x > 0 ? x : e^x − 1`.
    Elu,
    /// `λ (x > 0 ? x : α (e^x − 1))`, Keras's α and λ.
    Selu,
    /// `x Φ(x)`, the erf form (Keras's default `approximate=False`).
    Gelu,
    /// `x > 0 ? x : 0.2 x` (Keras's `leaky_relu` default slope; the `LeakyReLU` layer takes
    /// another).
    LeakyRelu,
    /// `log(1 + e^x)`.
    Softplus,
    /// `x · sigmoid(x)`; `swish` is the same function, as in Keras.
    #[serde(alias = "swish")]
    Silu,
    /// Softmax over the last axis (only on the output layer, fused into the loss).
    Softmax,
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Elu => "elu",
            Self::Selu => "selu",
            Self::Gelu => "gelu",
            Self::LeakyRelu => "leaky_relu",
            Self::Softplus => "softplus",
            Self::Silu => "silu",
            Self::Softmax => "softmax",
        })
    }
}

impl Activation {
    /// Every activation a model file may name (`swish` is also accepted, for `silu`).
    pub const ALL: [Activation; 11] = [
        Self::Linear,
        Self::Relu,
        Self::Sigmoid,
        Self::Tanh,
        Self::Elu,
        Self::Selu,
        Self::Gelu,
        Self::LeakyRelu,
        Self::Softplus,
        Self::Silu,
        Self::Softmax,
    ];

    /// The elementwise kernel function, for activations that have one (softmax belongs to the
    /// loss).
    pub fn function(self) -> Option<Function> {
        match self {
            Self::Linear => Some(Function::Linear),
            Self::Relu => Some(Function::Relu),
            Self::Sigmoid => Some(Function::Sigmoid),
            Self::Tanh => Some(Function::Tanh),
            Self::Elu => Some(Function::Elu),
            Self::Selu => Some(Function::Selu),
            Self::Gelu => Some(Function::Gelu),
            Self::LeakyRelu => Some(Function::LeakyRelu(NegativeSlope::KERAS)),
            Self::Softplus => Some(Function::Softplus),
            Self::Silu => Some(Function::Silu),
            Self::Softmax => None,
        }
    }
}

/// Keras `Activation(activation)`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationLayer {
    /// The function.
    pub activation: Activation,
}

/// Keras `ReLU()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReLU {}

/// Keras `LeakyReLU(negative_slope)`: `x > 0 ? x : negative_slope · x`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyReLU {
    /// The slope for `x <= 0`, at least 0 (default 0.3, the Keras layer's; the
    /// `"leaky_relu"` activation name gets 0.2, the Keras function's).
    #[serde(default = "LeakyReLU::default_slope")]
    pub negative_slope: f32,
}

impl LeakyReLU {
    fn default_slope() -> f32 {
        0.3
    }

    /// Its slope, or what is wrong with it (Keras rejects a negative one too).
    fn slope(&self) -> Result<NegativeSlope, Problem> {
        if self.negative_slope.is_finite() && self.negative_slope >= 0.0 {
            Ok(NegativeSlope::new(self.negative_slope))
        } else {
            Err(Problem::new(
                format!("negative_slope is {}", self.negative_slope),
                "give LeakyReLU a negative_slope of at least 0 (Keras's default is 0.3)",
            ))
        }
    }
}

/// The op of an activation layer applying `activation` over `len` values.
fn activation_op(
    activation: Activation,
    input: Shape,
    rows: usize,
) -> Result<Box<dyn Op>, Problem> {
    let function = activation.function().ok_or_else(|| {
        Problem::new(
            "softmax is only supported on the output layer",
            "use another activation (relu, tanh, ...) on hidden layers",
        )
    })?;
    Ok(function_op(function, input, rows))
}

/// The op of `function` over `rows` samples of `input`.
fn function_op(function: Function, input: Shape, rows: usize) -> Box<dyn Op> {
    Box::new(ActivationOp {
        function,
        len: rows * input.len(),
    })
}

impl Layer for ActivationLayer {
    fn class_name(&self) -> &'static str {
        "Activation"
    }

    fn kind(&self) -> &'static str {
        "activation"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        Ok(input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        activation_op(self.activation, input, rows)
    }
}

impl Layer for ReLU {
    fn class_name(&self) -> &'static str {
        "ReLU"
    }

    fn kind(&self) -> &'static str {
        "re_lu"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        Ok(input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        activation_op(Activation::Relu, input, rows)
    }
}

impl Layer for LeakyReLU {
    fn class_name(&self) -> &'static str {
        "LeakyReLU"
    }

    fn kind(&self) -> &'static str {
        "leaky_re_lu"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        self.slope().map(|_| input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        Ok(function_op(Function::LeakyRelu(self.slope()?), input, rows))
    }
}

/// An elementwise activation over one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivationOp {
    /// The function.
    pub function: Function,
    /// Values in one batch.
    pub len: usize,
}

impl ActivationOp {
    fn params(&self) -> Params {
        Params::new(self.len)
    }
}

impl Op for ActivationOp {
    fn elementwise(&self) -> Option<Function> {
        Some(self.function)
    }

    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let buffers = ForwardBuffers {
            x: io.x.binding.clone(),
            y: io.y.binding.clone(),
        };
        Ok(vec![encode_forward(
            ctx,
            io.label,
            self.function,
            self.params(),
            buffers,
        )?])
    }

    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let Some(dx) = &io.dx else {
            return Ok(Vec::new());
        };
        let buffers = BackwardBuffers {
            x: io.x.binding.clone(),
            dy: io.dy.binding.clone(),
            dx: dx.binding.clone(),
        };
        Ok(vec![encode_backward_input(
            ctx,
            io.label,
            self.function,
            self.params(),
            buffers,
        )?])
    }

    fn cpu_forward(&self, _step: CpuStep, x: &[f32], _tensors: &mut HostTensors) -> Vec<f32> {
        cpu::forward(self.function, x)
    }

    fn cpu_backward(
        &self,
        _step: CpuStep,
        x: &[f32],
        dy: &[f32],
        _tensors: &HostTensors,
    ) -> HostGradients {
        HostGradients {
            dx: cpu::backward_input(self.function, x, dy),
            tensors: HostTensors::new(),
        }
    }
}
