//! gpu-cnn in a web page: the library's kernels, training loop and checkpoints on the
//! browser's WebGPU, behind one JavaScript class, [`Lab`].
//!
//! Nothing here blocks: every GPU wait is the library's own async path
//! ([`gpu_cnn::gpu::GpuContext::settle`]), which yields to the page's event loop. The page
//! (`web/static/`) calls one method at a time; the methods that wait return promises.

mod json;
mod lab;
mod settings;

pub use lab::Lab;

use wasm_bindgen::prelude::wasm_bindgen;

/// Panics reach the browser's console with their message instead of "unreachable".
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
