//! The conv2d layer's three GPU passes (implicit GEMM) against its direct-loop CPU reference
//! on odd, asymmetric shapes: H ≠ W, kh ≠ kw, stride 2 and mixed strides, `same` padding with
//! odd and even kernels, batches not a multiple of anything, and the lecture's own layers.
//!
//! Tolerance: |gpu − cpu| ≤ 5e-4 + 1e-4·|cpu| (fma in tiles against plain sums; the weight
//! gradient sums over up to 3,380 output pixels of values in [−1, 1]).

mod common;

use common::*;
use gpu_cnn::layers::conv2d::{self, cpu, ConvShape};
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

fn binding(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

#[test]
fn conv2d_forward_matches_cpu_on_odd_asymmetric_shapes() {
    let (ctx, cache) = gpu();
    for (seed, case) in cases().iter().enumerate() {
        let shape = shape_of(case);
        for relu in [false, true] {
            let mut rng = rng(seed as u64);
            let x = uniform(&mut rng, shape.input_len(), -1.0, 1.0);
            let kernel = uniform(&mut rng, shape.kernel_len(), -1.0, 1.0);
            let bias = uniform(&mut rng, shape.out_c, -1.0, 1.0);
            let expected = cpu::forward(&shape, relu, &x, &kernel, &bias);
            let (x_buf, k_buf, b_buf) = (
                upload(&ctx, "x", &x),
                upload(&ctx, "k", &kernel),
                upload(&ctx, "b", &bias),
            );
            let y = poisoned(&ctx, "y", shape.output_len());
            let dispatch = conv2d::encode_forward(
                &ctx,
                &cache,
                "test",
                &shape,
                relu,
                binding(&x_buf),
                binding(&k_buf),
                binding(&b_buf),
                binding(&y),
            )
            .expect("dispatch");
            run(&ctx, &cache, &[dispatch], None);
            assert_close(
                &format!("conv2d.forward {case:?} relu {relu}"),
                &read(&ctx, &y, shape.output_len()),
                &expected,
                5e-4,
                1e-4,
            );
        }
    }
}

#[test]
fn conv2d_backward_matches_cpu_on_odd_asymmetric_shapes_with_and_without_relu_mask() {
    let (ctx, cache) = gpu();
    for (seed, case) in cases().iter().enumerate() {
        let shape = shape_of(case);
        for mask in [false, true] {
            let mut rng = rng(100 + seed as u64);
            let x: Vec<f32> = uniform(&mut rng, shape.input_len(), -1.0, 1.0)
                .into_iter()
                .map(|v| v.max(0.0))
                .collect();
            let kernel = uniform(&mut rng, shape.kernel_len(), -1.0, 1.0);
            let dz = uniform(&mut rng, shape.output_len(), -1.0, 1.0);
            let expected = cpu::backward(&shape, mask, &x, &kernel, &dz);
            let (x_buf, k_buf, dz_buf) = (
                upload(&ctx, "x", &x),
                upload(&ctx, "k", &kernel),
                upload(&ctx, "dz", &dz),
            );
            let dx = poisoned(&ctx, "dx", shape.input_len());
            let dk = poisoned(&ctx, "dk", shape.kernel_len());
            let db = poisoned(&ctx, "db", shape.out_c);
            let input = conv2d::encode_backward_input(
                &ctx,
                &cache,
                "test",
                &shape,
                mask,
                binding(&dz_buf),
                binding(&k_buf),
                binding(&x_buf),
                binding(&dx),
            )
            .expect("dispatch");
            let weight_and_bias = conv2d::encode_backward_weight(
                &ctx,
                &cache,
                "test",
                &shape,
                binding(&x_buf),
                binding(&dz_buf),
                binding(&dk),
                binding(&db),
            )
            .expect("dispatch");
            let mut dispatches = vec![input];
            dispatches.extend(weight_and_bias);
            run(&ctx, &cache, &dispatches, None);
            let what = format!("conv2d backward {case:?} mask {mask}");
            assert_close(
                &format!("{what}: input"),
                &read(&ctx, &dx, shape.input_len()),
                &expected.input,
                5e-4,
                1e-4,
            );
            assert_close(
                &format!("{what}: kernel"),
                &read(&ctx, &dk, shape.kernel_len()),
                &expected.kernel,
                5e-4,
                1e-4,
            );
            assert_close(
                &format!("{what}: bias"),
                &read(&ctx, &db, shape.out_c),
                &expected.bias,
                5e-4,
                1e-4,
            );
        }
    }
}
