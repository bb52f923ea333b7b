//! Each layer of a resolved model as the op that runs it at a given batch size: the bridge
//! between shapes ([`super::shape`]) and the layer launchers and references ([`crate::layers`]).

use super::shape::{LayerInfo, Shape};
use super::spec::{Activation, LayerSpec, PoolKind};
use super::ModelError;
use crate::layers::conv2d::ConvShape;
use crate::layers::dense::DenseShape;
use crate::layers::pool2d;

/// What one layer computes, with every size resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerOp {
    /// A free reshape: the output is the input's buffer.
    Flatten,
    /// Fully connected, optionally with ReLU.
    Dense {
        /// Sizes.
        shape: DenseShape,
        /// Whether ReLU follows.
        relu: bool,
    },
    /// Convolution, optionally with ReLU.
    Conv2D {
        /// Sizes.
        shape: ConvShape,
        /// Whether ReLU follows.
        relu: bool,
    },
    /// Max or average pooling.
    Pool {
        /// Max or average.
        kind: PoolKind,
        /// Sizes.
        params: pool2d::Params,
    },
}

impl LayerOp {
    /// The op of `layer` (index `index`) for batches of `rows`.
    pub fn new(index: usize, layer: &LayerInfo, rows: usize) -> Result<Self, ModelError> {
        let relu = layer.activation() == Activation::Relu;
        let image = match layer.input {
            Shape::Image { h, w, c } => Some([h, w, c]),
            Shape::Flat(_) => None,
        };
        let op = match (&layer.spec, image) {
            (LayerSpec::Flatten, _) => Some(Self::Flatten),
            (&LayerSpec::Dense { units, .. }, None) => Some(Self::Dense {
                shape: DenseShape {
                    rows,
                    inputs: layer.input.len(),
                    units,
                },
                relu,
            }),
            (
                &LayerSpec::Conv2D {
                    filters,
                    kernel_size,
                    strides,
                    padding,
                    ..
                },
                Some(input),
            ) => ConvShape::new(rows, input, filters, kernel_size, strides, padding)
                .map(|shape| Self::Conv2D { shape, relu }),
            (spec, Some(input)) => spec.pool().and_then(|(kind, pool, strides)| {
                pool2d::Params::new(rows, input, pool, strides)
                    .map(|params| Self::Pool { kind, params })
            }),
            _ => None,
        };
        op.ok_or_else(|| ModelError::Layer {
            index,
            layer: layer.name.clone(),
            problem: format!("{} cannot run on this input", layer.spec.class_name()),
            input: layer.input.to_string(),
            hint: "check the model with `gpu-cnn summary`".into(),
        })
    }

    /// Whether the layer has a kernel and a bias.
    pub fn has_params(&self) -> bool {
        matches!(self, Self::Dense { .. } | Self::Conv2D { .. })
    }

    /// Whether the layer's output is a ReLU output (its gradient is masked by `output > 0`).
    pub fn relu(&self) -> bool {
        matches!(
            self,
            Self::Dense { relu: true, .. } | Self::Conv2D { relu: true, .. }
        )
    }
}

/// The ops of every layer of a model for batches of `rows`.
pub fn layer_ops(layers: &[LayerInfo], rows: usize) -> Result<Vec<LayerOp>, ModelError> {
    layers
        .iter()
        .enumerate()
        .map(|(index, layer)| LayerOp::new(index, layer, rows))
        .collect()
}

/// For each layer, whether its input is a ReLU output (looking through Flatten, which only
/// reshapes).
pub fn input_is_relu(ops: &[LayerOp]) -> Vec<bool> {
    let mut flags = Vec::with_capacity(ops.len());
    let mut current = false;
    for op in ops {
        flags.push(current);
        if !matches!(op, LayerOp::Flatten) {
            current = op.relu();
        }
    }
    flags
}
