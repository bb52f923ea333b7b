//! Keras `Dropout(rate)` as a layer: a kernel pair while training, a view of its input in
//! inference (nothing to launch, the gradient is not needed).

use serde::{Deserialize, Serialize};

use super::{cpu, encode, Buffers, Params};
use crate::gpu::{Dispatch, GpuContext, GpuError};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Layer, Op, Pass, Problem,
};
use crate::layers::shape::Shape;

/// Keras `Dropout(rate)`: while training, each value is zeroed with probability `rate` and the
/// rest scaled by `1 / (1 - rate)`; in inference, the identity.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    /// Fraction of the values dropped, in `[0, 1)`.
    pub rate: f64,
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn kind(&self) -> &'static str {
        "dropout"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Problem::new(
                format!("rate must be in [0, 1), got {}", self.rate),
                "give the fraction of values to drop, e.g. rate = 0.5",
            ));
        }
        Ok(input)
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.output_shape(input)?;
        Ok(Box::new(DropoutOp {
            rate: self.rate as f32,
            len: rows * input.len(),
        }))
    }
}

/// Dropout over one batch of `len` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutOp {
    /// Fraction dropped.
    pub rate: f32,
    /// Values in one batch.
    pub len: usize,
}

impl DropoutOp {
    fn params(&self, label: &str, seed: u32) -> Result<Params, GpuError> {
        Params::new(self.len, seed, self.rate).ok_or_else(|| GpuError::Wgpu {
            context: label.to_string(),
            message: format!("dropout rate {} is outside [0, 1)", self.rate),
        })
    }

    fn host_params(&self, seed: u32) -> Params {
        Params::new(self.len, seed, self.rate).unwrap_or_default()
    }
}

impl Op for DropoutOp {
    fn pass(&self, training: bool) -> Pass {
        if training {
            Pass::Kernel
        } else {
            Pass::View
        }
    }

    fn encode_forward(
        &self,
        ctx: &GpuContext,
        io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let buffers = Buffers {
            input: io.x.binding.clone(),
            output: io.y.binding.clone(),
        };
        let params = self.params(io.label, io.seed)?;
        let label = format!("{}.forward", io.label);
        Ok(vec![encode(ctx, &label, params, buffers)?])
    }

    fn encode_backward(
        &self,
        ctx: &GpuContext,
        io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let Some(dx) = &io.dx else {
            return Ok(Vec::new());
        };
        let buffers = Buffers {
            input: io.dy.binding.clone(),
            output: dx.binding.clone(),
        };
        let params = self.params(io.label, io.seed)?;
        let label = format!("{}.backward_input", io.label);
        Ok(vec![encode(ctx, &label, params, buffers)?])
    }

    fn cpu_forward(&self, step: CpuStep, x: &[f32], _tensors: &mut HostTensors) -> Vec<f32> {
        if !step.training {
            return x.to_vec();
        }
        cpu::forward(&self.host_params(step.seed), step.step, x)
    }

    fn cpu_backward(
        &self,
        step: CpuStep,
        _x: &[f32],
        dy: &[f32],
        _tensors: &HostTensors,
    ) -> HostGradients {
        HostGradients {
            dx: cpu::backward_input(&self.host_params(step.seed), step.step, dy),
            tensors: HostTensors::new(),
        }
    }
}
