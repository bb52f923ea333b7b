//! The dense layer's three GPU passes against its CPU reference, on odd batch sizes and widths
//! (batch 7, 33, 100; widths 1, 13, 129, 784): forward with and without ReLU, backward_input
//! with and without the fused ReLU mask of its input, backward_weight with the bias gradient.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu| (fma against plain sums over up to 784 terms).

mod common;

use common::*;
use gpu_cnn::layers::dense::{cpu, DenseShape};

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
            |relu, x, k, b| cpu::forward(shape, relu, x, k, b),
            |mask, x, k, dz| cpu::backward(shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
}
