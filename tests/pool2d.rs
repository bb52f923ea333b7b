//! pool2d (max and average) forward and backward_input against the CPU reference on odd
//! shapes: H ≠ W, odd sizes that floor, pool ≠ stride (overlapping and gapped windows),
//! asymmetric windows, ReLU-style inputs with ties at zero, with and without the ReLU mask;
//! disjoint windows take the per-window backward path, overlapping ones the per-input path.
//!
//! Tolerance: forward max exact; average and gradients |gpu − cpu| ≤ 1e-6 + 1e-5·|cpu|.

mod common;

use common::*;
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::pool2d::{cpu, Params, PoolOp};
use gpu_cnn::model::spec::{PoolKind, Size2};

/// (batch, [h, w, c], pool, strides)
type Case = (usize, [usize; 3], Size2, Size2);

fn cases() -> Vec<Case> {
    let s = |h, w| Size2 { h, w };
    vec![
        (3, [26, 26, 5], s(2, 2), s(2, 2)),
        (2, [11, 11, 64], s(2, 2), s(2, 2)),
        (1, [7, 9, 3], s(3, 2), s(2, 3)),
        (5, [6, 5, 2], s(3, 3), s(1, 1)),
        (2, [9, 8, 1], s(2, 3), s(3, 2)),
        (7, [3, 3, 300], s(2, 2), s(2, 2)),
        // Gapped windows and a tail after the last: the per-window path writes both.
        (2, [10, 9, 3], s(2, 2), s(3, 3)),
    ]
}

#[test]
fn pool2d_matches_cpu_forward_and_backward_for_max_and_average() {
    let ctx = context();
    for (seed, &(batch, input, pool, strides)) in cases().iter().enumerate() {
        let params = Params::new(batch, input, pool, strides).expect("non-empty output");
        for kind in [PoolKind::Max, PoolKind::Average] {
            for mask in [false, true] {
                let mut rng = rng(seed as u64);
                // A ReLU output: many exact zeros, so max windows have ties.
                let x: Vec<f32> = uniform(&mut rng, params.input_len(), -1.0, 1.0)
                    .into_iter()
                    .map(|v| v.max(0.0))
                    .collect();
                let dy = uniform(&mut rng, params.output_len(), -1.0, 1.0);
                let expected_y = cpu::forward(&params, kind, &x);
                let expected_dx = cpu::backward_input(&params, kind, mask, &x, &dy);
                let op = PoolOp { kind, params };
                let none = Uploaded::new(&ctx, &[]);
                let y = op_forward(&ctx, &op, &x, &none, params.output_len(), Function::Linear);
                let (dx, _) = op_backward(&ctx, &op, &x, &dy, &none, &[], mask);
                let what =
                    format!("pool2d {kind:?} {input:?} pool {pool} strides {strides} mask {mask}");
                let tol = if kind == PoolKind::Max { 0.0 } else { 1e-6 };
                assert_close(
                    &format!("{what}: forward"),
                    &y,
                    &expected_y,
                    tol,
                    tol * 10.0,
                );
                assert_close(&format!("{what}: backward"), &dx, &expected_dx, 1e-6, 1e-5);
            }
        }
    }
}

#[test]
fn max_pool_gradient_goes_to_the_first_maximum_only() {
    let params = Params::new(1, [2, 2, 1], Size2::square(2), Size2::square(2)).unwrap();
    let dx = cpu::backward_input(&params, PoolKind::Max, false, &[0.5, 0.9, 0.9, 0.1], &[2.0]);
    assert_eq!(dx, vec![0.0, 2.0, 0.0, 0.0]);
    let dx = cpu::backward_input(
        &params,
        PoolKind::Average,
        false,
        &[0.5, 0.9, 0.9, 0.1],
        &[2.0],
    );
    assert_eq!(dx, vec![0.5; 4]);
}
