//! Dense (fully connected) layer, Keras layout:
//!
//! ```text
//! forward          y  [B, units] = act(x [B, in] · kernel [in, units] + bias [units])
//! backward_input   dx [B, in]    = dz · kernelᵀ  (⊙ (x > 0) when the planner fused a ReLU before)
//! backward_weight  dkernel       = xᵀ · dz,  dbias = Σ_rows dz
//! ```
//! `dz` is the gradient of the layer's output. Every pass is one `matmul.forward` launch (plus
//! `bias.backward`); the `activation` field expands to an Activation layer after this one,
//! which the planner may fold into the forward GEMM's epilogue.

pub mod cpu;

use serde::{Deserialize, Serialize};

use crate::layers::activation::{Activation, Function};
use crate::layers::layer::{HeadShape, Layer, Op, Problem, TensorDef};
use crate::layers::matmul::passes::{Gemm, InputGradient, KernelLayer, KernelLayerGemms};
use crate::layers::matmul::{self, Layout, Transpose};
use crate::layers::rules::{at_least_one, check_kernel, kernel_and_bias};
use crate::layers::shape::Shape;
use crate::layers::Gradients;

/// Keras `Dense(units, activation)`: `[in]` → `[units]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    /// Output units.
    pub units: usize,
    /// Activation (default linear).
    #[serde(default)]
    pub activation: Activation,
}

impl Layer for Dense {
    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn kind(&self) -> &'static str {
        "dense"
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, Problem> {
        let Shape::Flat(inputs) = input else {
            return Err(Problem::new(
                "Dense needs a flat input but receives an image",
                "put a Flatten layer before the first Dense layer",
            ));
        };
        at_least_one("units", self.units)?;
        check_kernel(&[inputs, self.units])?;
        Ok(Shape::Flat(self.units))
    }

    fn tensors(&self, input: Shape) -> Vec<TensorDef> {
        kernel_and_bias(vec![input.len(), self.units], self.units)
    }

    fn activation(&self) -> Activation {
        self.activation
    }

    fn op(&self, input: Shape, rows: usize) -> Result<Box<dyn Op>, Problem> {
        self.output_shape(input)?;
        Ok(Box::new(DenseShape {
            rows,
            inputs: input.len(),
            units: self.units,
        }))
    }
}

/// The sizes of one dense layer at a given batch size: the op that runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseShape {
    /// Batch rows.
    pub rows: usize,
    /// Input features.
    pub inputs: usize,
    /// Output units.
    pub units: usize,
}

impl DenseShape {
    fn gemm(m: usize, n: usize, k: usize, transpose: Transpose) -> Gemm {
        Gemm {
            params: matmul::Params::new(m, n, k),
            layout: Layout::Matrices(transpose),
        }
    }

    /// The three GEMMs of the layer.
    pub fn gemms(&self) -> KernelLayerGemms {
        let Self {
            rows,
            inputs,
            units,
        } = *self;
        KernelLayerGemms {
            forward: Self::gemm(rows, units, inputs, Transpose::default()),
            pooled_forward: None,
            backward_input: InputGradient::Gemm(Self::gemm(
                rows,
                inputs,
                units,
                Transpose { a: false, b: true },
            )),
            backward_weight: Self::gemm(inputs, units, rows, Transpose { a: true, b: false }),
        }
    }
}

impl KernelLayer for DenseShape {
    fn gemms(&self) -> KernelLayerGemms {
        DenseShape::gemms(self)
    }

    fn head_shape(&self) -> Option<HeadShape> {
        Some(HeadShape {
            rows: self.rows,
            inputs: self.inputs,
            units: self.units,
        })
    }

    fn reference_forward(&self, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        cpu::forward(*self, Function::Linear, x, kernel, bias)
    }

    fn reference_backward(&self, x: &[f32], kernel: &[f32], dy: &[f32]) -> Gradients {
        cpu::backward(*self, false, x, kernel, dy)
    }
}
