//! The IDX reader on any bytes, as images and as labels: an error or a body of exactly the
//! declared size, never a panic or an allocation beyond the bytes a header may declare.
#![no_main]

use std::path::Path;

use gpu_cnn::data::{images_from_bytes, labels_from_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = Path::new("fuzz-idx");
    if let Ok(images) = images_from_bytes(data, origin) {
        assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
    }
    if let Ok(labels) = labels_from_bytes(data, origin) {
        assert!(labels.len() <= gpu_cnn::data::idx::MAX_BODY_BYTES as usize);
    }
});
