//! The model file parser and shape inference on any bytes: an error or a model whose shapes
//! are checked, never a panic.
#![no_main]

use std::path::Path;

use gpu_cnn::model::file::{parse_bytes, MAX_LAYERS};
use gpu_cnn::model::shape::infer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = parse_bytes(data, Path::new("fuzz.toml")) {
        assert!(spec.layers.len() <= MAX_LAYERS);
        let _ = infer(&spec);
    }
});
