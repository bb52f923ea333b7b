//! Reference dense layer, written with the reference GEMM and bias gradient.

use super::DenseShape;
use crate::layers::activation::Function;
use crate::layers::matmul::passes::forward_epilogue;
use crate::layers::matmul::{self, cpu::forward as gemm, Epilogue, Transpose};
use crate::layers::{bias, Gradients};

/// `y [rows, units] = f(x · kernel + bias)`.
pub fn forward(
    shape: DenseShape,
    function: Function,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    let epilogue = forward_epilogue(function);
    let params = matmul::Params::new(shape.rows, shape.units, shape.inputs);
    gemm(
        &params,
        Transpose::default(),
        epilogue,
        x,
        kernel,
        bias,
        &[],
    )
}

/// Backward from `dz`, the gradient of the pre-activation output `[rows, units]`.
pub fn backward(
    shape: DenseShape,
    mask_by_input: bool,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
) -> Gradients {
    let input_params = matmul::Params::new(shape.rows, shape.inputs, shape.units);
    let epilogue = if mask_by_input {
        Epilogue::ReluMask
    } else {
        Epilogue::None
    };
    let transpose_b = Transpose { a: false, b: true };
    let input = gemm(&input_params, transpose_b, epilogue, dz, kernel, &[], x);
    let kernel_params = matmul::Params::new(shape.inputs, shape.units, shape.rows);
    let transpose_a = Transpose { a: true, b: false };
    let kernel = gemm(&kernel_params, transpose_a, Epilogue::None, x, dz, &[], &[]);
    let bias_params = bias::Params {
        rows: shape.rows as u32,
        cols: shape.units as u32,
        ..Default::default()
    };
    Gradients {
        input,
        kernel,
        bias: bias::cpu::backward(&bias_params, dz),
    }
}
