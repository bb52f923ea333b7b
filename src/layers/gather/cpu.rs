//! Reference gather: plain loops.

use super::{Params, NO_LABEL};

/// The batch and labels `gather.forward` writes for a step starting at `sample_start` with
/// `batch_rows` real rows; `images` are unpacked bytes.
pub fn forward(
    params: &Params,
    images: &[u8],
    labels: &[u32],
    indices: &[u32],
    sample_start: usize,
    batch_rows: usize,
) -> (Vec<f32>, Vec<u32>) {
    let (rows, len) = (params.rows as usize, params.sample_len as usize);
    let mut batch = vec![0.0; rows * len];
    let mut batch_labels = vec![NO_LABEL; rows];
    for r in 0..batch_rows.min(rows) {
        let sample = indices[sample_start + r] as usize;
        for j in 0..len {
            batch[r * len + j] = f32::from(images[sample * len + j]) / 255.0;
        }
        batch_labels[r] = labels[sample];
    }
    (batch, batch_labels)
}
