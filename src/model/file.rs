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
//!
//! An optional `[optimizer]` table gives the run's default optimizer and learning-rate
//! schedule (see `file/optimizer.rs`); command-line options override it.

mod optimizer;

use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Visitor};
use serde::Deserialize;
use thiserror::Error;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::shape::infer;
use super::spec::{LayerSpec, LayerType, ModelSpec};
use super::ModelError;
use crate::input_file::{self, FileKind};
use crate::optim::OptimizerSettings;

/// The most layers a model may have (the README's "Model files" section); a file with more is
/// refused while it is parsed, before any shape is inferred (which refuses them too, for
/// models built in code).
pub use crate::layers::rules::MAX_LAYERS;

/// The layer `type`s a model file may use, as an error hint lists them.
pub fn layer_types() -> String {
    LayerSpec::TYPES.join(", ")
}

/// Why the text of a model file does not describe a model, with where in the text.
#[derive(Debug, Error)]
pub enum FormatError {
    /// Not TOML, or TOML that does not fit the model format; the message gives the line and
    /// column and quotes the line.
    #[error("{message}{}", hint_line(.hint))]
    Toml {
        /// The parser's message, with line and column.
        message: String,
        /// What is allowed, where that fits the error.
        hint: Option<String>,
    },
    /// The bytes are not UTF-8 text.
    #[error(
        "not UTF-8 text: invalid byte {byte:#04x} at byte offset {offset} (line {line}, column \
         {column}); save the file as UTF-8 text"
    )]
    NotUtf8 {
        /// The first invalid byte.
        byte: u8,
        /// Its offset from the start of the file.
        offset: usize,
        /// Its line, from 1.
        line: usize,
        /// Its column (in bytes), from 1.
        column: usize,
    },
}

/// `"\nhint: ..."` for a hint, nothing without one.
fn hint_line(hint: &Option<String>) -> String {
    hint.as_ref()
        .map_or_else(String::new, |hint| format!("\nhint: {hint}"))
}

/// Which hint follows a format error.
#[derive(Clone, Copy)]
enum Hint {
    /// None: the message says what is allowed.
    None,
    /// The list of layer types: the `type` of a layer is missing or unknown.
    LayerTypes,
    /// Where the format is described: the text is not TOML.
    Format,
}

impl Hint {
    /// The hint's text.
    fn text(self) -> Option<String> {
        const README: &str = "see the README's \"Model files\" section";
        match self {
            Self::None => None,
            Self::LayerTypes => Some(format!(
                "layer types are {}, with Keras's field names; {README}",
                layer_types()
            )),
            Self::Format => Some(format!(
                "a model file is TOML: top-level name, input and classes, then one [[layers]] \
                 table per layer; {README}"
            )),
        }
    }
}

/// A located error with the hint that fits it.
type Located = (toml::de::Error, Hint);

/// Turns the parser's error into a [`FormatError`] that quotes `text` at its position, with
/// serde's words for a bad [`super::spec::Size2`] made plain.
fn format_error(text: &str, (mut error, hint): Located) -> FormatError {
    error.set_input(Some(text));
    let message = error.to_string().trim_end().replace(
        "data did not match any variant of untagged enum SizeInFile",
        "invalid size: expected a whole number >= 1 or [h, w]",
    );
    FormatError::Toml {
        message,
        hint: hint.text(),
    }
}

/// An error with `message` at `span` of the text, as the parser reports its own.
fn error_at(span: Range<usize>, message: String) -> toml::de::Error {
    // toml gives an error raised while deserializing a value that value's span, so refuse a
    // placeholder standing at `span`.
    let placeholder = ValueDeserializer::from(Spanned::new(span, DeValue::Boolean(false)));
    match Refusal(message).deserialize(placeholder) {
        Ok(never) => match never {},
        Err(error) => error,
    }
}

/// A deserialization that fails with its message whatever the value.
struct Refusal(String);

impl<'de> DeserializeSeed<'de> for Refusal {
    type Value = std::convert::Infallible;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_newtype_struct("Refusal", self)
    }
}

impl<'de> Visitor<'de> for Refusal {
    type Value = std::convert::Infallible;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(&self.0)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, _: D) -> Result<Self::Value, D::Error> {
        Err(de::Error::custom(self.0))
    }
}

/// A model file read whole: the model and the settings of its `[optimizer]` table (none given
/// without one).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The model.
    pub spec: ModelSpec,
    /// The run's default optimizer and schedule.
    pub optimizer: OptimizerSettings,
}

/// Parses the text of a model file; `origin` is the file it came from, named in every error and
/// giving the model its name (the file's stem) when the file has no `name`.
///
/// Only the format is checked here; [`infer`] checks the shapes (as [`load`] does).
pub fn parse(text: &str, origin: &Path) -> Result<ModelSpec, ModelError> {
    parse_file(text, origin).map(|file| file.spec)
}

/// [`parse`], keeping the `[optimizer]` table's settings.
pub fn parse_file(text: &str, origin: &Path) -> Result<ModelFile, ModelError> {
    let mut file = parse_file_text(text).map_err(|error| ModelError::Parse {
        path: origin.to_path_buf(),
        error,
    })?;
    if file.spec.name.is_empty() {
        file.spec.name = origin
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(file)
}

/// [`parse`] on the bytes of a model file: bytes that are not UTF-8 are refused naming the
/// offset, line and column of the first bad byte.
pub fn parse_bytes(bytes: &[u8], origin: &Path) -> Result<ModelSpec, ModelError> {
    parse_file_bytes(bytes, origin).map(|file| file.spec)
}

/// [`parse_bytes`], keeping the `[optimizer]` table's settings.
fn parse_file_bytes(bytes: &[u8], origin: &Path) -> Result<ModelFile, ModelError> {
    let text = utf8(bytes).map_err(|error| ModelError::Parse {
        path: origin.to_path_buf(),
        error,
    })?;
    parse_file(text, origin)
}

/// `bytes` as UTF-8 text, or where they stop being it.
fn utf8(bytes: &[u8]) -> Result<&str, FormatError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        let before = &bytes[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        FormatError::NotUtf8 {
            byte: bytes[offset],
            offset,
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: offset - line_start + 1,
        }
    })
}

/// The model a model file's text describes, its name empty when the text gives none; every
/// error gives the line and column of the bad key or value.
///
/// Two steps, so that positions survive: the text is parsed into a table that keeps every
/// position, the top-level keys are read from it, then each layer's `type` and, by that type,
/// its fields, each from its own table.
pub fn parse_text(text: &str) -> Result<ModelSpec, FormatError> {
    parse_file_text(text).map(|file| file.spec)
}

/// [`parse_text`], keeping the `[optimizer]` table's settings (read apart, as the layers are).
pub fn parse_file_text(text: &str) -> Result<ModelFile, FormatError> {
    let located = |error| format_error(text, error);
    let mut root = DeTable::parse(text).map_err(|error| located((error, Hint::Format)))?;
    let root_span = root.span();
    let optimizer = match root.get_mut().remove_entry("optimizer") {
        Some((_, table)) => optimizer::parse(table).map_err(located)?,
        None => OptimizerSettings::default(),
    };
    let layers = root.get_mut().remove_entry("layers");
    if let Some((key, _)) = &layers {
        // The layers are read below; the top level is read with an empty list in their place.
        let empty = Spanned::new(root_span.clone(), DeValue::Array(DeArray::new()));
        root.get_mut().insert(key.clone(), empty);
    }
    let mut spec = ModelSpec::deserialize(toml::de::Deserializer::from(root))
        .map_err(|error| located((error, Hint::None)))?;
    if let Some((_, layers)) = layers {
        spec.layers = parse_layers(layers).map_err(located)?;
    }
    Ok(ModelFile { spec, optimizer })
}

/// The `layers` array: at most [`MAX_LAYERS`] tables, each a layer.
fn parse_layers(layers: Spanned<DeValue<'_>>) -> Result<Vec<LayerSpec>, Located> {
    let span = layers.span();
    let DeValue::Array(layers) = layers.into_inner() else {
        let message = "`layers` must be a list of tables: one [[layers]] table per layer";
        return Err((error_at(span, message.into()), Hint::Format));
    };
    if let Some(first_too_many) = layers.get(MAX_LAYERS) {
        let message = format!(
            "the model has {} layers, more than the {MAX_LAYERS} gpu-cnn builds; this is layer \
             {}",
            layers.len(),
            MAX_LAYERS + 1
        );
        return Err((error_at(first_too_many.span(), message), Hint::None));
    }
    layers.into_iter().map(parse_layer).collect()
}

/// One layer: its `type` first, then the fields of that type from the rest of its table.
fn parse_layer(layer: Spanned<DeValue<'_>>) -> Result<LayerSpec, Located> {
    let span = layer.span();
    let DeValue::Table(mut fields) = layer.into_inner() else {
        let message = "a layer must be a table with a `type`: one [[layers]] table per layer";
        return Err((error_at(span, message.into()), Hint::Format));
    };
    let Some(kind) = fields.remove("type") else {
        let message = "this layer has no `type`".to_string();
        return Err((error_at(span, message), Hint::LayerTypes));
    };
    let kind = LayerType::deserialize(ValueDeserializer::from(kind))
        .map_err(|error| (error, Hint::LayerTypes))?;
    let fields = ValueDeserializer::from(Spanned::new(span, DeValue::Table(fields)));
    LayerSpec::deserialize_fields(kind, fields).map_err(|error| (error, Hint::None))
}

/// Reads, parses and checks the model file at `path` (a regular file of at most
/// [`FileKind::ModelFile`]'s cap): a shape or output error comes back as
/// [`ModelError::InFile`] naming the file. The shapes are checked against the file's own
/// `input` (default `[28, 28, 1]`).
pub fn load(path: &Path) -> Result<ModelSpec, ModelError> {
    load_file(path).map(|file| file.spec)
}

/// [`load`], keeping the `[optimizer]` table's settings.
pub fn load_file(path: &Path) -> Result<ModelFile, ModelError> {
    let bytes = input_file::read(path, FileKind::ModelFile)?;
    let file = parse_file_bytes(&bytes, path)?;
    infer(&file.spec).map_err(|error| ModelError::InFile {
        path: path.to_path_buf(),
        source: Box::new(error),
    })?;
    Ok(file)
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
        assert!(message.contains("line 2, column 10"), "{message}");
        assert!(
            message.contains("one [[layers]] table per layer"),
            "{message}"
        );
        assert!(!message.contains(&layer_types()), "{message}");
    }

    /// The error for `text`, shown as the user sees it.
    fn error(text: &str) -> String {
        parse(text, Path::new("m.toml")).unwrap_err().to_string()
    }

    #[test]
    fn unknown_activation_points_at_its_value_on_line_7_without_a_hint() {
        let message = error(
            "name = \"x\"\n[[layers]]\ntype = \"Flatten\"\n\n[[layers]]\ntype = \"Dense\"\n\
             activation = \"mish\"\nunits = 10\n",
        );
        assert!(message.contains("line 7, column 14"), "{message}");
        assert!(message.contains("unknown variant `mish`"), "{message}");
        assert!(!message.contains("hint:"), "{message}");
    }

    #[test]
    fn unknown_field_in_a_layer_points_at_its_key_and_lists_that_layers_fields() {
        let message =
            error("[[layers]]\ntype = \"Flatten\"\n[[layers]]\ntype = \"Dense\"\nfiltres = 3\n");
        assert!(message.contains("line 5, column 1"), "{message}");
        assert!(message.contains("unknown field `filtres`, expected `units` or `activation`"));
        assert!(!message.contains("hint:"), "{message}");
    }

    #[test]
    fn unknown_or_missing_type_points_at_it_and_lists_the_layer_types() {
        let unknown = error("[[layers]]\ntype = \"Flatten\"\n[[layers]]\ntype = \"MaxPool2D\"\n");
        assert!(unknown.contains("line 4, column 8"), "{unknown}");
        assert!(unknown.contains(&format!("hint: layer types are {}", layer_types())));
        let missing = error("[[layers]]\ntype = \"Flatten\"\n\n[[layers]]\nunits = 10\n");
        assert!(missing.contains("line 4, column 1"), "{missing}");
        assert!(missing.contains("this layer has no `type`"), "{missing}");
        assert!(missing.contains(&layer_types()), "{missing}");
    }

    #[test]
    fn a_model_of_more_than_max_layers_is_refused_at_the_first_layer_too_many() {
        let layer = "[[layers]]\ntype = \"ReLU\"\n";
        assert_eq!(
            parse_text(&layer.repeat(MAX_LAYERS)).unwrap().layers.len(),
            MAX_LAYERS
        );
        let message = error(&layer.repeat(MAX_LAYERS + 2));
        let line = 2 * MAX_LAYERS + 1;
        assert!(
            message.contains(&format!("line {line}, column 1")),
            "{message}"
        );
        assert!(
            message.contains("1002 layers, more than the 1000"),
            "{message}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_name_the_offset_line_and_column() {
        let error = parse_bytes(b"name = \"x\"\n# caf\xe9\n", Path::new("m.toml")).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("m.toml: "), "{message}");
        assert!(message.contains("invalid byte 0xe9 at byte offset 16 (line 2, column 6)"));
    }

    #[test]
    fn a_layer_that_is_not_a_table_and_a_bad_top_level_key_are_located() {
        let not_table = error("layers = [1]\n");
        assert!(not_table.contains("line 1, column 11"), "{not_table}");
        let top = error("nmae = 3\n[[layers]]\ntype = \"Flatten\"\n");
        assert!(top.contains("line 1, column 1"), "{top}");
        assert!(top.contains("unknown field `nmae`"), "{top}");
    }
}
