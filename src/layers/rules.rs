//! Shape-rule pieces several layers share: size limits, fields that must be at least 1, inputs
//! that must be images, and the kernel-and-bias tensors of Dense and Conv2D.

use super::layer::{Init, Problem, Role, TensorDef};
use super::shape::{Shape, Size2};

/// The most values one activation or parameter tensor may hold per sample (kernels index with
/// `u32`).
pub const MAX_VALUES: usize = u32::MAX as usize;

/// The most layers a model may have: beyond it a model is refused before any layer's shape is
/// inferred (a spec of 100,000 layers would otherwise cost minutes and gigabytes to plan).
/// The model-file parser refuses the same count.
pub const MAX_LAYERS: usize = 1_000;

/// What a layer's problems suggest when its output would be empty (the lecture's fixes).
pub const COLLAPSE_HINT: &str =
    "use fewer pooling layers, a smaller pool size, or padding = \"same\" on the convolutions";

/// The product of `dims` if it fits in [`MAX_VALUES`].
pub fn values(dims: &[usize]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        // Compared as u64: on a 32-bit target (wasm32) every usize fits.
        .filter(|&n| n as u64 <= MAX_VALUES as u64)
}

/// `[h, w, c]` of an image input, or the problem for a layer of `class` that needs one.
pub fn image(input: Shape, class: &str) -> Result<(usize, usize, usize), Problem> {
    match input {
        Shape::Image { h, w, c } => Ok((h, w, c)),
        Shape::Flat(_) => Err(Problem::new(
            format!("{class} needs an image input (H, W, C) but receives a flat vector"),
            "put convolution and pooling layers before Flatten",
        )),
    }
}

/// A count field that must be at least 1.
pub fn at_least_one(field: &str, value: usize) -> Result<(), Problem> {
    if value == 0 {
        return Err(Problem::new(
            format!("{field} must be at least 1, got 0"),
            format!("give {field} >= 1"),
        ));
    }
    Ok(())
}

/// A window or stride field that must be at least 1 in both directions.
pub fn size_at_least_one(field: &str, size: Size2) -> Result<(), Problem> {
    if size.h == 0 || size.w == 0 {
        return Err(Problem::new(
            format!("{field} must be at least 1 in both directions, got {size}"),
            format!("give {field} >= 1, as one number or [h, w]"),
        ));
    }
    Ok(())
}

/// An `[h, w, c]` output, or the problem when it is too large.
pub fn image_output(h: usize, w: usize, c: usize) -> Result<Shape, Problem> {
    if values(&[h, w, c]).is_none() {
        return Err(Problem::new(
            format!("the output ({h}, {w}, {c}) holds more than {MAX_VALUES} values"),
            "use fewer filters, strides > 1 or pooling",
        ));
    }
    Ok(Shape::Image { h, w, c })
}

/// The kernel's size check, made before its tensors are listed.
pub fn check_kernel(kernel: &[usize]) -> Result<(), Problem> {
    if values(kernel).is_none() {
        return Err(Problem::new(
            format!("the kernel {kernel:?} holds more than {MAX_VALUES} values"),
            "use fewer filters or units, or pool before this layer",
        ));
    }
    Ok(())
}

/// The `kernel` (glorot-uniform) and `bias` (zeros) tensors of Dense and Conv2D.
pub fn kernel_and_bias(kernel: Vec<usize>, units: usize) -> Vec<TensorDef> {
    vec![
        TensorDef {
            name: "kernel",
            shape: kernel,
            init: Init::GlorotUniform,
            role: Role::Trainable,
        },
        TensorDef {
            name: "bias",
            shape: vec![units],
            init: Init::Zeros,
            role: Role::Trainable,
        },
    ]
}
