//! Shape inference: every layer's output shape and parameters, and every shape error, before
//! any GPU work.

use std::collections::HashMap;
use std::fmt;

use super::spec::{Activation, LayerSpec, ModelSpec, Size2};
use super::ModelError;
use crate::layers::conv2d::geometry::output_extent as conv_extent;
use crate::layers::pool2d::geometry::output_extent as pool_extent;

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

/// What a layer's problems suggest when its output would be empty (the lecture's fixes).
pub const COLLAPSE_HINT: &str =
    "use fewer pooling layers, a smaller pool size, or padding = \"same\" on the convolutions";

/// The most values one activation or parameter tensor may hold per sample (kernels index with
/// `u32`).
const MAX_VALUES: usize = u32::MAX as usize;

/// Why one layer cannot be built: what is wrong and what to do.
struct Problem {
    problem: String,
    hint: String,
}

impl Problem {
    fn new(problem: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

/// Resolves every layer's shapes and parameters, or says which layer is wrong and why.
pub fn infer(spec: &ModelSpec) -> Result<Vec<LayerInfo>, ModelError> {
    check_task(spec)?;
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
        let is_last = index + 1 == spec.layers.len();
        let (output, params) =
            layer_shapes(layer, &name, shape, is_last).map_err(|p| ModelError::Layer {
                index,
                layer: name.clone(),
                problem: p.problem,
                input: shape.to_string(),
                hint: p.hint,
            })?;
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

/// The input shape and class count, before any layer.
fn check_task(spec: &ModelSpec) -> Result<(), ModelError> {
    let [h, w, c] = spec.input;
    if h == 0 || w == 0 || c == 0 {
        return Err(ModelError::Input {
            model: spec.name.clone(),
            problem: format!("the input shape [{h}, {w}, {c}] has a zero dimension"),
            hint: "give input = [height, width, channels], each at least 1".into(),
        });
    }
    if values(&[h, w, c]).is_none() {
        return Err(ModelError::Input {
            model: spec.name.clone(),
            problem: format!("the input shape [{h}, {w}, {c}] holds more than {MAX_VALUES} values"),
            hint: "use smaller images".into(),
        });
    }
    if spec.classes < 2 {
        return Err(ModelError::Output {
            model: spec.name.clone(),
            problem: format!(
                "classes is {}, but a classifier needs at least 2",
                spec.classes
            ),
            hint: "set classes to the number of labels in the data (10 for MNIST)".into(),
        });
    }
    Ok(())
}

/// The product of `dims` if it fits in [`MAX_VALUES`].
fn values(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_VALUES)
}

/// `[h, w, c]` of an image input, or the problem for a layer of `class` that needs one.
fn image(input: Shape, class: &str) -> Result<(usize, usize, usize), Problem> {
    match input {
        Shape::Image { h, w, c } => Ok((h, w, c)),
        Shape::Flat(_) => Err(Problem::new(
            format!("{class} needs an image input (H, W, C) but receives a flat vector"),
            "put convolution and pooling layers before Flatten",
        )),
    }
}

/// A count field that must be at least 1.
fn at_least_one(field: &str, value: usize) -> Result<(), Problem> {
    if value == 0 {
        return Err(Problem::new(
            format!("{field} must be at least 1, got 0"),
            format!("give {field} >= 1"),
        ));
    }
    Ok(())
}

/// A window or stride field that must be at least 1 in both directions.
fn size_at_least_one(field: &str, size: Size2) -> Result<(), Problem> {
    if size.h == 0 || size.w == 0 {
        return Err(Problem::new(
            format!("{field} must be at least 1 in both directions, got {size}"),
            format!("give {field} >= 1, as one number or [h, w]"),
        ));
    }
    Ok(())
}

/// The `name.kernel` and `name.bias` tensors, or the problem when one is too large.
fn kernel_and_bias(
    name: &str,
    kernel: Vec<usize>,
    units: usize,
) -> Result<Vec<ParamInfo>, Problem> {
    if values(&kernel).is_none() {
        return Err(Problem::new(
            format!("the kernel {kernel:?} holds more than {MAX_VALUES} values"),
            "use fewer filters or units, or pool before this layer",
        ));
    }
    Ok(vec![
        ParamInfo {
            name: format!("{name}.kernel"),
            shape: kernel,
        },
        ParamInfo {
            name: format!("{name}.bias"),
            shape: vec![units],
        },
    ])
}

/// One layer's output shape and parameters from the shape reaching it.
fn layer_shapes(
    layer: &LayerSpec,
    name: &str,
    input: Shape,
    is_last: bool,
) -> Result<(Shape, Vec<ParamInfo>), Problem> {
    if layer.activation() == Activation::Softmax && !is_last {
        return Err(Problem::new(
            "softmax is only supported on the output layer",
            "use relu or linear on hidden layers",
        ));
    }
    match *layer {
        LayerSpec::Conv2D {
            filters,
            kernel_size,
            strides,
            padding,
            ..
        } => {
            let (h, w, c) = image(input, "Conv2D")?;
            at_least_one("filters", filters)?;
            size_at_least_one("kernel_size", kernel_size)?;
            size_at_least_one("strides", strides)?;
            let rows = conv_extent(h, kernel_size.h, strides.h, padding);
            let cols = conv_extent(w, kernel_size.w, strides.w, padding);
            let (Some((out_h, _)), Some((out_w, _))) = (rows, cols) else {
                return Err(Problem::new(
                    format!(
                        "the output collapses to nothing: the {}x{} kernel does not fit the {h}x{w} \
                         input without padding",
                        kernel_size.h, kernel_size.w
                    ),
                    COLLAPSE_HINT,
                ));
            };
            let output = image_output(out_h, out_w, filters)?;
            let kernel = vec![kernel_size.h, kernel_size.w, c, filters];
            Ok((output, kernel_and_bias(name, kernel, filters)?))
        }
        LayerSpec::MaxPooling2D { pool_size, strides }
        | LayerSpec::AveragePooling2D { pool_size, strides } => {
            let (h, w, c) = image(input, layer.class_name())?;
            let (pool, strides) = (pool_size, strides.unwrap_or(pool_size));
            size_at_least_one("pool_size", pool)?;
            size_at_least_one("strides", strides)?;
            let rows = pool_extent(h, pool.h, strides.h);
            let cols = pool_extent(w, pool.w, strides.w);
            let (Some(out_h), Some(out_w)) = (rows, cols) else {
                return Err(Problem::new(
                    format!(
                        "the output collapses to nothing: the {}x{} pool window does not fit the \
                         {h}x{w} input",
                        pool.h, pool.w
                    ),
                    COLLAPSE_HINT,
                ));
            };
            Ok((image_output(out_h, out_w, c)?, Vec::new()))
        }
        LayerSpec::Flatten => Ok((Shape::Flat(input.len()), Vec::new())),
        LayerSpec::Dense { units, .. } => {
            let Shape::Flat(inputs) = input else {
                return Err(Problem::new(
                    "Dense needs a flat input but receives an image",
                    "put a Flatten layer before the first Dense layer",
                ));
            };
            at_least_one("units", units)?;
            Ok((
                Shape::Flat(units),
                kernel_and_bias(name, vec![inputs, units], units)?,
            ))
        }
    }
}

/// An `[h, w, c]` output, or the problem when it is too large.
fn image_output(h: usize, w: usize, c: usize) -> Result<Shape, Problem> {
    if values(&[h, w, c]).is_none() {
        return Err(Problem::new(
            format!("the output ({h}, {w}, {c}) holds more than {MAX_VALUES} values"),
            "use fewer filters, strides > 1 or pooling",
        ));
    }
    Ok(Shape::Image { h, w, c })
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
    use crate::model::spec::Padding;

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

    fn total(name: &str) -> usize {
        let layers = infer(&preset(name).unwrap()).unwrap();
        layers.iter().map(LayerInfo::param_count).sum()
    }

    #[test]
    fn cnn_preset_has_kerass_93322_parameters_and_shapes() {
        let layers = infer(&preset("cnn").unwrap()).unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv2d",
                "max_pooling2d",
                "conv2d_1",
                "max_pooling2d_1",
                "conv2d_2",
                "flatten",
                "dense",
                "dense_1"
            ]
        );
        let image = |h, w, c| Shape::Image { h, w, c };
        let outputs: Vec<Shape> = layers.iter().map(|l| l.output).collect();
        assert_eq!(
            outputs,
            [
                image(26, 26, 32),
                image(13, 13, 32),
                image(11, 11, 64),
                image(5, 5, 64),
                image(3, 3, 64),
                Shape::Flat(576),
                Shape::Flat(64),
                Shape::Flat(10),
            ]
        );
        assert_eq!(layers[2].params[0].name, "conv2d_1.kernel");
        assert_eq!(layers[2].params[0].shape, [3, 3, 32, 64]);
        assert_eq!(layers[2].params[1].shape, [64]);
        let counts: Vec<usize> = layers.iter().map(LayerInfo::param_count).collect();
        assert_eq!(counts, [320, 0, 18_496, 0, 36_928, 0, 36_928, 650]);
        assert_eq!(counts.iter().sum::<usize>(), 93_322);
    }

    #[test]
    fn every_preset_matches_kerass_parameter_count() {
        // dense: 784·128 + 128 = 100,480; 128·10 + 10 = 1,290.
        assert_eq!(total("dense"), 101_770);
        // cnn: 3·3·1·32 + 32 = 320; 3·3·32·64 + 64 = 18,496; 3·3·64·64 + 64 = 36,928;
        // 576·64 + 64 = 36,928; 64·10 + 10 = 650.
        assert_eq!(total("cnn"), 93_322);
        // cnn-small: 320; 13·13·32 = 5,408 → 5,408·64 + 64 = 346,176; 650.
        assert_eq!(total("cnn-small"), 347_146);
        // cnn-no-hidden: 320 + 18,496 + 36,928; 576·10 + 10 = 5,770.
        assert_eq!(total("cnn-no-hidden"), 61_514);
        // cnn-wide: 3·3·1·64 + 64 = 640; 3·3·64·128 + 128 = 73,856; 3·3·128·128 + 128 = 147,584;
        // 3·3·128 = 1,152 → 1,152·64 + 64 = 73,792; 650.
        assert_eq!(total("cnn-wide"), 296_522);
        // cnn-extra-pool: 320 + 18,496 + 36,928; 3x3 pooled to 1x1·64 → 64·64 + 64 = 4,160; 650.
        assert_eq!(total("cnn-extra-pool"), 60_554);
        // cnn-same: 28x28 kept, 320; pool 14x14; 18,496 (12x12); 36,928 (10x10); 36,928 (8x8);
        // pool 4x4·64 = 1,024 → 1,024·64 + 64 = 65,600; 650.
        assert_eq!(total("cnn-same"), 158_922);
    }

    #[test]
    fn same_padding_keeps_size_and_strides_floor_like_keras() {
        let mut spec = preset("cnn-same").unwrap();
        let layers = infer(&spec).unwrap();
        assert_eq!(
            layers[0].output,
            Shape::Image {
                h: 28,
                w: 28,
                c: 32
            }
        );
        assert_eq!(
            layers[1].output,
            Shape::Image {
                h: 14,
                w: 14,
                c: 32
            }
        );
        // An asymmetric 5x3 kernel with strides (2, 3) on 28x28, valid: (11, 9).
        spec.layers[0] = LayerSpec::Conv2D {
            filters: 5,
            kernel_size: Size2 { h: 5, w: 3 },
            strides: Size2 { h: 2, w: 3 },
            padding: Padding::Valid,
            activation: Activation::Relu,
        };
        spec.layers.truncate(1);
        spec.layers.push(LayerSpec::AveragePooling2D {
            pool_size: Size2 { h: 3, w: 2 },
            strides: Some(Size2 { h: 1, w: 2 }),
        });
        let error = infer(&spec).unwrap_err();
        // The model no longer ends in Dense: only the output check fails, after the shapes.
        assert!(matches!(error, ModelError::Output { .. }), "{error}");
        spec.layers.push(LayerSpec::Flatten);
        spec.layers.push(LayerSpec::Dense {
            units: 10,
            activation: Activation::Softmax,
        });
        let layers = infer(&spec).unwrap();
        assert_eq!(layers[0].output, Shape::Image { h: 12, w: 9, c: 5 });
        assert_eq!(layers[0].params[0].shape, [5, 3, 1, 5]);
        assert_eq!(layers[1].name, "average_pooling2d");
        assert_eq!(layers[1].output, Shape::Image { h: 10, w: 4, c: 5 });
    }

    #[test]
    fn conv_after_flatten_says_to_move_it_before_flatten() {
        let mut spec = preset("cnn").unwrap();
        spec.layers.swap(4, 5);
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("layer 5 (conv2d_2)"), "{message}");
        assert!(message.contains("flat vector"), "{message}");
        assert!(message.contains("(1600,)"), "{message}");
        assert!(message.contains("before Flatten"), "{message}");
    }

    #[test]
    fn zero_input_dimension_and_one_class_are_rejected() {
        let mut spec = preset("dense").unwrap();
        spec.input = [28, 0, 1];
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("[28, 0, 1]"), "{message}");
        let mut spec = preset("dense").unwrap();
        spec.classes = 1;
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("classes is 1"), "{message}");
    }

    #[test]
    fn huge_layers_are_an_error_not_an_overflow() {
        let mut spec = preset("dense").unwrap();
        spec.layers[1] = LayerSpec::Dense {
            units: usize::MAX / 2,
            activation: Activation::Relu,
        };
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("layer 1 (dense)"), "{message}");
        assert!(message.contains("more than"), "{message}");
    }
}
