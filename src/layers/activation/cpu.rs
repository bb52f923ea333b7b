//! Reference activations: one loop per pass, over the formulas of the module doc, written as
//! the kernels write them (numerically stable sigmoid and softplus, the same erf).

use super::Function;

/// selu's α (Keras's constant).
const SELU_ALPHA: f32 = 1.673_263_2;
/// selu's λ (Keras's constant).
const SELU_SCALE: f32 = 1.050_701;

/// `1 / (1 + e^-v)`, with `e^-|v| ≤ 1` so nothing overflows.
fn sigmoid(v: f32) -> f32 {
    let e = (-v.abs()).exp();
    if v >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// erf(v) by Abramowitz and Stegun 7.1.26, within 1.5e-7.
fn erf(v: f32) -> f32 {
    let a = v.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let magnitude = 1.0 - poly * (-a * a).exp();
    if v > 0.0 {
        magnitude
    } else if v < 0.0 {
        -magnitude
    } else {
        0.0
    }
}

/// Φ(v), the standard normal distribution function.
fn normal_cdf(v: f32) -> f32 {
    0.5 * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2))
}

/// `f(v)`.
pub fn value(function: Function, v: f32) -> f32 {
    match function {
        Function::Linear => v,
        Function::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        Function::Sigmoid => sigmoid(v),
        Function::Tanh => v.tanh(),
        Function::Elu => {
            if v > 0.0 {
                v
            } else {
                v.exp() - 1.0
            }
        }
        Function::Selu => {
            if v > 0.0 {
                SELU_SCALE * v
            } else {
                SELU_SCALE * SELU_ALPHA * (v.exp() - 1.0)
            }
        }
        Function::Gelu => v * normal_cdf(v),
        Function::LeakyRelu(slope) => {
            if v > 0.0 {
                v
            } else {
                slope.get() * v
            }
        }
        Function::Softplus => v.max(0.0) + (1.0 + (-v.abs()).exp()).ln(),
        Function::Silu => v * sigmoid(v),
    }
}

/// `g · f'(v)`, with relu's zero branch exactly 0 whatever `g` is.
fn gradient(function: Function, v: f32, g: f32) -> f32 {
    match function {
        Function::Linear => g,
        Function::Relu => {
            if v > 0.0 {
                g
            } else {
                0.0
            }
        }
        Function::Sigmoid => {
            let s = sigmoid(v);
            g * s * (1.0 - s)
        }
        Function::Tanh => {
            let t = v.tanh();
            g * (1.0 - t * t)
        }
        Function::Elu => g * if v > 0.0 { 1.0 } else { v.exp() },
        Function::Selu => g * SELU_SCALE * if v > 0.0 { 1.0 } else { SELU_ALPHA * v.exp() },
        Function::Gelu => {
            let density = (-0.5 * v * v).exp() / (2.0 * std::f32::consts::PI).sqrt();
            g * (normal_cdf(v) + v * density)
        }
        Function::LeakyRelu(slope) => g * if v > 0.0 { 1.0 } else { slope.get() },
        Function::Softplus => g * sigmoid(v),
        Function::Silu => {
            let s = sigmoid(v);
            g * s * (1.0 + v * (1.0 - s))
        }
    }
}

/// `y [len] = f(x)`.
pub fn forward(function: Function, x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| value(function, v)).collect()
}

/// `dx [len] = dy · f'(x)`, `x` being the forward's input. Panics when the lengths differ.
pub fn backward_input(function: Function, x: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), dy.len(), "x and dy lengths differ");
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| gradient(function, v, g))
        .collect()
}
