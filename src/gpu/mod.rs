//! Everything that talks to wgpu directly: the device context, the pipeline cache, buffers,
//! the parameter slab, the per-step table and the metrics readback; and the launch profile,
//! the plain value of a device's facts that planning reads without one.
//!
//! Layers never pick a device: every function here takes the [`GpuContext`] it works on.

#[cfg(target_arch = "wasm32")]
mod browser;
pub mod buffers;
pub mod context;
pub mod dispatch;
pub mod kernels;
pub mod pipeline_cache;
pub mod profile;
pub mod readback;
pub mod slab;
pub mod step_table;

pub use context::{AdapterSummary, DeviceSelector, GpuContext};
pub use dispatch::Dispatch;
pub use kernels::{Kernel, KernelCache};
pub use profile::LaunchProfile;

use thiserror::Error;

/// Runs `future` to its end on this thread: the command line's edge between its blocking code
/// and the library's async waits ([`GpuContext::settle`]). A browser has no such edge.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// Makes what `make` makes inside error scopes of `filters` and returns it with the first
/// error they caught. Native scopes resolve at once. A browser's resolve only on its event
/// loop, so there none is pushed: an error reaches the device's uncaptured-error handler and
/// the next [`GpuContext::check`].
pub(crate) fn caught<T>(
    device: &wgpu::Device,
    filters: &[wgpu::ErrorFilter],
    make: impl FnOnce() -> T,
) -> (T, Option<wgpu::Error>) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let scopes: Vec<_> = filters
            .iter()
            .map(|&filter| device.push_error_scope(filter))
            .collect();
        let made = make();
        // Every scope is popped, innermost first, before the first error is taken.
        let errors: Vec<_> = scopes
            .into_iter()
            .rev()
            .map(|scope| pollster::block_on(scope.pop()))
            .collect();
        (made, errors.into_iter().flatten().next())
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = (device, filters);
        (make(), None)
    }
}

/// What can go wrong between the host and the GPU.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter at all was found on this machine.
    #[error(
        "no GPU adapter found (backends tried: {backends}); install a Vulkan driver, e.g. on a \
         headless Debian/Ubuntu machine `apt-get install mesa-vulkan-drivers` (lavapipe), or \
         check WGPU_BACKEND"
    )]
    NoAdapter {
        /// The backends that were enumerated.
        backends: String,
    },
    /// `--device` (or `WGPU_ADAPTER_NAME`) named no adapter that exists.
    #[error(
        "no adapter matches --device '{selector}'; available: {available}. Use 'auto', a \
         backend (vulkan, metal, dx12, gl), an index or a name substring from `gpu-cnn devices`"
    )]
    NoMatchingAdapter {
        /// What the user asked for.
        selector: String,
        /// A one-line list of the adapters there are.
        available: String,
    },
    /// The adapter refused to create a device.
    #[error("could not open adapter '{adapter}': {source}")]
    RequestDevice {
        /// The adapter's name.
        adapter: String,
        /// wgpu's reason.
        source: wgpu::RequestDeviceError,
    },
    /// A buffer or dispatch would exceed what the device allows.
    #[error("{what} needs {needed} but the device '{adapter}' allows at most {limit}; {hint}")]
    LimitExceeded {
        /// The buffer or dispatch, with its shape.
        what: String,
        /// What it needs.
        needed: u64,
        /// The device's limit.
        limit: u64,
        /// The adapter's name.
        adapter: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The device could not create a buffer: out of memory, or a descriptor it refused.
    #[error(
        "could not allocate buffer `{buffer}` of {bytes} bytes on the GPU{}: {message}; use a \
         smaller --batch-size or a smaller model, or pick a device with more memory (gpu-cnn \
         devices)",
        if *.out_of_memory { " (out of memory)" } else { "" }
    )]
    Allocation {
        /// The buffer's label.
        buffer: String,
        /// Its size.
        bytes: u64,
        /// Whether the device ran out of memory (else it refused the descriptor).
        out_of_memory: bool,
        /// wgpu's message.
        message: String,
    },
    /// wgpu reported a validation or internal error.
    #[error("GPU error in {context}: {message}")]
    Wgpu {
        /// What gpu-cnn was doing.
        context: String,
        /// wgpu's message.
        message: String,
    },
    /// The device was lost (driver reset, GPU removed, out of memory).
    #[error("the GPU device was lost: {0}; rerun, or pick another adapter with --device")]
    DeviceLost(String),
    /// Mapping a buffer for reading failed.
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
}
