//! Choosing an adapter and opening a device on it: the only place gpu-cnn picks a GPU.
//!
//! `--device auto` takes the fastest adapter (discrete > integrated > virtual > cpu); a backend
//! name, an index from `gpu-cnn devices` or a name substring picks one explicitly.
//! `WGPU_BACKEND` limits the backends enumerated and `WGPU_ADAPTER_NAME` narrows `auto`, as in
//! wgpu's own utilities.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pipeline_cache::DiskCache;
use super::profile::LaunchProfile;
use super::{GpuError, Kernel, KernelCache};

/// How the user asked for a device (`--device`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSelector {
    /// The fastest adapter there is.
    Auto,
    /// The first (fastest) adapter of one backend.
    Backend(wgpu::Backend),
    /// The adapter at this position in `gpu-cnn devices`.
    Index(usize),
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl FromStr for DeviceSelector {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_lowercase();
        Ok(match lower.as_str() {
            "auto" | "" => Self::Auto,
            "vulkan" | "vk" => Self::Backend(wgpu::Backend::Vulkan),
            "metal" | "mtl" => Self::Backend(wgpu::Backend::Metal),
            "dx12" | "d3d12" => Self::Backend(wgpu::Backend::Dx12),
            "gl" | "gles" | "opengl" => Self::Backend(wgpu::Backend::Gl),
            _ => match lower.parse::<usize>() {
                Ok(index) => Self::Index(index),
                Err(_) => Self::Name(lower),
            },
        })
    }
}

impl fmt::Display for DeviceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Backend(backend) => write!(f, "{}", backend.to_str()),
            Self::Index(index) => write!(f, "{index}"),
            Self::Name(name) => write!(f, "{name}"),
        }
    }
}

/// One adapter as `gpu-cnn devices` lists it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Position in the listing (what `--device N` takes).
    pub index: usize,
    /// wgpu's description of the adapter.
    pub info: wgpu::AdapterInfo,
    /// The limits it offers.
    pub limits: wgpu::Limits,
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = &self.info;
        write!(
            f,
            "[{}] {:<7} {:<13} {} (driver: {} {})\n    max storage binding {} MiB, max buffer {} MiB, \
             workgroup storage {} KiB, {} invocations/workgroup, {} workgroups/dimension",
            self.index,
            info.backend.to_str(),
            format!("{:?}", info.device_type),
            info.name,
            info.driver,
            info.driver_info,
            self.limits.max_storage_buffer_binding_size >> 20,
            self.limits.max_buffer_size >> 20,
            self.limits.max_compute_workgroup_storage_size >> 10,
            self.limits.max_compute_invocations_per_workgroup,
            self.limits.max_compute_workgroups_per_dimension,
        )
    }
}

/// An open device: what every GPU function of gpu-cnn receives.
pub struct GpuContext {
    /// The logical device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter it runs on.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was opened with (all the adapter offers).
    pub limits: wgpu::Limits,
    /// Every pipeline and bind-group layout, built once and shared by every network, trainer
    /// and evaluator on this device (so `compare` compiles each kernel once).
    pub kernels: KernelCache,
    /// What launch planning assumes about this device ([`GpuContext::profile`]).
    profile: LaunchProfile,
    /// The driver's compiled pipelines, loaded from and saved to disk where supported.
    pipeline_cache: Option<DiskCache>,
    /// The first uncaptured wgpu error or device loss, if any (checked after each submit).
    failure: Arc<Mutex<Option<GpuError>>>,
    /// Why the device was lost (or destroyed), kept for good: every later check fails with it.
    lost: Arc<Mutex<Option<String>>>,
}

/// How long one poll blocks before a wait checks again whether the device was lost, so a
/// lost device ends a wait within about this long instead of never.
pub const POLL_SLICE: Duration = Duration::from_millis(100);

/// Speed rank of an adapter type for `--device auto`: lower is faster.
fn speed_rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    // Native backends before GL for the same hardware.
    let backend = u8::from(info.backend == wgpu::Backend::Gl);
    (kind, backend)
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter this machine offers, fastest first (the order `gpu-cnn devices` prints).
async fn sorted_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
    adapters.sort_by_key(|adapter| speed_rank(&adapter.get_info()));
    adapters
}

fn backends_tried() -> String {
    let backends = wgpu::Backends::all().with_env();
    format!("{backends:?}")
}

/// Lists every adapter on this machine, fastest first.
#[cfg(not(target_arch = "wasm32"))]
pub fn list_adapters() -> Vec<AdapterSummary> {
    super::block_on(sorted_adapters(&instance()))
        .iter()
        .enumerate()
        .map(|(index, adapter)| AdapterSummary {
            index,
            info: adapter.get_info(),
            limits: adapter.limits(),
        })
        .collect()
}

fn choose(
    adapters: Vec<wgpu::Adapter>,
    selector: &DeviceSelector,
    env_name: Option<&str>,
) -> Result<wgpu::Adapter, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter {
            backends: backends_tried(),
        });
    }
    let available = adapters
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let info = a.get_info();
            format!("[{i}] {} {}", info.backend.to_str(), info.name)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let no_match = |selector: String| GpuError::NoMatchingAdapter {
        selector,
        available: available.clone(),
    };
    let name_matches =
        |adapter: &wgpu::Adapter, name: &str| adapter.get_info().name.to_lowercase().contains(name);
    match selector {
        DeviceSelector::Auto => match env_name {
            Some(name) => {
                let name = name.to_lowercase();
                adapters
                    .into_iter()
                    .find(|a| name_matches(a, &name))
                    .ok_or_else(|| no_match(format!("auto (WGPU_ADAPTER_NAME={name})")))
            }
            None => adapters
                .into_iter()
                .next()
                .ok_or_else(|| no_match("auto".into())),
        },
        DeviceSelector::Backend(backend) => adapters
            .into_iter()
            .find(|a| a.get_info().backend == *backend)
            .ok_or_else(|| no_match(selector.to_string())),
        DeviceSelector::Index(index) => adapters
            .into_iter()
            .nth(*index)
            .ok_or_else(|| no_match(selector.to_string())),
        DeviceSelector::Name(name) => adapters
            .into_iter()
            .find(|a| name_matches(a, name))
            .ok_or_else(|| no_match(selector.to_string())),
    }
}

impl GpuContext {
    /// Opens the adapter `selector` names, with every buffer and binding limit it offers
    /// (blocking: [`GpuContext::open`] for a browser).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(selector: &DeviceSelector) -> Result<Self, GpuError> {
        super::block_on(Self::open(selector))
    }

    /// `GpuContext::new` without blocking: in a browser the adapter and the device arrive
    /// through the page's event loop, and the only adapter there is the one WebGPU offers.
    pub async fn open(selector: &DeviceSelector) -> Result<Self, GpuError> {
        let instance = instance();
        let env_name = std::env::var("WGPU_ADAPTER_NAME").ok();
        let adapters = sorted_adapters(&instance).await;
        let adapter = choose(adapters, selector, env_name.as_deref())?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("gpu-cnn.device"),
            // Timestamps let `gpu-cnn bench` time each kernel on the GPU itself; a pipeline
            // cache keeps compiled kernels between runs.
            required_features: adapter.features()
                & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::PIPELINE_CACHE),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = adapter
            .request_device(&descriptor)
            .await
            .map_err(|source| GpuError::RequestDevice {
                adapter: info.name.clone(),
                source,
            })?;
        let failure = Arc::new(Mutex::new(None));
        let on_error = Arc::clone(&failure);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            log::error!("wgpu: {error}");
            record_failure(
                &on_error,
                GpuError::Wgpu {
                    context: "a submitted command".into(),
                    message: error.to_string(),
                },
            );
        }));
        let lost = Arc::new(Mutex::new(None));
        let on_lost = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = on_lost.lock() {
                slot.get_or_insert(format!("{reason:?}: {message}"));
            }
        });
        log::info!("using [{}] {}", info.backend.to_str(), info.name);
        Ok(Self {
            kernels: KernelCache::new(&device),
            profile: LaunchProfile::new(info.device_type, &limits),
            pipeline_cache: DiskCache::open(&device, &info),
            device,
            queue,
            info,
            limits,
            failure,
            lost,
        })
    }

    /// Runs `kernel` from `file` (read from `origin`) instead of its built-in source for the
    /// rest of this context's life ([`KernelCache::replace_source`]): how `gpu-cnn selftest
    /// --kernel-source` checks a changed kernel without rebuilding.
    pub fn replace_kernel_source(
        &self,
        kernel: Kernel,
        origin: &str,
        file: &str,
    ) -> Result<(), GpuError> {
        self.kernels
            .replace_source(&self.device, kernel, origin, file)
    }

    /// The pipeline cache pipelines are built with, where the device has one.
    pub fn pipeline_cache(&self) -> Option<&wgpu::PipelineCache> {
        self.pipeline_cache.as_ref().map(DiskCache::cache)
    }

    /// One line naming the adapter, e.g. `[Vulkan] llvmpipe (LLVM 15.0.6, 256 bits) (Cpu)`.
    pub fn describe(&self) -> String {
        format!(
            "[{}] {} ({:?})",
            self.info.backend.to_str(),
            self.info.name,
            self.info.device_type
        )
    }

    /// What launch planning assumes about this device: derived from its adapter type and
    /// limits, unless [`GpuContext::plan_as`] replaced it.
    pub fn profile(&self) -> LaunchProfile {
        self.profile
    }

    /// Plans every later launch as for `profile` instead of this adapter's own, so a test can
    /// run a big GPU's plan on lavapipe. The device's real limits still bound every buffer and
    /// dispatch.
    pub fn plan_as(&mut self, profile: LaunchProfile) {
        self.profile = profile;
    }

    /// Returns the device's loss on every call once it is lost (it explains any error that
    /// follows it), else the first wgpu error seen since the last check.
    pub fn check(&self) -> Result<(), GpuError> {
        let poisoned = || GpuError::DeviceLost("an error handler panicked".into());
        let lost = self.lost.lock().map_err(|_| poisoned())?.clone();
        if let Some(reason) = lost {
            return Err(GpuError::DeviceLost(reason));
        }
        match self.failure.lock().map_err(|_| poisoned())?.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Waits until `submission` (all work where `None`) has finished and `ready` gives a value
    /// (a mapping's result): the one wait of the library's async paths. Natively it blocks
    /// in `GpuContext::wait_until`, which the command line's edge expects; in a browser it
    /// yields to the page's event loop between looks, since mappings land only there. The
    /// device's loss or an uncaptured error ends the wait with that error.
    pub async fn settle<T>(
        &self,
        submission: Option<&wgpu::SubmissionIndex>,
        ready: impl FnMut() -> Option<T>,
    ) -> Result<T, GpuError> {
        #[cfg(not(target_arch = "wasm32"))]
        return self.wait_until(submission, ready);
        #[cfg(target_arch = "wasm32")]
        {
            // The browser tracks submissions itself: the mapping is what is waited for.
            let (_, mut ready) = (submission, ready);
            loop {
                self.check()?;
                if let Some(value) = ready() {
                    return Ok(value);
                }
                super::browser::next_turn().await;
            }
        }
    }

    /// Blocks until all submitted work has finished, then reports any error it caused; a
    /// device lost meanwhile ends the wait within [`POLL_SLICE`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_idle(&self) -> Result<(), GpuError> {
        self.wait_until(None, || Some(()))
    }

    /// Blocks until `submission` (all work where `None`) has finished, polling the device in
    /// slices of [`POLL_SLICE`], then returns what `ready` gives (a mapping's result, which
    /// lands during that poll); the device's loss or an uncaptured error ends the wait with
    /// that error instead, within a slice.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_until<T>(
        &self,
        submission: Option<&wgpu::SubmissionIndex>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, GpuError> {
        loop {
            let wait = wgpu::PollType::Wait {
                submission_index: submission.cloned(),
                timeout: Some(POLL_SLICE),
            };
            let done = match self.device.poll(wait) {
                Ok(_) => true,
                Err(wgpu::PollError::Timeout) => false,
                Err(error) => {
                    // A submission that never reached the GPU: a destroyed device reports its
                    // loss at its next maintenance, another fault was recorded when it
                    // happened.
                    let _maintained = self.device.poll(wgpu::PollType::Poll);
                    self.check()?;
                    let reason = format!("a submission never reached it ({error})");
                    return Err(GpuError::DeviceLost(reason));
                }
            };
            self.check()?;
            if done {
                return ready().ok_or_else(|| {
                    GpuError::Readback("the GPU finished without delivering the result".into())
                });
            }
        }
    }

    /// Checks that a buffer of `bytes` fits this device's largest buffer.
    pub fn check_buffer_size(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        self.check_size(what, bytes, self.limits.max_buffer_size)
    }

    /// Checks that a storage binding of `bytes` fits this device.
    pub fn check_binding_size(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.check_size(what, bytes, limit)
    }

    /// Fails naming `what`, its size and this device's `limit` when `bytes` exceeds it.
    fn check_size(&self, what: &str, bytes: u64, limit: u64) -> Result<(), GpuError> {
        if bytes > limit {
            return Err(GpuError::LimitExceeded {
                what: what.to_string(),
                needed: bytes,
                limit,
                adapter: self.info.name.clone(),
                hint: "use a smaller --batch-size or a smaller model, or pick a device with \
                       larger limits (gpu-cnn devices)",
            });
        }
        Ok(())
    }

    /// Checks that a dispatch of `count` workgroups in one dimension fits this device.
    pub fn check_workgroups(&self, what: &str, count: u32) -> Result<(), GpuError> {
        let limit = self.limits.max_compute_workgroups_per_dimension;
        if count > limit {
            return Err(GpuError::LimitExceeded {
                what: what.to_string(),
                needed: u64::from(count),
                limit: u64::from(limit),
                adapter: self.info.name.clone(),
                hint: "use a smaller --batch-size",
            });
        }
        Ok(())
    }
}

impl Drop for GpuContext {
    /// Saves the pipeline cache, so the next run skips compiling what this one compiled.
    fn drop(&mut self) {
        if let Some(cache) = &self.pipeline_cache {
            cache.save();
        }
    }
}

fn record_failure(slot: &Mutex<Option<GpuError>>, error: GpuError) {
    if let Ok(mut slot) = slot.lock() {
        slot.get_or_insert(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_parses_backends_indices_and_names() {
        let parse = |s: &str| s.parse::<DeviceSelector>().unwrap();
        assert_eq!(parse("auto"), DeviceSelector::Auto);
        assert_eq!(
            parse("Vulkan"),
            DeviceSelector::Backend(wgpu::Backend::Vulkan)
        );
        assert_eq!(parse("gl"), DeviceSelector::Backend(wgpu::Backend::Gl));
        assert_eq!(parse("2"), DeviceSelector::Index(2));
        assert_eq!(parse("LLVMpipe"), DeviceSelector::Name("llvmpipe".into()));
    }
}
