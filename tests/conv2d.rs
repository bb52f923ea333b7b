//! The conv2d op's three GPU passes (implicit GEMM) against its direct-loop CPU reference
//! on odd, asymmetric shapes: H ≠ W, kh ≠ kw, stride 2 and mixed strides, `same` padding with
//! odd and even kernels, batches not a multiple of anything, and the lecture's own layers.
//!
//! Tolerance: |gpu − cpu| ≤ 5e-4 + 1e-4·|cpu| (fma in tiles against plain sums; the weight
//! gradient sums over up to 3,380 output pixels of values in [−1, 1]).

mod common;

use common::*;
use gpu_cnn::layers::conv2d::{cpu, ConvShape};
use gpu_cnn::model::spec::{Padding, Size2};

/// (batch, [h, w, c_in], filters, kernel, strides, padding)
type Case = (usize, [usize; 3], usize, Size2, Size2, Padding);

fn cases() -> Vec<Case> {
    let s = |h, w| Size2 { h, w };
    vec![
        (3, [7, 5, 2], 3, s(3, 2), s(1, 1), Padding::Valid),
        (2, [9, 8, 3], 5, s(3, 3), s(2, 2), Padding::Valid),
        (1, [7, 9, 1], 4, s(3, 3), s(2, 1), Padding::Same),
        (3, [6, 6, 2], 3, s(2, 2), s(1, 1), Padding::Same),
        (3, [8, 7, 4], 2, s(4, 1), s(2, 3), Padding::Same),
        (5, [28, 28, 1], 32, s(3, 3), s(1, 1), Padding::Valid),
        (2, [13, 13, 32], 64, s(3, 3), s(1, 1), Padding::Valid),
        (7, [5, 5, 3], 65, s(5, 5), s(1, 1), Padding::Same),
    ]
}

fn shape_of(&(batch, input, filters, kernel, strides, padding): &Case) -> ConvShape {
    ConvShape::new(batch, input, filters, kernel, strides, padding).expect("non-empty output")
}

/// |gpu − cpu| ≤ 5e-4 + 1e-4·|cpu|.
const TOLERANCE: Tolerance = Tolerance {
    atol: 5e-4,
    rtol: 1e-4,
};

#[test]
fn conv2d_op_matches_cpu_on_odd_asymmetric_shapes_with_and_without_fused_relu() {
    for (seed, case) in cases().iter().enumerate() {
        let shape = shape_of(case);
        let sizes = (
            shape.input_len(),
            shape.kernel_len(),
            shape.out_c,
            shape.output_len(),
        );
        check_kernel_layer(
            &format!("conv2d {case:?}"),
            &shape,
            seed as u64,
            sizes,
            |relu, x, k, b| cpu::forward(&shape, relu, x, k, b),
            |mask, x, k, dz| cpu::backward(&shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
}
