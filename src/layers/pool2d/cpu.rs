//! Reference pooling: direct loops over every window.

use super::Params;
use crate::layers::shape::PoolKind;

fn x_index(p: &Params, b: usize, h: usize, w: usize, c: usize) -> usize {
    ((b * p.in_h as usize + h) * p.in_w as usize + w) * p.channels as usize + c
}

/// Every window as (output index, input indices in row-major order).
fn windows(p: &Params) -> Vec<(usize, Vec<usize>)> {
    let (ph, pw) = (p.pool_h as usize, p.pool_w as usize);
    let mut out = Vec::new();
    for b in 0..p.batch as usize {
        for oh in 0..p.out_h as usize {
            for ow in 0..p.out_w as usize {
                for c in 0..p.channels as usize {
                    let (h0, w0) = (oh * p.stride_h as usize, ow * p.stride_w as usize);
                    let inputs = (0..ph)
                        .flat_map(|ki| (0..pw).map(move |kj| (ki, kj)))
                        .map(|(ki, kj)| x_index(p, b, h0 + ki, w0 + kj, c))
                        .collect();
                    out.push((out.len(), inputs));
                }
            }
        }
    }
    out
}

/// Index of the first maximum among `inputs`.
fn first_max(x: &[f32], inputs: &[usize]) -> usize {
    let mut best = inputs[0];
    for &i in inputs {
        if x[i] > x[best] {
            best = i;
        }
    }
    best
}

/// `y [batch, out_h, out_w, channels]`.
pub fn forward(p: &Params, kind: PoolKind, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; p.output_len()];
    for (o, inputs) in windows(p) {
        y[o] = match kind {
            PoolKind::Max => x[first_max(x, &inputs)],
            PoolKind::Average => inputs.iter().map(|&i| x[i]).sum::<f32>() / inputs.len() as f32,
        };
    }
    y
}

/// `dx [batch, in_h, in_w, channels]` from `dy`, masked by `x > 0` when `mask_by_input`.
pub fn backward_input(
    p: &Params,
    kind: PoolKind,
    mask_by_input: bool,
    x: &[f32],
    dy: &[f32],
) -> Vec<f32> {
    let mut dx = vec![0.0; p.input_len()];
    for (o, inputs) in windows(p) {
        match kind {
            PoolKind::Max => dx[first_max(x, &inputs)] += dy[o],
            PoolKind::Average => {
                for &i in &inputs {
                    dx[i] += dy[o] / inputs.len() as f32;
                }
            }
        }
    }
    if mask_by_input {
        for (g, &v) in dx.iter_mut().zip(x) {
            if v <= 0.0 {
                *g = 0.0;
            }
        }
    }
    dx
}
