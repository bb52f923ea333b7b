//! Kernel throughput on the default adapter: each kernel at the lecture dense model's shapes
//! (batch 32 and 64), launched 20 times back to back in one compute pass, as in training.
//!
//! `cargo bench --bench kernels`; set `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` to pick the adapter.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gpu_cnn::gpu::step_table::{StepParams, StepTable};
use gpu_cnn::gpu::{buffers, DeviceSelector, Dispatch, GpuContext};
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::dense::DenseShape;
use gpu_cnn::layers::layer::{BackwardIo, ForwardIo, Op, Tensors, View};
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
    let table = StepTable::new(&ctx, "bench.steps", 1).expect("table");
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
        let mut tensors = Tensors::default();
        tensors.insert("kernel", View::whole(&w, vec![784, 128]));
        tensors.insert("bias", View::whole(&b, vec![128]));
        let mut grads = Tensors::default();
        grads.insert("kernel", View::whole(&dw, vec![784, 128]));
        grads.insert("bias", View::whole(&db, vec![128]));
        let forward_io = ForwardIo {
            label: "bench",
            x: View::whole(&x, vec![rows, 784]),
            tensors: tensors.clone(),
            y: View::whole(&y, vec![rows, 128]),
            activation: Function::Relu,
            pooled: None,
            training: true,
            seed: 0,
        };
        let forward = shape.encode_forward(&ctx, &forward_io).expect("dispatch");
        let dx = dx_like(&ctx, rows);
        let backward_io = BackwardIo {
            label: "bench",
            x: View::whole(&x, vec![rows, 784]),
            tensors,
            dy: View::whole(&y, vec![rows, 128]),
            grads,
            dx: Some(View::whole(&dx, vec![rows, 784])),
            mask_input: true,
            dy_columns: None,
            dx_as_columns: false,
            seed: 0,
        };
        // backward_weight (+ its bias sum), then backward_input.
        let backward = shape.encode_backward(&ctx, &backward_io).expect("dispatch");
        let (weight, input) = (&backward[0], &backward[backward.len() - 1]);
        let logits = zeros(&ctx, rows * 10);
        let labels = buffers::storage_with(&ctx, "labels", &vec![0u32; rows]).expect("labels");
        let metrics = zeros(&ctx, 2);
        let grad = zeros(&ctx, rows * 10);
        let loss = softmax_xent::encode_forward(
            &ctx,
            "bench",
            softmax_xent::Params {
                rows: rows as u32,
                classes: 10,
                ..Default::default()
            },
            softmax_xent::Launch::TRAINING,
            softmax_xent::Io {
                logits: bind(&logits),
                labels: bind(&labels),
                grad: bind(&grad),
                metrics: bind(&metrics),
                head: None,
            },
        )
        .expect("dispatch");
        group.throughput(Throughput::Elements((rows * REPEATS) as u64));
        for (name, dispatch) in [
            ("dense.forward 784→128", &forward[0]),
            ("dense.backward_weight 784→128", weight),
            ("dense.backward_input 128→784", input),
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
