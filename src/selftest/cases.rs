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

/// `matmul.forward` in every transpose and epilogue, and split over k (`matmul.sum_splits`).
fn gemms() -> Vec<Case> {
    let transposes = [(false, false), (true, false), (false, true), (true, true)]
        .map(|(a, b)| Transpose { a, b });
    let epilogues = [
        Epilogue::None,
        Epilogue::Bias,
        Epilogue::BiasActivation(Function::Tanh),
        Epilogue::ReluMask,
    ];
    let mut cases = Vec::new();
    for (t, &transpose) in transposes.iter().enumerate() {
        for (e, &epilogue) in epilogues.iter().enumerate() {
            let tile = Tile::ALL[(t * epilogues.len() + e) % Tile::ALL.len()];
            let seed = (t * 10 + e) as u64;
            cases.push(direct::matmul(
                (7, 13, 37),
                transpose,
                epilogue,
                tile,
                None,
                seed,
            ));
        }
    }
    for (e, &epilogue) in epilogues.iter().enumerate() {
        let transpose = transposes[e];
        let seed = 50 + e as u64;
        let tile = Tile::default();
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
    let dense = case(
        Dense {
            units: 5,
            activation: Activation::Linear,
        },
        Shape::Flat(13),
        7,
    );
    let conv = |input, filters, kernel, strides, padding| {
        let layer = Conv2D {
            filters,
            kernel_size: kernel,
            strides,
            padding,
            activation: Activation::Linear,
        };
        case(layer, input, 3)
    };
    let convs = [
        (
            "conv2d 3x[7,5,2] 3x2 kernel, valid",
            conv(image(7, 5, 2), 3, size(3, 2), size(1, 1), Padding::Valid),
        ),
        (
            "conv2d 3x[9,8,3] 3x3 kernel, stride 2",
            conv(image(9, 8, 3), 5, size(3, 3), size(2, 2), Padding::Valid),
        ),
        (
            "conv2d 3x[5,6,3] 3x3 kernel, same",
            conv(image(5, 6, 3), 4, size(3, 3), size(1, 1), Padding::Same),
        ),
    ];
    let mut cases = Vec::new();
    for (seed, function) in Function::ALL.into_iter().enumerate() {
        let what = format!("dense 7x13→5 forward, {function:?} fused");
        cases.push(layers::forward(
            what,
            dense.clone(),
            function,
            true,
            GEMM,
            100 + seed as u64,
        ));
    }
    cases.push(layers::backward(
        "dense 7x13→5 backward".into(),
        dense,
        GEMM,
        120,
    ));
    for (seed, (name, layer)) in convs.into_iter().enumerate() {
        let seed = 130 + 10 * seed as u64;
        for (s, function) in [Function::Linear, Function::Relu].into_iter().enumerate() {
            let what = format!("{name} forward, {function:?} fused");
            cases.push(layers::forward(
                what,
                layer.clone(),
                function,
                true,
                GEMM,
                seed + s as u64,
            ));
        }
        cases.push(layers::backward(
            format!("{name} backward"),
            layer,
            GEMM,
            seed + 5,
        ));
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
    let pools = [
        (
            "max",
            case(MaxPooling2D(window.clone()), input, 3),
            Tolerance::EXACT,
        ),
        (
            "average",
            case(AveragePooling2D(window), input, 3),
            Tolerance::new(1e-6, 1e-5),
        ),
    ];
    let mut cases = Vec::new();
    for (seed, (kind, layer, tolerance)) in pools.into_iter().enumerate() {
        let seed = 200 + 10 * seed as u64;
        let what = format!("{kind} pool 3x[7,9,3] 3x2 window, strides 2x3");
        let linear = Function::Linear;
        cases.push(layers::forward(
            format!("{what} forward"),
            layer.clone(),
            linear,
            true,
            tolerance,
            seed,
        ));
        let backward = Tolerance::new(1e-6, 1e-5);
        cases.push(layers::backward(
            format!("{what} backward"),
            layer,
            backward,
            seed + 1,
        ));
    }
    cases
}

/// Every activation function as a layer, forward and backward.
fn activations() -> Vec<Case> {
    let mut cases = Vec::new();
    let functions = Activation::ALL
        .into_iter()
        .filter(|a| a.function().is_some());
    for (seed, activation) in functions.enumerate() {
        let layer = case(ActivationLayer { activation }, image(5, 7, 3), 11);
        let seed = 300 + 10 * seed as u64;
        let what = format!("{activation} 11x[5,7,3]");
        let linear = Function::Linear;
        cases.push(layers::forward(
            format!("{what} forward"),
            layer.clone(),
            linear,
            true,
            ELEMENTWISE,
            seed,
        ));
        cases.push(layers::backward(
            format!("{what} backward"),
            layer,
            ELEMENTWISE,
            seed + 1,
        ));
    }
    cases
}

/// BatchNormalization in training (batch statistics, moving statistics updated) and inference,
/// and its backward; Dropout in training, forward and backward.
fn normalisation_and_dropout() -> Vec<Case> {
    let bn = case(BatchNormalization::default(), image(4, 5, 3), 7);
    let dropout = case(Dropout { rate: 0.3 }, Shape::Flat(101), 9);
    let linear = Function::Linear;
    vec![
        layers::forward(
            "batch norm 7x[4,5,3] training".into(),
            bn.clone(),
            linear,
            true,
            ELEMENTWISE,
            400,
        ),
        layers::forward(
            "batch norm 7x[4,5,3] inference".into(),
            bn.clone(),
            linear,
            false,
            ELEMENTWISE,
            401,
        ),
        layers::backward("batch norm 7x[4,5,3] backward".into(), bn, BATCH_SUMS, 402),
        layers::forward(
            "dropout 0.3 9x101 forward".into(),
            dropout.clone(),
            linear,
            true,
            Tolerance::EXACT,
            410,
        ),
        layers::backward(
            "dropout 0.3 9x101 backward".into(),
            dropout,
            Tolerance::EXACT,
            411,
        ),
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
            "adamw, weight decay 0.3",
            OptimizerConfig::Adamw(AdamWConfig {
                weight_decay: 0.3,
                ..AdamWConfig::default()
            }),
        ),
        ("sgd", sgd(0.0, false)),
        ("sgd, momentum 0.9, nesterov", sgd(0.9, true)),
        (
            "rmsprop, momentum 0.5",
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
