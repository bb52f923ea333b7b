//! Reference softmax cross-entropy: plain loops, one row at a time.

use super::{Metrics, Params};

/// The gradient `[rows, classes]` and the metrics of a batch with `batch_rows` real rows.
pub fn forward(
    params: &Params,
    logits: &[f32],
    labels: &[u32],
    batch_rows: usize,
) -> (Vec<f32>, Metrics) {
    let (rows, classes) = (params.rows as usize, params.classes as usize);
    let mut grad = vec![0.0; rows * classes];
    let mut metrics = Metrics::default();
    let scale = 1.0 / batch_rows.max(1) as f32;
    for r in 0..batch_rows.min(rows) {
        let z = &logits[r * classes..(r + 1) * classes];
        let label = labels[r] as usize;
        let mut best = 0;
        for c in 1..classes {
            if z[c] > z[best] {
                best = c;
            }
        }
        let top = z[best];
        let total: f32 = z.iter().map(|&v| (v - top).exp()).sum();
        for c in 0..classes {
            let p = (z[c] - top).exp() / total;
            let target = if c == label { 1.0 } else { 0.0 };
            grad[r * classes + c] = (p - target) * scale;
        }
        metrics.loss_sum += total.ln() - (z[label] - top);
        metrics.correct += u32::from(best == label);
    }
    (grad, metrics)
}
