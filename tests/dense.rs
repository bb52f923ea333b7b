//! The dense layer's three GPU passes against its CPU reference, on odd batch sizes and widths
//! (batch 7, 33, 100; widths 1, 13, 129, 784): forward with and without ReLU, backward_input
//! with and without the fused ReLU mask of its input, backward_weight with the bias gradient.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu| (fma against plain sums over up to 784 terms).

mod common;

use common::*;
use gpu_cnn::gpu::LaunchProfile;
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::dense::{cpu, DenseShape};
use gpu_cnn::layers::matmul::Epilogue;

const SHAPES: [(usize, usize, usize); 5] = [
    (7, 13, 1),
    (33, 784, 129),
    (100, 129, 10),
    (1, 1, 13),
    (7, 784, 13),
];

/// |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu|.
const TOLERANCE: Tolerance = Tolerance {
    atol: 1e-4,
    rtol: 1e-4,
};

#[test]
fn dense_op_matches_cpu_with_and_without_fused_relu_and_mask() {
    for (seed, &(rows, inputs, units)) in SHAPES.iter().enumerate() {
        let shape = DenseShape {
            rows,
            inputs,
            units,
        };
        check_kernel_layer(
            &format!("dense {shape:?}"),
            &shape,
            seed as u64,
            (rows * inputs, inputs * units, units, rows * units),
            |function, x, k, b| cpu::forward(shape, function, x, k, b),
            |mask, x, k, dz| cpu::backward(shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
}

/// Batch, inputs, units whose forward and input-gradient GEMMs a big GPU splits over k: the
/// `dense` preset's hidden layer at batch 32, `cnn`'s at batch 64, and odd sizes.
const SPLIT_SHAPES: [(usize, usize, usize); 4] =
    [(32, 784, 128), (64, 576, 64), (33, 777, 61), (7, 129, 300)];

#[test]
fn dense_op_matches_cpu_when_planned_for_a_big_gpu() {
    let mut ctx = context();
    let big = LaunchProfile::big_gpu();
    ctx.plan_as(big);
    let (mut forward_splits, mut input_splits) = (0, 0);
    for (seed, &(rows, inputs, units)) in SPLIT_SHAPES.iter().enumerate() {
        let shape = DenseShape {
            rows,
            inputs,
            units,
        };
        let gemms = shape.gemms();
        forward_splits += usize::from(
            gemms
                .forward
                .plan(Epilogue::BiasActivation(Function::Relu), &big)
                .splits()
                > 1,
        );
        input_splits += usize::from(
            gemms
                .backward_input
                .gemm()
                .plan(Epilogue::ReluMask, &big)
                .splits()
                > 1,
        );
        check_kernel_layer_on(
            &ctx,
            &format!("dense {shape:?} on a big GPU's plan"),
            &shape,
            100 + seed as u64,
            (rows * inputs, inputs * units, units, rows * units),
            |function, x, k, b| cpu::forward(shape, function, x, k, b),
            |mask, x, k, dz| cpu::backward(shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
    // The cases cover split forwards (bias, bias + ReLU) and split input gradients (masked
    // and not).
    assert!(
        forward_splits >= 3 && input_splits >= 2,
        "{forward_splits}, {input_splits}"
    );
}
