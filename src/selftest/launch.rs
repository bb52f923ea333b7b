//! One-shot launches for checking kernels: NaN-poisoned output buffers, one pass of
//! dispatches submitted and waited for, and readback. The test harness (`tests/common`) runs
//! its kernels through the same functions; readback is `gpu::buffers::read`.

use crate::gpu::step_table::{StepParams, StepTable};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError};

/// A storage buffer of `len` f32 filled with NaN, so an element a kernel fails to write fails
/// its comparison.
pub fn poisoned(ctx: &GpuContext, label: &str, len: usize) -> Result<wgpu::Buffer, GpuError> {
    buffers::storage_with(ctx, label, &vec![f32::NAN; len])
}

/// A step table of one entry, `entry`.
pub fn step_table(ctx: &GpuContext, entry: StepParams) -> Result<StepTable, GpuError> {
    let table = StepTable::new(ctx, "selftest.steps", 1)?;
    table.write(ctx, &[entry]);
    Ok(table)
}

/// Records `dispatches` once (reading entry 0 of `table`) in one compute pass, submits them
/// and waits until they finish; any wgpu error they cause is the result.
pub fn run_once(
    ctx: &GpuContext,
    dispatches: &[Dispatch],
    table: &StepTable,
) -> Result<(), GpuError> {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("selftest"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("selftest"),
            timestamp_writes: None,
        });
        for dispatch in dispatches {
            dispatch.record(&mut pass, table, 0);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait_idle()
}
