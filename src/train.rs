//! The fit loop: Keras's `model.fit` on the GPU.
//!
//! Each epoch uploads one permutation of the training indices and one step table, then records
//! chunks of whole training steps (gather → forward → loss → backward → optimizer) into single
//! compute passes, submits them back to back and reads the per-step metrics through a staging
//! ring without stalling; the host waits only at the end of the epoch. Validation and test
//! evaluation run forward-only plans over data resident on the GPU.

#[cfg(not(target_arch = "wasm32"))]
use std::ops::ControlFlow;
use std::time::Duration;

use web_time::Instant;

use crate::compat;
use crate::data::stream::GpuDataset;
use crate::data::{epoch_order, split_validation, subsample, MnistSplits};
use crate::error::{Error, Result};
use crate::evaluate::{EvalStats, Evaluator, Predictions};
use crate::gpu::readback::{Landed, Readback};
use crate::gpu::step_table::{StepParams, StepTable};
use crate::gpu::{buffers, GpuContext};
use crate::layers::gather::Source;
use crate::layers::softmax_xent::Metrics;
use crate::model::memory::TrainingRun;
use crate::model::network::{Plan, Purpose};
use crate::model::plan::Fusion;
use crate::model::{ModelSpec, Network};
use crate::optim;
use crate::optim::plateau::PlateauState;
pub use crate::run::{EpochStats, PartialEpoch, TrainConfig, TrainState};

/// Wall time one submitted chunk of steps should take: short enough for a lively progress bar,
/// long enough that the GPU never waits for the host.
const CHUNK_SECONDS: f64 = 0.1;
/// Steps in an epoch's first chunk, before its speed is known.
const FIRST_CHUNK_STEPS: usize = 4;
/// Most steps recorded into one chunk.
const MAX_CHUNK_STEPS: usize = 512;
/// Staging buffers in the metrics readback ring (chunks in flight at once).
const READBACK_DEPTH: usize = 3;
/// Bytes a step reads back: its metrics row, then the first parameter its update left NaN or
/// infinite ([`optim::ALL_FINITE`] for none).
const STEP_READBACK_BYTES: usize = std::mem::size_of::<Metrics>() + 4;

/// Progress reported while training.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// An epoch is about to start.
    EpochStart {
        /// Epoch, from 1.
        epoch: usize,
        /// Steps in the epoch.
        steps: usize,
    },
    /// Steps have completed on the GPU.
    Steps {
        /// Epoch, from 1.
        epoch: usize,
        /// Steps completed so far in the epoch.
        done: usize,
        /// Steps in the epoch.
        total: usize,
        /// Mean loss so far this epoch.
        loss: f64,
        /// Accuracy so far this epoch.
        accuracy: f64,
    },
    /// An epoch has finished (validation included).
    Epoch(EpochStats),
}

/// What [`Trainer::submit_chunk`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// A chunk of steps went to the GPU.
    Chunk,
    /// Nothing: every staging slot is in flight; poll, then try again.
    Busy,
    /// Nothing: every step of the epoch is submitted.
    Done,
}

/// How `Trainer::fit_until` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitOutcome {
    /// Every epoch asked for is done.
    Finished,
    /// `after_epoch` ended training after epoch `epoch` (early stopping).
    Ended {
        /// The last epoch trained, from 1.
        epoch: usize,
    },
    /// Stopped on request at a chunk boundary: `step` steps of epoch `epoch` are done (0: the
    /// epoch had not started). [`Trainer::state_async`] holds them, to resume exactly.
    Stopped {
        /// The epoch stopped in, from 1.
        epoch: usize,
        /// Its steps completed.
        step: usize,
        /// Its steps in all.
        steps: usize,
    },
}

/// An epoch in flight, driven by [`Trainer::submit_chunk`] and [`Trainer::poll`] (or all at
/// once by [`Trainer::train_epoch_async`]).
pub struct EpochRun {
    epoch: usize,
    steps: usize,
    metrics: Vec<Metrics>,
    landed: usize,
    next: usize,
    chunk: usize,
    start: Instant,
    /// Steps done before this run began (an interrupted epoch resumed), and their seconds.
    first: usize,
    earlier_seconds: f64,
    /// The first step (from 0) whose loss landed non-finite, with that loss.
    bad_loss: Option<(usize, f32)>,
    /// The first step (from 0) whose update left a parameter non-finite, with its slab index.
    bad_parameter: Option<(usize, u32)>,
}

impl EpochRun {
    /// The epoch, from 1.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Whether every step's metrics have landed.
    pub fn is_complete(&self) -> bool {
        self.landed == self.steps
    }

    /// Stores landed metrics at their steps, and sizes later chunks so that one takes about
    /// [`CHUNK_SECONDS`] at the speed seen so far.
    fn collect(&mut self, landed: Vec<Landed>) {
        for piece in landed {
            let steps = piece.bytes.len() / STEP_READBACK_BYTES;
            let (rows, flags) = piece.bytes.split_at(steps * std::mem::size_of::<Metrics>());
            let values: &[Metrics] = bytemuck::cast_slice(rows);
            let flags: &[u32] = bytemuck::cast_slice(flags);
            self.metrics[piece.tag..piece.tag + steps].copy_from_slice(values);
            self.landed += steps;
            let first_bad = |found: Option<usize>| found.map(|offset| piece.tag + offset);
            if let Some(step) = first_bad(values.iter().position(|m| !m.loss_sum.is_finite())) {
                if self.bad_loss.is_none_or(|(first, _)| step < first) {
                    self.bad_loss = Some((step, values[step - piece.tag].loss_sum));
                }
            }
            if let Some(step) = first_bad(flags.iter().position(|&f| f != optim::ALL_FINITE)) {
                if self.bad_parameter.is_none_or(|(first, _)| step < first) {
                    self.bad_parameter = Some((step, flags[step - piece.tag]));
                }
            }
        }
        let landed_here = self.landed - self.first;
        if landed_here > 0 {
            let per_step = self.start.elapsed().as_secs_f64() / landed_here as f64;
            self.chunk = ((CHUNK_SECONDS / per_step) as usize).clamp(1, MAX_CHUNK_STEPS);
        }
    }
}

/// Index buffers of one data split.
struct Split {
    indices: Vec<u32>,
    buffer: wgpu::Buffer,
}

/// A network, its data on the GPU and the plans to train and evaluate it.
pub struct Trainer<'ctx> {
    ctx: &'ctx GpuContext,
    network: Network,
    config: TrainConfig,
    train: Split,
    plan: Plan,
    table: StepTable,
    metrics: wgpu::Buffer,
    /// `[steps] u32`: per step, the first parameter its update left non-finite.
    first_non_finite: wgpu::Buffer,
    readback: Readback,
    evaluator: Evaluator,
    validation_len: usize,
    steps_done: u64,
    history: Vec<EpochStats>,
    partial: Option<PartialEpoch>,
    plateau: PlateauState,
    // Keep the resident data alive as long as the plans that bind it.
    _datasets: [GpuDataset; 2],
    _eval_indices: [wgpu::Buffer; 2],
}

fn invalid(setting: &'static str, value: impl ToString, hint: impl Into<String>) -> Error {
    Error::InvalidSetting {
        setting,
        value: value.to_string(),
        hint: hint.into(),
    }
}

impl TrainConfig {
    /// Checks every setting against the training set size, before any GPU work.
    pub fn validate(&self, train_len: usize) -> Result<()> {
        if self.batch_size == 0 {
            return Err(invalid(
                "--batch-size",
                0,
                "give a batch size of at least 1",
            ));
        }
        if let Some((setting, value, hint)) = self.optimizer.invalid_setting() {
            return Err(invalid(setting.option(), value, hint));
        }
        if let Some((setting, value, hint)) = self.schedule.invalid_setting() {
            return Err(invalid(setting, value, hint));
        }
        if let Some((setting, value, hint)) = self.plateau.and_then(|p| p.invalid_setting()) {
            return Err(invalid(setting, value, hint));
        }
        if self.epochs == 0 {
            return Err(invalid("--epochs", 0, "give at least 1 epoch"));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(invalid(
                "--validation-split",
                self.validation_split,
                "give a fraction in [0, 1), e.g. 0.1",
            ));
        }
        if let Some(n) = self.train_samples {
            if n == 0 || n > train_len {
                return Err(invalid(
                    "--train-samples",
                    n,
                    format!("the training set has {train_len} samples: give 1 to {train_len}"),
                ));
            }
        }
        Ok(())
    }
}

impl<'ctx> Trainer<'ctx> {
    /// Checks the settings and the model, uploads the data and builds every plan.
    pub fn new(
        ctx: &'ctx GpuContext,
        spec: ModelSpec,
        data: &MnistSplits,
        config: TrainConfig,
    ) -> Result<Self> {
        Self::with_fusion(ctx, spec, data, config, Fusion::ALL)
    }

    /// [`Trainer::new`] with the planner's fusions chosen (tests compare fused and plain plans).
    pub fn with_fusion(
        ctx: &'ctx GpuContext,
        mut spec: ModelSpec,
        data: &MnistSplits,
        config: TrainConfig,
        fusion: Fusion,
    ) -> Result<Self> {
        config.validate(data.train.len())?;
        spec.input = compat::image_shape(&data.train);
        compat::check(&spec, &data.train, "the training set", "")?;
        compat::check(
            &spec,
            &data.test,
            "the test set",
            "give test images of the training images' size",
        )?;
        let all = config.train_samples.map_or_else(
            || Ok((0..data.train.len() as u32).collect()),
            |n| subsample(data.train.len(), n, config.seed),
        )?;
        let (train_indices, validation_indices) = split_validation(&all, config.validation_split)?;
        let run = TrainingRun::of(
            data,
            train_indices.len(),
            validation_indices.len(),
            config.batch_size,
        );
        run.check(ctx, &spec, fusion)?;
        let mut network = Network::new(ctx, spec, config.seed)?;
        network.fusion = fusion;

        let train_set = GpuDataset::upload(ctx, "train", &data.train)?;
        let test_set = GpuDataset::upload(ctx, "test", &data.test)?;
        let train = Split {
            buffer: buffers::storage_with(ctx, "train.order", &train_indices)?,
            indices: train_indices,
        };
        let validation = buffers::storage_with(ctx, "validation.indices", &validation_indices)?;
        let test_indices: Vec<u32> = (0..data.test.len() as u32).collect();
        let test = buffers::storage_with(ctx, "test.indices", &test_indices)?;

        let batch = config.batch_size.min(train.indices.len());
        let steps = train.indices.len().div_ceil(batch);
        let metrics = buffers::storage(
            ctx,
            "train.metrics",
            (steps * std::mem::size_of::<Metrics>()) as u64,
        )?;
        let first_non_finite = buffers::storage(ctx, "train.first_non_finite", (steps * 4) as u64)?;
        let plan = network.plan(
            ctx,
            batch,
            &[Source {
                images: &train_set.images,
                labels: &train_set.labels,
                indices: &train.buffer,
            }],
            &metrics,
            Purpose::Train {
                optimizer: &config.optimizer,
                first_non_finite: &first_non_finite,
            },
        )?;
        let longest = validation_indices.len().max(test_indices.len());
        let eval_rows = Evaluator::rows_for(ctx, &network, longest);
        let evaluator = Evaluator::new(
            ctx,
            &network,
            eval_rows,
            &[
                Source {
                    images: &train_set.images,
                    labels: &train_set.labels,
                    indices: &validation,
                },
                Source {
                    images: &test_set.images,
                    labels: &test_set.labels,
                    indices: &test,
                },
            ],
            vec![validation_indices.len(), test_indices.len()],
        )?;
        let chunk_bytes = (MAX_CHUNK_STEPS * STEP_READBACK_BYTES) as u64;
        Ok(Self {
            ctx,
            table: StepTable::new(ctx, "train.steps", steps)?,
            readback: Readback::new(ctx, "train.metrics", chunk_bytes, READBACK_DEPTH)?,
            network,
            config,
            train,
            plan,
            metrics,
            first_non_finite,
            evaluator,
            validation_len: validation_indices.len(),
            steps_done: 0,
            history: Vec::new(),
            partial: None,
            plateau: PlateauState::default(),
            _datasets: [train_set, test_set],
            _eval_indices: [validation, test],
        })
    }

    /// The network being trained.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The training plan (one step's launches).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Samples in the training and validation parts.
    pub fn split_sizes(&self) -> (usize, usize) {
        (self.train.indices.len(), self.validation_len)
    }

    /// Steps in one epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.table.capacity()
    }

    /// Runs the epochs not yet done up to the configured number, reporting progress; returns
    /// the whole history (earlier epochs of a resumed run included).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit(&mut self, progress: impl FnMut(Progress)) -> Result<Vec<EpochStats>> {
        self.fit_then(progress, |_| Ok(()))
    }

    /// [`Trainer::fit`], calling `after_epoch` with the trainer after each epoch (to save a
    /// checkpoint, say); its error stops training.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_then(
        &mut self,
        progress: impl FnMut(Progress),
        after_epoch: impl FnMut(&Self) -> Result<()>,
    ) -> Result<Vec<EpochStats>> {
        let mut after_epoch = after_epoch;
        self.fit_until(
            progress,
            |trainer| after_epoch(trainer).map(ControlFlow::Continue),
            || false,
        )?;
        Ok(self.history.clone())
    }

    /// [`Trainer::fit_then`], asking `stop` before each chunk of steps: once it says yes,
    /// training waits for the chunks in flight and stops there, [`FitOutcome::Stopped`], its
    /// state ready to save and resume exactly. A non-finite loss or parameter ends training
    /// with [`Error::Diverged`], naming the epoch and step. `after_epoch` ends training
    /// early by answering [`ControlFlow::Break`] ([`FitOutcome::Ended`]; early stopping).
    /// Blocking: a browser drives [`Trainer::train_epoch_async`] itself.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_until(
        &mut self,
        mut progress: impl FnMut(Progress),
        mut after_epoch: impl FnMut(&Self) -> Result<ControlFlow<()>>,
        stop: impl Fn() -> bool,
    ) -> Result<FitOutcome> {
        while self.epochs_done() < self.config.epochs {
            let epoch = self.epochs_done() + 1;
            let trained = self.train_epoch_async(epoch, &mut progress, &stop);
            if crate::gpu::block_on(trained)?.is_none() {
                let step = self.partial.as_ref().map_or(0, |partial| partial.steps);
                return Ok(FitOutcome::Stopped {
                    epoch,
                    step,
                    steps: self.steps_per_epoch(),
                });
            }
            if after_epoch(self)?.is_break() {
                return Ok(FitOutcome::Ended {
                    epoch: self.epochs_done(),
                });
            }
        }
        Ok(FitOutcome::Finished)
    }

    /// The epoch an interruption stopped part-way and its steps done, if any: where
    /// training continues.
    pub fn state_partial_steps(&self) -> Option<(usize, usize)> {
        self.partial
            .as_ref()
            .map(|partial| (partial.epoch, partial.steps))
    }

    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.history.len()
    }

    /// The epochs completed so far.
    pub fn history(&self) -> &[EpochStats] {
        &self.history
    }

    /// The settings training runs with.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Sets the number of epochs `fit` trains up to (to continue a resumed run further).
    pub fn set_epochs(&mut self, epochs: usize) {
        self.config.epochs = epochs;
    }

    /// A copy of the parameters, Adam's moments and the counters (blocking readback).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn state(&self) -> Result<TrainState> {
        crate::gpu::block_on(self.state_async())
    }

    /// `state` without blocking.
    pub async fn state_async(&self) -> Result<TrainState> {
        let slab = &self.network.slab;
        let state = &self.network.state;
        Ok(TrainState {
            epochs_done: self.epochs_done(),
            steps_done: self.steps_done,
            params: slab.read_async(self.ctx, &slab.params).await?,
            m: slab.read_async(self.ctx, &slab.m).await?,
            v: slab.read_async(self.ctx, &slab.v).await?,
            state: buffers::read_async(self.ctx, &state.buffer, 0, state.layout.total).await?,
            history: self.history.clone(),
            partial: self.partial.clone(),
            plateau: self.plateau,
        })
    }

    /// Continues from `state` (taken from a trainer of the same model and settings).
    pub fn restore(&mut self, state: TrainState) -> Result<()> {
        let slab = &self.network.slab;
        let total = slab.layout.total;
        for (name, values) in [
            ("parameters", &state.params),
            ("m", &state.m),
            ("v", &state.v),
        ] {
            if values.len() != total {
                return Err(invalid(
                    "training state",
                    format!("{name} of {} values", values.len()),
                    format!("the model's slab holds {total}: the state is of another model"),
                ));
            }
        }
        slab.write(self.ctx, &slab.params, &state.params);
        slab.write(self.ctx, &slab.m, &state.m);
        slab.write(self.ctx, &slab.v, &state.v);
        let expected = self.network.state.layout.total;
        if state.state.len() != expected {
            return Err(invalid(
                "training state",
                format!("state of {} values", state.state.len()),
                format!("the model has {expected}: the state is of another model"),
            ));
        }
        self.ctx.queue.write_buffer(
            &self.network.state.buffer,
            0,
            bytemuck::cast_slice(&state.state),
        );
        if let Some(partial) = &state.partial {
            let steps = self.steps_per_epoch();
            if partial.epoch != state.history.len() + 1
                || partial.steps > steps
                || partial.loss_sums.len() != partial.steps
                || partial.correct.len() != partial.steps
            {
                return Err(invalid(
                    "training state",
                    format!("epoch {} stopped at step {}", partial.epoch, partial.steps),
                    format!(
                        "after {} epochs of {steps} steps that cannot be: the state is of \
                         other settings",
                        state.history.len()
                    ),
                ));
            }
        }
        self.steps_done = state.steps_done;
        self.history = state.history;
        self.partial = state.partial;
        self.plateau = state.plateau;
        Ok(())
    }

    /// Runs one epoch (`epoch` from 1) and its validation, blocking until it is done: the
    /// non-blocking calls below, waiting whenever the readback ring is full.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_epoch(
        &mut self,
        epoch: usize,
        progress: &mut impl FnMut(Progress),
    ) -> Result<EpochStats> {
        crate::gpu::block_on(async {
            let mut run = self.begin_epoch(epoch);
            self.drive(&mut run, progress, &|| false).await?;
            self.finish_epoch_async(run, progress).await
        })
    }

    /// Trains epoch `epoch` (from 1) and validates it, asking `stop` before each chunk;
    /// `None` when it stopped the epoch part-way (kept in the state as a [`PartialEpoch`], to
    /// continue from). What a browser awaits: it never blocks.
    pub async fn train_epoch_async(
        &mut self,
        epoch: usize,
        progress: &mut impl FnMut(Progress),
        stop: &impl Fn() -> bool,
    ) -> Result<Option<EpochStats>> {
        let mut run = self.begin_epoch(epoch);
        if self.drive(&mut run, progress, stop).await? {
            self.finish_epoch_async(run, progress).await.map(Some)
        } else {
            self.stop_epoch(run).await?;
            Ok(None)
        }
    }

    /// Submits `run`'s chunks and collects their metrics until every step is submitted (true)
    /// or `stop` says so first (false), reporting progress and checking each landed loss.
    async fn drive(
        &mut self,
        run: &mut EpochRun,
        progress: &mut impl FnMut(Progress),
        stop: &impl Fn() -> bool,
    ) -> Result<bool> {
        progress(Progress::EpochStart {
            epoch: run.epoch,
            steps: run.steps,
        });
        loop {
            if stop() {
                return Ok(false);
            }
            let before = run.landed;
            match self.submit_chunk(run)? {
                Submitted::Chunk => {}
                Submitted::Busy => self.wait_for_slot(run).await?,
                Submitted::Done => return Ok(true),
            }
            // What the wait collected counts too: in a browser it is often all that landed.
            self.collect_landed(run)?;
            if run.landed > before {
                progress(self.running(run));
            }
            self.check_divergence(run)?;
        }
    }

    /// Fails with [`Error::Diverged`] when a landed step of `run` had a non-finite loss or
    /// left a parameter non-finite, naming the first such step. A step's loss comes before its
    /// update, so a parameter counts first only when its step is earlier than the loss's.
    fn check_divergence(&self, run: &EpochRun) -> Result<()> {
        if let Some((step, index)) = run.bad_parameter {
            if run.bad_loss.is_none_or(|(loss_step, _)| step < loss_step) {
                let what = format!("a parameter of {}", self.tensor_of(index as usize));
                return Err(self.diverged(run, step, what, "NaN or infinite".into()));
            }
        }
        match run.bad_loss {
            Some((step, loss)) => {
                Err(self.diverged(run, step, "the loss".into(), loss.to_string()))
            }
            None => Ok(()),
        }
    }

    /// [`Error::Diverged`] at step `step` (from 0) of `run`, naming that step's learning rate.
    fn diverged(&self, run: &EpochRun, step: usize, what: String, value: String) -> Error {
        let run_step = self.steps_done - run.first as u64 + step as u64;
        Error::Diverged {
            epoch: run.epoch,
            step: step + 1,
            what,
            value,
            learning_rate: self.config.learning_rate(run_step, &self.plateau),
        }
    }

    /// The tensor slab element `index` belongs to, with its element: `dense.kernel (element 7)`.
    fn tensor_of(&self, index: usize) -> String {
        self.network
            .slab
            .layout
            .tensors
            .iter()
            .find(|slot| (slot.offset..slot.offset + slot.len).contains(&index))
            .map_or_else(
                || "the slab's padding".to_string(),
                |slot| format!("{} (element {})", slot.name, index - slot.offset),
            )
    }

    /// Ends `run` part-way: waits for the chunks in flight and keeps the steps done as the
    /// state's [`PartialEpoch`].
    async fn stop_epoch(&mut self, mut run: EpochRun) -> Result<()> {
        run.collect(self.readback.finish_async(self.ctx).await?);
        self.check_divergence(&run)?;
        let done = &run.metrics[..run.next];
        self.steps_done += (run.next - run.first) as u64;
        self.partial = Some(PartialEpoch {
            epoch: run.epoch,
            steps: run.next,
            seconds: run.earlier_seconds + run.start.elapsed().as_secs_f64(),
            loss_sums: done.iter().map(|m| m.loss_sum).collect(),
            correct: done.iter().map(|m| m.correct).collect(),
        });
        Ok(())
    }

    /// Starts epoch `epoch` (from 1): uploads its sample order and step table. Nothing runs
    /// until [`Trainer::submit_chunk`].
    pub fn begin_epoch(&mut self, epoch: usize) -> EpochRun {
        let ctx = self.ctx;
        let n = self.train.indices.len();
        let batch = self.plan.rows;
        let steps = self.steps_per_epoch();
        let mut metrics = vec![Metrics::default(); steps];
        let (first, earlier_seconds) = match self.partial.take() {
            Some(partial) if partial.epoch == epoch => {
                for (slot, (&loss_sum, &correct)) in metrics
                    .iter_mut()
                    .zip(partial.loss_sums.iter().zip(&partial.correct))
                {
                    *slot = Metrics { loss_sum, correct };
                }
                (partial.steps, partial.seconds)
            }
            _ => (0, 0.0),
        };
        // Steps taken before the epoch's first step (Adam's `t` minus one).
        let epoch_start = self.steps_done - first as u64;
        let order = epoch_order(&self.train.indices, self.config.seed, epoch - 1);
        ctx.queue
            .write_buffer(&self.train.buffer, 0, bytemuck::cast_slice(&order));
        let entries: Vec<StepParams> = (0..steps)
            .map(|step| {
                let run_step = epoch_start + step as u64;
                let learning_rate = self.config.learning_rate(run_step, &self.plateau);
                StepParams {
                    sample_start: (step * batch) as u32,
                    batch_rows: batch.min(n - step * batch) as u32,
                    slot: step as u32,
                    step_rate: self.config.optimizer.step_rate(run_step + 1, learning_rate),
                    step: run_step as u32,
                    learning_rate: learning_rate as f32,
                    ..StepParams::default()
                }
            })
            .collect();
        self.table.write(ctx, &entries);
        ctx.queue.write_buffer(
            &self.first_non_finite,
            0,
            bytemuck::cast_slice(&vec![optim::ALL_FINITE; steps]),
        );
        EpochRun {
            epoch,
            steps,
            metrics,
            landed: first,
            next: first,
            chunk: FIRST_CHUNK_STEPS,
            start: Instant::now(),
            first,
            earlier_seconds,
            bad_loss: None,
            bad_parameter: None,
        }
    }

    /// Records the next chunk of `run`'s steps into one compute pass and submits it, with the
    /// copy of its metrics into a free staging slot. Never waits: when every slot is still in
    /// flight it submits nothing and says [`Submitted::Busy`] (poll, then try again).
    pub fn submit_chunk(&mut self, run: &mut EpochRun) -> Result<Submitted> {
        if run.next >= run.steps {
            return Ok(Submitted::Done);
        }
        if !self.readback.has_free_slot() {
            return Ok(Submitted::Busy);
        }
        let ctx = self.ctx;
        let (next, end) = (run.next, (run.next + run.chunk).min(run.steps));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("train.chunk"),
            });
        self.plan
            .record(&mut encoder, "train.chunk", &self.table, next..end, 0);
        let size = std::mem::size_of::<Metrics>() as u64;
        let (first, steps) = (next as u64, (end - next) as u64);
        let parts = [
            (&self.metrics, first * size, steps * size),
            (&self.first_non_finite, first * 4, steps * 4),
        ];
        let bytes = steps * STEP_READBACK_BYTES as u64;
        let slot = self.readback.copy_parts(&mut encoder, &parts)?;
        let submission = ctx.queue.submit([encoder.finish()]);
        self.readback.submitted(slot, next, bytes, submission);
        run.next = end;
        Ok(Submitted::Chunk)
    }

    /// Collects the metrics of every chunk that has finished, without blocking; reports the
    /// running loss and accuracy when any landed.
    pub fn poll(&mut self, run: &mut EpochRun) -> Result<Option<Progress>> {
        let before = run.landed;
        self.collect_landed(run)?;
        Ok((run.landed > before).then(|| self.running(run)))
    }

    /// Collects the metrics of every chunk that has finished into `run`, without blocking.
    fn collect_landed(&mut self, run: &mut EpochRun) -> Result<()> {
        run.collect(self.readback.poll(self.ctx)?);
        Ok(())
    }

    /// Waits until the oldest chunk in flight has landed and collects it.
    async fn wait_for_slot(&mut self, run: &mut EpochRun) -> Result<()> {
        let landed = self.readback.oldest_async(self.ctx).await?;
        run.collect(vec![landed]);
        Ok(())
    }

    /// The running loss and accuracy of `run`, from the metrics that have landed.
    fn running(&self, run: &EpochRun) -> Progress {
        let samples = (run.landed * self.plan.rows).min(self.train.indices.len());
        let stats = EvalStats::from_metrics(&run.metrics[..run.landed], samples);
        Progress::Steps {
            epoch: run.epoch,
            done: run.landed,
            total: run.steps,
            loss: stats.loss,
            accuracy: stats.accuracy,
        }
    }

    /// Ends `run` once every chunk is submitted: waits for the metrics still in flight (none
    /// when [`EpochRun::is_complete`]), then validates and records the epoch, which
    /// reduce-on-plateau then counts.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn finish_epoch(
        &mut self,
        run: EpochRun,
        progress: &mut impl FnMut(Progress),
    ) -> Result<EpochStats> {
        crate::gpu::block_on(self.finish_epoch_async(run, progress))
    }

    /// `finish_epoch` without blocking.
    pub async fn finish_epoch_async(
        &mut self,
        mut run: EpochRun,
        progress: &mut impl FnMut(Progress),
    ) -> Result<EpochStats> {
        run.collect(self.readback.finish_async(self.ctx).await?);
        let seconds = run.earlier_seconds + run.start.elapsed().as_secs_f64();
        self.check_divergence(&run)?;
        self.steps_done += (run.steps - run.first) as u64;
        progress(self.running(&run));
        let train = EvalStats::from_metrics(&run.metrics, self.train.indices.len());
        let last_rate = self
            .config
            .learning_rate(self.steps_done.saturating_sub(1), &self.plateau);
        let stats = EpochStats {
            epoch: run.epoch,
            steps: run.steps,
            seconds,
            loss: train.loss,
            accuracy: train.accuracy,
            validation: self.evaluate_validation_async().await?,
            learning_rate: self.config.varies_learning_rate().then_some(last_rate),
        };
        if let Some(plateau) = &self.config.plateau {
            self.plateau.after_epoch(plateau, &stats, last_rate);
        }
        self.history.push(stats.clone());
        progress(Progress::Epoch(stats.clone()));
        Ok(stats)
    }

    /// Loss and accuracy on the validation split (`None` without one).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate_validation(&self) -> Result<Option<EvalStats>> {
        crate::gpu::block_on(self.evaluate_validation_async())
    }

    /// `evaluate_validation` without blocking.
    pub async fn evaluate_validation_async(&self) -> Result<Option<EvalStats>> {
        if self.validation_len == 0 {
            return Ok(None);
        }
        self.evaluator.evaluate_async(self.ctx, 0).await.map(Some)
    }

    /// Loss and accuracy on the test set.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate_test(&self) -> Result<EvalStats> {
        self.evaluator.evaluate(self.ctx, 1)
    }

    /// Class probabilities of every test sample, with loss and accuracy.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_test(&self) -> Result<Predictions> {
        self.evaluator.predict(self.ctx, 1)
    }

    /// [`Self::predict_test`], calling `progress` with the samples done as batches complete.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_test_reporting(&self, progress: impl FnMut(usize)) -> Result<Predictions> {
        crate::gpu::block_on(self.predict_test_async(progress))
    }

    /// `predict_test_reporting` without blocking.
    pub async fn predict_test_async(&self, progress: impl FnMut(usize)) -> Result<Predictions> {
        self.evaluator
            .submit(self.ctx, 1, true)?
            .wait_reporting_async(self.ctx, progress)
            .await
    }

    /// The current parameter slab (padding included), read back from the GPU.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn parameters(&self) -> Result<Vec<f32>> {
        Ok(self
            .network
            .slab
            .read(self.ctx, &self.network.slab.params)?)
    }
}

/// Formats a duration per step the way Keras does (`42ms/step`, `3s/step`).
pub fn per_step(seconds: f64, steps: usize) -> String {
    let each = Duration::from_secs_f64(seconds / steps.max(1) as f64);
    if each.as_secs_f64() >= 1.0 {
        format!("{:.0}s/step", each.as_secs_f64())
    } else if each.as_millis() >= 1 {
        format!("{}ms/step", each.as_millis())
    } else {
        format!("{}us/step", each.as_micros())
    }
}
