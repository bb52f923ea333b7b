//! Every CPU reference backward (the `cpu.rs` oracles) against central finite differences,
//! on the CPU only.
//!
//! ```text
//! numeric[i] = (L(v + eps·e_i) − L(v − eps·e_i)) / ((v_i + eps) − (v_i − eps))
//! ```
//! The references compute in f32; each objective `L` is summed in f64 over their f32 outputs
//! (the step in the denominator is the one that was really taken in f32), with inputs of order
//! 1 and `eps` = 1e-2 (linear objectives: no truncation error) or 5e-3 (softmax, whole
//! network). Tolerance, every entry:
//!
//! ```text
//! |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric|
//! ```
//! ReLU kinks: data is drawn (deterministically from the seed) so that no pre-activation lies
//! within twice the step of 0, so no difference straddles a kink; the tolerance is never
//! loosened for one. Every activation function's backward is checked alone (inputs at least
//! twice the step from 0, where relu, leaky_relu and selu have their kinks), and the network
//! with each smooth one (sigmoid, tanh, gelu, softplus, silu) in its hidden layer.

mod common;

use common::{assert_gradient, numeric_gradient};
use gpu_cnn::layers::activation::{self, Function, NegativeSlope};
use gpu_cnn::layers::bias;
use gpu_cnn::layers::dense::Dense;
use gpu_cnn::layers::dense::{self, DenseShape};
use gpu_cnn::layers::softmax_xent::{self, Metrics};
use gpu_cnn::model::network::{initial_values, slab_layout, state_layout};
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::reference::CpuNetwork;
use gpu_cnn::model::shape::infer;
use gpu_cnn::model::shape::Role;
use gpu_cnn::model::spec::{Activation, LayerSpec};
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Step for objectives linear in the perturbed values.
const EPS_LINEAR: f32 = 1e-2;
/// Step for the curved objectives (softmax, the whole network).
const EPS_CURVED: f32 = 5e-3;

/// Odd, asymmetric dense shapes, one of them a single row.
const DENSE_SHAPES: [DenseShape; 3] = [
    DenseShape {
        rows: 3,
        inputs: 5,
        units: 4,
    },
    DenseShape {
        rows: 7,
        inputs: 13,
        units: 11,
    },
    DenseShape {
        rows: 1,
        inputs: 13,
        units: 4,
    },
];

/// `len` values uniform in `[low, high)`.
fn uniform(rng: &mut StdRng, len: usize, low: f32, high: f32) -> Vec<f32> {
    let dist = Uniform::new(low, high).expect("valid range");
    (0..len).map(|_| dist.sample(rng)).collect()
}

/// `len` values uniform in `[-1, 1)` with `|v| ≥ 0.05`, so a step of `EPS_LINEAR` never
/// crosses 0.
fn uniform_away_from_zero(rng: &mut StdRng, len: usize) -> Vec<f32> {
    let dist = Uniform::new(-1.0f32, 1.0).expect("valid range");
    (0..len)
        .map(|_| loop {
            let v = dist.sample(rng);
            if v.abs() >= 0.05 {
                break v;
            }
        })
        .collect()
}

/// `Σ g ⊙ y`, summed in f64.
fn weighted_sum(g: &[f32], y: &[f32]) -> f64 {
    assert_eq!(g.len(), y.len(), "weight and output lengths differ");
    g.iter()
        .zip(y)
        .map(|(&g, &y)| f64::from(g) * f64::from(y))
        .sum()
}

/// `max(v, 0)` elementwise.
fn relu(values: &[f32]) -> Vec<f32> {
    values.iter().map(|&v| v.max(0.0)).collect()
}

/// Whether `values` holds both a positive and a negative value (both ReLU branches taken).
fn both_signs(values: &[f32]) -> bool {
    values.iter().any(|&v| v > 0.0) && values.iter().any(|&v| v < 0.0)
}

/// The smallest `|v|`.
fn min_abs(values: &[f32]) -> f32 {
    values.iter().fold(f32::INFINITY, |m, v| m.min(v.abs()))
}

/// Random `x [rows, inputs]`, `kernel [inputs, units]`, `bias [units]`, `G [rows, units]`.
struct DenseCase {
    x: Vec<f32>,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    g: Vec<f32>,
}

impl DenseCase {
    fn new(rng: &mut StdRng, shape: DenseShape) -> Self {
        Self {
            x: uniform(rng, shape.rows * shape.inputs, -1.0, 1.0),
            kernel: uniform(rng, shape.inputs * shape.units, -1.0, 1.0),
            bias: uniform(rng, shape.units, -1.0, 1.0),
            g: uniform(rng, shape.rows * shape.units, -1.0, 1.0),
        }
    }
}

#[test]
fn dense_backward_matches_finite_differences() {
    for (seed, shape) in DENSE_SHAPES.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(100 + seed as u64);
        let DenseCase { x, kernel, bias, g } = DenseCase::new(&mut rng, shape);
        let forward = |x: &[f32], kernel: &[f32], bias: &[f32]| {
            weighted_sum(
                &g,
                &dense::cpu::forward(shape, Function::Linear, x, kernel, bias),
            )
        };
        let grads = dense::cpu::backward(shape, false, &x, &kernel, &g);
        let what = format!("dense {shape:?}");
        assert_gradient(
            &format!("{what} input"),
            &grads.input,
            &numeric_gradient(&x, EPS_LINEAR, |x| forward(x, &kernel, &bias)),
        );
        assert_gradient(
            &format!("{what} kernel"),
            &grads.kernel,
            &numeric_gradient(&kernel, EPS_LINEAR, |k| forward(&x, k, &bias)),
        );
        assert_gradient(
            &format!("{what} bias"),
            &grads.bias,
            &numeric_gradient(&bias, EPS_LINEAR, |b| forward(&x, &kernel, b)),
        );
    }
}

/// `backward(mask_by_input = true)` is the gradient through the ReLU that produced `x`: FD over
/// the pre-activation `x_pre` of `Σ G ⊙ dense(relu(x_pre))`.
#[test]
fn dense_backward_input_relu_mask_matches_finite_differences_through_relu() {
    for (seed, shape) in DENSE_SHAPES.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(200 + seed as u64);
        let DenseCase {
            kernel, bias, g, ..
        } = DenseCase::new(&mut rng, shape);
        let x_pre = uniform_away_from_zero(&mut rng, shape.rows * shape.inputs);
        let x = relu(&x_pre);
        let objective = |x_pre: &[f32]| {
            weighted_sum(
                &g,
                &dense::cpu::forward(shape, Function::Linear, &relu(x_pre), &kernel, &bias),
            )
        };
        let masked = dense::cpu::backward(shape, true, &x, &kernel, &g);
        let what = format!("dense {shape:?} relu-masked input");
        assert_gradient(
            &what,
            &masked.input,
            &numeric_gradient(&x_pre, EPS_LINEAR, objective),
        );
        // The mask is exactly the unmasked gradient times (x > 0).
        let unmasked = dense::cpu::backward(shape, false, &x, &kernel, &g);
        let expected: Vec<f32> = unmasked
            .input
            .iter()
            .zip(&x)
            .map(|(&d, &x)| if x > 0.0 { d } else { 0.0 })
            .collect();
        assert_eq!(masked.input, expected, "{what}: not unmasked · (x > 0)");
        assert_eq!(
            masked.kernel, unmasked.kernel,
            "{what}: mask changed dkernel"
        );
        assert_eq!(masked.bias, unmasked.bias, "{what}: mask changed dbias");
    }
}

/// `forward(relu = true)`: the gradient of the pre-activation is `G ⊙ (y > 0)`, so backward
/// from it gives the FD gradients of `Σ G ⊙ relu(x · kernel + bias)`.
#[test]
fn dense_forward_relu_gradient_is_output_masked_backward() {
    for (seed, shape) in DENSE_SHAPES.into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(300 + seed as u64);
        // Perturbing one value moves a pre-activation by at most EPS_LINEAR (|x|, |kernel| ≤ 1):
        // redraw until every pre-activation is twice that far from the kink and both ReLU
        // branches occur.
        let DenseCase { x, kernel, bias, g } = loop {
            let case = DenseCase::new(&mut rng, shape);
            let z = dense::cpu::forward(shape, Function::Linear, &case.x, &case.kernel, &case.bias);
            if min_abs(&z) > 2.0 * EPS_LINEAR && both_signs(&z) {
                break case;
            }
        };
        let forward = |x: &[f32], kernel: &[f32], bias: &[f32]| {
            weighted_sum(
                &g,
                &dense::cpu::forward(shape, Function::Relu, x, kernel, bias),
            )
        };
        let y = dense::cpu::forward(shape, Function::Relu, &x, &kernel, &bias);
        // ReLU's backward: the pre-activation gradient is g where the output is positive.
        let dz: Vec<f32> = y
            .iter()
            .zip(&g)
            .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
            .collect();
        let grads = dense::cpu::backward(shape, false, &x, &kernel, &dz);
        let what = format!("dense {shape:?} relu forward");
        assert_gradient(
            &format!("{what} kernel"),
            &grads.kernel,
            &numeric_gradient(&kernel, EPS_LINEAR, |k| forward(&x, k, &bias)),
        );
        assert_gradient(
            &format!("{what} bias"),
            &grads.bias,
            &numeric_gradient(&bias, EPS_LINEAR, |b| forward(&x, &kernel, b)),
        );
        assert_gradient(
            &format!("{what} input"),
            &grads.input,
            &numeric_gradient(&x, EPS_LINEAR, |x| forward(x, &kernel, &bias)),
        );
    }
}

/// Index of the first of equal maxima.
fn first_argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (c, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = c;
        }
    }
    best
}

fn softmax_xent(
    rows: usize,
    classes: usize,
    logits: &[f32],
    labels: &[u32],
    batch_rows: usize,
) -> (Vec<f32>, Metrics) {
    let params = softmax_xent::Params {
        rows: rows as u32,
        classes: classes as u32,
        ..Default::default()
    };
    softmax_xent::cpu::forward(&params, logits, labels, batch_rows)
}

/// `grad = ∂(loss_sum / batch_rows)/∂logits`, zero on padding rows; `loss_sum` and `correct`
/// agree with a direct f64 computation and a direct argmax over the real rows only.
#[test]
fn softmax_xent_gradient_matches_finite_differences_and_skips_padding_rows() {
    let (rows, batch_rows) = (7, 5);
    for (seed, classes) in [10usize, 3].into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(400 + seed as u64);
        let logits = uniform(&mut rng, rows * classes, -2.0, 2.0);
        // Half the real rows labelled with their argmax so `correct` is not trivially 0;
        // padding rows too, so counting one would show.
        let labels: Vec<u32> = (0..rows)
            .map(|r| {
                if r.is_multiple_of(2) || r >= batch_rows {
                    first_argmax(&logits[r * classes..(r + 1) * classes]) as u32
                } else {
                    rng.random_range(0..classes as u32)
                }
            })
            .collect();
        let (grad, metrics) = softmax_xent(rows, classes, &logits, &labels, batch_rows);
        let what = format!("softmax_xent rows {rows} batch_rows {batch_rows} classes {classes}");

        let numeric = numeric_gradient(&logits, EPS_CURVED, |z| {
            let (_, m) = softmax_xent(rows, classes, z, &labels, batch_rows);
            f64::from(m.loss_sum) / batch_rows as f64
        });
        assert_gradient(&what, &grad, &numeric);
        assert!(
            grad[batch_rows * classes..].iter().all(|&g| g == 0.0),
            "{what}: padding rows have a nonzero gradient"
        );

        let mut loss = 0.0f64;
        let mut correct = 0;
        for r in 0..batch_rows {
            let z: Vec<f64> = logits[r * classes..(r + 1) * classes]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let label = labels[r] as usize;
            loss += z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[label];
            correct += u32::from(first_argmax(&logits[r * classes..(r + 1) * classes]) == label);
        }
        assert!(
            (f64::from(metrics.loss_sum) - loss).abs() <= 1e-5 * loss.abs(),
            "{what}: loss_sum {} but Σ logsumexp − z[label] = {loss}",
            metrics.loss_sum
        );
        assert_eq!(metrics.correct, correct, "{what}: correct count");
        assert!(correct >= 3, "{what}: the case must have correct rows");
    }
}

/// Ties go to the first maximum (numpy's argmax); a padding row never counts.
#[test]
fn softmax_xent_correct_counts_first_of_equal_maxima_and_skips_padding() {
    #[rustfmt::skip]
    let logits = [
        2.0, 2.0, 1.0, // label 0: first of the tie → correct
        2.0, 2.0, 1.0, // label 1: second of the tie → wrong
        0.0, 5.0, 5.0, // label 1: first of the tie → correct
        9.0, 0.0, 0.0, // padding row, label 0 = its argmax → must not count
    ];
    let labels = [0, 1, 1, 0];
    let (grad, metrics) = softmax_xent(4, 3, &logits, &labels, 3);
    assert_eq!(metrics.correct, 2);
    assert_eq!(&grad[9..], &[0.0; 3], "padding row gradient");
}

#[test]
fn bias_backward_matches_finite_differences() {
    for (seed, (rows, cols)) in [(7usize, 13usize), (3, 4), (1, 11)].into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(500 + seed as u64);
        let g = uniform(&mut rng, rows * cols, -1.0, 1.0);
        let b = uniform(&mut rng, cols, -1.0, 1.0);
        // Σ_r Σ_c G[r, c] · b[c]: the bias broadcast over rows, weighted by G.
        let objective = |b: &[f32]| -> f64 {
            (0..rows)
                .map(|r| weighted_sum(&g[r * cols..(r + 1) * cols], b))
                .sum()
        };
        let params = bias::Params {
            rows: rows as u32,
            cols: cols as u32,
            ..Default::default()
        };
        assert_gradient(
            &format!("bias rows {rows} cols {cols}"),
            &bias::cpu::backward(&params, &g),
            &numeric_gradient(&b, EPS_LINEAR, objective),
        );
    }
}

/// The whole reference network (Flatten → Dense(6, relu) → Dense(10, softmax) on 5×3×1
/// inputs): every entry of every parameter's gradient against FD of `loss_sum / batch_rows`,
/// with a full batch and with a padding row.
#[test]
fn cpu_network_gradients_match_finite_differences() {
    const CLASSES: usize = 10;
    let rows = 4;
    for (seed, batch_rows) in [(7u64, 4usize), (8, 3)] {
        let mut spec = preset("dense").expect("dense preset");
        spec.input = [5, 3, 1];
        spec.layers[1] = LayerSpec::Dense(Dense {
            units: 6,
            activation: Activation::Relu,
        });
        let layers = infer(&spec).expect("small dense model");
        let layout = slab_layout(&layers, 1);
        let (hidden_kernel, hidden_bias) = (&layout.tensors[0], &layout.tensors[1]);
        assert_eq!(hidden_kernel.shape, [15, 6], "hidden kernel slot");
        let hidden = DenseShape {
            rows,
            inputs: 15,
            units: 6,
        };

        // Draw initial values and a batch until (a) no hidden pre-activation of a real row lies
        // within 2·EPS_CURVED of the kink (one perturbed hidden-layer value moves it by at most
        // EPS_CURVED, the batch being in [0, 1)), (b) every hidden unit is active on some real
        // row (every hidden weight gets a gradient) and (c) one is inactive somewhere (the
        // ReLU mask is exercised).
        let mut rng = StdRng::seed_from_u64(seed);
        let (params, batch) = (0..1000)
            .map(|_| {
                let params = initial_values(&layers, Role::Trainable, &layout, rng.random());
                let batch = uniform(&mut rng, rows * 15, 0.0, 1.0);
                (params, batch)
            })
            .find(|(params, batch)| {
                let z = dense::cpu::forward(
                    hidden,
                    Function::Linear,
                    batch,
                    &params[hidden_kernel.offset..][..hidden_kernel.len],
                    &params[hidden_bias.offset..][..hidden_bias.len],
                );
                let real = &z[..batch_rows * hidden.units];
                let unit_active =
                    |u: usize| (0..batch_rows).any(|r| real[r * hidden.units + u] > 0.0);
                min_abs(real) > 2.0 * EPS_CURVED
                    && (0..hidden.units).all(unit_active)
                    && real.iter().any(|&v| v < 0.0)
            })
            .expect("a case away from the ReLU kinks within 1000 draws");
        let labels: Vec<u32> = (0..rows)
            .map(|_| rng.random_range(0..CLASSES as u32))
            .collect();

        let layouts = (layout.clone(), state_layout(&layers, 1));
        let values = (params.clone(), Vec::new());
        let mut net = CpuNetwork::new(layers, layouts, CLASSES, values, seed);
        let (_, grads) = net
            .gradients(&batch, &labels, rows, batch_rows)
            .expect("gradients");
        assert_eq!(grads.len(), layout.total, "gradient slab length");
        let numeric = numeric_gradient(&params, EPS_CURVED, |p| {
            net.params.copy_from_slice(p);
            let (metrics, _) = net
                .gradients(&batch, &labels, rows, batch_rows)
                .expect("gradients");
            f64::from(metrics.loss_sum) / batch_rows as f64
        });
        for tensor in &layout.tensors {
            let range = tensor.offset..tensor.offset + tensor.len;
            assert_gradient(
                &format!("network batch_rows {batch_rows}/{rows}: {}", tensor.name),
                &grads[range.clone()],
                &numeric[range],
            );
        }
    }
}

/// Every activation's backward against central differences of `Σ G ⊙ f(x)`, on 41 inputs in
/// [−4, 4] at least twice the step from 0 (where relu, leaky_relu and selu have kinks in f or
/// f'), with a leaky ReLU of Keras's slope and of another.
#[test]
fn activation_backward_matches_finite_differences_for_every_function() {
    let functions = Function::ALL
        .into_iter()
        .chain([Function::LeakyRelu(NegativeSlope::new(0.01))]);
    for (seed, function) in functions.enumerate() {
        let mut rng = StdRng::seed_from_u64(900 + seed as u64);
        let x: Vec<f32> = uniform(&mut rng, 41, -4.0, 4.0)
            .into_iter()
            .map(|v| {
                if v.abs() < 2.0 * EPS_CURVED {
                    v + 0.1
                } else {
                    v
                }
            })
            .collect();
        let g = uniform(&mut rng, x.len(), -1.0, 1.0);
        let analytic = activation::cpu::backward_input(function, &x, &g);
        let numeric = numeric_gradient(&x, EPS_CURVED, |x| {
            weighted_sum(&g, &activation::cpu::forward(function, x))
        });
        assert_gradient(&format!("{function:?} backward_input"), &analytic, &numeric);
    }
}

/// The reference network with a smooth hidden activation (Flatten → Dense(6, f) →
/// Dense(10, softmax) on 5×3×1 inputs): every parameter's gradient against FD of
/// `loss_sum / batch_rows`. Smooth functions have no kinks to keep the data away from.
#[test]
fn cpu_network_gradients_match_finite_differences_with_smooth_activations() {
    const CLASSES: usize = 10;
    let (rows, batch_rows) = (4, 3);
    let smooth = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Softplus,
        Activation::Silu,
    ];
    for (seed, activation) in smooth.into_iter().enumerate() {
        let mut spec = preset("dense").expect("dense preset");
        spec.input = [5, 3, 1];
        spec.layers[1] = LayerSpec::Dense(Dense {
            units: 6,
            activation,
        });
        let layers = infer(&spec).expect("small dense model");
        let layout = slab_layout(&layers, 1);
        let mut rng = StdRng::seed_from_u64(40 + seed as u64);
        let params = initial_values(&layers, Role::Trainable, &layout, rng.random());
        let batch = uniform(&mut rng, rows * 15, 0.0, 1.0);
        let labels: Vec<u32> = (0..rows)
            .map(|_| rng.random_range(0..CLASSES as u32))
            .collect();
        let layouts = (layout.clone(), state_layout(&layers, 1));
        let values = (params.clone(), Vec::new());
        let mut net = CpuNetwork::new(layers, layouts, CLASSES, values, 1);
        let (_, grads) = net
            .gradients(&batch, &labels, rows, batch_rows)
            .expect("gradients");
        let numeric = numeric_gradient(&params, EPS_CURVED, |p| {
            net.params.copy_from_slice(p);
            let (metrics, _) = net
                .gradients(&batch, &labels, rows, batch_rows)
                .expect("gradients");
            f64::from(metrics.loss_sum) / batch_rows as f64
        });
        assert_gradient(&format!("network with {activation}"), &grads, &numeric);
    }
}
