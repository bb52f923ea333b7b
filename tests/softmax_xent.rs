//! `softmax_xent.forward` against the reference: odd batch sizes and class counts, large
//! logits (overflow without the max shift), short batches with padding rows, and ties.
//!
//! Tolerances: gradient |gpu − cpu| ≤ 1e-6 + 1e-4·|cpu|; loss sum relative 1e-4; correct
//! count exact.

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::gather::NO_LABEL;
use gpu_cnn::layers::softmax_xent::{self, cpu, Launch, Metrics, Params};
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
