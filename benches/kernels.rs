//! Kernel throughput on the default adapter: each kernel at the lecture dense model's shapes
//! (batch 32 and 64), launched 20 times back to back in one compute pass, as in training.
//!
//! `cargo bench --bench kernels`; set `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` to pick the adapter.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gpu_cnn::gpu::step_table::{StepParams, StepTable};
use gpu_cnn::gpu::{buffers, DeviceSelector, Dispatch, GpuContext, KernelCache};
use gpu_cnn::layers::dense::{self, DenseShape};
use gpu_cnn::layers::softmax_xent;

const REPEATS: usize = 20;

fn launch(ctx: &GpuContext, table: &StepTable, dispatch: &Dispatch) {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("bench"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("bench"),
            timestamp_writes: None,
        });
        for _ in 0..REPEATS {
            dispatch.record(&mut pass, table, 0);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait_idle().expect("bench work failed");
}

fn zeros(ctx: &GpuContext, len: usize) -> wgpu::Buffer {
    buffers::storage(ctx, "bench", (len * 4) as u64).expect("buffer")
}

fn kernels(c: &mut Criterion) {
    let ctx = GpuContext::new(&DeviceSelector::Auto)
        .expect("an adapter (apt-get install mesa-vulkan-drivers)");
    let cache = KernelCache::new(&ctx);
    let table = StepTable::new(&ctx, &cache, "bench.steps", 1).expect("table");
    table.write(
        &ctx,
        &[StepParams {
            batch_rows: 32,
            ..Default::default()
        }],
    );
    let mut group = c.benchmark_group(format!("kernels on {}", ctx.info.name));
    group.sample_size(10);
    for rows in [32, 64] {
        let shape = DenseShape {
            rows,
            inputs: 784,
            units: 128,
        };
        let (x, w, b, y) = (
            zeros(&ctx, rows * 784),
            zeros(&ctx, 784 * 128),
            zeros(&ctx, 128),
            zeros(&ctx, rows * 128),
        );
        let (dw, db) = (zeros(&ctx, 784 * 128), zeros(&ctx, 128));
        let forward = dense::encode_forward(
            &ctx,
            &cache,
            "bench",
            shape,
            true,
            bind(&x),
            bind(&w),
            bind(&b),
            bind(&y),
        )
        .expect("dispatch");
        let weight_and_bias = dense::encode_backward_weight(
            &ctx,
            &cache,
            "bench",
            shape,
            bind(&x),
            bind(&y),
            bind(&dw),
            bind(&db),
        )
        .expect("dispatch");
        let input = dense::encode_backward_input(
            &ctx,
            &cache,
            "bench",
            shape,
            true,
            bind(&y),
            bind(&w),
            bind(&x),
            bind(&dx_like(&ctx, rows)),
        )
        .expect("dispatch");
        let logits = zeros(&ctx, rows * 10);
        let labels = buffers::storage_with(&ctx, "labels", &vec![0u32; rows]).expect("labels");
        let metrics = zeros(&ctx, 2);
        let loss = softmax_xent::encode_forward(
            &ctx,
            &cache,
            "bench",
            softmax_xent::Params {
                rows: rows as u32,
                classes: 10,
                ..Default::default()
            },
            bind(&logits),
            bind(&labels),
            bind(&zeros(&ctx, rows * 10)),
            bind(&metrics),
        )
        .expect("dispatch");
        group.throughput(Throughput::Elements((rows * REPEATS) as u64));
        for (name, dispatch) in [
            ("dense.forward 784→128", &forward),
            ("dense.backward_weight 784→128", &weight_and_bias[0]),
            ("dense.backward_input 128→784", &input),
            ("softmax_xent 10", &loss),
        ] {
            group.bench_function(format!("{name} batch {rows}"), |bench| {
                bench.iter(|| launch(&ctx, &table, dispatch))
            });
        }
    }
    group.finish();
}

fn bind(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

fn dx_like(ctx: &GpuContext, rows: usize) -> wgpu::Buffer {
    zeros(ctx, rows * 784)
}

criterion_group!(benches, kernels);
criterion_main!(benches);
