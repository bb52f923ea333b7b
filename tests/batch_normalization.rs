//! `batch_normalization.forward` (both modes) and `.backward` against the CPU reference on odd
//! shapes (rows 1/3/7/33, short last batches, positions 1, 5·5, 26·26, channels 1, 3, 32, 65),
//! NaN-poisoned outputs and junk in the padding rows of the inputs; the CPU backward against
//! central finite differences in f64; the normalised output's statistics.
//!
//! Tolerances (`|gpu − cpu| ≤ atol + rtol·|cpu|`; the reference sums in f64, the kernels in
//! f32 lane-strided + tree):
//! - training y: 1e-6 + 1e-5; saved mean 1e-6 + 1e-5, saved inv_std 0 + 1e-5;
//!   moving mean / variance 1e-7 + 1e-6
//! - inference y: 1e-6 + 1e-5
//! - dx: 1e-6 + 1e-4; dgamma, dbeta: 1e-4 + 1e-5 (sums of up to 4,732 terms of order 1)
//! - padding rows of y and dx: exactly 0; two runs: bit-identical
//! - finite differences (CPU only): |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric| (as
//!   tests/gradcheck.rs), eps 5e-3, objective Σ G ⊙ y summed in f64

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::batch_normalization::{
    self, cpu, BackwardBuffers, ForwardBuffers, Mode, Params, KERAS_EPSILON,
};
use rand::rngs::StdRng;

/// (atol, rtol) of the training output y.
const TOL_Y: (f32, f32) = (1e-6, 1e-5);
/// (atol, rtol) of the saved batch mean.
const TOL_MEAN: (f32, f32) = (1e-6, 1e-5);
/// (atol, rtol) of the saved inverse standard deviation.
const TOL_INV_STD: (f32, f32) = (0.0, 1e-5);
/// (atol, rtol) of the updated moving mean and variance.
const TOL_MOVING: (f32, f32) = (1e-7, 1e-6);
/// (atol, rtol) of the input gradient.
const TOL_DX: (f32, f32) = (1e-6, 1e-4);
/// (atol, rtol) of dgamma and dbeta, sums of up to 4,732 terms of order 1.
const TOL_SUMS: (f32, f32) = (1e-4, 1e-5);
/// (atol, rtol) of the inference output y.
const TOL_INFERENCE: (f32, f32) = (1e-6, 1e-5);

fn binding(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// One test shape: `x [rows, positions, channels]` of which `batch_rows` rows are real.
#[derive(Clone, Copy, Debug)]
struct Shape {
    rows: usize,
    batch_rows: usize,
    positions: usize,
    channels: usize,
}

const fn shape(rows: usize, batch_rows: usize, positions: usize, channels: usize) -> Shape {
    Shape {
        rows,
        batch_rows,
        positions,
        channels,
    }
}

const SHAPES: [Shape; 8] = [
    shape(1, 1, 1, 1),
    shape(3, 3, 25, 3),
    shape(3, 2, 25, 32),
    shape(7, 5, 676, 3),
    shape(7, 7, 676, 32),
    shape(33, 33, 1, 65),
    shape(33, 20, 25, 65),
    shape(33, 1, 1, 32),
];

/// Inputs of one case: real rows uniform in [-1, 2) times a per-channel spread; padding rows
/// of `x` and `dy` hold large junk that would show if it were used.
struct Data {
    x: Vec<f32>,
    dy: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    moving_mean: Vec<f32>,
    moving_variance: Vec<f32>,
}

impl Data {
    fn new(rng: &mut StdRng, s: Shape) -> Self {
        let real = s.batch_rows * s.positions * s.channels;
        let len = s.rows * s.positions * s.channels;
        let spread = uniform(rng, s.channels, 0.2, 3.0);
        let mut x = uniform(rng, len, -1.0, 2.0);
        for (i, v) in x.iter_mut().enumerate() {
            *v = if i < real {
                *v * spread[i % s.channels]
            } else {
                1e3 + *v
            };
        }
        let mut dy = uniform(rng, len, -1.0, 1.0);
        for v in &mut dy[real..] {
            *v = -7e2;
        }
        Self {
            x,
            dy,
            gamma: uniform(rng, s.channels, 0.5, 1.5),
            beta: uniform(rng, s.channels, -0.5, 0.5),
            moving_mean: uniform(rng, s.channels, -0.3, 0.3),
            moving_variance: uniform(rng, s.channels, 0.5, 1.5),
        }
    }
}

/// What the GPU wrote in one training step (forward then backward) or one inference forward.
struct Outputs {
    y: Vec<f32>,
    saved: Vec<f32>,
    moving_mean: Vec<f32>,
    moving_variance: Vec<f32>,
    dx: Vec<f32>,
    dgamma: Vec<f32>,
    dbeta: Vec<f32>,
}

/// Runs the forward in `mode` (and, when training, the backward in the same pass).
fn run_gpu(params: Params, batch_rows: usize, mode: Mode, d: &Data) -> Outputs {
    let ctx = context();
    let (len, channels) = (params.len(), params.channels as usize);
    let x = upload(&ctx, "x", &d.x);
    let dy = upload(&ctx, "dy", &d.dy);
    let gamma = upload(&ctx, "gamma", &d.gamma);
    let beta = upload(&ctx, "beta", &d.beta);
    let moving_mean = upload(&ctx, "moving_mean", &d.moving_mean);
    let moving_variance = upload(&ctx, "moving_variance", &d.moving_variance);
    let saved = poisoned(&ctx, "saved", 2 * channels);
    let y = poisoned(&ctx, "y", len);
    let dx = poisoned(&ctx, "dx", len);
    let gamma_grad = poisoned(&ctx, "gamma_grad", channels);
    let beta_grad = poisoned(&ctx, "beta_grad", channels);
    let mut dispatches = vec![batch_normalization::encode_forward(
        &ctx,
        "test.bn",
        mode,
        params,
        ForwardBuffers {
            x: binding(&x),
            gamma: binding(&gamma),
            beta: binding(&beta),
            moving_mean: binding(&moving_mean),
            moving_variance: binding(&moving_variance),
            saved: binding(&saved),
            y: binding(&y),
        },
    )
    .expect("dispatch")];
    if mode == Mode::Training {
        dispatches.push(
            batch_normalization::encode_backward(
                &ctx,
                "test.bn",
                params,
                BackwardBuffers {
                    x: binding(&x),
                    dy: binding(&dy),
                    gamma: binding(&gamma),
                    saved: binding(&saved),
                    dx: binding(&dx),
                    gamma_grad: binding(&gamma_grad),
                    beta_grad: binding(&beta_grad),
                },
            )
            .expect("dispatch"),
        );
    }
    let table = step_table(
        &ctx,
        StepParams {
            batch_rows: batch_rows as u32,
            ..Default::default()
        },
    );
    run(&ctx, &dispatches, Some(&table));
    Outputs {
        y: read(&ctx, &y, len),
        saved: read(&ctx, &saved, 2 * channels),
        moving_mean: read(&ctx, &moving_mean, channels),
        moving_variance: read(&ctx, &moving_variance, channels),
        dx: read(&ctx, &dx, len),
        dgamma: read(&ctx, &gamma_grad, channels),
        dbeta: read(&ctx, &beta_grad, channels),
    }
}

fn params_of(s: Shape, momentum: f32) -> Params {
    Params::new(s.rows, s.positions, s.channels, momentum, KERAS_EPSILON)
}

#[test]
fn batch_normalization_training_forward_and_backward_match_cpu() {
    for (seed, s) in SHAPES.into_iter().enumerate() {
        let momentum = if seed % 2 == 0 { 0.99 } else { 0.9 };
        let params = params_of(s, momentum);
        let d = Data::new(&mut rng(seed as u64), s);
        let got = run_gpu(params, s.batch_rows, Mode::Training, &d);

        let (mut mean, mut variance) = (d.moving_mean.clone(), d.moving_variance.clone());
        let (y, saved) = cpu::forward_training(
            &params,
            s.batch_rows,
            &d.x,
            &d.gamma,
            &d.beta,
            &mut mean,
            &mut variance,
        );
        let (dx, dgamma, dbeta) =
            cpu::backward(&params, s.batch_rows, &d.x, &d.dy, &d.gamma, &saved);

        let what = format!("batch_normalization {s:?} momentum {momentum}");
        let c = s.channels;
        let check = |name: &str, gpu: &[f32], cpu: &[f32], (atol, rtol): (f32, f32)| {
            assert_close(&format!("{what}: {name}"), gpu, cpu, atol, rtol)
        };
        check("y", &got.y, &y, TOL_Y);
        check("mean", &got.saved[..c], &saved[..c], TOL_MEAN);
        check("inv_std", &got.saved[c..], &saved[c..], TOL_INV_STD);
        check("moving_mean", &got.moving_mean, &mean, TOL_MOVING);
        check(
            "moving_variance",
            &got.moving_variance,
            &variance,
            TOL_MOVING,
        );
        check("dx", &got.dx, &dx, TOL_DX);
        check("dgamma", &got.dgamma, &dgamma, TOL_SUMS);
        check("dbeta", &got.dbeta, &dbeta, TOL_SUMS);
        let real = s.batch_rows * s.positions * s.channels;
        assert!(
            got.y[real..]
                .iter()
                .chain(&got.dx[real..])
                .all(|v| v.to_bits() == 0),
            "{what}: padding rows of y or dx are not exactly +0"
        );
    }
}

#[test]
fn batch_normalization_inference_forward_matches_cpu_and_writes_only_y() {
    for (seed, s) in SHAPES.into_iter().enumerate() {
        let params = params_of(s, 0.99);
        let d = Data::new(&mut rng(100 + seed as u64), s);
        let got = run_gpu(params, s.batch_rows, Mode::Inference, &d);
        let y = cpu::forward_inference(
            &params,
            &d.x,
            &d.gamma,
            &d.beta,
            &d.moving_mean,
            &d.moving_variance,
        );
        let what = format!("batch_normalization inference {s:?}");
        let (atol, rtol) = TOL_INFERENCE;
        assert_close(&format!("{what}: y"), &got.y, &y, atol, rtol);
        assert_eq!(
            got.moving_mean, d.moving_mean,
            "{what}: moving_mean changed"
        );
        assert_eq!(
            got.moving_variance, d.moving_variance,
            "{what}: moving_variance changed"
        );
        assert!(
            got.saved.iter().all(|v| v.is_nan()),
            "{what}: saved was written"
        );
    }
}

#[test]
fn batch_normalization_gpu_is_bit_identical_from_run_to_run() {
    let s = shape(7, 5, 676, 32);
    let params = params_of(s, 0.99);
    let d = Data::new(&mut rng(7), s);
    let a = run_gpu(params, s.batch_rows, Mode::Training, &d);
    let b = run_gpu(params, s.batch_rows, Mode::Training, &d);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for (what, a, b) in [
        ("y", &a.y, &b.y),
        ("saved", &a.saved, &b.saved),
        ("moving_variance", &a.moving_variance, &b.moving_variance),
        ("dx", &a.dx, &b.dx),
        ("dgamma", &a.dgamma, &b.dgamma),
        ("dbeta", &a.dbeta, &b.dbeta),
    ] {
        assert_eq!(bits(a), bits(b), "{what} differs between two runs");
    }
}

/// Over the real rows, each channel of the training output has mean beta and variance
/// gamma² · var / (var + epsilon) ≈ gamma² (the data's variance is ≥ 0.02, so within 5%; with
/// the exact factor within 1e-3).
#[test]
fn batch_normalization_training_output_has_mean_beta_and_variance_gamma_squared() {
    for (seed, s) in [shape(33, 20, 25, 65), shape(7, 5, 676, 3)]
        .into_iter()
        .enumerate()
    {
        let params = params_of(s, 0.99);
        let d = Data::new(&mut rng(200 + seed as u64), s);
        let got = run_gpu(params, s.batch_rows, Mode::Training, &d);
        let n = s.batch_rows * s.positions;
        for c in 0..s.channels {
            let column = |v: &[f32]| -> Vec<f64> {
                (0..n).map(|j| f64::from(v[j * s.channels + c])).collect()
            };
            let moments = |v: &[f64]| {
                let mean = v.iter().sum::<f64>() / n as f64;
                let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64;
                (mean, var)
            };
            let (y_mean, y_var) = moments(&column(&got.y));
            let (_, x_var) = moments(&column(&d.x));
            let (gamma, beta) = (f64::from(d.gamma[c]), f64::from(d.beta[c]));
            let exact = gamma * gamma * x_var / (x_var + f64::from(KERAS_EPSILON));
            let what = format!("{s:?} channel {c}");
            assert!(
                (y_mean - beta).abs() <= 1e-4,
                "{what}: mean {y_mean}, beta {beta}"
            );
            assert!(
                (y_var - exact).abs() <= 1e-3 * exact,
                "{what}: variance {y_var}, expected {exact}"
            );
            assert!(
                (y_var - gamma * gamma).abs() <= 0.05 * gamma * gamma,
                "{what}: variance {y_var}, gamma² {}",
                gamma * gamma
            );
        }
    }
}

#[test]
fn batch_normalization_moving_statistics_follow_keras_update() {
    // One channel, two real rows of a three-row batch: mean 2, biased variance 1.
    let params = Params::new(3, 1, 1, 0.9, KERAS_EPSILON);
    let (mut mean, mut variance) = (vec![0.5], vec![2.0]);
    let (y, saved) = cpu::forward_training(
        &params,
        2,
        &[1.0, 3.0, 99.0],
        &[2.0],
        &[0.25],
        &mut mean,
        &mut variance,
    );
    assert!(
        (mean[0] - (0.5 * 0.9 + 2.0 * 0.1)).abs() < 1e-6,
        "moving mean {mean:?}"
    );
    assert!(
        (variance[0] - (2.0 * 0.9 + 0.1)).abs() < 1e-6,
        "moving variance {variance:?}"
    );
    assert_eq!(saved[0], 2.0);
    assert!((saved[1] - 1.0 / (1.0 + KERAS_EPSILON).sqrt()).abs() < 1e-6);
    assert_eq!(y[2], 0.0, "padding row");
    assert!((y[0] - (0.25 - 2.0 * saved[1])).abs() < 1e-6);
}

// ---- finite differences of the CPU backward (f64, central) ----

/// Step of the central differences.
const EPS: f32 = 5e-3;

#[test]
fn batch_normalization_backward_matches_finite_differences() {
    for (seed, s) in [
        shape(4, 3, 2, 3),
        shape(2, 2, 5, 2),
        shape(3, 1, 7, 1),
        shape(5, 4, 1, 4),
    ]
    .into_iter()
    .enumerate()
    {
        let params = params_of(s, 0.9);
        let mut r = rng(300 + seed as u64);
        let d = Data::new(&mut r, s);
        // Weights of the objective Σ G ⊙ y, over every row (y is 0 on padding rows).
        let g = uniform(&mut r, params.len(), -1.0, 1.0);
        let objective = |x: &[f32], gamma: &[f32], beta: &[f32]| -> f64 {
            let (mut mm, mut mv) = (d.moving_mean.clone(), d.moving_variance.clone());
            let (y, _) =
                cpu::forward_training(&params, s.batch_rows, x, gamma, beta, &mut mm, &mut mv);
            g.iter()
                .zip(&y)
                .map(|(&g, &y)| f64::from(g) * f64::from(y))
                .sum()
        };
        let (mut mm, mut mv) = (d.moving_mean.clone(), d.moving_variance.clone());
        let (_, saved) = cpu::forward_training(
            &params,
            s.batch_rows,
            &d.x,
            &d.gamma,
            &d.beta,
            &mut mm,
            &mut mv,
        );
        let (dx, dgamma, dbeta) = cpu::backward(&params, s.batch_rows, &d.x, &g, &d.gamma, &saved);
        let what = format!("batch_normalization {s:?}");
        assert_gradient(
            &format!("{what} input"),
            &dx,
            &numeric_gradient(&d.x, EPS, |x| objective(x, &d.gamma, &d.beta)),
        );
        assert_gradient(
            &format!("{what} gamma"),
            &dgamma,
            &numeric_gradient(&d.gamma, EPS, |gm| objective(&d.x, gm, &d.beta)),
        );
        assert_gradient(
            &format!("{what} beta"),
            &dbeta,
            &numeric_gradient(&d.beta, EPS, |b| objective(&d.x, &d.gamma, b)),
        );
        assert!(
            dx[s.batch_rows * s.positions * s.channels..]
                .iter()
                .all(|&v| v == 0.0),
            "{what}: padding rows of dx"
        );
    }
}
