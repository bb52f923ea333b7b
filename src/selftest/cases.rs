//! The case list: every kernel, in the variants that matter, on small odd shapes. Tolerances
//! are those of the kernel tests (`tests/<op>.rs`), where the reasons are given.

use std::rc::Rc;

use super::check::Case;
use super::compare::Tolerance;
use super::direct;
use super::layers::{self, LayerCase};
use crate::layers::activation::{Activation, ActivationLayer, Function};
use crate::layers::batch_normalization::BatchNormalization;
use crate::layers::conv2d::Conv2D;
use crate::layers::dense::Dense;
use crate::layers::dropout::Dropout;
use crate::layers::layer::Layer;
use crate::layers::matmul::{Epilogue, Tile, Transpose};
use crate::layers::pool2d::{AveragePooling2D, MaxPooling2D, Window};
use crate::layers::shape::{Padding, Shape, Size2};
use crate::optim::{AdamConfig, AdamWConfig, OptimizerConfig, RmspropConfig, SgdConfig};

/// GEMMs: fma in tiles against plain sums of values in [−1, 1].
const GEMM: Tolerance = Tolerance::new(5e-4, 1e-4);
/// Elementwise functions with exp, log or tanh (the device's are not Rust's).
const ELEMENTWISE: Tolerance = Tolerance::new(1e-6, 1e-5);
/// The activations fused into the dense layer's GEMM: none, a select, and two of exp and tanh.
const FUSED: [Activation; 4] = [
    Activation::Linear,
    Activation::Relu,
    Activation::Sigmoid,
    Activation::Tanh,
];
/// No activation fused.
const LINEAR: Function = Function::Linear;
/// BatchNormalization's sums over the batch (dgamma, dbeta over up to 7·20 terms).
const BATCH_SUMS: Tolerance = Tolerance::new(1e-4, 1e-4);

/// Every check of the selftest, in kernel order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(gemms());
    cases.extend(kernel_layers());
    cases.extend(pooling());
    cases.extend(activations());
    cases.extend(normalisation_and_dropout());
    cases.push(direct::gather(40, 13, 9, 33, 81));
    cases.push(direct::softmax(7, 10, 3, 8.0, 82));
    cases.push(direct::softmax_xent(9, 7, 10, 83));
    cases.extend(optimizers());
    cases
}

/// `matmul.forward` in every transpose and every epilogue, and split over k
/// (`matmul.sum_splits`, or `bias.backward` summing the partials of a plain product).
///
/// Each variant is a pipeline of its own, and a first compile of one takes a minute on GL
/// llvmpipe (against 0.2 s on lavapipe's Vulkan): so every transpose with the plain epilogue,
/// every epilogue untransposed, not every pair; the tile shapes vary between them.
fn gemms() -> Vec<Case> {
    let transposes = [(false, false), (true, false), (false, true), (true, true)]
        .map(|(a, b)| Transpose { a, b });
    let epilogues = [
        Epilogue::Bias,
        Epilogue::BiasActivation(Function::Tanh),
        Epilogue::ReluMask,
    ];
    let plain = Transpose::default();
    let mut cases: Vec<Case> = transposes
        .iter()
        .enumerate()
        .map(|(t, &transpose)| {
            let (tile, seed) = (Tile::ALL[(4 * t) % Tile::ALL.len()], t as u64);
            direct::matmul((7, 13, 37), transpose, Epilogue::None, tile, None, seed)
        })
        .collect();
    for (e, &epilogue) in epilogues.iter().enumerate() {
        let (tile, seed) = (Tile::ALL[e + 1], 10 + e as u64);
        cases.push(direct::matmul(
            (7, 13, 37),
            plain,
            epilogue,
            tile,
            None,
            seed,
        ));
    }
    let split = [
        (transposes[0], Epilogue::None),
        (transposes[1], Epilogue::Bias),
    ];
    for (s, (transpose, epilogue)) in split.into_iter().enumerate() {
        let (tile, seed) = (Tile::default(), 50 + s as u64);
        cases.push(direct::matmul(
            (9, 11, 101),
            transpose,
            epilogue,
            tile,
            Some(32),
            seed,
        ));
    }
    cases
}

fn case(layer: impl Layer + 'static, input: Shape, rows: usize) -> LayerCase {
    LayerCase {
        layer: Rc::new(layer),
        input,
        rows,
    }
}

fn image(h: usize, w: usize, c: usize) -> Shape {
    Shape::Image { h, w, c }
}

fn size(h: usize, w: usize) -> Size2 {
    Size2 { h, w }
}

/// Dense and Conv2D as the network runs them: forward GEMMs with each activation fused,
/// backward GEMMs (input gradient by columns and col2im, or implicit) and the bias gradient.
fn kernel_layers() -> Vec<Case> {
    let dense = Dense {
        units: 5,
        activation: Activation::Linear,
    };
    let conv = |filters, kernel, strides, padding| Conv2D {
        filters,
        kernel_size: kernel,
        strides,
        padding,
        activation: Activation::Linear,
    };
    let (one, two) = (size(1, 1), size(2, 2));
    let layers = [
        // Fused activations of each kind on one (every function alone: `activations`); the
        // plain and the ReLU epilogue on the others.
        ("dense 7x13→5", case(dense, Shape::Flat(13), 7), &FUSED[..]),
        (
            "conv2d 3x[7,5,2] k3x2 valid",
            case(conv(3, size(3, 2), one, Padding::Valid), image(7, 5, 2), 3),
            &[Activation::Linear, Activation::Relu],
        ),
        (
            "conv2d 3x[9,8,3] k3x3 stride 2",
            case(conv(5, size(3, 3), two, Padding::Valid), image(9, 8, 3), 3),
            &[Activation::Linear, Activation::Relu],
        ),
        (
            "conv2d 3x[5,6,3] k3x3 same",
            case(conv(4, size(3, 3), one, Padding::Same), image(5, 6, 3), 3),
            &[Activation::Linear, Activation::Relu],
        ),
    ];
    let mut cases = Vec::new();
    for (l, (name, layer, fused)) in layers.into_iter().enumerate() {
        let seed = 100 + 20 * l as u64;
        let fused = functions().filter(|(activation, _)| fused.contains(activation));
        for (s, (activation, function)) in fused.enumerate() {
            let what = format!("{name} forward +{activation}");
            let seed = seed + s as u64;
            cases.push(layers::forward(what, layer.clone(), function, GEMM, seed));
        }
        let what = format!("{name} backward");
        cases.push(layers::backward(what, layer, GEMM, seed + 19));
    }
    cases
}

/// Max and average pooling with an asymmetric window and strides, forward and backward.
fn pooling() -> Vec<Case> {
    let window = Window {
        pool_size: size(3, 2),
        strides: Some(size(2, 3)),
    };
    let input = image(7, 9, 3);
    let average = Tolerance::new(1e-6, 1e-5);
    let pools = [
        (
            "max",
            case(MaxPooling2D(window.clone()), input, 3),
            Tolerance::EXACT,
        ),
        ("average", case(AveragePooling2D(window), input, 3), average),
    ];
    let mut cases = Vec::new();
    for (seed, (kind, layer, tolerance)) in pools.into_iter().enumerate() {
        let seed = 200 + 10 * seed as u64;
        let what = format!("{kind} pool 3x[7,9,3] 3x2 stride 2x3");
        let (forward, backward) = (format!("{what} forward"), format!("{what} backward"));
        cases.push(layers::forward(
            forward,
            layer.clone(),
            LINEAR,
            tolerance,
            seed,
        ));
        cases.push(layers::backward(backward, layer, average, seed + 1));
    }
    cases
}

/// Every elementwise activation, by its model-file name, and its kernel function.
fn functions() -> impl Iterator<Item = (Activation, Function)> {
    Activation::ALL
        .into_iter()
        .filter_map(|activation| activation.function().map(|f| (activation, f)))
}

/// Every activation function as a layer, forward and backward.
fn activations() -> Vec<Case> {
    let mut cases = Vec::new();
    for (seed, (activation, _)) in functions().enumerate() {
        let layer = case(ActivationLayer { activation }, image(5, 7, 3), 11);
        let seed = 300 + 10 * seed as u64;
        let what = format!("{activation} 11x[5,7,3]");
        let (forward, backward) = (format!("{what} forward"), format!("{what} backward"));
        cases.push(layers::forward(
            forward,
            layer.clone(),
            LINEAR,
            ELEMENTWISE,
            seed,
        ));
        cases.push(layers::backward(backward, layer, ELEMENTWISE, seed + 1));
    }
    cases
}

/// BatchNormalization in training (batch statistics, moving statistics updated) and inference,
/// and its backward; Dropout in training, forward and backward.
fn normalisation_and_dropout() -> Vec<Case> {
    let bn = case(BatchNormalization::default(), image(4, 5, 3), 7);
    let dropout = case(Dropout { rate: 0.3 }, Shape::Flat(101), 9);
    let exact = Tolerance::EXACT;
    vec![
        layers::forward(
            "batch norm 7x[4,5,3] training".into(),
            bn.clone(),
            LINEAR,
            ELEMENTWISE,
            400,
        ),
        layers::inference(
            "batch norm 7x[4,5,3] inference".into(),
            bn.clone(),
            ELEMENTWISE,
            401,
        ),
        layers::backward("batch norm 7x[4,5,3] backward".into(), bn, BATCH_SUMS, 402),
        layers::forward(
            "dropout 0.3 9x101 forward".into(),
            dropout.clone(),
            LINEAR,
            exact,
            410,
        ),
        layers::backward("dropout 0.3 9x101 backward".into(), dropout, exact, 411),
    ]
}

/// Each optimizer, in its variants (momentum, Nesterov, decoupled decay).
fn optimizers() -> Vec<Case> {
    let sgd = |momentum, nesterov| {
        OptimizerConfig::Sgd(SgdConfig {
            momentum,
            nesterov,
            ..SgdConfig::default()
        })
    };
    let variants = [
        ("adam", OptimizerConfig::Adam(AdamConfig::default())),
        (
            "adamw weight decay 0.3",
            OptimizerConfig::Adamw(AdamWConfig {
                weight_decay: 0.3,
                ..AdamWConfig::default()
            }),
        ),
        ("sgd", sgd(0.0, false)),
        ("sgd momentum 0.9 nesterov", sgd(0.9, true)),
        (
            "rmsprop momentum 0.5",
            OptimizerConfig::Rmsprop(RmspropConfig {
                momentum: 0.5,
                ..RmspropConfig::default()
            }),
        ),
    ];
    variants
        .into_iter()
        .enumerate()
        .map(|(seed, (what, config))| direct::optimizer(what, config, 257, 3, 500 + seed as u64))
        .collect()
}
