//! Evaluation and prediction: loss, accuracy and class probabilities of a trained network over
//! a whole data source, forward only, one submission per batch so that progress can be
//! followed; and the confusion matrix of the predictions.

use crate::data::stream::GpuDataset;
use crate::data::Dataset;
use crate::gpu::readback::Readback;
use crate::gpu::step_table::{StepParams, StepTable};
use crate::gpu::{buffers, GpuContext};
use crate::layers::gather::Source;
use crate::layers::softmax_xent::Metrics;
use crate::model::memory;
use crate::model::network::{Plan, Purpose};
use crate::model::Network;
use crate::Result;

/// Mean loss and accuracy over a data source.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalStats {
    /// Mean per-sample softmax cross-entropy.
    #[serde(with = "crate::json_float")]
    pub loss: f64,
    /// Fraction of samples whose argmax is the label.
    #[serde(with = "crate::json_float")]
    pub accuracy: f64,
    /// Samples evaluated.
    pub samples: usize,
}

impl EvalStats {
    /// Totals the per-batch metrics of `samples` samples.
    pub fn from_metrics(metrics: &[Metrics], samples: usize) -> Self {
        let loss: f64 = metrics.iter().map(|m| f64::from(m.loss_sum)).sum();
        let correct: u64 = metrics.iter().map(|m| u64::from(m.correct)).sum();
        let n = samples.max(1) as f64;
        Self {
            loss: loss / n,
            accuracy: correct as f64 / n,
            samples,
        }
    }
}

/// A forward-only plan over one or more sources (e.g. validation and test), sharing one set of
/// activation buffers.
pub struct Evaluator {
    plan: Plan,
    table: StepTable,
    metrics: wgpu::Buffer,
    /// Metrics rows each batch writes (one per loss workgroup).
    metrics_per_step: usize,
    probabilities: wgpu::Buffer,
    classes: usize,
    source_lens: Vec<usize>,
}

/// Every sample's class probabilities, `[samples, classes]` row-major, with the loss and
/// accuracy of the same pass.
pub struct Predictions {
    /// Loss and accuracy against the source's labels.
    pub stats: EvalStats,
    /// Softmax outputs, one row of `classes` per sample, in the source's order.
    pub probabilities: Vec<f32>,
    /// Number of classes (row length).
    pub classes: usize,
}

impl Predictions {
    /// The predicted class of each sample: its most probable (the first on ties).
    pub fn classes_predicted(&self) -> Vec<usize> {
        self.probabilities
            .chunks(self.classes.max(1))
            .map(argmax)
            .collect()
    }
}

/// Index of the largest value (the first of equal maxima, as numpy).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// `matrix[true][predicted]` counts, `classes × classes`.
pub fn confusion_matrix(labels: &[u8], predicted: &[usize], classes: usize) -> Vec<Vec<usize>> {
    let mut matrix = vec![vec![0; classes]; classes];
    for (&label, &guess) in labels.iter().zip(predicted) {
        if let Some(cell) = matrix
            .get_mut(usize::from(label))
            .and_then(|row| row.get_mut(guess))
        {
            *cell += 1;
        }
    }
    matrix
}

/// The most rows a forward pass takes per batch on a CPU adapter (lavapipe, llvmpipe), where a
/// pass over 10,000 images takes tens of seconds: batches of this size let a progress bar
/// follow it. A GPU takes a whole source in one batch where its binding limit allows.
pub const CPU_BATCH_ROWS: usize = 512;

impl Evaluator {
    /// The batch of a forward-only plan over sources of up to `longest` samples: the whole
    /// source where the device's binding limit allows, else the most rows it does; at most
    /// [`CPU_BATCH_ROWS`] on a CPU adapter.
    pub fn rows_for(ctx: &GpuContext, network: &Network, longest: usize) -> usize {
        let cap = match ctx.info.device_type {
            wgpu::DeviceType::Cpu => CPU_BATCH_ROWS,
            _ => usize::MAX,
        };
        longest.min(network.max_rows(ctx)).min(cap).max(1)
    }

    /// Builds the plan for batches of `rows` over `sources`, whose index lists have the
    /// lengths `source_lens`.
    pub fn new(
        ctx: &GpuContext,
        network: &Network,
        rows: usize,
        sources: &[Source<'_>],
        source_lens: Vec<usize>,
    ) -> Result<Self> {
        let rows = rows.max(1);
        let max_len = source_lens.iter().copied().max().unwrap_or(1).max(1);
        let classes = network.spec.classes;
        let sizes = memory::eval_buffers(rows, max_len, classes);
        let (max_steps, rows_per_step) = (sizes.max_steps, sizes.metrics_per_step);
        let probabilities = buffers::storage(
            ctx,
            &format!("eval.probabilities [{max_len}, {classes}]"),
            sizes.probabilities,
        )?;
        let metrics = buffers::storage(ctx, "eval.metrics", sizes.metrics)?;
        let purpose = Purpose::Evaluate {
            probabilities: Some(&probabilities),
        };
        Ok(Self {
            plan: network.plan(ctx, rows, sources, &metrics, purpose)?,
            table: StepTable::new(ctx, "eval.steps", max_steps)?,
            metrics,
            metrics_per_step: rows_per_step,
            probabilities,
            classes,
            source_lens,
        })
    }

    /// Loss and accuracy over every sample of source `source` (blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate(&self, ctx: &GpuContext, source: usize) -> Result<EvalStats> {
        crate::gpu::block_on(self.evaluate_async(ctx, source))
    }

    /// `evaluate` without blocking.
    pub async fn evaluate_async(&self, ctx: &GpuContext, source: usize) -> Result<EvalStats> {
        Ok(self
            .submit(ctx, source, false)?
            .wait_async(ctx)
            .await?
            .stats)
    }

    /// Class probabilities of every sample of source `source`, with loss and accuracy
    /// (blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict(&self, ctx: &GpuContext, source: usize) -> Result<Predictions> {
        crate::gpu::block_on(self.predict_async(ctx, source))
    }

    /// `predict` without blocking.
    pub async fn predict_async(&self, ctx: &GpuContext, source: usize) -> Result<Predictions> {
        self.submit(ctx, source, true)?.wait_async(ctx).await
    }

    /// Submits the pass over source `source`, one submission per batch, and one copy of its
    /// metrics (and, when `probabilities`, of every sample's class probabilities) for
    /// readback; collect the result with [`PendingEval::poll`] (never blocks),
    /// [`PendingEval::wait_async`] or [`PendingEval::wait_reporting_async`] (natively `wait` and
    /// `wait_reporting` block for them).
    pub fn submit(
        &self,
        ctx: &GpuContext,
        source: usize,
        probabilities: bool,
    ) -> Result<PendingEval> {
        let samples = self.source_lens[source];
        let steps = samples.div_ceil(self.plan.rows);
        let metric_bytes = (steps * self.metrics_per_step * std::mem::size_of::<Metrics>()) as u64;
        let mut parts = vec![(&self.metrics, 0, metric_bytes)];
        if probabilities {
            parts.push((&self.probabilities, 0, (samples * self.classes * 4) as u64));
        }
        let total = parts.iter().map(|part| part.2).sum();
        let mut readback = Readback::new(ctx, "eval.results", total, 1)?;
        self.write_table(ctx, source, steps);
        let mut batches = Vec::with_capacity(steps);
        for step in 0..steps {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("evaluate"),
                });
            self.plan.record(
                &mut encoder,
                "evaluate",
                &self.table,
                step..step + 1,
                source,
            );
            if step + 1 < steps {
                let done = (step + 1) * self.plan.rows;
                batches.push((done, ctx.queue.submit([encoder.finish()])));
            } else {
                let slot = readback.copy_parts(&mut encoder, &parts)?;
                let submission = ctx.queue.submit([encoder.finish()]);
                readback.submitted(slot, 0, total, submission);
            }
        }
        Ok(PendingEval {
            readback,
            batches,
            samples,
            metric_bytes: metric_bytes as usize,
            classes: self.classes,
        })
    }

    /// Writes the step table for `steps` batches of source `source`.
    fn write_table(&self, ctx: &GpuContext, source: usize, steps: usize) {
        let samples = self.source_lens[source];
        let rows = self.plan.rows;
        let entries: Vec<StepParams> = (0..steps)
            .map(|step| StepParams {
                sample_start: (step * rows) as u32,
                batch_rows: rows.min(samples - step * rows) as u32,
                slot: step as u32,
                ..StepParams::default()
            })
            .collect();
        self.table.write(ctx, &entries);
    }
}

/// An evaluation in flight.
pub struct PendingEval {
    readback: Readback,
    /// Every batch but the last (whose submission carries the readback): the samples done
    /// once it has run, and its submission.
    batches: Vec<(usize, wgpu::SubmissionIndex)>,
    samples: usize,
    metric_bytes: usize,
    classes: usize,
}

impl PendingEval {
    /// The result, once the GPU has finished; `None` before (never blocks).
    pub fn poll(&mut self, ctx: &GpuContext) -> Result<Option<Predictions>> {
        let landed = self.readback.poll(ctx)?;
        Ok(landed.first().map(|piece| self.results(&piece.bytes)))
    }

    /// The result, blocking until the GPU has finished, after calling `progress` with the
    /// samples done as each batch but the last completes.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_reporting(
        self,
        ctx: &GpuContext,
        progress: impl FnMut(usize),
    ) -> Result<Predictions> {
        crate::gpu::block_on(self.wait_reporting_async(ctx, progress))
    }

    /// The result, blocking until the GPU has finished.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(self, ctx: &GpuContext) -> Result<Predictions> {
        crate::gpu::block_on(self.wait_async(ctx))
    }

    /// `wait_reporting` without blocking.
    pub async fn wait_reporting_async(
        mut self,
        ctx: &GpuContext,
        mut progress: impl FnMut(usize),
    ) -> Result<Predictions> {
        for (done, submission) in &self.batches {
            ctx.settle(Some(submission), || Some(())).await?;
            progress(*done);
        }
        let landed = self.readback.finish_async(ctx).await?;
        let bytes = landed.first().map_or(&[][..], |piece| &piece.bytes);
        Ok(self.results(bytes))
    }

    /// `wait` without blocking.
    pub async fn wait_async(self, ctx: &GpuContext) -> Result<Predictions> {
        self.wait_reporting_async(ctx, |_| {}).await
    }

    /// Loss and accuracy from the metrics rows, and the probabilities that follow them (empty
    /// unless asked for).
    fn results(&self, bytes: &[u8]) -> Predictions {
        let (metrics, probabilities) = bytes.split_at(self.metric_bytes.min(bytes.len()));
        Predictions {
            stats: EvalStats::from_metrics(bytemuck::cast_slice(metrics), self.samples),
            probabilities: bytemuck::cast_slice(probabilities).to_vec(),
            classes: self.classes,
        }
    }
}

/// A trained network on a device, ready to evaluate or predict any host data set.
pub struct Inference<'ctx> {
    ctx: &'ctx GpuContext,
    network: Network,
}

impl<'ctx> Inference<'ctx> {
    /// Wraps `network` (on `ctx`) for forward passes.
    pub fn new(ctx: &'ctx GpuContext, network: Network) -> Self {
        Self { ctx, network }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Uploads `data` and returns every sample's class probabilities, with loss and accuracy
    /// against its labels.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict(&self, data: &Dataset) -> Result<Predictions> {
        self.predict_reporting(data, |_| {})
    }

    /// [`Self::predict`], calling `progress` with the samples done as batches complete.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_reporting(
        &self,
        data: &Dataset,
        progress: impl FnMut(usize),
    ) -> Result<Predictions> {
        crate::gpu::block_on(self.predict_reporting_async(data, progress))
    }

    /// `predict_reporting` without blocking.
    pub async fn predict_reporting_async(
        &self,
        data: &Dataset,
        progress: impl FnMut(usize),
    ) -> Result<Predictions> {
        predict_with(self.ctx, &self.network, data, progress).await
    }
}

/// Uploads `data` and runs `network` (on `ctx`, as it is: a trainer's between steps, say) over
/// it: every sample's class probabilities, with loss and accuracy against its labels, calling
/// `progress` with the samples done as batches complete.
pub async fn predict_with(
    ctx: &GpuContext,
    network: &Network,
    data: &Dataset,
    progress: impl FnMut(usize),
) -> Result<Predictions> {
    let resident = GpuDataset::upload(ctx, "inference", data)?;
    let order: Vec<u32> = (0..data.len() as u32).collect();
    let indices = buffers::storage_with(ctx, "inference.indices", &order)?;
    let source = Source {
        images: &resident.images,
        labels: &resident.labels,
        indices: &indices,
    };
    let rows = Evaluator::rows_for(ctx, network, data.len());
    let evaluator = Evaluator::new(ctx, network, rows, &[source], vec![data.len()])?;
    evaluator
        .submit(ctx, 0, true)?
        .wait_reporting_async(ctx, progress)
        .await
}
