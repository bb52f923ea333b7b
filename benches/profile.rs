//! Where a training step's time goes: each launch of one step of a preset's training plan,
//! repeated 10 times in one compute pass, timed on its own. Set `GPU_CNN_PROFILE_MODEL`
//! (default `cnn`) and `GPU_CNN_PROFILE_BATCH` (default 32).
//!
//! `cargo bench --bench profile`.

use std::time::Instant;

use gpu_cnn::data::{Dataset, MnistSplits};
use gpu_cnn::gpu::step_table::{StepParams, StepTable};
use gpu_cnn::gpu::{DeviceSelector, GpuContext};
use gpu_cnn::model::presets::preset;
use gpu_cnn::train::{TrainConfig, Trainer};

const REPEATS: usize = 10;

fn synthetic(samples: usize) -> Dataset {
    Dataset {
        images: (0..samples * 784).map(|i| (i * 37 % 256) as u8).collect(),
        labels: (0..samples).map(|i| (i % 10) as u8).collect(),
        rows: 28,
        cols: 28,
    }
}

fn main() {
    let model = std::env::var("GPU_CNN_PROFILE_MODEL").unwrap_or_else(|_| "cnn".into());
    let batch: usize = std::env::var("GPU_CNN_PROFILE_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(32);
    let ctx = GpuContext::new(&DeviceSelector::Auto)
        .expect("an adapter (apt-get install mesa-vulkan-drivers)");
    let data = MnistSplits {
        train: synthetic(batch * 2),
        test: synthetic(batch),
    };
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        validation_split: 0.0,
        ..Default::default()
    };
    let mut trainer =
        Trainer::new(&ctx, preset(&model).expect("preset"), &data, config).expect("trainer");
    trainer.run_epoch(1, &mut |_| {}).expect("warm-up epoch");
    let table = StepTable::new(&ctx, "profile.steps", 1).expect("table");
    table.write(
        &ctx,
        &[StepParams {
            batch_rows: batch as u32,
            ..Default::default()
        }],
    );
    println!(
        "{model}, batch {batch}, on {}: ms per launch (mean of {REPEATS})",
        ctx.describe()
    );
    let mut total = 0.0;
    for dispatch in trainer.plan().dispatches(0) {
        let start = Instant::now();
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("profile"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profile"),
                timestamp_writes: None,
            });
            for _ in 0..REPEATS {
                dispatch.record(&mut pass, &table, 0);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.wait_idle().expect("profile work failed");
        let ms = start.elapsed().as_secs_f64() * 1e3 / REPEATS as f64;
        total += ms;
        println!("{ms:9.3}  {}", dispatch.label());
    }
    println!("{total:9.3}  total");
}
