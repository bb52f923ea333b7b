//! Model files: a sequential model written in TOML with Keras's layer and field names, read by
//! the same parser as the bundled presets (`assets/models/*.toml`).
//!
//! ```toml
//! name = "my-cnn"        # optional: defaults to the file's stem
//! input = [28, 28, 1]    # optional: [height, width, channels]
//! classes = 10           # optional
//!
//! [[layers]]
//! type = "Conv2D"
//! filters = 32
//! kernel_size = 3        # one number, or [h, w]
//! activation = "relu"
//!
//! [[layers]]
//! type = "MaxPooling2D"
//! pool_size = 2
//!
//! [[layers]]
//! type = "Flatten"
//!
//! [[layers]]
//! type = "Dense"
//! units = 10
//! activation = "softmax"
//! ```

use std::fs;
use std::path::Path;

use super::shape::infer;
use super::spec::{Activation, LayerSpec, ModelSpec};
use super::ModelError;

/// The layer `type`s a model file may use, as an error hint lists them.
pub fn layer_types() -> String {
    LayerSpec::TYPES.join(", ")
}

/// The `activation` names a model file may use, as an error hint lists them.
pub fn activation_names() -> String {
    let names: Vec<String> = Activation::ALL.iter().map(|a| a.to_string()).collect();
    format!("{} (swish is silu)", names.join(", "))
}

/// The hint attached to every syntax or format error in a model file.
fn format_hint() -> String {
    format!(
        "layer types are {}, with Keras's field names; activations are {}; sizes are whole \
         numbers >= 1, one number or [h, w]; see the README's \"Model files\" section",
        layer_types(),
        activation_names()
    )
}

/// The parser's message, with serde's words for a bad [`super::spec::Size2`] made plain.
fn parser_message(error: &toml::de::Error) -> String {
    error.to_string().trim_end().replace(
        "data did not match any variant of untagged enum SizeInFile",
        "invalid size: expected a whole number >= 1 or [h, w]",
    )
}

/// Parses the text of a model file; `origin` is the file it came from, named in every error and
/// giving the model its name (the file's stem) when the file has no `name`.
///
/// Only the format is checked here; [`infer`] checks the shapes (as [`load`] does).
pub fn parse(text: &str, origin: &Path) -> Result<ModelSpec, ModelError> {
    let mut spec: ModelSpec = toml::from_str(text).map_err(|error| ModelError::Parse {
        path: origin.to_path_buf(),
        message: parser_message(&error),
        hint: format_hint(),
    })?;
    if spec.name.is_empty() {
        spec.name = origin
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(spec)
}

/// Reads, parses and checks the model file at `path`: a shape or output error comes back as
/// [`ModelError::InFile`] naming the file. The shapes are checked against the file's own
/// `input` (default `[28, 28, 1]`).
pub fn load(path: &Path) -> Result<ModelSpec, ModelError> {
    let text = fs::read_to_string(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let spec = parse(&text, path)?;
    infer(&spec).map_err(|error| ModelError::InFile {
        path: path.to_path_buf(),
        source: Box::new(error),
    })?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::{LayerSpec, Size2};

    #[test]
    fn missing_name_becomes_the_file_stem_and_sizes_take_one_number_or_two() {
        let text = "[[layers]]\ntype = \"Conv2D\"\nfilters = 4\nkernel_size = [3, 2]\n\
                    [[layers]]\ntype = \"MaxPooling2D\"\npool_size = 2\n";
        let spec = parse(text, Path::new("dir/my-net.toml")).unwrap();
        assert_eq!(spec.name, "my-net");
        assert_eq!(spec.input, [28, 28, 1]);
        assert_eq!(spec.classes, 10);
        assert!(matches!(
            &spec.layers[0],
            LayerSpec::Conv2D(conv) if conv.kernel_size == Size2 { h: 3, w: 2 } && conv.strides == Size2::square(1)
        ));
        assert!(matches!(
            &spec.layers[1],
            LayerSpec::MaxPooling2D(pool) if pool.0.pool_size == Size2::square(2) && pool.0.strides.is_none()
        ));
    }

    #[test]
    fn syntax_error_keeps_line_and_column_and_names_the_file() {
        let message = parse("name = \"x\"\n[[layers]\n", Path::new("bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("bad.toml: "), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains(&layer_types()), "{message}");
    }
}
