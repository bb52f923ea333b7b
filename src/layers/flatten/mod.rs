//! Flatten: `[H, W, C]` → `[H·W·C]`, a free reshape. NHWC is already row-major in that order,
//! so the output is the input's buffer and the gradient passes through unchanged: no kernel.

use serde::{Deserialize, Serialize};

use crate::gpu::{Dispatch, GpuContext, GpuError};
use crate::layers::layer::{
    BackwardIo, CpuStep, ForwardIo, HostGradients, HostTensors, Layer, Op, Pass, Problem,
};
use crate::layers::shape::Shape;

/// Keras `Flatten()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Flatten {}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn kind(&self) -> &'static str {
        "flatten"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        Ok(Shape::Flat(input.len()))
    }

    fn op(&self, _input: Shape, _rows: usize) -> Result<Box<dyn Op>, Problem> {
        Ok(Box::new(Reshape))
    }
}

/// A layer whose output is its input reinterpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reshape;

impl Op for Reshape {
    fn pass(&self, _training: bool) -> Pass {
        Pass::View
    }

    fn encode_forward(
        &self,
        _ctx: &GpuContext,
        _io: &ForwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        Ok(Vec::new())
    }

    fn encode_backward(
        &self,
        _ctx: &GpuContext,
        _io: &BackwardIo<'_>,
    ) -> Result<Vec<Dispatch>, GpuError> {
        Ok(Vec::new())
    }

    fn cpu_forward(&self, _step: CpuStep, x: &[f32], _tensors: &mut HostTensors) -> Vec<f32> {
        x.to_vec()
    }

    fn cpu_backward(
        &self,
        _step: CpuStep,
        _x: &[f32],
        dy: &[f32],
        _tensors: &HostTensors,
    ) -> HostGradients {
        HostGradients {
            dx: dy.to_vec(),
            tensors: HostTensors::new(),
        }
    }
}
