//! Reference activations: one loop per pass.

use super::Function;

/// `f(v)`.
fn value(function: Function, v: f32) -> f32 {
    match function {
        Function::Linear => v,
        Function::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
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
