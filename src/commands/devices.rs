//! `gpu-cnn devices`: every adapter wgpu finds, fastest first, as text or JSON.

use clap::Args;
use gpu_cnn::gpu::context::{list_adapters, AdapterSummary};
use gpu_cnn::gpu::GpuError;
use serde::Serialize;

/// Arguments of `devices`.
#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Print the adapters as one JSON document.
    #[arg(long)]
    json: bool,
}

/// One adapter as `devices --json` prints it.
#[derive(Serialize)]
struct Adapter {
    index: usize,
    name: String,
    backend: &'static str,
    device_type: String,
    driver: String,
    driver_info: String,
    vendor: u32,
    device: u32,
    max_storage_buffer_binding_size: u64,
    max_buffer_size: u64,
    max_compute_workgroup_storage_size: u32,
    max_compute_invocations_per_workgroup: u32,
    max_compute_workgroups_per_dimension: u32,
    max_storage_buffers_per_shader_stage: u32,
}

impl From<&AdapterSummary> for Adapter {
    fn from(adapter: &AdapterSummary) -> Self {
        let (info, limits) = (&adapter.info, &adapter.limits);
        Self {
            index: adapter.index,
            name: info.name.clone(),
            backend: info.backend.to_str(),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
            device: info.device,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
        }
    }
}

/// Lists the adapters, or fails with how to get one.
pub fn run(args: DevicesArgs) -> Result<(), gpu_cnn::Error> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter {
            backends: "all enabled".into(),
        }
        .into());
    }
    if args.json {
        let listed: Vec<Adapter> = adapters.iter().map(Adapter::from).collect();
        return super::output::json(&listed);
    }
    for adapter in adapters {
        say!("{adapter}")?;
    }
    Ok(())
}
