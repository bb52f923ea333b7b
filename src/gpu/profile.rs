//! What launch planning needs to know about a device, as a plain value: planning (tile shapes,
//! split-K, workgroup counts) is a pure function of a model and a [`LaunchProfile`], so a test
//! can check a big GPU's plan on a machine that has none. [`crate::gpu::GpuContext`] derives
//! its profile from its adapter; [`LaunchProfile::big_gpu`] and [`LaunchProfile::lavapipe`]
//! describe two adapters without opening them.

/// Workgroups a split launch aims for on a GPU: about two per compute unit of a big GPU.
pub const GPU_TARGET_WORKGROUPS: u32 = 256;
/// Fewest workgroups a GEMM launch on a GPU is planned with where its product allows: about
/// one per compute unit of a big GPU (an H200 has 132).
pub const GPU_MIN_WORKGROUPS: u32 = 128;

/// Workgroups a CPU adapter runs at once, for the tile cost model's rounds: lavapipe runs a
/// workgroup per core, and the machines this project trains on here have two. A fixed number,
/// not the machine's, so a plan (and the bits a seed trains to) is the same on every machine.
pub const CPU_PARALLEL_WORKGROUPS: u32 = 2;

/// The device facts launch planning depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchProfile {
    /// The adapter is a CPU (lavapipe): GEMMs take the tile of least cost and never split k.
    pub cpu_adapter: bool,
    /// Workgroups a launch split over k aims for.
    pub target_workgroups: u32,
    /// Fewest workgroups a GEMM launch is planned with where its product allows (on a GPU).
    pub min_workgroups: u32,
    /// Workgroups the device runs at once, as the tile cost model counts rounds (1: the cost
    /// is the total work).
    pub parallel_workgroups: u32,
    /// Most workgroups in one grid dimension.
    pub max_workgroups_per_dimension: u32,
    /// Largest storage binding (and buffer), in bytes.
    pub max_storage_binding_size: u64,
}

impl LaunchProfile {
    /// The profile of an adapter with `limits` (those the device was opened with).
    pub fn new(device_type: wgpu::DeviceType, limits: &wgpu::Limits) -> Self {
        let cpu_adapter = device_type == wgpu::DeviceType::Cpu;
        Self {
            cpu_adapter,
            // A CPU adapter's plan never splits k (`matmul::plan`).
            target_workgroups: if cpu_adapter {
                1
            } else {
                GPU_TARGET_WORKGROUPS
            },
            min_workgroups: if cpu_adapter { 1 } else { GPU_MIN_WORKGROUPS },
            parallel_workgroups: if cpu_adapter {
                CPU_PARALLEL_WORKGROUPS
            } else {
                1
            },
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_binding_size: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
        }
    }

    /// An NVIDIA H200 on Vulkan (132 SMs, discrete; storage bindings of 2 GiB, buffers of
    /// 4 GiB, 65,535 workgroups per dimension, as measured in WGPU-NOTES.md).
    pub fn big_gpu() -> Self {
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: 2 << 30,
            max_buffer_size: 4 << 30,
            max_compute_workgroups_per_dimension: 65_535,
            ..wgpu::Limits::default()
        };
        Self::new(wgpu::DeviceType::DiscreteGpu, &limits)
    }

    /// Mesa's lavapipe as the tests run on it (a CPU adapter; 128 MiB storage bindings, buffers
    /// of 2 GiB − 1, 65,535 workgroups per dimension).
    pub fn lavapipe() -> Self {
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: 128 << 20,
            max_buffer_size: (2 << 30) - 1,
            max_compute_workgroups_per_dimension: 65_535,
            ..wgpu::Limits::default()
        };
        Self::new(wgpu::DeviceType::Cpu, &limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_adapter_aims_for_one_workgroup_a_gpu_for_many() {
        let cpu = LaunchProfile::lavapipe();
        assert!(cpu.cpu_adapter);
        assert_eq!((cpu.target_workgroups, cpu.min_workgroups), (1, 1));
        assert_eq!(cpu.max_storage_binding_size, 128 << 20);
        let gpu = LaunchProfile::big_gpu();
        assert!(!gpu.cpu_adapter);
        assert_eq!((gpu.target_workgroups, gpu.min_workgroups), (256, 128));
        assert_eq!(gpu.max_storage_binding_size, 2 << 30);
        assert_eq!(gpu.max_workgroups_per_dimension, 65_535);
    }
}
