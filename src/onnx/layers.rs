//! Each layer of a model as ONNX nodes. Our activations are NHWC and our kernels Keras's
//! HWIO; ONNX's Conv, MaxPool, AveragePool and BatchNormalization work on NCHW with OIHW
//! kernels. The value flowing between layers therefore carries its layout ([`Layout`]), and a
//! `Transpose` goes in only where the next layer needs the other one: NHWC → NCHW before the
//! first spatial layer, NCHW → NHWC before Flatten (and a softmax), so Flatten reads Keras's
//! order and Dense's kernels keep theirs. Kernels are transposed to OIHW once, as
//! initializers. Padding is explicit `pads` computed by our own rule
//! ([`crate::layers::conv2d::geometry`], the extra row or column after, as TensorFlow does),
//! never `auto_pad`, so every runtime agrees. Dropout is the identity at inference and emits
//! nothing.
//!
//! This is the one match on the kind of layer outside `model::spec`'s registry: the layers'
//! own folders know nothing of ONNX, and keeping it here keeps them so.

use super::activation;
use super::graph::{Attr, GraphBuilder};
use super::OnnxError;
use crate::gpu::slab::Layouts;
use crate::layers::activation::{Activation, Function, NegativeSlope};
use crate::layers::batch_normalization::BatchNormalization;
use crate::layers::conv2d::{geometry, Conv2D};
use crate::layers::pool2d::Window;
use crate::layers::shape::Shape;
use crate::model::shape::LayerInfo;
use crate::model::spec::LayerSpec;

/// `perm` of the Transpose from NHWC to NCHW.
const TO_NCHW: [usize; 4] = [0, 3, 1, 2];
/// `perm` of the Transpose from NCHW to NHWC.
const TO_NHWC: [usize; 4] = [0, 2, 3, 1];

/// How the values of the tensor flowing between layers are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[N, H, W, C]`, ours and Keras's.
    Nhwc,
    /// `[N, C, H, W]`, ONNX's for spatial operators.
    Nchw,
    /// `[N, features]`.
    Flat,
}

/// The value flowing out of the last layer emitted, and its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// The value's name.
    pub value: String,
    /// Its layout.
    pub layout: Layout,
}

impl Flow {
    /// Transposes the value to `layout` (NHWC or NCHW) unless it is already so; flat values
    /// have no other layout.
    fn ensure(&mut self, graph: &mut GraphBuilder, layout: Layout, layer: &str) {
        let (perm, suffix) = match (self.layout, layout) {
            (Layout::Nhwc, Layout::Nchw) => (TO_NCHW, "nchw"),
            (Layout::Nchw, Layout::Nhwc) => (TO_NHWC, "nhwc"),
            _ => return,
        };
        self.value = graph.node(
            "Transpose",
            &[&self.value],
            &[("perm", Attr::sizes(&perm))],
            &format!("{layer}.{suffix}"),
        );
        self.layout = layout;
    }
}

/// A checkpoint's tensors by name: slabs and the layouts they are laid out as.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// The layouts of both slabs.
    pub layouts: &'a Layouts,
    /// The trainable parameters (`conv2d.kernel`, ...).
    pub params: &'a [f32],
    /// The non-trainable state (`batch_normalization.moving_mean`, ...).
    pub state: &'a [f32],
}

impl Weights<'_> {
    /// Tensor `name` of `layer`: its values and Keras shape.
    fn get(&self, layer: &LayerInfo, name: &str) -> Result<(&[f32], &[usize]), OnnxError> {
        let full = format!("{}.{name}", layer.name);
        [
            (&self.layouts.params, self.params),
            (&self.layouts.state, self.state),
        ]
        .into_iter()
        .find_map(|(layout, slab)| {
            let slot = layout.tensors.iter().find(|slot| slot.name == full)?;
            let values = slab.get(slot.offset..slot.offset + slot.len)?;
            Some((values, slot.shape.as_slice()))
        })
        .ok_or(OnnxError::MissingTensor { tensor: full })
    }

    /// Tensor `name` of `layer` as an initializer of the same name, unchanged.
    fn initializer(
        &self,
        graph: &mut GraphBuilder,
        layer: &LayerInfo,
        name: &str,
        doc: &str,
    ) -> Result<String, OnnxError> {
        let (values, shape) = self.get(layer, name)?;
        Ok(graph.initializer(&format!("{}.{name}", layer.name), shape, values, doc))
    }
}

/// Appends `layer`, then its `activation` field's function, to `flow`.
pub fn emit(
    graph: &mut GraphBuilder,
    flow: &mut Flow,
    layer: &LayerInfo,
    weights: &Weights,
) -> Result<(), OnnxError> {
    let name = layer.name.as_str();
    match &layer.spec {
        LayerSpec::Conv2D(conv) => conv2d(graph, flow, layer, conv, weights)?,
        LayerSpec::MaxPooling2D(pool) => pool2d(graph, flow, layer, "MaxPool", &pool.0)?,
        LayerSpec::AveragePooling2D(pool) => pool2d(graph, flow, layer, "AveragePool", &pool.0)?,
        LayerSpec::Flatten(_) => flatten(graph, flow, name),
        LayerSpec::Dense(_) => dense(graph, flow, layer, weights)?,
        LayerSpec::BatchNormalization(bn) => batch_normalization(graph, flow, layer, bn, weights)?,
        LayerSpec::Dropout(_) => {}
        LayerSpec::Activation(a) => apply(graph, flow, a.activation, name),
        LayerSpec::ReLU(_) => apply(graph, flow, Activation::Relu, name),
        LayerSpec::LeakyReLU(leaky) => {
            let slope = Function::LeakyRelu(NegativeSlope::new(leaky.negative_slope));
            flow.value = activation::emit(graph, &flow.value, slope, name);
        }
    }
    // Only Dense and Conv2D have the field; every other layer's is linear, which emits nothing.
    let field = layer.activation();
    apply(graph, flow, field, &format!("{name}.{field}"));
    Ok(())
}

/// Appends `activation` (softmax over the last axis, read in NHWC) named `name`.
fn apply(graph: &mut GraphBuilder, flow: &mut Flow, activation: Activation, name: &str) {
    flow.value = match activation.function() {
        Some(function) => activation::emit(graph, &flow.value, function, name),
        None => {
            flow.ensure(graph, Layout::Nhwc, name);
            activation::softmax(graph, &flow.value, name)
        }
    };
}

/// `[ki, kj, ci, co]` (HWIO) values in `[co, ci, ki, kj]` (OIHW) order.
fn hwio_to_oihw(kernel: &[f32], [kh, kw, ci, co]: [usize; 4]) -> Vec<f32> {
    let mut oihw = Vec::with_capacity(kernel.len());
    for o in 0..co {
        for i in 0..ci {
            for h in 0..kh {
                for w in 0..kw {
                    oihw.push(kernel[((h * kw + w) * ci + i) * co + o]);
                }
            }
        }
    }
    oihw
}

/// The `(input, output)` heights and widths of a spatial layer, from its shapes.
fn extents(layer: &LayerInfo) -> Result<([usize; 2], [usize; 2]), OnnxError> {
    match (layer.input, layer.output) {
        (Shape::Image { h, w, .. }, Shape::Image { h: oh, w: ow, .. }) => Ok(([h, w], [oh, ow])),
        _ => Err(OnnxError::Layer {
            layer: layer.name.clone(),
            problem: format!("takes an image, not {} → {}", layer.input, layer.output),
        }),
    }
}

/// Conv2D: `Conv(x, kernel OIHW, bias)` with explicit `pads = [top, left, bottom, right]`.
fn conv2d(
    graph: &mut GraphBuilder,
    flow: &mut Flow,
    layer: &LayerInfo,
    conv: &Conv2D,
    weights: &Weights,
) -> Result<(), OnnxError> {
    let ([in_h, in_w], [out_h, out_w]) = extents(layer)?;
    let (kernel, strides) = (conv.kernel_size, conv.strides);
    let mut pads = [0; 4];
    for (axis, (input, out, k, s)) in [
        (in_h, out_h, kernel.h, strides.h),
        (in_w, out_w, kernel.w, strides.w),
    ]
    .into_iter()
    .enumerate()
    {
        let (extent, before) = geometry::output_extent(input, k, s, conv.padding)
            .filter(|&(extent, _)| extent == out)
            .ok_or_else(|| OnnxError::Layer {
                layer: layer.name.clone(),
                problem: format!("its {input}-pixel input does not give the {out} it outputs"),
            })?;
        // The padding after is what the last window needs beyond the input and the padding
        // before (0 for `valid`, the larger half for `same`).
        pads[axis] = before;
        pads[axis + 2] = ((extent - 1) * s + k).saturating_sub(input + before);
    }
    let (values, shape) = weights.get(layer, "kernel")?;
    let &[kh, kw, ci, co] = shape else {
        return Err(OnnxError::Layer {
            layer: layer.name.clone(),
            problem: format!("its kernel has shape {shape:?}, not [kh, kw, c_in, c_out]"),
        });
    };
    let kernel_name = graph.initializer(
        &format!("{}.kernel", layer.name),
        &[co, ci, kh, kw],
        &hwio_to_oihw(values, [kh, kw, ci, co]),
        "the checkpoint's [kh, kw, c_in, c_out] kernel transposed to ONNX's [c_out, c_in, kh, kw]",
    );
    let bias = weights.initializer(graph, layer, "bias", "the bias [c_out]")?;
    flow.ensure(graph, Layout::Nchw, &layer.name);
    flow.value = graph.node(
        "Conv",
        &[&flow.value, &kernel_name, &bias],
        &[
            ("kernel_shape", Attr::sizes(&[kh, kw])),
            ("strides", Attr::sizes(&[strides.h, strides.w])),
            ("pads", Attr::sizes(&pads)),
            ("dilations", Attr::sizes(&[1, 1])),
            ("group", Attr::Int(1)),
        ],
        &layer.name,
    );
    Ok(())
}

/// MaxPooling2D and AveragePooling2D: `op` with the window, its strides and no padding.
fn pool2d(
    graph: &mut GraphBuilder,
    flow: &mut Flow,
    layer: &LayerInfo,
    op: &str,
    window: &Window,
) -> Result<(), OnnxError> {
    extents(layer)?;
    let (pool, strides) = (window.pool_size, window.strides.unwrap_or(window.pool_size));
    flow.ensure(graph, Layout::Nchw, &layer.name);
    flow.value = graph.node(
        op,
        &[&flow.value],
        &[
            ("kernel_shape", Attr::sizes(&[pool.h, pool.w])),
            ("strides", Attr::sizes(&[strides.h, strides.w])),
            ("pads", Attr::sizes(&[0, 0, 0, 0])),
        ],
        &layer.name,
    );
    Ok(())
}

/// Flatten: back to NHWC (Keras's order), then `Flatten(axis = 1)`; a flat value stays.
fn flatten(graph: &mut GraphBuilder, flow: &mut Flow, name: &str) {
    if flow.layout == Layout::Flat {
        return;
    }
    flow.ensure(graph, Layout::Nhwc, name);
    flow.value = graph.node("Flatten", &[&flow.value], &[("axis", Attr::Int(1))], name);
    flow.layout = Layout::Flat;
}

/// Dense: `Gemm(x [N, in], kernel [in, units], bias [units])`, Keras's kernel unchanged.
fn dense(
    graph: &mut GraphBuilder,
    flow: &mut Flow,
    layer: &LayerInfo,
    weights: &Weights,
) -> Result<(), OnnxError> {
    let kernel = weights.initializer(graph, layer, "kernel", "the kernel [inputs, units]")?;
    let bias = weights.initializer(graph, layer, "bias", "the bias [units]")?;
    flow.value = graph.node(
        "Gemm",
        &[&flow.value, &kernel, &bias],
        &[
            ("alpha", Attr::Float(1.0)),
            ("beta", Attr::Float(1.0)),
            ("transA", Attr::Int(0)),
            ("transB", Attr::Int(0)),
        ],
        &layer.name,
    );
    Ok(())
}

/// BatchNormalization at inference: the moving statistics and the layer's epsilon, over the
/// channel axis (NCHW's axis 1; a flat value's features).
fn batch_normalization(
    graph: &mut GraphBuilder,
    flow: &mut Flow,
    layer: &LayerInfo,
    bn: &BatchNormalization,
    weights: &Weights,
) -> Result<(), OnnxError> {
    let mut inputs = Vec::new();
    for (tensor, doc) in [
        ("gamma", "the scale [channels]"),
        ("beta", "the offset [channels]"),
        (
            "moving_mean",
            "the moving mean [channels], used at inference",
        ),
        (
            "moving_variance",
            "the moving variance [channels], used at inference",
        ),
    ] {
        inputs.push(weights.initializer(graph, layer, tensor, doc)?);
    }
    flow.ensure(graph, Layout::Nchw, &layer.name);
    let x = flow.value.clone();
    let mut all = vec![x.as_str()];
    all.extend(inputs.iter().map(String::as_str));
    flow.value = graph.node(
        "BatchNormalization",
        &all,
        &[
            ("epsilon", Attr::Float(bn.epsilon as f32)),
            ("momentum", Attr::Float(bn.momentum as f32)),
        ],
        &layer.name,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwio_to_oihw_moves_every_index() {
        // kernel[h, w, i, o] = 1000h + 100w + 10i + o, so each value names its indices.
        let [kh, kw, ci, co] = [2, 3, 4, 5];
        let mut hwio = Vec::new();
        for h in 0..kh {
            for w in 0..kw {
                for i in 0..ci {
                    for o in 0..co {
                        hwio.push((1000 * h + 100 * w + 10 * i + o) as f32);
                    }
                }
            }
        }
        let oihw = hwio_to_oihw(&hwio, [kh, kw, ci, co]);
        let at = |o: usize, i: usize, h: usize, w: usize| oihw[((o * ci + i) * kh + h) * kw + w];
        assert_eq!(at(4, 3, 1, 2), 1000.0 + 200.0 + 30.0 + 4.0);
        assert_eq!(at(0, 2, 1, 0), 1000.0 + 20.0);
        assert_eq!(oihw.len(), hwio.len());
    }
}
