//! Evaluation: loss and accuracy of a trained network over a whole data source, forward only,
//! in batches recorded into one submit.

use crate::gpu::step_table::{StepParams, StepTable};
use crate::gpu::{buffers, GpuContext, KernelCache};
use crate::layers::gather::Source;
use crate::layers::softmax_xent::Metrics;
use crate::model::network::Plan;
use crate::model::Network;
use crate::Result;

/// Mean loss and accuracy over a data source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalStats {
    /// Mean per-sample softmax cross-entropy.
    pub loss: f64,
    /// Fraction of samples whose argmax is the label.
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
    source_lens: Vec<usize>,
}

impl Evaluator {
    /// Builds the plan for batches of `rows` over `sources`, whose index lists have the
    /// lengths `source_lens`.
    pub fn new(
        ctx: &GpuContext,
        cache: &KernelCache,
        network: &Network,
        rows: usize,
        sources: &[Source<'_>],
        source_lens: Vec<usize>,
    ) -> Result<Self> {
        let rows = rows.max(1);
        let max_steps = source_lens
            .iter()
            .map(|n| n.div_ceil(rows))
            .max()
            .unwrap_or(1)
            .max(1);
        let metrics = buffers::storage(
            ctx,
            "eval.metrics",
            (max_steps * std::mem::size_of::<Metrics>()) as u64,
        )?;
        Ok(Self {
            plan: network.plan(ctx, cache, rows, sources, &metrics, None)?,
            table: StepTable::new(ctx, cache, "eval.steps", max_steps)?,
            metrics,
            source_lens,
        })
    }

    /// Loss and accuracy over every sample of source `source`.
    pub fn evaluate(&self, ctx: &GpuContext, source: usize) -> Result<EvalStats> {
        let samples = self.source_lens[source];
        let rows = self.plan.rows;
        let steps = samples.div_ceil(rows);
        let entries: Vec<StepParams> = (0..steps)
            .map(|step| StepParams {
                sample_start: (step * rows) as u32,
                batch_rows: rows.min(samples - step * rows) as u32,
                slot: step as u32,
                adam_alpha: 0.0,
            })
            .collect();
        self.table.write(ctx, &entries);
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("evaluate"),
            });
        self.plan
            .record(&mut encoder, "evaluate", &self.table, 0..steps, source);
        ctx.queue.submit([encoder.finish()]);
        let metrics: Vec<Metrics> = buffers::read(ctx, &self.metrics, 0, steps)?;
        Ok(EvalStats::from_metrics(&metrics, samples))
    }
}
