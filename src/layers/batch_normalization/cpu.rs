//! Reference batch normalization: plain loops per channel, sums in f64.

use super::Params;

/// Index of value `j` (row-major over rows and positions) of channel `c`.
fn at(p: &Params, j: usize, c: usize) -> usize {
    j * p.channels as usize + c
}

/// Real values per channel: `min(batch_rows, rows) · positions`.
fn real(p: &Params, batch_rows: usize) -> usize {
    batch_rows.min(p.rows as usize) * p.positions as usize
}

/// `(y [rows, positions, channels], saved [2, channels] = (mean, inv_std))` normalised with the
/// statistics of the first `batch_rows` rows; padding rows of `y` are 0. Updates the moving
/// statistics (unless there is no real row, when `saved` stays 0 and they are unchanged).
pub fn forward_training(
    p: &Params,
    batch_rows: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moving_mean: &mut [f32],
    moving_variance: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let channels = p.channels as usize;
    let total = p.rows as usize * p.positions as usize;
    let n = real(p, batch_rows);
    let mut y = vec![0.0; p.len()];
    let mut saved = vec![0.0; 2 * channels];
    for c in 0..channels {
        if n == 0 {
            continue;
        }
        let mut sum = 0.0f64;
        for j in 0..n {
            sum += f64::from(x[at(p, j, c)]);
        }
        let mean = sum / n as f64;
        let mut squares = 0.0f64;
        for j in 0..n {
            let d = f64::from(x[at(p, j, c)]) - mean;
            squares += d * d;
        }
        let variance = squares / n as f64;
        let inv_std = 1.0 / (variance + f64::from(p.epsilon)).sqrt();
        for j in 0..total {
            if j < n {
                let xhat = (f64::from(x[at(p, j, c)]) - mean) * inv_std;
                y[at(p, j, c)] = (f64::from(gamma[c]) * xhat + f64::from(beta[c])) as f32;
            }
        }
        saved[c] = mean as f32;
        saved[channels + c] = inv_std as f32;
        let momentum = f64::from(p.momentum);
        moving_mean[c] = (f64::from(moving_mean[c]) * momentum + mean * (1.0 - momentum)) as f32;
        moving_variance[c] =
            (f64::from(moving_variance[c]) * momentum + variance * (1.0 - momentum)) as f32;
    }
    (y, saved)
}

/// `y [rows, positions, channels]` normalised with the moving statistics, every row.
pub fn forward_inference(
    p: &Params,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moving_mean: &[f32],
    moving_variance: &[f32],
) -> Vec<f32> {
    let channels = p.channels as usize;
    let total = p.rows as usize * p.positions as usize;
    let mut y = vec![0.0; p.len()];
    for j in 0..total {
        for c in 0..channels {
            let std = (f64::from(moving_variance[c]) + f64::from(p.epsilon)).sqrt();
            let xhat = (f64::from(x[at(p, j, c)]) - f64::from(moving_mean[c])) / std;
            y[at(p, j, c)] = (f64::from(gamma[c]) * xhat + f64::from(beta[c])) as f32;
        }
    }
    y
}

/// `(dx [rows, positions, channels], dgamma [channels], dbeta [channels])` of the training
/// forward over the first `batch_rows` rows, from `saved` = (mean, inv_std); padding rows of
/// `dx` are 0.
pub fn backward(
    p: &Params,
    batch_rows: usize,
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
    saved: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let channels = p.channels as usize;
    let n = real(p, batch_rows);
    let mut dx = vec![0.0; p.len()];
    let mut dgamma = vec![0.0; channels];
    let mut dbeta = vec![0.0; channels];
    for c in 0..channels {
        let mean = f64::from(saved[c]);
        let inv_std = f64::from(saved[channels + c]);
        let xhat = |j: usize| (f64::from(x[at(p, j, c)]) - mean) * inv_std;
        let mut sum_dy = 0.0f64;
        let mut sum_dy_xhat = 0.0f64;
        for j in 0..n {
            let g = f64::from(dy[at(p, j, c)]);
            sum_dy += g;
            sum_dy_xhat += g * xhat(j);
        }
        let count = n as f64;
        for j in 0..n {
            let g = f64::from(dy[at(p, j, c)]);
            let d = f64::from(gamma[c]) * inv_std / count
                * (count * g - sum_dy - xhat(j) * sum_dy_xhat);
            dx[at(p, j, c)] = d as f32;
        }
        dgamma[c] = sum_dy_xhat as f32;
        dbeta[c] = sum_dy as f32;
    }
    (dx, dgamma, dbeta)
}
