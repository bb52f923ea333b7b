//! The conv2d op's three GPU passes (implicit GEMM) against its direct-loop CPU reference
//! on odd, asymmetric shapes: H ≠ W, kh ≠ kw, stride 2 and mixed strides, `same` padding with
//! odd and even kernels, batches not a multiple of anything, and the lecture's own layers.
//!
//! Tolerance: |gpu − cpu| ≤ 5e-4 + 1e-4·|cpu| (fma in tiles against plain sums; the weight
//! gradient sums over up to 3,380 output pixels of values in [−1, 1]).

mod common;

use common::*;
use gpu_cnn::gpu::LaunchProfile;
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::conv2d::cpu;
use gpu_cnn::layers::matmul::passes::{forward_epilogue, InputGradient};
use gpu_cnn::layers::matmul::{self, Epilogue, Layout, MatmulOverrides, Operands, Tile, Transpose};
use gpu_cnn::model::spec::{Padding, PoolKind, Size2};

fn cases() -> Vec<ConvCase> {
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
        // A small `same` convolution: its implicit input gradient splits k on a big GPU.
        (2, [4, 5, 8], 16, s(3, 3), s(1, 1), Padding::Same),
    ]
}

/// |gpu − cpu| ≤ 5e-4 + 1e-4·|cpu|.
const TOLERANCE: Tolerance = Tolerance {
    atol: 5e-4,
    rtol: 1e-4,
};

/// The op runs each case's input gradient as the layer chooses: the column GEMM and col2im
/// where the output has fewer pixels than the input, else the implicit GEMM. The cases cover
/// both (asserted below).
#[test]
fn conv2d_op_matches_cpu_on_odd_asymmetric_shapes_with_and_without_fused_relu() {
    let by_columns = cases()
        .iter()
        .filter(|case| {
            matches!(
                conv_shape(case).input_gradient(),
                InputGradient::Columns { .. }
            )
        })
        .count();
    assert!(
        (1..cases().len()).contains(&by_columns),
        "{by_columns} of {} cases take the column path: both paths must be covered",
        cases().len()
    );
    for (seed, case) in cases().iter().enumerate() {
        let shape = conv_shape(case);
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
            |function, x, k, b| cpu::forward(&shape, function, x, k, b),
            |mask, x, k, dz| cpu::backward(&shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
}

#[test]
fn conv2d_op_matches_cpu_when_planned_for_a_big_gpu() {
    let mut ctx = context();
    let big = LaunchProfile::big_gpu();
    ctx.plan_as(big);
    let (mut forward_splits, mut input_splits) = (0, 0);
    for (seed, case) in cases().iter().enumerate() {
        let shape = conv_shape(case);
        let gemms = shape.gemms();
        forward_splits += usize::from(
            gemms
                .forward
                .plan(Epilogue::BiasActivation(Function::Relu), &big)
                .splits()
                > 1,
        );
        let input = gemms.backward_input;
        let input_plan = input.gemm().plan(input.epilogue(true), &big);
        input_splits += usize::from(input_plan.splits() > 1);
        let sizes = (
            shape.input_len(),
            shape.kernel_len(),
            shape.out_c,
            shape.output_len(),
        );
        check_kernel_layer_on(
            &ctx,
            &format!("conv2d {case:?} on a big GPU's plan"),
            &shape,
            100 + seed as u64,
            sizes,
            |function, x, k, b| cpu::forward(&shape, function, x, k, b),
            |mask, x, k, dz| cpu::backward(&shape, mask, x, k, dz),
            TOLERANCE,
        );
    }
    // Split forwards (bias, bias + ReLU) and split input gradients (masked and not) run.
    assert!(
        forward_splits >= 2 && input_splits >= 2,
        "{forward_splits}, {input_splits}"
    );
}

/// Each pass's GEMM launched directly in every tile shape (the passes pick one per GEMM; this
/// holds every shape to the reference for every convolution layout, including threads that
/// stage two row quads of A): forward, backward_weight, and both input-gradient GEMMs, the
/// implicit one over dz and the column GEMM col2im sums (tests/col2im.rs), whichever the layer
/// chooses.
#[test]
fn conv2d_gemms_match_cpu_in_every_tile_shape() {
    let ctx = context();
    for (seed, case) in cases().iter().enumerate() {
        let shape = conv_shape(case);
        let mut rng = rng(700 + seed as u64);
        let x = uniform(&mut rng, shape.input_len(), -1.0, 1.0);
        let kernel = uniform(&mut rng, shape.kernel_len(), -1.0, 1.0);
        let bias = uniform(&mut rng, shape.out_c, -1.0, 1.0);
        let dz = uniform(&mut rng, shape.output_len(), -1.0, 1.0);
        let y = cpu::forward(&shape, Function::Linear, &x, &kernel, &bias);
        let grads = cpu::backward(&shape, false, &x, &kernel, &dz);
        let column_gemm = shape.column_gemm();
        let columns = matmul::cpu::forward(
            &column_gemm.params,
            Transpose { a: false, b: true },
            Epilogue::None,
            &dz,
            &kernel,
            &[],
            &[],
        );
        let bufs = [
            upload(&ctx, "x", &x),
            upload(&ctx, "kernel", &kernel),
            upload(&ctx, "bias", &bias),
            upload(&ctx, "dz", &dz),
        ];
        let [x_buf, kernel_buf, bias_buf, dz_buf] = &bufs;
        let gemms = shape.gemms();
        // (pass, gemm, a, b, epilogue, expected)
        let passes = [
            (
                "forward",
                gemms.forward,
                x_buf,
                kernel_buf,
                Epilogue::Bias,
                &y,
            ),
            (
                "backward_input",
                shape.implicit_input_gemm(),
                dz_buf,
                kernel_buf,
                Epilogue::None,
                &grads.input,
            ),
            (
                "backward_input.columns",
                column_gemm,
                dz_buf,
                kernel_buf,
                Epilogue::None,
                &columns,
            ),
            (
                "backward_weight",
                gemms.backward_weight,
                x_buf,
                dz_buf,
                Epilogue::None,
                &grads.kernel,
            ),
        ];
        for (pass, gemm, a, b, epilogue, expected) in passes {
            for tile in Tile::ALL {
                let c = poisoned(&ctx, "c", expected.len());
                let dispatch = matmul::encode(
                    &ctx,
                    &format!("test.conv2d.{pass}"),
                    gemm.params,
                    MatmulOverrides {
                        layout: gemm.layout,
                        epilogue,
                        tile,
                    },
                    Operands {
                        a: a.as_entire_buffer_binding(),
                        b: b.as_entire_buffer_binding(),
                        bias: bias_buf.as_entire_buffer_binding(),
                        mask: a.as_entire_buffer_binding(),
                        c: c.as_entire_buffer_binding(),
                        column_sums: None,
                        pooled: None,
                    },
                )
                .expect("dispatch");
                run(&ctx, &[dispatch], None);
                assert_close(
                    &format!("conv2d {case:?} {pass} {tile:?}"),
                    &read(&ctx, &c, expected.len()),
                    expected,
                    TOLERANCE.atol,
                    TOLERANCE.rtol,
                );
            }
        }
    }
}

/// The pooling fusion's GEMM: the forward with its rows in 2×2 pooling windows writes the
/// convolution's output at every pixel of a whole window (those past the last window are left
/// alone: the pooling reads none) and the window's max or mean, against the direct-loop
/// convolution and pooling. Odd outputs (a row and column past the last window), batches and
/// channels not a multiple of any tile, with and without the fused ReLU, in every tile.
#[test]
fn conv2d_pooled_forward_matches_convolution_then_pooling_in_every_tile() {
    use gpu_cnn::layers::pool2d;
    let ctx = context();
    let s = |h, w| Size2 { h, w };
    let cases: [ConvCase; 4] = [
        (3, [13, 13, 5], 7, s(3, 3), s(1, 1), Padding::Valid),
        (2, [10, 9, 2], 33, s(2, 3), s(1, 1), Padding::Same),
        (1, [9, 12, 3], 4, s(3, 3), s(2, 1), Padding::Valid),
        (5, [28, 28, 1], 32, s(3, 3), s(1, 1), Padding::Valid),
    ];
    for (seed, case) in cases.iter().enumerate() {
        let shape = conv_shape(case);
        let params = shape.pooled_forward().expect("a whole window");
        let pool = pool2d::Params::new(
            shape.batch,
            [shape.out_h, shape.out_w, shape.out_c],
            Size2::square(2),
            Size2::square(2),
        )
        .expect("non-empty pooling");
        let mut rng = rng(1300 + seed as u64);
        let x = uniform(&mut rng, shape.input_len(), -1.0, 1.0);
        let kernel = uniform(&mut rng, shape.kernel_len(), -1.0, 1.0);
        let bias = uniform(&mut rng, shape.out_c, -1.0, 1.0);
        let bufs = [
            upload(&ctx, "x", &x),
            upload(&ctx, "kernel", &kernel),
            upload(&ctx, "bias", &bias),
        ];
        let [x_buf, kernel_buf, bias_buf] = &bufs;
        // gelu is not monotonic: the window's max is taken after it.
        for function in [Function::Linear, Function::Relu, Function::Gelu] {
            let epilogue = forward_epilogue(function);
            let y_cpu = cpu::forward(&shape, function, &x, &kernel, &bias);
            for kind in [PoolKind::Max, PoolKind::Average] {
                let pooled_cpu = pool2d::cpu::forward(&pool, kind, &y_cpu);
                for tile in Tile::ALL {
                    let y = poisoned(&ctx, "y", y_cpu.len());
                    let pooled = poisoned(&ctx, "pooled", pooled_cpu.len());
                    let dispatch = matmul::encode(
                        &ctx,
                        "test.conv2d.forward.pooled",
                        params,
                        MatmulOverrides {
                            layout: Layout::ConvForwardPooled(kind),
                            epilogue,
                            tile,
                        },
                        Operands {
                            a: x_buf.as_entire_buffer_binding(),
                            b: kernel_buf.as_entire_buffer_binding(),
                            bias: bias_buf.as_entire_buffer_binding(),
                            mask: x_buf.as_entire_buffer_binding(),
                            c: y.as_entire_buffer_binding(),
                            column_sums: None,
                            pooled: Some(pooled.as_entire_buffer_binding()),
                        },
                    )
                    .expect("dispatch");
                    run(&ctx, &[dispatch], None);
                    let what = format!("{case:?} {function:?} {kind:?} {tile:?}");
                    assert_close(
                        &format!("{what}: pooled"),
                        &read(&ctx, &pooled, pooled_cpu.len()),
                        &pooled_cpu,
                        TOLERANCE.atol,
                        TOLERANCE.rtol,
                    );
                    // The output at every pixel of a whole window.
                    let (gpu_y, mut inside, mut expected) =
                        (read(&ctx, &y, y_cpu.len()), vec![], vec![]);
                    for (i, &value) in y_cpu.iter().enumerate() {
                        let pixel = i / shape.out_c;
                        let (oh, ow) = ((pixel / shape.out_w) % shape.out_h, pixel % shape.out_w);
                        if oh < 2 * (shape.out_h / 2) && ow < 2 * (shape.out_w / 2) {
                            inside.push(gpu_y[i]);
                            expected.push(value);
                        }
                    }
                    assert_close(
                        &format!("{what}: output"),
                        &inside,
                        &expected,
                        TOLERANCE.atol,
                        TOLERANCE.rtol,
                    );
                }
            }
        }
    }
}
