//! `gpu-cnn devices`: every adapter wgpu finds, fastest first.

use gpu_cnn::gpu::context::list_adapters;
use gpu_cnn::gpu::GpuError;

/// Lists the adapters, or fails with how to get one.
pub fn run() -> Result<(), gpu_cnn::Error> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter {
            backends: "all enabled".into(),
        }
        .into());
    }
    for adapter in adapters {
        say!("{adapter}")?;
    }
    Ok(())
}
