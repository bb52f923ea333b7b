//! Shape inference: every layer's output shape and parameters, and every shape error, before
//! any GPU work.

use std::collections::HashMap;
use std::fmt;

use super::spec::{Activation, LayerSpec, ModelSpec};
use super::ModelError;

/// The shape of one sample's activation (the batch axis is implicit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[height, width, channels]`.
    Image {
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
        /// Channels.
        c: usize,
    },
    /// `[features]`.
    Flat(usize),
}

impl Shape {
    /// Values per sample.
    pub fn len(&self) -> usize {
        match *self {
            Self::Image { h, w, c } => h * w * c,
            Self::Flat(n) => n,
        }
    }

    /// Whether the shape holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image { h, w, c } => write!(f, "({h}, {w}, {c})"),
            Self::Flat(n) => write!(f, "({n},)"),
        }
    }
}

/// One trainable tensor of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    /// `layer.kernel` or `layer.bias`.
    pub name: String,
    /// Keras layout.
    pub shape: Vec<usize>,
}

/// A layer with its shapes resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    /// Keras-style unique name: `dense`, `dense_1`, ...
    pub name: String,
    /// The layer as specified.
    pub spec: LayerSpec,
    /// Shape reaching the layer.
    pub input: Shape,
    /// Shape leaving it.
    pub output: Shape,
    /// Its trainable tensors (kernel, then bias).
    pub params: Vec<ParamInfo>,
}

impl LayerInfo {
    /// Trainable values in the layer.
    pub fn param_count(&self) -> usize {
        self.params
            .iter()
            .map(|p| p.shape.iter().product::<usize>())
            .sum()
    }

    /// The layer's activation (`Linear` for layers without one).
    pub fn activation(&self) -> Activation {
        self.spec.activation()
    }
}

/// Resolves every layer's shapes and parameters, or says which layer is wrong and why.
pub fn infer(spec: &ModelSpec) -> Result<Vec<LayerInfo>, ModelError> {
    let [h, w, c] = spec.input;
    let mut shape = Shape::Image { h, w, c };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut layers = Vec::with_capacity(spec.layers.len());
    for (index, layer) in spec.layers.iter().enumerate() {
        let count = seen.entry(layer.kind()).or_default();
        let name = match *count {
            0 => layer.kind().to_string(),
            n => format!("{}_{n}", layer.kind()),
        };
        *count += 1;
        let fail = |problem: String, hint: &str| ModelError::Layer {
            index,
            layer: name.clone(),
            problem,
            input: shape.to_string(),
            hint: hint.to_string(),
        };
        let is_last = index + 1 == spec.layers.len();
        let (output, params) = match *layer {
            LayerSpec::Flatten => (Shape::Flat(shape.len()), Vec::new()),
            LayerSpec::Dense { units, activation } => {
                let Shape::Flat(inputs) = shape else {
                    return Err(fail(
                        "Dense needs a flat input but receives an image".into(),
                        "put a Flatten layer before the first Dense layer",
                    ));
                };
                if units == 0 {
                    return Err(fail("units must be at least 1".into(), "give units >= 1"));
                }
                if activation == Activation::Softmax && !is_last {
                    return Err(fail(
                        "softmax is only supported on the output layer".into(),
                        "use relu or linear on hidden layers",
                    ));
                }
                let params = vec![
                    ParamInfo {
                        name: format!("{name}.kernel"),
                        shape: vec![inputs, units],
                    },
                    ParamInfo {
                        name: format!("{name}.bias"),
                        shape: vec![units],
                    },
                ];
                (Shape::Flat(units), params)
            }
            _ => {
                return Err(fail(
                    "convolution and pooling are not inferred yet".into(),
                    "use the dense preset",
                ))
            }
        };
        if output.is_empty() {
            return Err(fail(
                format!("the output shape {output} is empty"),
                "use fewer pooling layers, a smaller pool size or padding = \"same\"",
            ));
        }
        layers.push(LayerInfo {
            name,
            spec: layer.clone(),
            input: shape,
            output,
            params,
        });
        shape = output;
    }
    check_output(spec, &layers)?;
    Ok(layers)
}

fn check_output(spec: &ModelSpec, layers: &[LayerInfo]) -> Result<(), ModelError> {
    let output_error = |problem: String| ModelError::Output {
        model: spec.name.clone(),
        problem,
        hint: format!(
            "end the model with Dense(units = {}, activation = \"softmax\")",
            spec.classes
        ),
    };
    match layers.last() {
        Some(LayerInfo {
            spec:
                LayerSpec::Dense {
                    units,
                    activation: Activation::Softmax,
                },
            ..
        }) if *units == spec.classes => Ok(()),
        Some(LayerInfo {
            spec: LayerSpec::Dense { units, .. },
            ..
        }) if *units != spec.classes => Err(output_error(format!(
            "the last layer has {units} units but the data has {} classes",
            spec.classes
        ))),
        Some(_) => Err(output_error(
            "the last layer must be a Dense layer with softmax activation".into(),
        )),
        None => Err(output_error("the model has no layers".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets::preset;

    #[test]
    fn dense_preset_has_kerass_101770_parameters() {
        let layers = infer(&preset("dense").unwrap()).unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["flatten", "dense", "dense_1"]);
        assert_eq!(layers[0].output, Shape::Flat(784));
        assert_eq!(
            layers.iter().map(LayerInfo::param_count).sum::<usize>(),
            101_770
        );
    }

    #[test]
    fn dense_before_flatten_names_the_layer_and_shape() {
        let mut spec = preset("dense").unwrap();
        spec.layers.remove(0);
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("layer 0 (dense)"), "{message}");
        assert!(message.contains("(28, 28, 1)"), "{message}");
        assert!(message.contains("Flatten"), "{message}");
    }

    #[test]
    fn last_layer_units_must_match_classes() {
        let mut spec = preset("dense").unwrap();
        spec.layers[2] = LayerSpec::Dense {
            units: 7,
            activation: Activation::Softmax,
        };
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("7 units"), "{message}");
        assert!(message.contains("10 classes"), "{message}");
    }
}
