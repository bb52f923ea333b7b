//! Activations as layers: Keras's `Activation(activation)` and `ReLU()`, and the `activation`
//! field of Dense and Conv2D, which expands to one of these after its layer. Running one alone
//! is an elementwise kernel pair; the planner folds a ReLU into the GEMM that produces it and
//! its mask into the backward that consumes it where both can (see `model::plan`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{cpu, encode_backward_input, encode_forward, BackwardBuffers, ForwardBuffers};
use super::{Function, Params};
use crate::gpu::{Dispatch, GpuContext, GpuError};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Layer, Op, Problem,
};
use crate::layers::shape::Shape;

/// An activation function, by Keras's name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Identity (Keras's default).
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// Softmax over the last axis (only on the output layer, fused into the loss).
    Softmax,
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::Softmax => "softmax",
        })
    }
}

impl Activation {
    /// The elementwise kernel function, for activations that have one (softmax belongs to the
    /// loss).
    pub fn function(self) -> Option<Function> {
        match self {
            Self::Linear => Some(Function::Linear),
            Self::Relu => Some(Function::Relu),
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

/// The op of any activation layer over `len` values.
fn activation_op(
    activation: Activation,
    input: Shape,
    rows: usize,
) -> Result<Box<dyn Op>, Problem> {
    let function = activation.function().ok_or_else(|| {
        Problem::new(
            "softmax is only supported on the output layer",
            "use relu or linear on hidden layers",
        )
    })?;
    Ok(Box::new(ActivationOp {
        function,
        len: rows * input.len(),
    }))
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
    fn is_relu(&self) -> bool {
        self.function == Function::Relu
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
