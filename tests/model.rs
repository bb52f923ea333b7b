//! Models as data: the lecture's presets, model files (and every way one can be wrong), shape
//! inference and the Keras-style summary. No GPU needed.

use std::fs;
use std::path::{Path, PathBuf};

use gpu_cnn::input_file::InputFileError;
use gpu_cnn::model::file::{layer_types, parse};
use gpu_cnn::model::presets::{preset, resolve, NAMES};
use gpu_cnn::model::shape::{infer, LayerInfo, Shape};
use gpu_cnn::model::spec::{Activation, LayerSpec};
use gpu_cnn::model::ModelError;
use gpu_cnn::report::summary;

/// The lecture's full CNN written out by hand, as a user would, without `name` or `input`.
const CNN_BY_HAND: &str = r#"
[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3
activation = "relu"

[[layers]]
type = "MaxPooling2D"
pool_size = 2

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = [3, 3]
activation = "relu"

[[layers]]
type = "MaxPooling2D"
pool_size = [2, 2]

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3
activation = "relu"

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 64
activation = "relu"

[[layers]]
type = "Dense"
units = 10
activation = "softmax"
"#;

/// `text` written to `<tempdir>/<stem>.toml`; the directory lives as long as the guard.
fn write_model(stem: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{stem}.toml"));
    fs::write(&path, text).expect("write model file");
    (dir, path)
}

/// The error `resolve` gives for a model file holding `text`, checked to name the file.
fn file_error(stem: &str, text: &str) -> (ModelError, String) {
    let (_dir, path) = write_model(stem, text);
    let error = match resolve(path.to_str().expect("utf-8 temp path")) {
        Ok(spec) => panic!("{stem}.toml must be rejected, but gave {spec:?}"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the error must name the file {}: {message}",
        path.display()
    );
    (error, message)
}

/// `CNN_BY_HAND` with `from` replaced by `to` (which must occur).
fn cnn_with(from: &str, to: &str) -> String {
    assert!(CNN_BY_HAND.contains(from), "{from}");
    CNN_BY_HAND.replacen(from, to, 1)
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "missing {part:?} in: {message}");
    }
}

#[test]
fn every_preset_parses_and_infers_with_ten_softmax_outputs() {
    for name in NAMES {
        let spec = preset(name).unwrap_or_else(|e| panic!("preset {name}: {e}"));
        assert_eq!(spec.name, name);
        assert_eq!(spec.input, [28, 28, 1], "{name}");
        let layers = infer(&spec).unwrap_or_else(|e| panic!("preset {name}: {e}"));
        assert_eq!(layers.last().unwrap().output, Shape::Flat(10), "{name}");
        assert_eq!(
            resolve(name).unwrap(),
            spec,
            "resolve({name}) is the preset"
        );
    }
}

#[test]
fn cnn_has_93322_parameters_and_kerass_output_shapes() {
    let layers = infer(&preset("cnn").unwrap()).unwrap();
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
    assert_eq!(
        layers.iter().map(LayerInfo::param_count).sum::<usize>(),
        93_322
    );
}

#[test]
fn summary_lists_every_cnn_layer_with_shape_and_count_then_totals() {
    let spec = preset("cnn").unwrap();
    let text = summary(&spec, &infer(&spec).unwrap());
    assert!(text.starts_with("Model: \"cnn\"\n"), "{text}");
    let rows = [
        ("conv2d (Conv2D)", "(None, 26, 26, 32)", "320"),
        ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)", "0"),
        ("conv2d_1 (Conv2D)", "(None, 11, 11, 64)", "18,496"),
        ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)", "0"),
        ("conv2d_2 (Conv2D)", "(None, 3, 3, 64)", "36,928"),
        ("flatten (Flatten)", "(None, 576)", "0"),
        ("dense (Dense)", "(None, 64)", "36,928"),
        ("dense_1 (Dense)", "(None, 10)", "650"),
    ];
    let lines: Vec<&str> = text.lines().collect();
    for (layer, shape, count) in rows {
        let line = lines
            .iter()
            .find(|line| line.contains(&format!(" {layer} ")))
            .unwrap_or_else(|| panic!("no row for {layer}:\n{text}"));
        let cells: Vec<&str> = line.split('│').map(str::trim).collect();
        assert_eq!(cells, ["", layer, shape, count, ""], "{line}");
    }
    assert_contains(
        &text,
        &[
            "Layer (type)",
            "Output Shape",
            "Param #",
            "Total params: 93,322",
            "Trainable params: 93,322",
            "Non-trainable params: 0",
        ],
    );
    // Every table line is as wide as the first.
    let width = lines[1].chars().count();
    for line in &lines[1..lines.len() - 3] {
        assert_eq!(line.chars().count(), width, "{line}");
    }
}

#[test]
fn model_file_in_a_tempdir_loads_by_path_named_after_its_stem() {
    let (_dir, path) = write_model("my-cnn", CNN_BY_HAND);
    let spec = resolve(path.to_str().unwrap()).unwrap();
    assert_eq!(spec.name, "my-cnn");
    let mut cnn = preset("cnn").unwrap();
    cnn.name = "my-cnn".into();
    assert_eq!(spec, cnn, "one number and [h, w] mean the same size");
}

#[test]
fn toml_syntax_error_gives_file_line_and_the_format_not_the_layer_types() {
    let (error, message) = file_error("syntax", "name = \"x\"\n[[layers]\ntype = \"Flatten\"\n");
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(
        &message,
        &["line 2", "[[layers]] table per layer", "README"],
    );
    assert!(!message.contains(&layer_types()), "{message}");
}

#[test]
fn unknown_layer_type_conv3d_lists_the_valid_types() {
    let (error, message) = file_error("conv3d", &cnn_with("\"Conv2D\"", "\"Conv3D\""));
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(&message, &["Conv3D", "line ", &layer_types()]);
}

#[test]
fn misspelled_field_filtres_is_an_unknown_field() {
    let (error, message) = file_error("filtres", &cnn_with("filters = 32", "filtres = 32"));
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(&message, &["filtres", "line "]);
}

#[test]
fn negative_filters_is_a_format_error_with_its_line() {
    let (error, message) = file_error("negative", &cnn_with("filters = 32", "filters = -1"));
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(&message, &["-1", "line "]);
}

#[test]
fn negative_kernel_size_says_what_a_size_is() {
    let (error, message) = file_error(
        "negative-kernel",
        &cnn_with("kernel_size = 3", "kernel_size = -3"),
    );
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(&message, &["invalid size", "[h, w]", "line "]);
}

#[test]
fn unreadable_model_path_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let error = resolve(dir.path().to_str().unwrap()).unwrap_err();
    assert!(
        matches!(
            error,
            ModelError::File(InputFileError::NotRegular {
                found: "a directory",
                ..
            })
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&dir.path().display().to_string()),
        "{error}"
    );
}

#[test]
fn zero_kernel_size_names_the_layer_and_field() {
    let (error, message) = file_error(
        "zero-kernel",
        &cnn_with("kernel_size = 3", "kernel_size = 0"),
    );
    assert!(matches!(error, ModelError::InFile { .. }), "{error:?}");
    assert_contains(&message, &["layer 0 (conv2d)", "kernel_size", "(0, 0)"]);
}

#[test]
fn dense_before_flatten_names_layer_shape_and_fix() {
    let text = "[[layers]]\ntype = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n";
    let (_, message) = file_error("dense-first", text);
    assert_contains(&message, &["layer 0 (dense)", "(28, 28, 1)", "Flatten"]);
}

#[test]
fn fourth_pooling_layer_collapses_28x28_and_gets_the_lectures_fixes() {
    // conv 26 → pool 13 → conv 11 → pool 5 → conv 3 → pool 1 → pool: nothing left.
    let flatten = "[[layers]]\ntype = \"Flatten\"";
    let pool = "[[layers]]\ntype = \"MaxPooling2D\"\npool_size = 2\n\n";
    let text = cnn_with(flatten, &format!("{pool}{pool}{flatten}"));
    let (error, message) = file_error("four-pools", &text);
    let ModelError::InFile { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(**source, ModelError::Layer { index: 6, .. }),
        "{source:?}"
    );
    assert_contains(
        &message,
        &[
            "layer 6 (max_pooling2d_3)",
            "(1, 1, 64)",
            "fewer pooling layers",
            "smaller pool size",
            "padding = \"same\"",
        ],
    );
}

#[test]
fn last_dense_with_7_units_says_7_units_and_10_classes() {
    let (error, message) = file_error("seven", &cnn_with("units = 10", "units = 7"));
    let ModelError::InFile { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(**source, ModelError::Output { .. }), "{source:?}");
    assert_contains(&message, &["7 units", "10 classes"]);
}

#[test]
fn softmax_on_a_hidden_layer_names_that_layer() {
    let text = cnn_with(
        "units = 64\nactivation = \"relu\"",
        "units = 64\nactivation = \"softmax\"",
    );
    let (_, message) = file_error("hidden-softmax", &text);
    assert_contains(&message, &["layer 6 (dense)", "softmax", "output layer"]);
}

#[test]
fn unknown_name_that_is_not_a_file_lists_presets_and_mentions_paths() {
    let message = resolve("lenet-5").unwrap_err().to_string();
    assert_contains(&message, &["'lenet-5'", &NAMES.join(", "), ".toml"]);
    let missing = "no/such/dir/model.toml";
    assert!(!Path::new(missing).exists());
    let error = resolve(missing).unwrap_err();
    assert!(
        matches!(error, ModelError::UnknownModel { .. }),
        "{error:?}"
    );
}

#[test]
fn parse_names_the_origin_in_format_errors() {
    let error = parse("layers = 3\n", Path::new("models/odd.toml")).unwrap_err();
    assert!(
        error.to_string().starts_with("models/odd.toml: "),
        "{error}"
    );
}

#[test]
fn a_batch_past_the_implicit_gemms_exact_range_is_an_error_with_a_hint() {
    let layers = infer(&preset("cnn").unwrap()).unwrap();
    let conv = &layers[0];
    // 3,000 images of 26 × 26 outputs: 2,028,000 terms in the weight gradient, still exact.
    assert!(conv.spec.layer().op(conv.input, 3_000).is_ok());
    // 3,200 images: 2,163,200 terms, past 2^21.
    let Err(problem) = conv.spec.layer().op(conv.input, 3_200) else {
        panic!("batch 3,200 should be refused");
    };
    assert_contains(&problem.problem, &["at batch 3200", "2163200 terms"]);
    assert_contains(&problem.hint, &["--batch-size"]);
}

#[test]
fn every_activation_name_parses_on_dense_conv2d_and_activation_layers() {
    let names = [
        ("linear", Activation::Linear),
        ("relu", Activation::Relu),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("elu", Activation::Elu),
        ("selu", Activation::Selu),
        ("gelu", Activation::Gelu),
        ("leaky_relu", Activation::LeakyRelu),
        ("softplus", Activation::Softplus),
        ("silu", Activation::Silu),
        ("swish", Activation::Silu),
    ];
    for (name, activation) in names {
        let text = cnn_with(
            "units = 64\nactivation = \"relu\"",
            &format!("units = 64\nactivation = \"{name}\"\n\n[[layers]]\ntype = \"Activation\"\nactivation = \"{name}\""),
        )
        .replacen("activation = \"relu\"", &format!("activation = \"{name}\""), 1);
        let spec = parse(&text, Path::new("acts.toml")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let layers = infer(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.layers[0].activation(), activation, "{name} on Conv2D");
        assert_eq!(spec.layers[6].activation(), activation, "{name} on Dense");
        assert!(
            matches!(&spec.layers[7], LayerSpec::Activation(a) if a.activation == activation),
            "{name} as an Activation layer: {:?}",
            spec.layers[7]
        );
        assert_eq!(layers.len(), 9, "{name}");
    }
}

#[test]
fn unknown_activation_mish_lists_the_valid_names() {
    let (error, message) = file_error("mish", &cnn_with("\"relu\"", "\"mish\""));
    assert!(matches!(error, ModelError::Parse { .. }), "{error:?}");
    assert_contains(
        &message,
        &["unknown variant `mish`", "line ", "expected one of"],
    );
    for name in [
        "sigmoid",
        "tanh",
        "elu",
        "selu",
        "gelu",
        "leaky_relu",
        "softplus",
        "silu",
        "swish",
    ] {
        assert_contains(&message, &[name]);
    }
}

#[test]
fn leaky_relu_layer_takes_kerass_negative_slope_and_rejects_a_negative_one() {
    let layer = |fields: &str| {
        cnn_with(
            "[[layers]]\ntype = \"Flatten\"",
            &format!(
                "[[layers]]\ntype = \"LeakyReLU\"\n{fields}\n\n[[layers]]\ntype = \"Flatten\""
            ),
        )
    };
    let spec = parse(&layer(""), Path::new("leaky.toml")).expect("default slope");
    let slope = |spec: &gpu_cnn::model::ModelSpec| match &spec.layers[5] {
        LayerSpec::LeakyReLU(l) => l.negative_slope,
        other => panic!("{other:?}"),
    };
    assert_eq!(slope(&spec), 0.3, "the Keras layer's default");
    let layers = infer(&spec).expect("shapes");
    assert_eq!(layers[5].name, "leaky_re_lu");
    let spec = parse(&layer("negative_slope = 0.05"), Path::new("leaky.toml")).expect("slope");
    assert_eq!(slope(&spec), 0.05);
    let (error, message) = file_error("negative", &layer("negative_slope = -0.5"));
    let in_layer = |e: &ModelError| matches!(e, ModelError::Layer { index: 5, .. });
    assert!(
        matches!(&error, ModelError::InFile { source, .. } if in_layer(source)),
        "{error:?}"
    );
    assert_contains(
        &message,
        &["leaky_re_lu", "negative_slope is -0.5", "at least 0"],
    );
}
