//! Reference bias gradient: plain loops.

use super::Params;

/// `bias_grad[c] = Σ_r grad[r, c]`; `grad` is `[rows, cols]`.
pub fn backward(params: &Params, grad: &[f32]) -> Vec<f32> {
    let (rows, cols) = (params.rows as usize, params.cols as usize);
    let mut bias_grad = vec![0.0; cols];
    for r in 0..rows {
        for c in 0..cols {
            bias_grad[c] += grad[r * cols + c];
        }
    }
    bias_grad
}
