//! Reference softmax: one row at a time.

use super::Params;

/// Probabilities `[batch_rows, classes]` of the first `batch_rows` rows of `logits`.
pub fn forward(params: &Params, logits: &[f32], batch_rows: usize) -> Vec<f32> {
    let classes = params.classes as usize;
    let mut out = Vec::with_capacity(batch_rows * classes);
    for row in logits
        .chunks(classes)
        .take(batch_rows.min(params.rows as usize))
    {
        let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = row.iter().map(|&z| (z - top).exp()).sum();
        out.extend(row.iter().map(|&z| (z - top).exp() / total));
    }
    out
}
