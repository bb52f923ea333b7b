//! How fast a model trains and predicts on one device (`gpu-cnn bench`): steady-state training
//! samples/s, what the first epoch costs on top, inference images/s, launches per step, and the
//! GPU time of each launch of a training step.
//!
//! Training is timed over the training pass of each epoch alone ([`crate::run::EpochStats::seconds`]:
//! validation excluded), epoch 2 being the steady state; the first epoch's extra cost is split
//! into building the trainer (uploads, plans, pipeline compilation) and its first chunk of
//! steps. Kernels are timed with GPU timestamps where the adapter has them (one compute pass
//! per launch, the launch repeated [`PROFILE_REPEATS`] times), else by the wall clock.

use std::time::Instant;

use serde::Serialize;

use crate::data::MnistSplits;
use crate::error::Result;
use crate::gpu::step_table::{StepParams, StepTable};
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError};
use crate::model::ModelSpec;
use crate::train::{Progress, TrainConfig, Trainer};

/// Samples in the training pass of an epoch of the lecture's runs (54k after the 10% split).
pub const LECTURE_EPOCH: usize = 54_000;
/// Times each launch is repeated inside its timed pass.
pub const PROFILE_REPEATS: u32 = 10;

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The model.
    pub model: ModelSpec,
    /// Samples per training step.
    pub batch_size: usize,
    /// Training samples per measured epoch.
    pub samples: usize,
    /// Whether to time each launch of a step.
    pub profile: bool,
}

/// How one launch's time was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// GPU timestamps around the launch's pass.
    GpuTimestamps,
    /// Host wall clock around a submit and wait (includes submit overhead).
    WallClock,
}

/// One launch of a training step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelTime {
    /// `layer.pass`.
    pub label: String,
    /// Workgroups per dimension.
    pub workgroups: [u32; 3],
    /// Milliseconds per launch.
    pub ms: f64,
}

/// Everything `bench` measured for one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// Model name.
    pub model: String,
    /// The adapter, as `devices` names it.
    pub adapter: String,
    /// Samples per step.
    pub batch_size: usize,
    /// Training samples per measured epoch.
    pub samples: usize,
    /// Kernel launches in one training step.
    pub dispatches_per_step: usize,
    /// Steady-state training throughput (epoch 2).
    pub train_samples_per_second: f64,
    /// Seconds a 54,000-sample epoch takes at that rate.
    pub seconds_per_lecture_epoch: f64,
    /// Epoch 1's training pass over epoch 2's.
    pub first_epoch_ratio: f64,
    /// Building the trainer: data upload, plans, pipeline compilation.
    pub setup_seconds: f64,
    /// From the start of epoch 1 to its first metrics.
    pub first_chunk_seconds: f64,
    /// The same in epoch 2.
    pub steady_chunk_seconds: f64,
    /// Forward passes over the test set (loss, accuracy, probabilities), images/s.
    pub inference_images_per_second: f64,
    /// How the kernel times were taken (`None` without a profile).
    pub clock: Option<Clock>,
    /// Each launch of one training step, in order.
    pub kernels: Vec<KernelTime>,
}

/// Trains `config.model` for two epochs on `data` and measures it (see the module docs).
pub fn run(ctx: &GpuContext, data: &MnistSplits, config: &BenchConfig) -> Result<BenchReport> {
    let train_config = TrainConfig {
        epochs: 2,
        batch_size: config.batch_size,
        validation_split: 0.0,
        train_samples: Some(config.samples.min(data.train.len())),
        ..TrainConfig::default()
    };
    let start = Instant::now();
    let mut trainer = Trainer::new(ctx, config.model.clone(), data, train_config)?;
    let setup_seconds = start.elapsed().as_secs_f64();
    let (first, first_chunk_seconds) = timed_epoch(&mut trainer, 1)?;
    let (steady, steady_chunk_seconds) = timed_epoch(&mut trainer, 2)?;
    let samples = trainer.split_sizes().0;
    let rate = samples as f64 / steady.max(f64::MIN_POSITIVE);

    trainer.evaluate_test()?; // warm
    let start = Instant::now();
    let test = trainer.predict_test()?;
    let inference_seconds = start.elapsed().as_secs_f64();

    let plan = trainer.plan();
    let (clock, kernels) = match config.profile {
        true => {
            let (clock, kernels) = profile(ctx, plan.dispatches(0), config.batch_size)?;
            (Some(clock), kernels)
        }
        false => (None, Vec::new()),
    };
    Ok(BenchReport {
        model: config.model.name.clone(),
        adapter: ctx.describe(),
        batch_size: config.batch_size,
        samples,
        dispatches_per_step: plan.dispatches(0).count(),
        train_samples_per_second: rate,
        seconds_per_lecture_epoch: LECTURE_EPOCH as f64 / rate,
        first_epoch_ratio: first / steady.max(f64::MIN_POSITIVE),
        setup_seconds,
        first_chunk_seconds,
        steady_chunk_seconds,
        inference_images_per_second: test.stats.samples as f64 / inference_seconds,
        clock,
        kernels,
    })
}

/// Runs epoch `epoch`; its training pass's seconds and the time to its first metrics.
fn timed_epoch(trainer: &mut Trainer<'_>, epoch: usize) -> Result<(f64, f64)> {
    let start = Instant::now();
    let mut first_metrics = None;
    let stats = trainer.run_epoch(epoch, &mut |progress| {
        if matches!(progress, Progress::Steps { .. }) && first_metrics.is_none() {
            first_metrics = Some(start.elapsed().as_secs_f64());
        }
    })?;
    Ok((stats.seconds, first_metrics.unwrap_or(stats.seconds)))
}

/// Times each of `dispatches` (one training step's launches, batches of `rows`).
pub fn profile<'a>(
    ctx: &GpuContext,
    dispatches: impl Iterator<Item = &'a Dispatch>,
    rows: usize,
) -> Result<(Clock, Vec<KernelTime>)> {
    let table = StepTable::new(ctx, "bench.steps", 1)?;
    table.write(
        ctx,
        &[StepParams {
            batch_rows: rows as u32,
            ..StepParams::default()
        }],
    );
    let dispatches: Vec<&Dispatch> = dispatches.collect();
    let timestamps = ctx
        .device
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY);
    let ms = match timestamps {
        true => gpu_times(ctx, &dispatches, &table)?,
        false => dispatches
            .iter()
            .map(|dispatch| wall_time(ctx, dispatch, &table))
            .collect::<Result<_, _>>()?,
    };
    let kernels = dispatches
        .iter()
        .zip(ms)
        .map(|(dispatch, ms)| KernelTime {
            label: dispatch.label().to_string(),
            workgroups: dispatch.workgroups(),
            ms,
        })
        .collect();
    let clock = if timestamps {
        Clock::GpuTimestamps
    } else {
        Clock::WallClock
    };
    Ok((clock, kernels))
}

/// Milliseconds per launch of each dispatch from timestamps at the ends of its own pass.
fn gpu_times(
    ctx: &GpuContext,
    dispatches: &[&Dispatch],
    table: &StepTable,
) -> Result<Vec<f64>, GpuError> {
    let count = (dispatches.len() * 2) as u32;
    let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("bench.timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count,
    });
    let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("bench.timestamps.resolved"),
        size: u64::from(count) * 8,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("bench.profile"),
        });
    for (i, dispatch) in dispatches.iter().enumerate() {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(dispatch.label()),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(2 * i as u32),
                end_of_pass_write_index: Some(2 * i as u32 + 1),
            }),
        });
        for _ in 0..PROFILE_REPEATS {
            dispatch.record(&mut pass, table, 0);
        }
    }
    encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
    ctx.queue.submit([encoder.finish()]);
    let ticks: Vec<u64> = buffers::read(ctx, &resolved, 0, count as usize)?;
    let period_ns = f64::from(ctx.queue.get_timestamp_period());
    Ok(ticks
        .chunks_exact(2)
        .map(|pair| {
            let ns = pair[1].saturating_sub(pair[0]) as f64 * period_ns;
            ns / 1e6 / f64::from(PROFILE_REPEATS)
        })
        .collect())
}

/// Milliseconds per launch of `dispatch` by the host clock around a submit and wait.
fn wall_time(ctx: &GpuContext, dispatch: &Dispatch, table: &StepTable) -> Result<f64, GpuError> {
    let start = Instant::now();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("bench.profile"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(dispatch.label()),
            timestamp_writes: None,
        });
        for _ in 0..PROFILE_REPEATS {
            dispatch.record(&mut pass, table, 0);
        }
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.wait_idle()?;
    Ok(start.elapsed().as_secs_f64() * 1e3 / f64::from(PROFILE_REPEATS))
}
