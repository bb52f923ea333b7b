//! Shared test harness: the adapter from the environment, random data, NaN-poisoned outputs,
//! one-shot dispatch and tolerant comparison.
#![allow(dead_code)] // each test binary uses a different part of the harness

use bytemuck::Pod;
use gpu_cnn::gpu::step_table::{StepParams, StepTable};
use gpu_cnn::gpu::{buffers, DeviceSelector, Dispatch, GpuContext, KernelCache};
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The adapter tests run on: `GPU_CNN_TEST_DEVICE` (default `auto`). Fails, never skips, when
/// there is none.
pub fn context() -> GpuContext {
    let selector: DeviceSelector = std::env::var("GPU_CNN_TEST_DEVICE")
        .unwrap_or_else(|_| "auto".into())
        .parse()
        .unwrap_or(DeviceSelector::Auto);
    GpuContext::new(&selector).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter for the tests: {e}\nOn a machine without a GPU install lavapipe: \
             apt-get install mesa-vulkan-drivers"
        )
    })
}

/// A context and its kernel cache.
pub fn gpu() -> (GpuContext, KernelCache) {
    let ctx = context();
    let cache = KernelCache::new(&ctx);
    (ctx, cache)
}

/// A seeded generator for one test case.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `len` values uniform in `[low, high)`.
pub fn uniform(rng: &mut StdRng, len: usize, low: f32, high: f32) -> Vec<f32> {
    let dist = Uniform::new(low, high).expect("valid range");
    (0..len).map(|_| dist.sample(rng)).collect()
}

/// A storage buffer holding `data`.
pub fn upload<T: Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    buffers::storage_with(ctx, label, data).expect("upload")
}

/// An output buffer of `len` f32 filled with NaN, so an element the kernel fails to write
/// fails the comparison.
pub fn poisoned(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    upload(ctx, label, &vec![f32::NAN; len])
}

/// A step table whose entry 0 is `entry`.
pub fn step_table(ctx: &GpuContext, cache: &KernelCache, entry: StepParams) -> StepTable {
    let table = StepTable::new(ctx, cache, "test.steps", 1).expect("step table");
    table.write(ctx, &[entry]);
    table
}

/// Records `dispatches` once (step 0 of `table`) in one pass, submits and waits.
pub fn run(
    ctx: &GpuContext,
    cache: &KernelCache,
    dispatches: &[Dispatch],
    table: Option<&StepTable>,
) {
    let fallback;
    let table = match table {
        Some(table) => table,
        None => {
            fallback = step_table(ctx, cache, StepParams::default());
            &fallback
        }
    };
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("test"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("test"),
            timestamp_writes: None,
        });
        for dispatch in dispatches {
            dispatch.record(&mut pass, table, 0);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait_idle().expect("GPU work failed");
}

/// Reads `len` values of `buffer`.
pub fn read<T: Pod>(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<T> {
    buffers::read(ctx, buffer, 0, len).expect("readback")
}

/// Asserts `|gpu - cpu| <= atol + rtol·|cpu|` element-wise (NaN always fails).
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], atol: f32, rtol: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let err = (g - c).abs();
        assert!(
            err <= atol + rtol * c.abs(),
            "{what}: element {i} of {}: gpu {g} vs cpu {c} (|diff| {err} > {atol} + {rtol}·|cpu|)",
            gpu.len()
        );
    }
    assert!(!cpu.is_empty(), "{what}: nothing compared");
}
