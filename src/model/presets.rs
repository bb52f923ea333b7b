//! The lecture's models, selectable by name with `--model`. Each is a model file under
//! `assets/models/`, embedded in the binary and read by the same parser as a user's file, so the
//! presets double as examples of the format.

use std::path::Path;

use super::file::{load, parse};
use super::spec::ModelSpec;
use super::ModelError;

/// Names of the presets, in the order `--help` lists them (the lecture's order).
pub const NAMES: [&str; 9] = [
    "dense",
    "cnn",
    "cnn-small",
    "cnn-no-hidden",
    "cnn-wide",
    "cnn-extra-pool",
    "cnn-same",
    "keras-convnet",
    "cnn-bn",
];

/// `(name, path in the repository, text)` of every preset, in the order of [`NAMES`].
macro_rules! preset_files {
    ($($name:literal),* $(,)?) => {
        [$(($name, concat!("assets/models/", $name, ".toml"),
            include_str!(concat!("../../assets/models/", $name, ".toml")))),*]
    };
}

/// The embedded preset files.
const FILES: [(&str, &str, &str); 9] = preset_files!(
    "dense",
    "cnn",
    "cnn-small",
    "cnn-no-hidden",
    "cnn-wide",
    "cnn-extra-pool",
    "cnn-same",
    "keras-convnet",
    "cnn-bn",
);

/// The preset called `name`, parsed from its embedded file (a parse error names that file).
pub fn preset(name: &str) -> Result<ModelSpec, ModelError> {
    match FILES.iter().find(|(preset, _, _)| *preset == name) {
        Some((_, path, text)) => parse(text, Path::new(path)),
        None => Err(ModelError::UnknownModel {
            name: name.to_string(),
            presets: NAMES.join(", "),
        }),
    }
}

/// The model `--model` names: a preset name (see [`NAMES`]), else a path to a `.toml` model
/// file (read with [`load`]).
pub fn resolve(name_or_path: &str) -> Result<ModelSpec, ModelError> {
    if NAMES.contains(&name_or_path) {
        return preset(name_or_path);
    }
    let path = Path::new(name_or_path);
    if path.exists() {
        return load(path);
    }
    Err(ModelError::UnknownModel {
        name: name_or_path.to_string(),
        presets: NAMES.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_file_whose_name_matches() {
        let names: Vec<&str> = FILES.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, NAMES);
        for name in NAMES {
            assert_eq!(preset(name).unwrap().name, name);
        }
    }

    #[test]
    fn unknown_preset_lists_the_presets() {
        let message = preset("lenet").unwrap_err().to_string();
        assert!(message.contains("'lenet'"), "{message}");
        assert!(message.contains(&NAMES.join(", ")), "{message}");
    }
}
