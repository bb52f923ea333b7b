//! Whole training steps of the lecture's dense model: a chunk of steps recorded into one
//! compute pass and submitted once, as `gpu-cnn train` runs them, against the CPU reference
//! network doing the same steps. Throughput is in samples per second.
//!
//! `cargo bench --bench train_step`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gpu_cnn::data::{Dataset, MnistSplits};
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::network::initial_values;
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::reference::CpuNetwork;
use gpu_cnn::model::shape::Role;
use gpu_cnn::optim::OptimizerConfig;
use gpu_cnn::train::{TrainConfig, Trainer};

const BATCH: usize = 32;
/// Steps in the benchmark's epoch (one submit-sized chunk or a few).
const STEPS: usize = 16;

fn synthetic(samples: usize) -> Dataset {
    Dataset {
        images: (0..samples * 784).map(|i| (i * 37 % 256) as u8).collect(),
        labels: (0..samples).map(|i| (i % 10) as u8).collect(),
        rows: 28,
        cols: 28,
    }
}

fn train_step(c: &mut Criterion) {
    let ctx = GpuContext::new(&DeviceSelector::Auto)
        .expect("an adapter (apt-get install mesa-vulkan-drivers)");
    let data = MnistSplits {
        train: synthetic(BATCH * STEPS),
        test: synthetic(BATCH),
    };
    let config = TrainConfig {
        epochs: 1,
        batch_size: BATCH,
        validation_split: 0.0,
        ..Default::default()
    };
    let mut trainer =
        Trainer::new(&ctx, preset("dense").expect("preset"), &data, config).expect("trainer");
    let mut group = c.benchmark_group("dense train step, batch 32");
    group.sample_size(10);
    group.throughput(Throughput::Elements((BATCH * STEPS) as u64));
    let mut epoch = 0;
    group.bench_function(
        format!("gpu: {STEPS} steps, one epoch ({})", ctx.info.name),
        |bench| {
            bench.iter(|| {
                epoch += 1;
                trainer.run_epoch(epoch, &mut |_| {}).expect("epoch")
            })
        },
    );

    let network = trainer.network();
    let layouts = network.layouts();
    let params = initial_values(&network.layers, Role::Trainable, &layouts.params, 0);
    let mut cpu = CpuNetwork::new(
        network.layers.clone(),
        (layouts.params, layouts.state),
        10,
        (params, Vec::new()),
        0,
    );
    let batch: Vec<f32> = data.train.images[..BATCH * 784]
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let labels: Vec<u32> = data.train.labels[..BATCH]
        .iter()
        .map(|&l| u32::from(l))
        .collect();
    let adam = OptimizerConfig::default();
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("cpu reference: one step", |bench| {
        bench.iter(|| {
            cpu.train_step(&batch, &labels, BATCH, BATCH, &adam)
                .expect("step")
        })
    });
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
