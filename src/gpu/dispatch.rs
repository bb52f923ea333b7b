//! One recorded kernel launch: pipeline, bind group and grid, built once and replayed every
//! step. A model's dispatch plan is a `Vec<Dispatch>`.

use std::sync::Arc;

use bytemuck::Pod;

use super::buffers;
use super::kernels::Overrides;
use super::step_table::StepTable;
use super::{GpuContext, GpuError, Kernel};

/// A kernel launch ready to be recorded into a compute pass.
pub struct Dispatch {
    kernel: Kernel,
    label: String,
    pipeline: Arc<wgpu::ComputePipeline>,
    bind_group: wgpu::BindGroup,
    uses_step_table: bool,
    workgroups: [u32; 3],
}

/// Workgroups to cover `count` items in groups of `per_group`, as a 2-D grid when one
/// dimension would exceed the device's limit. Kernels recover the linear group index as
/// `group.y * num_groups.x + group.x`.
pub fn grid_for(
    ctx: &GpuContext,
    what: &str,
    count: u64,
    per_group: u64,
) -> Result<[u32; 3], GpuError> {
    let groups = count.div_ceil(per_group).max(1);
    let limit = u64::from(ctx.limits.max_compute_workgroups_per_dimension);
    let x = groups.min(limit);
    let y = groups.div_ceil(x);
    ctx.check_workgroups(what, u32::try_from(y).unwrap_or(u32::MAX))?;
    Ok([x as u32, y as u32, 1])
}

impl Dispatch {
    /// Builds a launch of `kernel` with its `overrides`, its uniform `params` and its storage
    /// `bindings` (in the kernel's binding order, [`Kernel::storage`]), over `workgroups`. This
    /// is the one place where bindings are positional; launchers above it take named views.
    pub fn new<P: Pod>(
        ctx: &GpuContext,
        kernel: Kernel,
        label: &str,
        overrides: &dyn Overrides,
        params: &P,
        bindings: &[wgpu::BufferBinding<'_>],
        workgroups: [u32; 3],
    ) -> Result<Self, GpuError> {
        let expected = kernel.storage().len();
        if bindings.len() != expected {
            return Err(GpuError::Wgpu {
                context: label.to_string(),
                message: format!(
                    "{} takes {expected} storage bindings, {} given",
                    kernel.label(),
                    bindings.len()
                ),
            });
        }
        for (axis, &count) in workgroups.iter().enumerate() {
            ctx.check_workgroups(&format!("{label} (grid axis {axis})"), count)?;
        }
        let params = buffers::uniform(ctx, &format!("{label}.params"), params);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        entries.extend(
            bindings
                .iter()
                .enumerate()
                .map(|(i, binding)| wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: wgpu::BindingResource::Buffer(binding.clone()),
                }),
        );
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: ctx.kernels.layout(kernel),
            entries: &entries,
        });
        Ok(Self {
            kernel,
            label: label.to_string(),
            pipeline: ctx
                .kernels
                .pipeline(&ctx.device, kernel, overrides, ctx.pipeline_cache()),
            bind_group,
            uses_step_table: kernel.uses_step_table(),
            workgroups,
        })
    }

    /// The kernel it launches.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The label given at creation (`layer.pass`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Workgroups per grid dimension.
    pub fn workgroups(&self) -> [u32; 3] {
        self.workgroups
    }

    /// Records the launch into `pass`; kernels that read the step table see entry `step`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, steps: &StepTable, step: usize) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        if self.uses_step_table {
            pass.set_bind_group(1, steps.bind_group(), &[steps.offset(step)]);
        }
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}
