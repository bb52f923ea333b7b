//! The checkpoint loader on any bytes, as `evaluate`, `predict` and `--resume` use it: read the
//! file, infer its model's shapes, place its tensors on the model's layout. An error or a
//! checkpoint, never a panic or an allocation beyond what the bytes hold.
#![no_main]

use std::path::Path;

use gpu_cnn::checkpoint::from_bytes;
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::shape::infer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = from_bytes(data, Path::new("fuzz.safetensors")) else {
        return;
    };
    let Ok(layers) = infer(&raw.spec) else {
        return;
    };
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    if let Ok(checkpoint) = raw.into_checkpoint(&layouts) {
        assert_eq!(checkpoint.state.params.len(), layouts.params.total);
    }
});
