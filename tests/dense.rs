//! The dense layer's three GPU passes against its CPU reference, on odd batch sizes and widths
//! (batch 7, 33, 100; widths 1, 13, 129, 784): forward with and without ReLU, backward_input
//! with and without the fused ReLU mask of its input, backward_weight with the bias gradient.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu| (fma against plain sums over up to 784 terms).

mod common;

use common::*;
use gpu_cnn::layers::dense::{self, cpu, DenseShape};

const SHAPES: [(usize, usize, usize); 5] = [
    (7, 13, 1),
    (33, 784, 129),
    (100, 129, 10),
    (1, 1, 13),
    (7, 784, 13),
];

fn binding(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

#[test]
fn dense_forward_matches_cpu_with_and_without_relu() {
    let (ctx, cache) = gpu();
    for (seed, &(rows, inputs, units)) in SHAPES.iter().enumerate() {
        for relu in [false, true] {
            let shape = DenseShape {
                rows,
                inputs,
                units,
            };
            let mut rng = rng(seed as u64);
            let x = uniform(&mut rng, rows * inputs, -1.0, 1.0);
            let kernel = uniform(&mut rng, inputs * units, -1.0, 1.0);
            let bias = uniform(&mut rng, units, -1.0, 1.0);
            let expected = cpu::forward(shape, relu, &x, &kernel, &bias);
            let (x_buf, k_buf, b_buf) = (
                upload(&ctx, "x", &x),
                upload(&ctx, "k", &kernel),
                upload(&ctx, "b", &bias),
            );
            let y = poisoned(&ctx, "y", rows * units);
            let dispatch = dense::encode_forward(
                &ctx,
                &cache,
                "test",
                shape,
                relu,
                binding(&x_buf),
                binding(&k_buf),
                binding(&b_buf),
                binding(&y),
            )
            .expect("dispatch");
            run(&ctx, &cache, &[dispatch], None);
            assert_close(
                &format!("dense.forward {shape:?} relu {relu}"),
                &read(&ctx, &y, rows * units),
                &expected,
                1e-4,
                1e-4,
            );
        }
    }
}

#[test]
fn dense_backward_matches_cpu_with_and_without_relu_mask() {
    let (ctx, cache) = gpu();
    for (seed, &(rows, inputs, units)) in SHAPES.iter().enumerate() {
        for mask in [false, true] {
            let shape = DenseShape {
                rows,
                inputs,
                units,
            };
            let mut rng = rng(100 + seed as u64);
            // A ReLU output as input: about half the entries exactly zero.
            let x: Vec<f32> = uniform(&mut rng, rows * inputs, -1.0, 1.0)
                .into_iter()
                .map(|v| v.max(0.0))
                .collect();
            let kernel = uniform(&mut rng, inputs * units, -1.0, 1.0);
            let dz = uniform(&mut rng, rows * units, -1.0, 1.0);
            let expected = cpu::backward(shape, mask, &x, &kernel, &dz);
            let (x_buf, k_buf, dz_buf) = (
                upload(&ctx, "x", &x),
                upload(&ctx, "k", &kernel),
                upload(&ctx, "dz", &dz),
            );
            let dx = poisoned(&ctx, "dx", rows * inputs);
            let dk = poisoned(&ctx, "dk", inputs * units);
            let db = poisoned(&ctx, "db", units);
            let input = dense::encode_backward_input(
                &ctx,
                &cache,
                "test",
                shape,
                mask,
                binding(&dz_buf),
                binding(&k_buf),
                binding(&x_buf),
                binding(&dx),
            )
            .expect("dispatch");
            let weight_and_bias = dense::encode_backward_weight(
                &ctx,
                &cache,
                "test",
                shape,
                binding(&x_buf),
                binding(&dz_buf),
                binding(&dk),
                binding(&db),
            )
            .expect("dispatch");
            let mut dispatches = vec![input];
            dispatches.extend(weight_and_bias);
            run(&ctx, &cache, &dispatches, None);
            let what = format!("dense backward {shape:?} mask {mask}");
            assert_close(
                &format!("{what}: input"),
                &read(&ctx, &dx, rows * inputs),
                &expected.input,
                1e-4,
                1e-4,
            );
            assert_close(
                &format!("{what}: kernel"),
                &read(&ctx, &dk, inputs * units),
                &expected.kernel,
                1e-4,
                1e-4,
            );
            assert_close(
                &format!("{what}: bias"),
                &read(&ctx, &db, units),
                &expected.bias,
                1e-4,
                1e-4,
            );
        }
    }
}
