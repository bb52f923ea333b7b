//! The lecture's models, selectable by name with `--model`.

use super::spec::{Activation, LayerSpec, ModelSpec};
use super::ModelError;

/// Names of the presets, in the order `--help` lists them.
pub const NAMES: [&str; 1] = ["dense"];

/// The lecture's first model: Flatten → Dense(128, relu) → Dense(10, softmax).
fn dense() -> ModelSpec {
    ModelSpec {
        name: "dense".into(),
        input: [28, 28, 1],
        classes: 10,
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 128,
                activation: Activation::Relu,
            },
            LayerSpec::Dense {
                units: 10,
                activation: Activation::Softmax,
            },
        ],
    }
}

/// The preset called `name`.
pub fn preset(name: &str) -> Result<ModelSpec, ModelError> {
    match name {
        "dense" => Ok(dense()),
        _ => Err(ModelError::UnknownModel {
            name: name.to_string(),
            presets: NAMES.join(", "),
        }),
    }
}
