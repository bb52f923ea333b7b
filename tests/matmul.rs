//! `matmul.forward` against the reference GEMM on random shapes (odd, not multiples of the
//! 64×64 tile or the 16-deep k slice), every transpose and every epilogue.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu| (the kernel sums with fma, the reference without;
//! inputs are uniform in [−1, 1], so the rounding difference stays far below this).

mod common;

use common::*;
use gpu_cnn::layers::matmul::{
    self, cpu, Epilogue, Layout, MatmulOverrides, Operands, Params, Product, Transpose,
};

const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (7, 13, 5),
    (33, 129, 784),
    (100, 10, 128),
    (65, 64, 17),
    (3, 200, 1),
];

const EPILOGUES: [Epilogue; 4] = [
    Epilogue::None,
    Epilogue::Bias,
    Epilogue::BiasRelu,
    Epilogue::ReluMask,
];

fn check(m: usize, n: usize, k: usize, transpose: Transpose, epilogue: Epilogue, seed: u64) {
    let ctx = context();
    let mut rng = rng(seed);
    let a = uniform(&mut rng, m * k, -1.0, 1.0);
    let b = uniform(&mut rng, k * n, -1.0, 1.0);
    let bias = uniform(&mut rng, n, -1.0, 1.0);
    let mask = uniform(&mut rng, m * n, -1.0, 1.0);
    let params = Params::new(m, n, k);
    let expected = cpu::forward(&params, transpose, epilogue, &a, &b, &bias, &mask);

    let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
    let (bias_buf, mask_buf) = (upload(&ctx, "bias", &bias), upload(&ctx, "mask", &mask));
    let c = poisoned(&ctx, "c", m * n);
    let dispatch = matmul::encode(
        &ctx,
        "test.matmul",
        params,
        MatmulOverrides {
            layout: Layout::Matrices(transpose),
            epilogue,
        },
        Operands {
            a: a_buf.as_entire_buffer_binding(),
            b: b_buf.as_entire_buffer_binding(),
            bias: bias_buf.as_entire_buffer_binding(),
            mask: mask_buf.as_entire_buffer_binding(),
            c: c.as_entire_buffer_binding(),
        },
    )
    .expect("dispatch");
    run(&ctx, &[dispatch], None);
    let what = format!("matmul {m}x{n}x{k} {transpose:?} {epilogue:?}");
    assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-4, 1e-4);
}

#[test]
fn matmul_matches_cpu_on_odd_shapes_with_every_epilogue() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (j, &epilogue) in EPILOGUES.iter().enumerate() {
            check(m, n, k, Transpose::default(), epilogue, (i * 10 + j) as u64);
        }
    }
}

#[test]
fn matmul_matches_cpu_with_transposed_operands() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (t, transpose) in [
            Transpose { a: true, b: false },
            Transpose { a: false, b: true },
            Transpose { a: true, b: true },
        ]
        .into_iter()
        .enumerate()
        {
            check(
                m,
                n,
                k,
                transpose,
                Epilogue::None,
                (100 + i * 10 + t) as u64,
            );
            check(
                m,
                n,
                k,
                transpose,
                Epilogue::ReluMask,
                (200 + i * 10 + t) as u64,
            );
        }
    }
}

#[test]
fn split_k_matmul_sums_partials_to_the_cpu_result() {
    let ctx = context();
    // Few output tiles and a long k: split into several partials, then summed in order.
    for (seed, &(m, n, k)) in [(9, 32, 5000), (70, 3, 4099), (1, 1, 600)]
        .iter()
        .enumerate()
    {
        let params = Params::new(m, n, k);
        assert!(
            params.split_k(256).splits() > 1,
            "{m}x{n}x{k} should split on a GPU"
        );
        let mut rng = rng(300 + seed as u64);
        let a = uniform(&mut rng, k * m, -1.0, 1.0);
        let b = uniform(&mut rng, k * n, -1.0, 1.0);
        let transpose = Transpose { a: true, b: false };
        let expected = cpu::forward(&params, transpose, Epilogue::None, &a, &b, &[], &[]);
        let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
        let c = poisoned(&ctx, "c", m * n);
        let splits = params.split_k(ctx.target_workgroups()).splits();
        let dispatches = matmul::encode_split_k(
            &ctx,
            "test.split",
            params,
            Layout::Matrices(transpose),
            Product {
                a: a_buf.as_entire_buffer_binding(),
                b: b_buf.as_entire_buffer_binding(),
                c: c.as_entire_buffer_binding(),
            },
        )
        .expect("dispatch");
        let expected_launches = if splits > 1 { 2 } else { 1 };
        assert_eq!(
            dispatches.len(),
            expected_launches,
            "product (and sum of {splits} partials)"
        );
        run(&ctx, &dispatches, None);
        let what = format!("split-k matmul {m}x{n}x{k}");
        assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-3, 1e-4);
    }
}
