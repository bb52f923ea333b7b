//! `matmul.forward` against the reference GEMM on random shapes (odd, not multiples of any
//! tile shape or the 16-deep k slice), every tile shape, every transpose and every epilogue,
//! whole and split over k (the epilogue then applied by `matmul.sum_splits` after the sum).
//!
//! Tolerance: |gpu − cpu| ≤ 1e-4 + 1e-4·|cpu| (the kernel sums with fma, the reference without;
//! inputs are uniform in [−1, 1], so the rounding difference stays far below this).

mod common;

use common::*;
use gpu_cnn::gpu::{Dispatch, GpuContext, LaunchProfile};
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::bias;
use gpu_cnn::layers::matmul::{
    self, cpu, Epilogue, GemmPlan, Layout, MatmulOverrides, Operands, Params, SumIo, SumParams,
    Tile, Transpose,
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
    Epilogue::BiasActivation(Function::Relu),
    Epilogue::ReluMask,
];

/// One product in tiles of `tile` against the reference.
struct Case {
    m: usize,
    n: usize,
    k: usize,
    transpose: Transpose,
    epilogue: Epilogue,
    tile: Tile,
    seed: u64,
}

fn check(case: Case) {
    let Case {
        m,
        n,
        k,
        transpose,
        epilogue,
        tile,
        seed,
    } = case;
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
            tile,
        },
        Operands {
            a: a_buf.as_entire_buffer_binding(),
            b: b_buf.as_entire_buffer_binding(),
            bias: bias_buf.as_entire_buffer_binding(),
            mask: mask_buf.as_entire_buffer_binding(),
            c: c.as_entire_buffer_binding(),
            column_sums: None,
            pooled: None,
        },
    )
    .expect("dispatch");
    run(&ctx, &[dispatch], None);
    let what = format!("matmul {m}x{n}x{k} {transpose:?} {epilogue:?} {tile:?}");
    assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-4, 1e-4);
}

const TRANSPOSES: [Transpose; 4] = [
    Transpose { a: false, b: false },
    Transpose { a: true, b: false },
    Transpose { a: false, b: true },
    Transpose { a: true, b: true },
];

#[test]
fn matmul_matches_cpu_on_odd_shapes_with_every_epilogue() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (j, &epilogue) in EPILOGUES.iter().enumerate() {
            check(Case {
                m,
                n,
                k,
                transpose: Transpose::default(),
                epilogue,
                tile: Tile::default(),
                seed: (i * 10 + j) as u64,
            });
        }
    }
}

#[test]
fn matmul_matches_cpu_with_transposed_operands() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (t, &transpose) in TRANSPOSES[1..].iter().enumerate() {
            for (e, epilogue) in [Epilogue::None, Epilogue::ReluMask].into_iter().enumerate() {
                check(Case {
                    m,
                    n,
                    k,
                    transpose,
                    epilogue,
                    tile: Tile::default(),
                    seed: (100 * (e + 1) + i * 10 + t) as u64,
                });
            }
        }
    }
}

#[test]
fn matmul_matches_cpu_in_every_tile_shape_and_transpose() {
    // Odd sizes that leave partial tiles of every shape, in M, N and the k slice.
    let shapes = [(9, 32, 37), (67, 33, 19), (17, 70, 50), (130, 29, 3)];
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for (t, &tile) in Tile::ALL.iter().enumerate() {
            for (p, &transpose) in TRANSPOSES.iter().enumerate() {
                check(Case {
                    m,
                    n,
                    k,
                    transpose,
                    epilogue: EPILOGUES[(s + t + p) % EPILOGUES.len()],
                    tile,
                    seed: (400 + s * 100 + t * 10 + p) as u64,
                });
            }
        }
    }
}

#[test]
fn split_k_matmul_sums_partials_to_the_cpu_result() {
    let ctx = context();
    // Few output tiles and a long k: split into several partials, then summed in order.
    let shapes = [(9, 32, 5000), (70, 3, 4099), (1, 1, 600)];
    for (seed, &(m, n, k)) in shapes.iter().enumerate() {
        for (t, &tile) in Tile::ALL.iter().enumerate() {
            for (p, &transpose) in TRANSPOSES.iter().enumerate() {
                let params = Params::new(m, n, k);
                assert!(
                    split_for_many(params, tile).splits() > 1,
                    "{m}x{n}x{k} should split on a GPU"
                );
                let mut rng = rng((300 + seed * 100 + t * 10 + p) as u64);
                let a = uniform(&mut rng, k * m, -1.0, 1.0);
                let b = uniform(&mut rng, k * n, -1.0, 1.0);
                let expected = cpu::forward(&params, transpose, Epilogue::None, &a, &b, &[], &[]);
                let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
                let c = poisoned(&ctx, "c", m * n);
                // Split as a GPU would (many target workgroups), so every shape splits here too.
                let splits = split_for_many(params, tile).splits();
                let dispatches =
                    split_k_launches(&ctx, params, transpose, tile, [&a_buf, &b_buf, &c], None);
                assert_eq!(dispatches.len(), 2, "product and sum of {splits} partials");
                run(&ctx, &dispatches, None);
                let what =
                    format!("split-k matmul {m}x{n}x{k} {transpose:?} {tile:?} ({splits} splits)");
                assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-3, 1e-4);
            }
        }
    }
}

#[test]
fn encode_plan_matches_cpu_on_this_device_and_on_a_big_gpus_plan() {
    let ctx = context();
    let shapes = [(9, 32, 5000), (70, 3, 4099)];
    // A product with no column sums splits only on a GPU (on lavapipe only weight gradients
    // do).
    for profile in [ctx.profile(), LaunchProfile::big_gpu()] {
        for (seed, &(m, n, k)) in shapes.iter().enumerate() {
            let params = Params::new(m, n, k);
            let plan = matmul::plan(params, Epilogue::None, &profile);
            assert_eq!(
                plan.splits() > 1,
                !profile.cpu_adapter,
                "{m}x{n}x{k} {profile:?}"
            );
            let mut rng = rng(900 + seed as u64);
            let a = uniform(&mut rng, k * m, -1.0, 1.0);
            let b = uniform(&mut rng, k * n, -1.0, 1.0);
            let transpose = Transpose { a: true, b: false };
            let expected = cpu::forward(&params, transpose, Epilogue::None, &a, &b, &[], &[]);
            let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
            let c = poisoned(&ctx, "c", m * n);
            let dispatches = matmul::encode_plan(
                &ctx,
                "test.split",
                &plan,
                Layout::Matrices(transpose),
                Epilogue::None,
                operands([&a_buf, &b_buf, &a_buf, &a_buf], &c),
            )
            .expect("dispatch");
            let splits = plan.splits();
            let expected_launches = if splits > 1 { 2 } else { 1 };
            assert_eq!(dispatches.len(), expected_launches, "{splits} splits");
            assert_eq!(
                dispatches[0].workgroups(),
                plan.grid,
                "the plan's grid runs"
            );
            run(&ctx, &dispatches, None);
            let what = format!("matmul {m}x{n}x{k} planned for {profile:?} ({splits} splits)");
            assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-3, 1e-4);
        }
    }
}

/// `a`, `b`, `bias`, `mask` → `c`, with no column sums.
fn operands<'a>([a, b, bias, mask]: [&'a wgpu::Buffer; 4], c: &'a wgpu::Buffer) -> Operands<'a> {
    Operands {
        a: a.as_entire_buffer_binding(),
        b: b.as_entire_buffer_binding(),
        bias: bias.as_entire_buffer_binding(),
        mask: mask.as_entire_buffer_binding(),
        c: c.as_entire_buffer_binding(),
        column_sums: None,
        pooled: None,
    }
}

#[test]
fn split_k_applies_every_epilogue_after_the_sum() {
    let ctx = context();
    // Odd sizes, k not a multiple of the split or the 16-deep slice.
    let shapes = [(7, 13, 100), (33, 129, 784), (3, 200, 97), (65, 10, 51)];
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for (e, &epilogue) in EPILOGUES.iter().enumerate() {
            let tile = Tile::ALL[(s + e) % Tile::ALL.len()];
            let transpose = TRANSPOSES[(s + 2 * e) % TRANSPOSES.len()];
            let mut rng = rng((1100 + s * 10 + e) as u64);
            let a = uniform(&mut rng, m * k, -1.0, 1.0);
            let b = uniform(&mut rng, k * n, -1.0, 1.0);
            let bias = uniform(&mut rng, n, -1.0, 1.0);
            let mask = uniform(&mut rng, m * n, -1.0, 1.0);
            let params = Params::new(m, n, k);
            let expected = cpu::forward(&params, transpose, epilogue, &a, &b, &bias, &mask);
            // Two-slice splits, as a big GPU's plan splits its shortest.
            let plan = GemmPlan::new(
                Params {
                    k_chunk: 32,
                    ..params
                },
                tile,
            );
            assert!(plan.splits() > 1, "{m}x{n}x{k} should split");
            let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
            let (bias_buf, mask_buf) = (upload(&ctx, "bias", &bias), upload(&ctx, "mask", &mask));
            let c = poisoned(&ctx, "c", m * n);
            let dispatches = matmul::encode_plan(
                &ctx,
                "test.split_epilogue",
                &plan,
                Layout::Matrices(transpose),
                epilogue,
                operands([&a_buf, &b_buf, &bias_buf, &mask_buf], &c),
            )
            .expect("dispatch");
            assert_eq!(dispatches.len(), 2, "product and sum");
            run(&ctx, &dispatches, None);
            let what = format!(
                "split-k matmul {m}x{n}x{k} {transpose:?} {epilogue:?} {tile:?} ({} splits)",
                plan.splits()
            );
            assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-3, 1e-4);
        }
    }
}

#[test]
fn sum_splits_matches_cpu_with_every_epilogue_on_odd_shapes() {
    let ctx = context();
    // Elements not a multiple of the 256 threads of a workgroup; one split and many.
    let shapes = [
        (1, 1, 1),
        (7, 13, 3),
        (33, 129, 25),
        (3, 200, 1),
        (65, 10, 271),
    ];
    for (s, &(splits, m, n)) in shapes.iter().enumerate() {
        for (e, &epilogue) in EPILOGUES.iter().enumerate() {
            let mut rng = rng((1300 + s * 10 + e) as u64);
            let partials = uniform(&mut rng, splits * m * n, -1.0, 1.0);
            let bias = uniform(&mut rng, n, -1.0, 1.0);
            let mask = uniform(&mut rng, m * n, -1.0, 1.0);
            let params = SumParams {
                splits: splits as u32,
                m: m as u32,
                n: n as u32,
                ..Default::default()
            };
            let expected = cpu::sum_splits(&params, epilogue, &partials, &bias, &mask);
            let partials_buf = upload(&ctx, "partials", &partials);
            let (bias_buf, mask_buf) = (upload(&ctx, "bias", &bias), upload(&ctx, "mask", &mask));
            let c = poisoned(&ctx, "c", m * n);
            let io = SumIo {
                partials: partials_buf.as_entire_buffer_binding(),
                bias: bias_buf.as_entire_buffer_binding(),
                mask: mask_buf.as_entire_buffer_binding(),
                c: c.as_entire_buffer_binding(),
            };
            let dispatch = matmul::encode_sum_splits(&ctx, "test.sum_splits", params, epilogue, io)
                .expect("dispatch");
            run(&ctx, &[dispatch], None);
            // The kernel sums in the reference's order: bit for bit.
            let what = format!("matmul.sum_splits {splits}x{m}x{n} {epilogue:?}");
            assert_close(&what, &read(&ctx, &c, m * n), &expected, 0.0, 0.0);
        }
    }
}

/// `params` split as a GPU's plan would for 256 workgroups in tiles of `tile` (at least 256
/// terms a split, at most 64 splits), so every shape here splits on any adapter.
fn split_for_many(params: Params, tile: Tile) -> Params {
    let tiles = tile.count(params.m, params.n).max(1);
    let splits = (256 / tiles).min(params.k / 256).clamp(1, 64);
    params.split_into(params.k.div_ceil(splits))
}

/// `matmul.forward` into NaN-poisoned `[splits, m (+1), n]` partials (split as for 256 target
/// workgroups) plus the `bias.backward` launch that sums them into `c` in order, and into
/// `sums` the column sums of opB where given.
fn split_k_launches(
    ctx: &GpuContext,
    params: Params,
    transpose: Transpose,
    tile: Tile,
    [a, b, c]: [&wgpu::Buffer; 3],
    sums: Option<&wgpu::Buffer>,
) -> Vec<Dispatch> {
    let params = split_for_many(params, tile);
    let splits = params.splits();
    let rows = params.m + u32::from(sums.is_some());
    let partials = poisoned(ctx, "partials", (splits * rows * params.n) as usize);
    let epilogue = if sums.is_some() {
        Epilogue::ColumnSums
    } else {
        Epilogue::None
    };
    let gemm = matmul::encode(
        ctx,
        "test.split",
        params,
        MatmulOverrides {
            layout: Layout::Matrices(transpose),
            epilogue,
            tile,
        },
        Operands {
            a: a.as_entire_buffer_binding(),
            b: b.as_entire_buffer_binding(),
            bias: a.as_entire_buffer_binding(),
            mask: a.as_entire_buffer_binding(),
            c: partials.as_entire_buffer_binding(),
            column_sums: None,
            pooled: None,
        },
    )
    .expect("dispatch");
    let sum = bias::encode_backward(
        ctx,
        "test.split.sum_splits",
        bias::Params {
            rows: splits,
            cols: rows * params.n,
            tail_len: if sums.is_some() { params.n } else { 0 },
            ..Default::default()
        },
        bias::Io {
            grad: partials.as_entire_buffer_binding(),
            bias_grad: c.as_entire_buffer_binding(),
            tail: sums.map(|sums| sums.as_entire_buffer_binding()),
        },
    )
    .expect("dispatch");
    vec![gemm, sum]
}

/// `Σ_k opB[k, n]` for `b` stored `[K, N]`, or `[N, K]` when transposed.
fn column_sums(b: &[f32], k: usize, n: usize, transposed: bool) -> Vec<f32> {
    (0..n)
        .map(|col| {
            (0..k)
                .map(|kk| {
                    if transposed {
                        b[col * k + kk]
                    } else {
                        b[kk * n + col]
                    }
                })
                .sum()
        })
        .collect()
}

#[test]
fn column_sums_come_with_the_product_in_one_split_and_split_over_k() {
    let ctx = context();
    // (9, 32, 5000) and (70, 3, 4099) split over k; (17, 70, 50) and (1, 1, 1) do not.
    let shapes = [(9, 32, 5000), (70, 3, 4099), (17, 70, 50), (1, 1, 1)];
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for (t, &tile) in Tile::ALL.iter().enumerate() {
            let transpose = TRANSPOSES[(s + t) % TRANSPOSES.len()];
            let mut rng = rng((700 + s * 10 + t) as u64);
            let a = uniform(&mut rng, m * k, -1.0, 1.0);
            let b = uniform(&mut rng, k * n, -1.0, 1.0);
            let params = Params::new(m, n, k);
            let expected = cpu::forward(&params, transpose, Epilogue::None, &a, &b, &[], &[]);
            let expected_sums = column_sums(&b, k, n, transpose.b);
            let (a_buf, b_buf) = (upload(&ctx, "a", &a), upload(&ctx, "b", &b));
            let (c, sums) = (poisoned(&ctx, "c", m * n), poisoned(&ctx, "sums", n));
            let splits = split_for_many(params, tile).splits();
            let dispatches = if splits > 1 {
                split_k_launches(
                    &ctx,
                    params,
                    transpose,
                    tile,
                    [&a_buf, &b_buf, &c],
                    Some(&sums),
                )
            } else {
                let overrides = MatmulOverrides {
                    layout: Layout::Matrices(transpose),
                    epilogue: Epilogue::ColumnSums,
                    tile,
                };
                let operands = Operands {
                    a: a_buf.as_entire_buffer_binding(),
                    b: b_buf.as_entire_buffer_binding(),
                    bias: a_buf.as_entire_buffer_binding(),
                    mask: a_buf.as_entire_buffer_binding(),
                    c: c.as_entire_buffer_binding(),
                    column_sums: Some(sums.as_entire_buffer_binding()),
                    pooled: None,
                };
                vec![
                    matmul::encode(&ctx, "test.sums", params, overrides, operands)
                        .expect("dispatch"),
                ]
            };
            run(&ctx, &dispatches, None);
            let what = format!("column sums {m}x{n}x{k} {transpose:?} {tile:?} ({splits} splits)");
            assert_close(&what, &read(&ctx, &c, m * n), &expected, 1e-3, 1e-4);
            assert_close(
                &format!("{what}: sums"),
                &read(&ctx, &sums, n),
                &expected_sums,
                1e-3,
                1e-4,
            );
        }
    }
}
