//! Shape inference: every layer's output shape and tensors, and every shape error, before any
//! GPU work. Each layer's own rule ([`Layer::output_shape`]) does the work; this loop names the
//! layers, carries the shape along and checks what the model as a whole must satisfy.

use std::collections::HashMap;

use super::spec::{Activation, LayerSpec, ModelSpec};
use super::ModelError;
use crate::layers::layer::{Layer, Problem};
pub use crate::layers::layer::{Role, TensorDef};
pub use crate::layers::rules::COLLAPSE_HINT;
pub use crate::layers::rules::MAX_LAYERS;
use crate::layers::rules::{values, MAX_VALUES};
pub use crate::layers::shape::Shape;

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
    /// Its tensors (parameters, state, scratch), with names relative to the layer.
    pub tensors: Vec<TensorDef>,
}

impl LayerInfo {
    /// The layer's tensors of `role`, each with its full name (`dense_1.kernel`).
    pub fn tensors_of(&self, role: Role) -> impl Iterator<Item = (String, &TensorDef)> {
        self.tensors
            .iter()
            .filter(move |tensor| tensor.role == role)
            .map(|tensor| (format!("{}.{}", self.name, tensor.name), tensor))
    }

    /// Trainable values in the layer.
    pub fn param_count(&self) -> usize {
        self.count(Role::Trainable)
    }

    /// Non-trainable values (moving statistics) in the layer.
    pub fn state_count(&self) -> usize {
        self.count(Role::State)
    }

    fn count(&self, role: Role) -> usize {
        self.tensors_of(role).map(|(_, tensor)| tensor.len()).sum()
    }

    /// The layer's activation (`Linear` for layers without one).
    pub fn activation(&self) -> Activation {
        self.spec.activation()
    }
}

/// Resolves every layer's shapes and tensors, or says which layer is wrong and why.
pub fn infer(spec: &ModelSpec) -> Result<Vec<LayerInfo>, ModelError> {
    check_task(spec)?;
    let [h, w, c] = spec.input;
    let mut shape = Shape::Image { h, w, c };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut layers = Vec::with_capacity(spec.layers.len());
    for (index, layer_spec) in spec.layers.iter().enumerate() {
        let layer = layer_spec.layer();
        let count = seen.entry(layer.kind()).or_default();
        let name = match *count {
            0 => layer.kind().to_string(),
            n => format!("{}_{n}", layer.kind()),
        };
        *count += 1;
        let is_last = index + 1 == spec.layers.len();
        let output = layer_output(layer, shape, is_last).map_err(|p| ModelError::Layer {
            index,
            layer: name.clone(),
            problem: p.problem,
            input: shape.to_string(),
            hint: p.hint,
        })?;
        layers.push(LayerInfo {
            name,
            spec: layer_spec.clone(),
            input: shape,
            output,
            tensors: layer.tensors(shape),
        });
        shape = output;
    }
    check_output(spec, &layers)?;
    Ok(layers)
}

/// The layer count, input shape and class count, before any layer.
fn check_task(spec: &ModelSpec) -> Result<(), ModelError> {
    if spec.layers.len() > MAX_LAYERS {
        return Err(ModelError::TooManyLayers {
            model: spec.name.clone(),
            layers: spec.layers.len(),
            max: MAX_LAYERS,
        });
    }
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

/// One layer's output shape from the shape reaching it; softmax only at the very end.
fn layer_output(layer: &dyn Layer, input: Shape, is_last: bool) -> Result<Shape, Problem> {
    if layer.activation() == Activation::Softmax && !is_last {
        return Err(Problem::new(
            "softmax is only supported on the output layer",
            "use relu or linear on hidden layers",
        ));
    }
    layer.output_shape(input)
}

/// Whether `layer` is an `Activation("softmax")` layer.
fn is_softmax_layer(layer: &LayerSpec) -> bool {
    matches!(layer, LayerSpec::Activation(a) if a.activation == Activation::Softmax)
}

/// The model must end in softmax over `classes` outputs: a Dense layer with softmax, or any
/// layer giving `classes` outputs followed by `Activation("softmax")`.
fn check_output(spec: &ModelSpec, layers: &[LayerInfo]) -> Result<(), ModelError> {
    let output_error = |problem: String| ModelError::Output {
        model: spec.name.clone(),
        problem,
        hint: format!(
            "end the model with Dense(units = {}, activation = \"softmax\")",
            spec.classes
        ),
    };
    let Some(last) = layers.last() else {
        return Err(output_error("the model has no layers".into()));
    };
    let ends_in_softmax = last.activation() == Activation::Softmax || is_softmax_layer(&last.spec);
    match last.output {
        Shape::Flat(units) if units != spec.classes => Err(output_error(format!(
            "the last layer has {units} units but the data has {} classes",
            spec.classes
        ))),
        Shape::Flat(_) if ends_in_softmax => Ok(()),
        _ => Err(output_error(
            "the last layer must be a Dense layer with softmax activation".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv2d::Conv2D;
    use crate::layers::dense::Dense;
    use crate::layers::flatten::Flatten;
    use crate::layers::pool2d::{AveragePooling2D, Window};
    use crate::model::presets::preset;
    use crate::model::spec::{Padding, Size2};

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
        spec.layers[2] = LayerSpec::Dense(Dense {
            units: 7,
            activation: Activation::Softmax,
        });
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
        let params: Vec<_> = layers[2].tensors_of(Role::Trainable).collect();
        assert_eq!(params[0].0, "conv2d_1.kernel");
        assert_eq!(params[0].1.shape, [3, 3, 32, 64]);
        assert_eq!(params[1].1.shape, [64]);
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
    fn new_presets_match_kerass_counts_with_the_non_trainable_split() {
        let count = |name: &str, f: fn(&LayerInfo) -> usize| -> usize {
            infer(&preset(name).unwrap()).unwrap().iter().map(f).sum()
        };
        // keras-convnet: 320 + 18,496; 5·5·64 = 1,600 → 1,600·10 + 10 = 16,010.
        assert_eq!(count("keras-convnet", LayerInfo::param_count), 34_826);
        assert_eq!(count("keras-convnet", LayerInfo::state_count), 0);
        // cnn-bn: cnn's 93,322 plus gamma and beta of 32 + 64 + 64 channels (320), and as many
        // moving means and variances, non-trainable.
        assert_eq!(count("cnn-bn", LayerInfo::param_count), 93_642);
        assert_eq!(count("cnn-bn", LayerInfo::state_count), 320);
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
        spec.layers[0] = LayerSpec::Conv2D(Conv2D {
            filters: 5,
            kernel_size: Size2 { h: 5, w: 3 },
            strides: Size2 { h: 2, w: 3 },
            padding: Padding::Valid,
            activation: Activation::Relu,
        });
        spec.layers.truncate(1);
        spec.layers
            .push(LayerSpec::AveragePooling2D(AveragePooling2D(Window {
                pool_size: Size2 { h: 3, w: 2 },
                strides: Some(Size2 { h: 1, w: 2 }),
            })));
        let error = infer(&spec).unwrap_err();
        // The model no longer ends in Dense: only the output check fails, after the shapes.
        assert!(matches!(error, ModelError::Output { .. }), "{error}");
        spec.layers.push(LayerSpec::Flatten(Flatten {}));
        spec.layers.push(LayerSpec::Dense(Dense {
            units: 10,
            activation: Activation::Softmax,
        }));
        let layers = infer(&spec).unwrap();
        assert_eq!(layers[0].output, Shape::Image { h: 12, w: 9, c: 5 });
        assert_eq!(layers[0].tensors[0].shape, [5, 3, 1, 5]);
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
    fn more_than_max_layers_is_refused_before_any_shape_is_inferred() {
        let mut spec = preset("dense").unwrap();
        let relu = LayerSpec::Activation(crate::layers::activation::ActivationLayer {
            activation: Activation::Relu,
        });
        // MAX_LAYERS layers pass the count check (and the model is still valid).
        spec.layers.splice(1..1, vec![relu; MAX_LAYERS - 3]);
        assert_eq!(spec.layers.len(), MAX_LAYERS);
        assert_eq!(infer(&spec).unwrap().len(), MAX_LAYERS);
        // 100,000 layers are refused by count, naming the count and the cap.
        let mut spec = preset("dense").unwrap();
        let dense = spec.layers[1].clone();
        spec.layers = vec![dense; 100_000];
        let started = web_time::Instant::now();
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("100000 layers"), "{message}");
        assert!(message.contains("1000 a model may have"), "{message}");
        assert!(
            started.elapsed().as_millis() < 100,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_same_convolution_with_a_kernel_near_usize_max_is_an_error_not_an_overflow() {
        let mut spec = preset("cnn-same").unwrap();
        spec.layers[0] = LayerSpec::Conv2D(Conv2D {
            filters: 2,
            kernel_size: Size2 {
                h: usize::MAX - 1,
                w: 3,
            },
            strides: Size2::one(),
            padding: Padding::Same,
            activation: Activation::Relu,
        });
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("layer 0 (conv2d)"), "{message}");
        assert!(message.contains("more than"), "{message}");
    }

    #[test]
    fn huge_layers_are_an_error_not_an_overflow() {
        let mut spec = preset("dense").unwrap();
        spec.layers[1] = LayerSpec::Dense(Dense {
            units: usize::MAX / 2,
            activation: Activation::Relu,
        });
        let message = infer(&spec).unwrap_err().to_string();
        assert!(message.contains("layer 1 (dense)"), "{message}");
        assert!(message.contains("more than"), "{message}");
    }
}
