//! Reference convolution: direct loops over every output, tap and channel.

use super::ConvShape;
use crate::layers::activation::{cpu as activation, Function};
use crate::layers::Gradients;

/// Input position `(ih, iw)` that output `(oh, ow)` reads through tap `(ki, kj)`, or `None` in
/// the zero padding.
fn source(s: &ConvShape, oh: usize, ow: usize, ki: usize, kj: usize) -> Option<(usize, usize)> {
    let ih = (oh * s.stride_h + ki).checked_sub(s.pad_top)?;
    let iw = (ow * s.stride_w + kj).checked_sub(s.pad_left)?;
    (ih < s.in_h && iw < s.in_w).then_some((ih, iw))
}

fn x_index(s: &ConvShape, b: usize, ih: usize, iw: usize, ci: usize) -> usize {
    ((b * s.in_h + ih) * s.in_w + iw) * s.in_c + ci
}

fn y_index(s: &ConvShape, b: usize, oh: usize, ow: usize, co: usize) -> usize {
    ((b * s.out_h + oh) * s.out_w + ow) * s.out_c + co
}

fn k_index(s: &ConvShape, ki: usize, kj: usize, ci: usize, co: usize) -> usize {
    ((ki * s.kernel_w + kj) * s.in_c + ci) * s.out_c + co
}

/// Calls `visit(x_index, y_index, k_index)` for every (input, output, weight) triple that
/// meets in the convolution.
fn for_each_tap(s: &ConvShape, mut visit: impl FnMut(usize, usize, usize)) {
    for b in 0..s.batch {
        for oh in 0..s.out_h {
            for ow in 0..s.out_w {
                for ki in 0..s.kernel_h {
                    for kj in 0..s.kernel_w {
                        let Some((ih, iw)) = source(s, oh, ow, ki, kj) else {
                            continue;
                        };
                        for ci in 0..s.in_c {
                            for co in 0..s.out_c {
                                visit(
                                    x_index(s, b, ih, iw, ci),
                                    y_index(s, b, oh, ow, co),
                                    k_index(s, ki, kj, ci, co),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y = f(conv(x, kernel) + bias)`, `[batch, out_h, out_w, out_c]`.
pub fn forward(
    s: &ConvShape,
    function: Function,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let mut y = vec![0.0; s.output_len()];
    for_each_tap(s, |xi, yi, ki| y[yi] += x[xi] * kernel[ki]);
    for (i, value) in y.iter_mut().enumerate() {
        *value = activation::value(function, *value + bias[i % s.out_c]);
    }
    y
}

/// Backward from `dz`, the gradient of the pre-activation output.
pub fn backward(
    s: &ConvShape,
    mask_by_input: bool,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
) -> Gradients {
    let mut input = vec![0.0; s.input_len()];
    let mut kernel_grad = vec![0.0; s.kernel_len()];
    for_each_tap(s, |xi, yi, ki| {
        input[xi] += dz[yi] * kernel[ki];
        kernel_grad[ki] += x[xi] * dz[yi];
    });
    if mask_by_input {
        for (g, &v) in input.iter_mut().zip(x) {
            if v <= 0.0 {
                *g = 0.0;
            }
        }
    }
    let mut bias = vec![0.0; s.out_c];
    for (i, &g) in dz.iter().enumerate() {
        bias[i % s.out_c] += g;
    }
    Gradients {
        input,
        kernel: kernel_grad,
        bias,
    }
}
