//! `activation.forward` and `activation.backward_input` against the CPU reference for every
//! [`Function`], on odd lengths (1, 7, 1000, 100003, and one past 65,535 workgroups so the grid
//! is 2-D), with NaN-poisoned outputs and inputs that include exact zeros of both signs (the
//! kinks), large magnitudes (±30, ±90: where e^x overflows a naive sigmoid or softplus) and
//! the range [−6, 6]; then each function fused into the GEMM epilogues (`matmul.forward`, and
//! `matmul.sum_splits` after a split k), and whole networks whose activations the planner
//! fuses in inference against the same networks unfused and against the CPU network.
//!
//! Tolerances, `|gpu − cpu| ≤ atol + rtol·|cpu|`:
//! - linear, relu, leaky_relu: exact (a select, the identity or one multiply on both sides);
//! - the others: atol 1e-6, rtol 1e-5 (the device's exp, log and tanh are not Rust's: WGSL
//!   allows exp 3 + 2·|x| ulp, and lavapipe computes tanh from exp);
//! - fused into a GEMM: the GEMM's 1e-4 + 1e-4·|cpu| (its sum dominates).
//!
//! gelu against the erf form itself (erf from its f64 Taylor series): the CPU reference, with
//! Abramowitz and Stegun's erf, is within 1e-7·|x| + 2e-7 of it on [−6, 6].

mod common;

use common::*;
use gpu_cnn::data::dataset::Dataset;
use gpu_cnn::evaluate::Inference;
use gpu_cnn::layers::activation::{self, cpu, Function, NegativeSlope, Params};
use gpu_cnn::layers::matmul::{
    self, encode_plan, Epilogue, GemmPlan, Layout, MatmulOverrides, Operands, Tile, Transpose,
};
use gpu_cnn::model::network::{initial_values, Network};
use gpu_cnn::model::plan::{nodes, schedule, Fusion};
use gpu_cnn::model::reference::CpuNetwork;
use gpu_cnn::model::shape::{infer, Role};
use gpu_cnn::model::spec::{Activation, ModelSpec};
use rand::Rng;

fn binding(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// The elementwise tolerance (atol, rtol) of `function`, GPU against CPU.
fn tolerance(function: Function) -> (f32, f32) {
    match function {
        Function::Linear | Function::Relu | Function::LeakyRelu(_) => (0.0, 0.0),
        _ => (1e-6, 1e-5),
    }
}

/// `len` inputs: uniform in [−6, 6], with every fifth an exact zero (alternating signs) and
/// every seventh a large magnitude.
fn inputs(len: usize, seed: u64) -> Vec<f32> {
    let mut x = uniform(&mut rng(seed), len, -6.0, 6.0);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 5 == 0 {
            *v = if i % 2 == 0 { 0.0 } else { -0.0 };
        } else if i % 7 == 0 {
            *v = [30.0, -30.0, 90.0, -90.0][i % 4];
        }
    }
    x
}

/// Runs both passes of `function` over `len` values and compares them with the CPU.
fn check(function: Function, len: usize, seed: u64) {
    let ctx = context();
    let x = inputs(len, seed);
    let dy = uniform(&mut rng(seed + 1000), len, -1.0, 1.0);
    let params = Params::new(len);
    let (x_buf, dy_buf) = (upload(&ctx, "x", &x), upload(&ctx, "dy", &dy));
    let y = poisoned(&ctx, "y", len);
    let dx = poisoned(&ctx, "dx", len);
    let forward = activation::encode_forward(
        &ctx,
        "test.activation",
        function,
        params,
        activation::ForwardBuffers {
            x: binding(&x_buf),
            y: binding(&y),
        },
    )
    .expect("dispatch");
    let backward = activation::encode_backward_input(
        &ctx,
        "test.activation",
        function,
        params,
        activation::BackwardBuffers {
            x: binding(&x_buf),
            dy: binding(&dy_buf),
            dx: binding(&dx),
        },
    )
    .expect("dispatch");
    run(&ctx, &[forward, backward], None);
    let what = format!("activation {function:?} len {len}");
    let (atol, rtol) = tolerance(function);
    assert_close(
        &format!("{what}: forward"),
        &read(&ctx, &y, len),
        &cpu::forward(function, &x),
        atol,
        rtol,
    );
    assert_close(
        &format!("{what}: backward_input"),
        &read(&ctx, &dx, len),
        &cpu::backward_input(function, &x, &dy),
        atol,
        rtol,
    );
}

#[test]
fn activation_matches_cpu_for_every_function_on_odd_lengths() {
    for function in Function::ALL {
        for (seed, len) in [1usize, 7, 1000, 100_003].into_iter().enumerate() {
            check(function, len, seed as u64);
        }
    }
}

#[test]
fn leaky_relu_matches_cpu_with_a_slope_of_its_own() {
    check(Function::LeakyRelu(NegativeSlope::new(0.01)), 1001, 5);
}

#[test]
fn activation_covers_a_2d_grid_past_65535_workgroups() {
    check(Function::Relu, 65_535 * 256 + 300, 9);
    check(Function::Gelu, 65_535 * 256 + 300, 10);
}

#[test]
fn activation_codes_are_the_documented_override_values() {
    assert_eq!(Function::Linear.code(), 0);
    assert_eq!(Function::Relu.code(), 1);
    assert_eq!(Function::Silu.code(), 9);
    let codes: Vec<u32> = Function::ALL.iter().map(|f| f.code()).collect();
    assert_eq!(codes, (0..Function::ALL.len() as u32).collect::<Vec<_>>());
}

#[test]
fn relu_reference_is_max_with_zero_and_its_gradient_is_zero_at_the_kink() {
    let x = [-1.5, -0.0, 0.0, 2.5];
    assert_eq!(cpu::forward(Function::Relu, &x), vec![0.0, 0.0, 0.0, 2.5]);
    assert_eq!(
        cpu::backward_input(Function::Relu, &x, &[3.0; 4]),
        vec![0.0, 0.0, 0.0, 3.0]
    );
    assert_eq!(cpu::forward(Function::Linear, &x), x.to_vec());
    assert_eq!(
        cpu::backward_input(Function::Linear, &x, &[1.0, 2.0, 3.0, 4.0]),
        vec![1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn references_give_kerass_values() {
    // keras.activations.<name>(x) for x = -1, 0, 1, 2 (Keras 3, float32).
    let x = [-1.0, 0.0, 1.0, 2.0];
    let cases: [(Function, [f32; 4]); 8] = [
        (
            Function::Sigmoid,
            [0.268_941_4, 0.5, 0.731_058_6, 0.880_797_1],
        ),
        (
            Function::Tanh,
            [-0.761_594_2, 0.0, 0.761_594_2, 0.964_027_6],
        ),
        (Function::Elu, [-0.632_120_5, 0.0, 1.0, 2.0]),
        (Function::Selu, [-1.111_330_7, 0.0, 1.050_701, 2.101_402]),
        (Function::Gelu, [-0.158_655_26, 0.0, 0.841_344_7, 1.954_5]),
        (
            Function::LeakyRelu(NegativeSlope::KERAS),
            [-0.2, 0.0, 1.0, 2.0],
        ),
        (
            Function::Softplus,
            [0.313_261_7, std::f32::consts::LN_2, 1.313_261_7, 2.126_928],
        ),
        (
            Function::Silu,
            [-0.268_941_4, 0.0, 0.731_058_6, 1.761_594_2],
        ),
    ];
    for (function, expected) in cases {
        assert_close(
            &format!("{function:?}"),
            &cpu::forward(function, &x),
            &expected,
            2e-6,
            2e-6,
        );
    }
}

#[test]
fn sigmoid_softplus_and_silu_stay_finite_far_from_zero() {
    let x = [-200.0, -90.0, 90.0, 200.0];
    for function in [Function::Sigmoid, Function::Softplus, Function::Silu] {
        let y = cpu::forward(function, &x);
        let dx = cpu::backward_input(function, &x, &[1.0; 4]);
        assert!(
            y.iter().chain(&dx).all(|v| v.is_finite()),
            "{function:?}: {y:?} {dx:?}"
        );
    }
    assert_eq!(cpu::forward(Function::Softplus, &[200.0]), vec![200.0]);
}

/// erf(v) in f64 from its Taylor series (|v| ≤ 4.3: the terms stay below 1e7, so the sum
/// keeps 1e-9 of accuracy).
fn erf_series(v: f64) -> f64 {
    let (mut term, mut sum) = (v, v);
    for n in 1..200 {
        term *= -v * v / f64::from(n);
        sum += term / f64::from(2 * n + 1);
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn gelu_reference_is_within_its_stated_error_of_the_erf_form() {
    let x: Vec<f32> = (0..=1200).map(|i| -6.0 + i as f32 / 100.0).collect();
    let y = cpu::forward(Function::Gelu, &x);
    for (&v, &g) in x.iter().zip(&y) {
        let v64 = f64::from(v);
        let exact = 0.5 * v64 * (1.0 + erf_series(v64 / std::f64::consts::SQRT_2));
        let error = (f64::from(g) - exact).abs();
        assert!(
            error <= 1e-7 * v64.abs() + 2e-7,
            "gelu({v}) = {g}, erf form {exact}: error {error}"
        );
    }
}

/// An odd product `[m, k] · [k, n]` with `function` in its epilogue, whole and split over k
/// (the split's epilogue runs in `matmul.sum_splits`), against the reference GEMM.
#[test]
fn every_function_fused_into_the_gemm_epilogue_matches_cpu_whole_and_split() {
    let ctx = context();
    let (m, n, k) = (37, 29, 45);
    for (f, function) in Function::ALL.into_iter().enumerate() {
        let mut rng = rng(300 + f as u64);
        let a = uniform(&mut rng, m * k, -1.0, 1.0);
        let b = uniform(&mut rng, k * n, -1.0, 1.0);
        let bias = uniform(&mut rng, n, -1.0, 1.0);
        let epilogue = Epilogue::BiasActivation(function);
        let params = matmul::Params::new(m, n, k);
        let transpose = Transpose::default();
        let expected = matmul::cpu::forward(&params, transpose, epilogue, &a, &b, &bias, &[]);
        let (a_buf, b_buf, bias_buf) = (
            upload(&ctx, "a", &a),
            upload(&ctx, "b", &b),
            upload(&ctx, "bias", &bias),
        );
        let tile = Tile::ALL[f % Tile::ALL.len()];
        for k_chunk in [k as u32, 16] {
            let c = poisoned(&ctx, "c", m * n);
            let operands = Operands {
                a: binding(&a_buf),
                b: binding(&b_buf),
                bias: binding(&bias_buf),
                mask: binding(&bias_buf),
                c: binding(&c),
                column_sums: None,
                pooled: None,
            };
            let plan = GemmPlan::new(params.split_into(k_chunk), tile);
            let layout = Layout::Matrices(transpose);
            let launches = if plan.splits() == 1 {
                let overrides = MatmulOverrides {
                    layout,
                    epilogue,
                    tile,
                };
                vec![matmul::encode(&ctx, "test.gemm", params, overrides, operands).expect("gemm")]
            } else {
                encode_plan(&ctx, "test.gemm", &plan, layout, epilogue, operands).expect("gemm")
            };
            run(&ctx, &launches, None);
            assert_close(
                &format!("{function:?} in {} splits", plan.splits()),
                &read(&ctx, &c, m * n),
                &expected,
                1e-4,
                1e-4,
            );
        }
    }
}

/// A small CNN whose hidden activations are `conv` and `dense`, on 9 × 7 images.
fn small_cnn(conv: &str, dense: &str) -> ModelSpec {
    let text = format!(
        r#"
input = [9, 7, 1]
[[layers]]
type = "Conv2D"
filters = 5
kernel_size = [3, 2]
activation = "{conv}"
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 11
activation = "{dense}"
[[layers]]
type = "Dense"
units = 10
activation = "softmax"
"#
    );
    toml::from_str(&text).expect("model")
}

/// Random 9 × 7 images with random labels.
fn images(samples: usize, seed: u64) -> Dataset {
    let mut rng = rng(seed);
    Dataset {
        images: (0..samples * 63).map(|_| rng.random()).collect(),
        labels: (0..samples).map(|_| rng.random_range(0..10)).collect(),
        rows: 9,
        cols: 7,
    }
}

/// The model-file name of `function`.
fn name(function: Function) -> String {
    let activation = Activation::ALL
        .into_iter()
        .find(|a| a.function() == Some(function))
        .expect("every function has a name");
    activation.to_string()
}

/// The seed of the networks compared.
const SEED: u64 = 7;

/// The CPU twin of `network`, from the same initial values.
fn cpu_network(network: &Network) -> CpuNetwork {
    let layouts = network.layouts();
    let layers = &network.layers;
    let params = initial_values(layers, Role::Trainable, &layouts.params, SEED);
    let state = initial_values(layers, Role::State, &layouts.state, SEED);
    CpuNetwork::new(
        layers.clone(),
        (layouts.params, layouts.state),
        10,
        (params, state),
        SEED,
    )
}

#[test]
fn fused_and_plain_inference_agree_with_every_function_and_the_cpu_network() {
    let ctx = context();
    let data = images(13, 4);
    let pixels: Vec<f32> = data.images.iter().map(|&p| f32::from(p) / 255.0).collect();
    // Every function after the convolution and after the hidden Dense layer.
    let rotated = Function::ALL.iter().cycle().skip(3);
    for (&conv, &dense) in Function::ALL.iter().zip(rotated) {
        let spec = small_cnn(&name(conv), &name(dense));
        let predict = |fusion| {
            let mut network = Network::new(&ctx, spec.clone(), SEED).expect("network");
            network.fusion = fusion;
            let cpu = cpu_network(&network);
            let predictions = Inference::new(&ctx, network)
                .predict(&data)
                .expect("predict");
            (predictions.probabilities, cpu)
        };
        // The plan under test: in inference both activations fold into their GEMMs.
        let layers = infer(&spec).expect("shapes");
        let nodes = nodes(&layers, 13).expect("nodes");
        let steps = schedule(&nodes, false, Fusion::ALL);
        let folded: Vec<Function> = steps.iter().map(|step| step.activation).collect();
        for function in [conv, dense].into_iter().filter(|&f| f != Function::Linear) {
            assert!(folded.contains(&function), "{function:?} not in {folded:?}");
        }
        let (fused, cpu) = predict(Fusion::ALL);
        let (plain, _) = predict(Fusion::NONE);
        let what = format!("conv {conv:?}, dense {dense:?}");
        assert_close(
            &format!("{what}: fused vs plain"),
            &fused,
            &plain,
            1e-6,
            1e-5,
        );
        let outputs = cpu.forward(&pixels, data.len()).expect("cpu forward");
        let logits = &outputs[outputs.len() - 1];
        let expected: Vec<f32> = logits
            .chunks(10)
            .flat_map(|row| {
                let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = row.iter().map(|v| (v - top).exp()).collect();
                let sum: f32 = e.iter().sum();
                e.into_iter().map(move |v| v / sum)
            })
            .collect();
        assert_close(
            &format!("{what}: gpu vs cpu"),
            &fused,
            &expected,
            1e-5,
            1e-4,
        );
    }
}
