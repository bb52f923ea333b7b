//! `softmax_xent.forward` against the reference: odd batch sizes and class counts, large
//! logits (overflow without the max shift), short batches with padding rows, and ties; and
//! with the classifier head, against the Dense layer's reference GEMMs around the loss.
//!
//! Tolerances: gradient |gpu − cpu| ≤ 1e-6 + 1e-4·|cpu|; loss sum relative 1e-4; correct
//! count exact.

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::gather::NO_LABEL;
use gpu_cnn::layers::matmul::{self, Epilogue, Transpose};
use gpu_cnn::layers::softmax_xent::{self, cpu, Head, Launch, Metrics, Params};
use rand::Rng;

/// Runs one launch of `rows` logits (the first `batch_rows` real) writing metrics at step
/// `slot`, and compares with the reference. With `inference`, the launch writes no gradient and
/// spreads the rows over a workgroup per 256, each writing its own metrics row of the slot.
fn check(rows: usize, batch_rows: usize, classes: usize, scale: f32, slot: usize, seed: u64) {
    run_case(rows, batch_rows, classes, scale, slot, seed, false);
}

fn run_case(
    rows: usize,
    batch_rows: usize,
    classes: usize,
    scale: f32,
    slot: usize,
    seed: u64,
    inference: bool,
) {
    let ctx = context();
    let mut rng = rng(seed);
    let logits = uniform(&mut rng, rows * classes, -scale, scale);
    let labels: Vec<u32> = (0..rows)
        .map(|r| {
            if r < batch_rows {
                rng.random_range(0..classes as u32)
            } else {
                NO_LABEL
            }
        })
        .collect();
    let params = Params {
        rows: rows as u32,
        classes: classes as u32,
        ..Default::default()
    };
    let (expected_grad, expected) = cpu::forward(&params, &logits, &labels, batch_rows);

    let logits_buf = upload(&ctx, "logits", &logits);
    let labels_buf = upload(&ctx, "labels", &labels);
    let grad = poisoned(&ctx, "grad", rows * classes);
    let launch = match inference {
        true => Launch::inference(rows),
        false => Launch::TRAINING,
    };
    let groups = launch.groups as usize;
    let metrics = upload(
        &ctx,
        "metrics",
        &vec![
            Metrics {
                loss_sum: f32::NAN,
                correct: 999
            };
            (slot + 1) * groups + 1
        ],
    );
    let dispatch = softmax_xent::encode_forward(
        &ctx,
        "test.softmax_xent",
        params,
        launch,
        softmax_xent::Io {
            logits: logits_buf.as_entire_buffer_binding(),
            labels: labels_buf.as_entire_buffer_binding(),
            grad: grad.as_entire_buffer_binding(),
            metrics: metrics.as_entire_buffer_binding(),
            head: None,
        },
    )
    .expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            batch_rows: batch_rows as u32,
            slot: slot as u32,
            ..Default::default()
        },
    );
    run(&ctx, &[dispatch], Some(&table));
    let what = format!(
        "softmax_xent rows {rows} ({batch_rows} real) classes {classes} inference {inference}"
    );
    let gradient: Vec<f32> = read(&ctx, &grad, rows * classes);
    if inference {
        assert!(
            gradient.iter().all(|g| g.is_nan()),
            "{what}: wrote a gradient"
        );
    } else {
        assert_close(&what, &gradient, &expected_grad, 1e-6, 1e-4);
    }
    let got: Vec<Metrics> = read(&ctx, &metrics, (slot + 1) * groups + 1);
    let step = &got[slot * groups..(slot + 1) * groups];
    let loss: f32 = step.iter().map(|m| m.loss_sum).sum();
    let correct: u32 = step.iter().map(|m| m.correct).sum();
    assert_close(
        &format!("{what}: loss"),
        &[loss],
        &[expected.loss_sum],
        0.0,
        1e-4,
    );
    assert_eq!(correct, expected.correct, "{what}: correct count");
    assert_eq!(
        got[(slot + 1) * groups].correct,
        999,
        "{what}: wrote outside its slot"
    );
}

#[test]
fn softmax_xent_inference_spreads_rows_over_workgroups_and_writes_no_gradient() {
    run_case(1000, 1000, 10, 3.0, 0, 11, true); // 4 workgroups
    run_case(777, 500, 13, 3.0, 2, 12, true); // 4 workgroups, padding rows, slot 2
    run_case(7, 7, 10, 3.0, 1, 13, true);
}

#[test]
fn softmax_xent_matches_cpu_on_odd_batches() {
    check(7, 7, 10, 3.0, 0, 1);
    check(33, 33, 3, 3.0, 2, 2);
    check(100, 100, 10, 3.0, 5, 3);
    check(300, 300, 13, 3.0, 1, 4);
}

#[test]
fn softmax_xent_is_stable_for_large_logits() {
    check(33, 33, 10, 80.0, 0, 5);
}

#[test]
fn softmax_xent_ignores_padding_rows_of_a_short_batch() {
    check(64, 48, 10, 3.0, 3, 6);
    check(32, 1, 10, 3.0, 0, 7);
}

#[test]
fn softmax_xent_counts_ties_as_the_first_maximum() {
    let params = Params {
        rows: 2,
        classes: 3,
        ..Default::default()
    };
    let (_, metrics) = cpu::forward(&params, &[1.0, 1.0, 0.0, 0.0, 2.0, 2.0], &[0, 2], 2);
    assert_eq!(
        metrics.correct, 1,
        "row 0 picks class 0, row 1 picks class 1 (not 2)"
    );
}

/// The head's Dense layer `[inputs → classes]` at `rows` (the first `batch_rows` real) around
/// the loss, against the reference GEMMs and loss: logits, metrics, kernel and bias gradients,
/// and the input gradient with and without the ReLU mask (or none).
fn check_head(rows: usize, batch_rows: usize, inputs: usize, classes: usize, dx: Option<bool>) {
    let ctx = context();
    let mut rng = rng((rows * 1000 + inputs * 10 + classes) as u64);
    let x = uniform(&mut rng, rows * inputs, -1.0, 1.0);
    let kernel = uniform(&mut rng, inputs * classes, -0.5, 0.5);
    let bias = uniform(&mut rng, classes, -0.5, 0.5);
    let labels: Vec<u32> = (0..rows)
        .map(|r| match r < batch_rows {
            true => rng.random_range(0..classes as u32),
            false => NO_LABEL,
        })
        .collect();
    // A slab with the kernel and bias at odd offsets, as other layers' tensors sit around them.
    let (kernel_at, bias_at) = (5, 5 + inputs * classes + 3);
    let mut slab = vec![7.0; bias_at + classes + 2];
    slab[kernel_at..kernel_at + inputs * classes].copy_from_slice(&kernel);
    slab[bias_at..bias_at + classes].copy_from_slice(&bias);

    let product = |m, n, k, transpose, epilogue, a: &[f32], b: &[f32], mask: &[f32]| {
        matmul::cpu::forward(
            &matmul::Params::new(m, n, k),
            transpose,
            epilogue,
            a,
            b,
            &bias,
            mask,
        )
    };
    let plain = Transpose::default();
    let logits = product(
        rows,
        classes,
        inputs,
        plain,
        Epilogue::Bias,
        &x,
        &kernel,
        &[],
    );
    let params = Params {
        rows: rows as u32,
        classes: classes as u32,
        inputs: inputs as u32,
        kernel_at: kernel_at as u32,
        bias_at: bias_at as u32,
        ..Default::default()
    };
    let (dz, expected) = cpu::forward(&params, &logits, &labels, batch_rows);
    let t_a = Transpose { a: true, b: false };
    let dkernel = product(inputs, classes, rows, t_a, Epilogue::None, &x, &dz, &[]);
    let dbias: Vec<f32> = (0..classes)
        .map(|c| (0..rows).map(|r| dz[r * classes + c]).sum())
        .collect();
    let t_b = Transpose { a: false, b: true };
    let mask = dx == Some(true);
    let epilogue = if mask {
        Epilogue::ReluMask
    } else {
        Epilogue::None
    };
    let expected_dx = product(rows, inputs, classes, t_b, epilogue, &dz, &kernel, &x);

    let (x_buf, slab_buf) = (upload(&ctx, "x", &x), upload(&ctx, "slab", &slab));
    let labels_buf = upload(&ctx, "labels", &labels);
    let (logits_buf, grad) = (
        poisoned(&ctx, "logits", rows * classes),
        poisoned(&ctx, "dz", rows * classes),
    );
    let grads_buf = poisoned(&ctx, "grads", slab.len());
    let dx_buf = poisoned(&ctx, "dx", rows * inputs);
    let metrics = poisoned(&ctx, "metrics", 2);
    let dispatch = softmax_xent::encode_forward(
        &ctx,
        "test.head",
        params,
        Launch::TRAINING,
        softmax_xent::Io {
            logits: logits_buf.as_entire_buffer_binding(),
            labels: labels_buf.as_entire_buffer_binding(),
            grad: grad.as_entire_buffer_binding(),
            metrics: metrics.as_entire_buffer_binding(),
            head: Some(Head {
                x: x_buf.as_entire_buffer_binding(),
                weights: slab_buf.as_entire_buffer_binding(),
                weight_grads: grads_buf.as_entire_buffer_binding(),
                dx: dx.map(|_| dx_buf.as_entire_buffer_binding()),
                mask_input: mask,
            }),
        },
    )
    .expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            batch_rows: batch_rows as u32,
            ..Default::default()
        },
    );
    run(&ctx, &[dispatch], Some(&table));
    let what = format!("head rows {rows} ({batch_rows} real) {inputs} → {classes}, dx {dx:?}");
    let got_logits = read(&ctx, &logits_buf, rows * classes);
    assert_close(&format!("{what}: logits"), &got_logits, &logits, 1e-5, 1e-4);
    let got: Vec<Metrics> = read(&ctx, &metrics, 1);
    assert_close(
        &format!("{what}: loss"),
        &[got[0].loss_sum],
        &[expected.loss_sum],
        0.0,
        1e-4,
    );
    assert_eq!(got[0].correct, expected.correct, "{what}: correct count");
    let grads: Vec<f32> = read(&ctx, &grads_buf, slab.len());
    let got_dkernel = &grads[kernel_at..kernel_at + inputs * classes];
    assert_close(
        &format!("{what}: dkernel"),
        got_dkernel,
        &dkernel,
        1e-5,
        1e-4,
    );
    let got_dbias = &grads[bias_at..bias_at + classes];
    assert_close(&format!("{what}: dbias"), got_dbias, &dbias, 1e-5, 1e-4);
    assert!(
        grads[..kernel_at].iter().all(|g| g.is_nan()),
        "{what}: wrote before the kernel"
    );
    let got_dx: Vec<f32> = read(&ctx, &dx_buf, rows * inputs);
    match dx {
        Some(_) => assert_close(&format!("{what}: dx"), &got_dx, &expected_dx, 1e-5, 1e-4),
        None => assert!(got_dx.iter().all(|g| g.is_nan()), "{what}: wrote dx"),
    }
}

#[test]
fn the_classifier_head_matches_the_dense_layer_and_loss_on_the_cpu() {
    check_head(64, 64, 64, 10, Some(true)); // the lecture CNN's head, its ReLU fused
    check_head(37, 30, 13, 3, Some(false)); // padding rows, no mask
    check_head(300, 299, 129, 10, None); // more rows than threads, no input gradient
}
