//! Shared test harness: the adapter from the environment, random data, NaN-poisoned outputs,
//! one-shot dispatch and tolerant comparison (the last three through the library's selftest,
//! `gpu_cnn::selftest::{launch, compare}`, so `gpu-cnn selftest` checks as the tests do).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod cli;

use std::collections::BTreeMap;

use bytemuck::Pod;
use gpu_cnn::gpu::step_table::{StepParams, StepTable};
use gpu_cnn::gpu::{buffers, DeviceSelector, Dispatch, GpuContext};
use gpu_cnn::layers::activation::Function;
use gpu_cnn::layers::conv2d::ConvShape;
use gpu_cnn::layers::layer::{BackwardIo, ForwardIo, Op, Tensors, View};
use gpu_cnn::model::spec::{Padding, Size2};
use gpu_cnn::selftest::compare::first_violation;
use gpu_cnn::selftest::launch;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The adapter tests run on: `GPU_CNN_TEST_DEVICE` (default `auto`). Fails, never skips, when
/// there is none.
pub fn context() -> GpuContext {
    let selector: DeviceSelector = std::env::var("GPU_CNN_TEST_DEVICE")
        .unwrap_or_else(|_| "auto".into())
        .parse()
        .unwrap_or(DeviceSelector::Auto);
    GpuContext::new(&selector).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter for the tests: {e}\nOn a machine without a GPU install lavapipe: \
             apt-get install mesa-vulkan-drivers"
        )
    })
}

/// The first `train` training and `test` test samples of the bundled MNIST.
pub fn bundled_subset(train: usize, test: usize) -> gpu_cnn::data::MnistSplits {
    let mnist =
        gpu_cnn::data::load_dir(&gpu_cnn::data::bundled_mnist_dir()).expect("bundled MNIST");
    let take = |d: &gpu_cnn::data::Dataset, n: usize| gpu_cnn::data::Dataset {
        images: d.images[..n * d.sample_len()].to_vec(),
        labels: d.labels[..n].to_vec(),
        rows: d.rows,
        cols: d.cols,
    };
    gpu_cnn::data::MnistSplits {
        train: take(&mnist.train, train),
        test: take(&mnist.test, test),
    }
}

/// A seeded generator for one test case.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `len` values uniform in `[low, high)`.
pub fn uniform(rng: &mut StdRng, len: usize, low: f32, high: f32) -> Vec<f32> {
    let dist = Uniform::new(low, high).expect("valid range");
    (0..len).map(|_| dist.sample(rng)).collect()
}

/// A storage buffer holding `data`.
pub fn upload<T: Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    buffers::storage_with(ctx, label, data).expect("upload")
}

/// An output buffer of `len` f32 filled with NaN, so an element the kernel fails to write
/// fails the comparison.
pub fn poisoned(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    launch::poisoned(ctx, label, len).expect("upload")
}

/// A step table whose entry 0 is `entry`.
pub fn step_table(ctx: &GpuContext, entry: StepParams) -> StepTable {
    launch::step_table(ctx, entry).expect("step table")
}

/// Records `dispatches` once (step 0 of `table`) in one pass, submits and waits.
pub fn run(ctx: &GpuContext, dispatches: &[Dispatch], table: Option<&StepTable>) {
    let fallback;
    let table = match table {
        Some(table) => table,
        None => {
            fallback = step_table(ctx, StepParams::default());
            &fallback
        }
    };
    launch::run_once(ctx, dispatches, table).expect("GPU work failed");
}

/// Reads `len` values of `buffer`.
pub fn read<T: Pod>(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<T> {
    buffers::read(ctx, buffer, 0, len).expect("readback")
}

/// Asserts `|gpu - cpu| <= atol + rtol·|cpu|` element-wise (NaN always fails).
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], atol: f32, rtol: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    if let Some(i) = first_violation(gpu, cpu, Tolerance { atol, rtol }) {
        let (g, c) = (gpu[i], cpu[i]);
        panic!(
            "{what}: element {i} of {}: gpu {g} vs cpu {c} (|diff| {} > {atol} + {rtol}·|cpu|)",
            gpu.len(),
            (g - c).abs()
        );
    }
    assert!(!cpu.is_empty(), "{what}: nothing compared");
}

/// The named tensors of one launch, uploaded.
pub struct Uploaded {
    buffers: Vec<(&'static str, wgpu::Buffer, usize)>,
}

impl Uploaded {
    /// Uploads each `(name, values)`.
    pub fn new(ctx: &GpuContext, tensors: &[(&'static str, &[f32])]) -> Self {
        Self {
            buffers: tensors
                .iter()
                .map(|&(name, values)| (name, upload(ctx, name, values), values.len()))
                .collect(),
        }
    }

    /// NaN-poisoned buffers of `(name, len)`.
    pub fn poisoned(ctx: &GpuContext, tensors: &[(&'static str, usize)]) -> Self {
        Self {
            buffers: tensors
                .iter()
                .map(|&(name, len)| (name, poisoned(ctx, name, len), len))
                .collect(),
        }
    }

    /// The views, by name.
    pub fn views(&self) -> Tensors<'_> {
        let mut views = Tensors::default();
        for (name, buffer, len) in &self.buffers {
            views.insert(name, View::whole(buffer, vec![*len]));
        }
        views
    }

    /// Reads every buffer back, by name.
    pub fn read(&self, ctx: &GpuContext) -> BTreeMap<&'static str, Vec<f32>> {
        self.buffers
            .iter()
            .map(|(name, buffer, len)| (*name, read(ctx, buffer, *len)))
            .collect()
    }
}

/// Runs `op`'s forward launches once on `x` with `tensors` (`activation` fused into its
/// epilogue); returns the `y_len` outputs.
pub fn op_forward(
    ctx: &GpuContext,
    op: &dyn Op,
    x: &[f32],
    tensors: &Uploaded,
    y_len: usize,
    activation: Function,
) -> Vec<f32> {
    let x_buf = upload(ctx, "x", x);
    let y = poisoned(ctx, "y", y_len);
    let io = ForwardIo {
        label: "test",
        x: View::whole(&x_buf, vec![x.len()]),
        tensors: tensors.views(),
        y: View::whole(&y, vec![y_len]),
        activation,
        pooled: None,
        training: true,
        seed: 0,
    };
    let dispatches = op.encode_forward(ctx, &io).expect("forward launches");
    run(ctx, &dispatches, None);
    read(ctx, &y, y_len)
}

/// Runs `op`'s backward launches once; returns the input gradient and the tensor gradients
/// (`grads` names and sizes them).
pub fn op_backward(
    ctx: &GpuContext,
    op: &dyn Op,
    x: &[f32],
    dy: &[f32],
    tensors: &Uploaded,
    grads: &[(&'static str, usize)],
    mask_input: bool,
) -> (Vec<f32>, BTreeMap<&'static str, Vec<f32>>) {
    let (x_buf, dy_buf) = (upload(ctx, "x", x), upload(ctx, "dy", dy));
    let dx = poisoned(ctx, "dx", x.len());
    let grads = Uploaded::poisoned(ctx, grads);
    let io = BackwardIo {
        label: "test",
        x: View::whole(&x_buf, vec![x.len()]),
        tensors: tensors.views(),
        dy: View::whole(&dy_buf, vec![dy.len()]),
        grads: grads.views(),
        dx: Some(View::whole(&dx, vec![x.len()])),
        mask_input,
        dy_columns: None,
        dx_as_columns: false,
        seed: 0,
    };
    let dispatches = op.encode_backward(ctx, &io).expect("backward launches");
    run(ctx, &dispatches, None);
    (read(ctx, &dx, x.len()), grads.read(ctx))
}

/// Tolerances of a comparison: `|gpu − cpu| ≤ atol + rtol·|cpu|`.
pub use gpu_cnn::selftest::compare::Tolerance;

/// A kernel-and-bias layer's op (dense, conv2d) against its CPU reference: forward with every
/// activation function fused into its epilogue (and none), backward with and without the fused
/// input mask. `x` is made a ReLU
/// output for the backward (half its entries exactly zero) so the mask matters.
#[allow(clippy::too_many_arguments)]
pub fn check_kernel_layer(
    what: &str,
    op: &dyn Op,
    seed: u64,
    sizes: (usize, usize, usize, usize),
    forward: impl Fn(Function, &[f32], &[f32], &[f32]) -> Vec<f32>,
    backward: impl Fn(bool, &[f32], &[f32], &[f32]) -> gpu_cnn::layers::Gradients,
    tolerance: Tolerance,
) {
    let ctx = context();
    check_kernel_layer_on(&ctx, what, op, seed, sizes, forward, backward, tolerance);
}

/// [`check_kernel_layer`] on `ctx` (which may plan as another device would,
/// [`GpuContext::plan_as`]).
#[allow(clippy::too_many_arguments)]
pub fn check_kernel_layer_on(
    ctx: &GpuContext,
    what: &str,
    op: &dyn Op,
    seed: u64,
    (x_len, kernel_len, units, y_len): (usize, usize, usize, usize),
    forward: impl Fn(Function, &[f32], &[f32], &[f32]) -> Vec<f32>,
    backward: impl Fn(bool, &[f32], &[f32], &[f32]) -> gpu_cnn::layers::Gradients,
    tolerance: Tolerance,
) {
    let Tolerance { atol, rtol } = tolerance;
    let mut rng = rng(seed);
    let x = uniform(&mut rng, x_len, -1.0, 1.0);
    let kernel = uniform(&mut rng, kernel_len, -1.0, 1.0);
    let bias = uniform(&mut rng, units, -1.0, 1.0);
    let tensors = Uploaded::new(ctx, &[("kernel", &kernel), ("bias", &bias)]);
    for function in Function::ALL {
        let gpu = op_forward(ctx, op, &x, &tensors, y_len, function);
        let cpu = forward(function, &x, &kernel, &bias);
        assert_close(
            &format!("{what} forward {function:?}"),
            &gpu,
            &cpu,
            atol,
            rtol,
        );
    }
    let x: Vec<f32> = x.iter().map(|v| v.max(0.0)).collect();
    let dz = uniform(&mut rng, y_len, -1.0, 1.0);
    for mask in [false, true] {
        let grads = [("kernel", kernel_len), ("bias", units)];
        let (dx, gpu) = op_backward(ctx, op, &x, &dz, &tensors, &grads, mask);
        let cpu = backward(mask, &x, &kernel, &dz);
        let what = format!("{what} backward mask {mask}");
        assert_close(&format!("{what}: input"), &dx, &cpu.input, atol, rtol);
        assert_close(
            &format!("{what}: kernel"),
            &gpu["kernel"],
            &cpu.kernel,
            atol,
            rtol,
        );
        assert_close(
            &format!("{what}: bias"),
            &gpu["bias"],
            &cpu.bias,
            atol,
            rtol,
        );
    }
}

/// Absolute part of the finite-difference tolerance (f64 central differences of the f32 CPU
/// references).
pub const GRAD_ATOL: f64 = 2e-3;
/// Relative part of the finite-difference tolerance.
pub const GRAD_RTOL: f64 = 2e-2;

/// Central differences of `objective` with respect to every entry of `values`.
pub fn numeric_gradient(
    values: &[f32],
    eps: f32,
    mut objective: impl FnMut(&[f32]) -> f64,
) -> Vec<f64> {
    let mut work = values.to_vec();
    (0..values.len())
        .map(|i| {
            let (plus, minus) = (values[i] + eps, values[i] - eps);
            work[i] = plus;
            let up = objective(&work);
            work[i] = minus;
            let down = objective(&work);
            work[i] = values[i];
            (up - down) / (f64::from(plus) - f64::from(minus))
        })
        .collect()
}

/// Asserts `|analytic − numeric| ≤ GRAD_ATOL + GRAD_RTOL·|numeric|` for every entry, listing the worst.
pub fn assert_gradient(what: &str, analytic: &[f32], numeric: &[f64]) {
    assert_eq!(
        analytic.len(),
        numeric.len(),
        "{what}: analytic gradient has {} entries, numeric {}",
        analytic.len(),
        numeric.len()
    );
    let bad: Vec<String> = analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .filter(|&(_, (&a, &n))| (f64::from(a) - n).abs() > GRAD_ATOL + GRAD_RTOL * n.abs())
        .map(|(i, (a, n))| format!("[{i}] analytic {a} numeric {n}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} entries exceed {GRAD_ATOL} + {GRAD_RTOL}·|numeric|:\n{}",
        bad.len(),
        analytic.len(),
        bad.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// A convolution test case: (batch, [h, w, c_in], filters, kernel, strides, padding).
pub type ConvCase = (usize, [usize; 3], usize, Size2, Size2, Padding);

/// The shape of convolution case `case`.
pub fn conv_shape(&(batch, input, filters, kernel, strides, padding): &ConvCase) -> ConvShape {
    ConvShape::new(batch, input, filters, kernel, strides, padding).expect("non-empty output")
}
