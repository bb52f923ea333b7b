//! col2im (the second half of a convolution's input gradient through its column gradient,
//! run by `pool2d.backward_input` reading a column gradient) against its CPU reference on odd,
//! asymmetric convolutions: H ≠ W, kh ≠ kw, stride 2 and mixed strides, `same` padding, channel
//! counts on both sides of 32, with and without the fused ReLU mask; the same read folded into
//! a pooling backward. And the reference itself: the column GEMM followed by col2im equals the
//! direct-loop convolution backward (checked against finite differences in gradcheck.rs).
//!
//! Tolerance: none for the kernel. Both sides add the same values in the same order (taps in
//! row-major order) with no multiplies, and f32 addition is correctly rounded everywhere, so
//! GPU and CPU agree bit for bit. Against the direct loops (another summation order):
//! |Δ| ≤ 1e-5 + 1e-5·|cpu|.

mod common;

use common::*;
use gpu_cnn::layers::col2im::cpu;
use gpu_cnn::layers::conv2d::{self, ConvShape};
use gpu_cnn::layers::layer::{BackwardIo, Op, Tensors, View};
use gpu_cnn::layers::matmul::{self, Epilogue, Transpose};
use gpu_cnn::layers::pool2d::{self, Params, PoolOp};
use gpu_cnn::model::spec::{Padding, PoolKind, Size2};

fn cases() -> Vec<ConvCase> {
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

#[test]
fn col2im_matches_cpu_bit_for_bit_with_and_without_the_relu_mask() {
    let ctx = context();
    for (seed, case) in cases().iter().enumerate() {
        let geometry = conv_shape(case).col2im();
        let mut rng = rng(900 + seed as u64);
        let columns = uniform(
            &mut rng,
            geometry.column_rows() * geometry.column_len(),
            -1.0,
            1.0,
        );
        let x = uniform(&mut rng, geometry.input_len(), -1.0, 1.0);
        let columns_buf = upload(&ctx, "columns", &columns);
        let x_buf = upload(&ctx, "x", &x);
        for mask in [false, true] {
            let dx = poisoned(&ctx, "dx", geometry.input_len());
            let io = pool2d::BackwardBuffers {
                x: x_buf.as_entire_buffer_binding(),
                dy: columns_buf.as_entire_buffer_binding(),
                dx: dx.as_entire_buffer_binding(),
            };
            let dispatch =
                pool2d::encode_col2im(&ctx, "test.col2im", &geometry, mask, io).expect("dispatch");
            run(&ctx, &[dispatch], None);
            let gpu: Vec<f32> = read(&ctx, &dx, geometry.input_len());
            let expected = cpu::forward(&geometry, &columns, mask.then_some(&x[..]));
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

/// The col2im fusion: a pooling backward reading the next convolution's column gradient
/// equals col2im followed by the pooling backward, for max and average pooling over disjoint
/// (per-window path) and overlapping windows (per-input path), with and without the mask.
/// Tolerance: |Δ| ≤ 1e-6 + 1e-5·|cpu| (the average's shares are divided in another order).
#[test]
fn pooling_backward_reading_a_column_gradient_equals_col2im_then_pooling() {
    let ctx = context();
    let s = |h, w| Size2 { h, w };
    // (batch, pooling input [h, w, c], pool, strides, the convolution after it)
    let cases = [
        (
            3,
            [12, 10, 5],
            s(2, 2),
            s(2, 2),
            (4, s(3, 3), s(1, 1), Padding::Valid),
        ),
        (
            2,
            [11, 11, 33],
            s(2, 2),
            s(2, 2),
            (3, s(3, 2), s(2, 1), Padding::Same),
        ),
        (
            2,
            [9, 8, 3],
            s(3, 2),
            s(1, 2),
            (2, s(2, 2), s(1, 1), Padding::Valid),
        ),
    ];
    for (seed, &(batch, input, pool, strides, (filters, kernel, conv_strides, padding))) in
        cases.iter().enumerate()
    {
        let params = Params::new(batch, input, pool, strides).expect("non-empty pooling");
        let conv_input = [params.out_h as usize, params.out_w as usize, input[2]];
        let conv = ConvShape::new(batch, conv_input, filters, kernel, conv_strides, padding)
            .expect("non-empty convolution");
        let geometry = conv.col2im();
        let mut rng = rng(980 + seed as u64);
        let x: Vec<f32> = uniform(&mut rng, params.input_len(), -1.0, 1.0)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let columns = uniform(
            &mut rng,
            geometry.column_rows() * geometry.column_len(),
            -1.0,
            1.0,
        );
        let dy = cpu::forward(&geometry, &columns, None);
        for kind in [PoolKind::Max, PoolKind::Average] {
            for mask in [false, true] {
                let expected = pool2d::cpu::backward_input(&params, kind, mask, &x, &dy);
                let (x_buf, columns_buf) = (upload(&ctx, "x", &x), upload(&ctx, "dy", &columns));
                let dx = poisoned(&ctx, "dx", x.len());
                let io = BackwardIo {
                    label: "test",
                    x: View::whole(&x_buf, vec![x.len()]),
                    tensors: Tensors::default(),
                    dy: View::whole(&columns_buf, vec![columns.len()]),
                    grads: Tensors::default(),
                    dx: Some(View::whole(&dx, vec![x.len()])),
                    mask_input: mask,
                    dy_columns: Some(geometry),
                    dx_as_columns: false,
                    seed: 0,
                };
                let op = PoolOp { kind, params };
                run(&ctx, &op.encode_backward(&ctx, &io).expect("launch"), None);
                assert_close(
                    &format!("{kind:?} {input:?} pool {pool} strides {strides} mask {mask}"),
                    &read(&ctx, &dx, x.len()),
                    &expected,
                    1e-6,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn column_gemm_then_col2im_is_the_direct_convolution_input_gradient() {
    for (seed, case) in cases().iter().enumerate() {
        let shape = conv_shape(case);
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
