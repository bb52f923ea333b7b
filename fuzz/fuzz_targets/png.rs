//! `predict`'s PNG input on any bytes: an error or a 28×28 MNIST frame, never a panic or a
//! decode of an image larger than the stated limit.
#![no_main]

use std::path::Path;

use gpu_cnn::data::digit_from_png;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = digit_from_png(data, Path::new("fuzz.png"), 28, 28) {
        assert_eq!(frame.len(), 28 * 28);
    }
});
