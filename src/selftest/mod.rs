//! The selftest: every kernel run on this device against its CPU reference, on small odd
//! shapes and seeded random data, one [`Row`] per check (`gpu-cnn selftest`). The first thing
//! to run on a new GPU or driver: a kernel the driver compiles wrongly fails here, with the
//! worst error, instead of as a model that trains badly.
//!
//! The checks go through the library's own launchers (a layer's [`crate::layers::Op`], the
//! GEMM, gather, softmax and optimizer launchers) and CPU references (`cpu.rs`), with outputs
//! NaN-poisoned first so an element a kernel fails to write fails; NaN in any output is a
//! failure. [`crate::gpu::GpuContext::replace_kernel_source`] runs a changed kernel in place of
//! the built-in one.

mod cases;
pub mod check;
pub mod compare;
mod direct;
pub mod launch;
mod layers;
pub mod report;

use crate::gpu::{GpuContext, Kernel};
use compare::{Errors, Tolerance};

/// The outcome of one check.
#[derive(Clone, Debug)]
pub struct Row {
    /// The kernels the check launched, in launch order.
    pub kernels: Vec<Kernel>,
    /// The case: variant and shape.
    pub case: String,
    /// What the comparisons found.
    pub errors: Errors,
    /// The tolerance the outputs were held to.
    pub tolerance: Tolerance,
    /// The error that stopped the check, if one did (a GPU or validation error).
    pub failure: Option<String>,
    /// Wall time of the check, launches, readback and references included.
    pub seconds: f64,
}

impl Row {
    /// Whether the check ran and every output was within tolerance.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.errors.passes()
    }

    /// The kernels' labels, those of one op grouped: `matmul.{forward,sum_splits}`,
    /// `matmul.forward + bias.backward`.
    pub fn kernel_labels(&self) -> String {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for kernel in &self.kernels {
            let (op, pass) = kernel
                .label()
                .split_once('.')
                .unwrap_or((kernel.label(), ""));
            match groups.last_mut() {
                Some((last, passes)) if *last == op => passes.push(pass),
                _ => groups.push((op, vec![pass])),
            }
        }
        if groups.is_empty() {
            return "-".to_string();
        }
        groups
            .iter()
            .map(|(op, passes)| match passes.as_slice() {
                [pass] => format!("{op}.{pass}"),
                passes => format!("{op}.{{{}}}", passes.join(",")),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Runs every check on `ctx`, in order, blocking until they are done; a check that fails (or
/// errors) does not stop the others ([`run_async`] in a browser).
#[cfg(not(target_arch = "wasm32"))]
pub fn run(ctx: &GpuContext) -> Vec<Row> {
    run_with(ctx, |_| {})
}

/// [`run`], calling `each` with every row as it is done (so a caller can print as it goes).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_with(ctx: &GpuContext, each: impl FnMut(&Row)) -> Vec<Row> {
    crate::gpu::block_on(run_async(ctx, each))
}

/// `run_with` without blocking, for a browser: each check yields while it waits for the GPU.
pub async fn run_async(ctx: &GpuContext, mut each: impl FnMut(&Row)) -> Vec<Row> {
    let mut rows = Vec::new();
    for case in cases::all() {
        let row = case.run_async(ctx).await;
        each(&row);
        rows.push(row);
    }
    rows
}
