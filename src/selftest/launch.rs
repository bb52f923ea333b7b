//! One-shot launches for checking kernels: NaN-poisoned output buffers, a one-entry step
//! table, and one pass of dispatches submitted and waited for. The test harness
//! (`tests/common`) runs its kernels through the same functions; readback is
//! `gpu::buffers::read_async` (`read` natively).

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

/// [`run_once_async`], blocking until the dispatches finish (the command line and the tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_once(
    ctx: &GpuContext,
    dispatches: &[Dispatch],
    table: &StepTable,
) -> Result<(), GpuError> {
    crate::gpu::block_on(run_once_async(ctx, dispatches, table))
}

/// Records `dispatches` once (reading entry 0 of `table`) in one compute pass, submits them
/// and waits through [`GpuContext::settle`]: natively until they finish, any wgpu error they
/// cause being the result; a browser does not wait (its queue runs them before any later
/// readback, whose wait reports their errors).
pub async fn run_once_async(
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
    ctx.settle(None, || Some(())).await
}
