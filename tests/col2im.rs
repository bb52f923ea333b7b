//! col2im (the second half of a convolution's input gradient through its column gradient)
//! against its CPU reference on odd, asymmetric convolutions: H ≠ W, kh ≠ kw, stride 2 and
//! mixed strides, `same` padding, channel counts on both sides of the 32-channel workgroup,
//! with and without the fused ReLU mask. And the reference itself: the column GEMM followed by
//! col2im equals the direct-loop convolution backward (checked against finite differences in
//! gradcheck.rs).
//!
//! Tolerance: none for the kernel. Both sides add the same values in the same order (taps in
//! row-major order) with no multiplies, and f32 addition is correctly rounded everywhere, so
//! GPU and CPU agree bit for bit. Against the direct loops (another summation order):
//! |Δ| ≤ 1e-5 + 1e-5·|cpu|.

mod common;

use common::*;
use gpu_cnn::layers::col2im::{self, cpu};
use gpu_cnn::layers::conv2d::{self, ConvShape};
use gpu_cnn::layers::matmul::{self, Epilogue, Transpose};
use gpu_cnn::model::spec::{Padding, Size2};

/// (batch, [h, w, c_in], filters, kernel, strides, padding)
type Case = (usize, [usize; 3], usize, Size2, Size2, Padding);

fn cases() -> Vec<Case> {
    let s = |h, w| Size2 { h, w };
    vec![
        (3, [7, 5, 2], 3, s(3, 2), s(1, 1), Padding::Valid),
        (2, [9, 8, 3], 5, s(3, 3), s(2, 2), Padding::Valid),
        (1, [7, 9, 1], 4, s(3, 3), s(2, 1), Padding::Same),
        (3, [8, 7, 4], 2, s(4, 1), s(2, 3), Padding::Same),
        (2, [13, 13, 33], 5, s(3, 3), s(1, 1), Padding::Valid),
        (5, [5, 5, 64], 7, s(3, 3), s(1, 1), Padding::Valid),
        (2, [11, 6, 70], 3, s(2, 3), s(3, 2), Padding::Valid),
    ]
}

fn shape_of(&(batch, input, filters, kernel, strides, padding): &Case) -> ConvShape {
    ConvShape::new(batch, input, filters, kernel, strides, padding).expect("non-empty output")
}

#[test]
fn col2im_matches_cpu_bit_for_bit_with_and_without_the_relu_mask() {
    let ctx = context();
    for (seed, case) in cases().iter().enumerate() {
        let params = shape_of(case).col2im();
        let mut rng = rng(900 + seed as u64);
        let columns = uniform(
            &mut rng,
            params.column_rows() * params.column_len(),
            -1.0,
            1.0,
        );
        let x = uniform(&mut rng, params.input_len(), -1.0, 1.0);
        let columns_buf = upload(&ctx, "columns", &columns);
        let x_buf = upload(&ctx, "x", &x);
        for mask in [false, true] {
            let dx = poisoned(&ctx, "dx", params.input_len());
            let dispatch = col2im::encode(
                &ctx,
                "test.col2im",
                params,
                mask,
                col2im::Io {
                    columns: columns_buf.as_entire_buffer_binding(),
                    x: x_buf.as_entire_buffer_binding(),
                    dx: dx.as_entire_buffer_binding(),
                },
            )
            .expect("dispatch");
            run(&ctx, &[dispatch], None);
            let gpu: Vec<f32> = read(&ctx, &dx, params.input_len());
            let expected = cpu::forward(&params, &columns, mask.then_some(&x[..]));
            assert_eq!(gpu, expected, "col2im {case:?}, mask {mask}");
            if mask {
                assert!(
                    gpu.iter().zip(&x).any(|(&g, &v)| v <= 0.0 && g == 0.0),
                    "col2im {case:?}: the mask zeroed nothing"
                );
            }
        }
    }
}

#[test]
fn column_gemm_then_col2im_is_the_direct_convolution_input_gradient() {
    for (seed, case) in cases().iter().enumerate() {
        let shape = shape_of(case);
        let mut rng = rng(950 + seed as u64);
        let x = uniform(&mut rng, shape.input_len(), -1.0, 1.0);
        let kernel = uniform(&mut rng, shape.kernel_len(), -1.0, 1.0);
        let dz = uniform(&mut rng, shape.output_len(), -1.0, 1.0);
        let gemm = shape.column_gemm();
        let columns = matmul::cpu::forward(
            &gemm.params,
            Transpose { a: false, b: true },
            Epilogue::None,
            &dz,
            &kernel,
            &[],
            &[],
        );
        for mask in [false, true] {
            let dx = cpu::forward(&shape.col2im(), &columns, mask.then_some(&x[..]));
            let direct = conv2d::cpu::backward(&shape, mask, &x, &kernel, &dz).input;
            assert_close(&format!("{case:?} mask {mask}"), &dx, &direct, 1e-5, 1e-5);
        }
    }
}
