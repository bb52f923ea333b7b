//! Elementwise activation functions over `len` values (any shape, flattened):
//!
//! ```text
//! forward          y[i]  = f(x[i])
//! backward_input   dx[i] = dy[i] · f'(x[i])        (x is the forward's input)
//! ```
//! | function   | code | f(x)                                  | f'(x)                          |
//! |------------|------|---------------------------------------|--------------------------------|
//! | linear     | 0    | x                                     | 1                              |
//! | relu       | 1    | max(x, 0)                             | x > 0 ? 1 : 0                  |
//! | sigmoid    | 2    | s(x) = 1 / (1 + e^-x)                 | s (1 − s)                      |
//! | tanh       | 3    | tanh(x)                               | 1 − tanh²(x)                   |
//! | elu        | 4    | x > 0 ? x : e^x − 1  (α = 1)          | x > 0 ? 1 : e^x                |
//! | selu       | 5    | λ (x > 0 ? x : α (e^x − 1))           | λ (x > 0 ? 1 : α e^x)          |
//! | gelu       | 6    | x Φ(x) = x (1 + erf(x / √2)) / 2      | Φ(x) + x e^(−x²/2) / √(2π)     |
//! | leaky_relu | 7    | x > 0 ? x : a x  (a the slope)        | x > 0 ? 1 : a                  |
//! | softplus   | 8    | log(1 + e^x)                          | s(x)                           |
//! | silu       | 9    | x s(x)  (Keras's `swish` too)         | s (1 + x (1 − s))              |
//!
//! selu's α = 1.67326324 and λ = 1.05070098 are Keras's constants. gelu is Keras's default
//! (`approximate=False`, the erf form); WGSL has no erf, so both the kernels and [`cpu`] take
//! erf from Abramowitz and Stegun's formula 7.1.26, within 1.5e-7 of erf everywhere: gelu is
//! then within 7.5e-8·|x| (plus f32 rounding) of Keras's.
//!
//! The formulas are WGSL once, in `shaders/activation/functions.wgsl`, which both kernels and
//! the GEMM epilogues start with ([`crate::gpu::kernels::Library`]); the code is its
//! `ACTIVATION` override constant, a leaky ReLU's slope its `NEGATIVE_SLOPE`. To add a
//! function: a variant of [`Function`] with the next code, a `case` in both functions of that
//! file, an arm in [`cpu`]'s two.

pub mod cpu;
pub mod layer;

pub use layer::{Activation, ActivationLayer, ActivationOp, LeakyReLU, ReLU};

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::Overrides;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Threads per workgroup of both activation kernels.
const WORKGROUP: u64 = 256;

/// A leaky ReLU's slope for `x <= 0`, held as its bits so that functions compare and hash
/// (pipelines are cached by their override constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NegativeSlope(u32);

impl NegativeSlope {
    /// Keras's `activations.leaky_relu` default, 0.2 (what `activation = "leaky_relu"` gets).
    pub const KERAS: Self = Self::new(0.2);

    /// The slope `value`.
    pub const fn new(value: f32) -> Self {
        Self(value.to_bits())
    }

    /// The slope.
    pub fn get(self) -> f32 {
        f32::from_bits(self.0)
    }
}

/// An elementwise activation function (the module doc gives every formula).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// The identity, `f(x) = x`.
    Linear,
    /// `f(x) = max(x, 0)`; its derivative is taken as 0 at `x = 0`.
    Relu,
    /// `f(x) = 1 / (1 + e^-x)`.
    Sigmoid,
    /// `f(x) = tanh(x)`.
    Tanh,
    /// `f(x) = x > 0 ? x : e^x − 1` (Keras's `alpha` 1).
    Elu,
    /// `f(x) = λ (x > 0 ? x : α (e^x − 1))` with Keras's α and λ.
    Selu,
    /// `f(x) = x Φ(x)`, the erf form, erf within 1.5e-7.
    Gelu,
    /// `f(x) = x > 0 ? x : slope · x`; its derivative is taken as the slope at `x = 0`.
    LeakyRelu(NegativeSlope),
    /// `f(x) = log(1 + e^x)`.
    Softplus,
    /// `f(x) = x / (1 + e^-x)` (Keras's `silu`, also named `swish`).
    Silu,
}

impl Function {
    /// Every function, in code order (the leaky ReLU with Keras's slope).
    pub const ALL: [Function; 10] = [
        Function::Linear,
        Function::Relu,
        Function::Sigmoid,
        Function::Tanh,
        Function::Elu,
        Function::Selu,
        Function::Gelu,
        Function::LeakyRelu(NegativeSlope::KERAS),
        Function::Softplus,
        Function::Silu,
    ];

    /// The value of the kernels' `ACTIVATION` override constant.
    pub fn code(self) -> u32 {
        match self {
            Self::Linear => 0,
            Self::Relu => 1,
            Self::Sigmoid => 2,
            Self::Tanh => 3,
            Self::Elu => 4,
            Self::Selu => 5,
            Self::Gelu => 6,
            Self::LeakyRelu(_) => 7,
            Self::Softplus => 8,
            Self::Silu => 9,
        }
    }
}

impl Overrides for Function {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut constants = vec![("ACTIVATION", f64::from(self.code()))];
        if let Self::LeakyRelu(slope) = self {
            constants.push(("NEGATIVE_SLOPE", f64::from(slope.get())));
        }
        constants
    }
}

/// Mirrors `struct Params` of `shaders/activation/*.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Values in `x` (and `y`, `dy`, `dx`).
    pub len: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
    /// Padding to 16 bytes.
    pub _pad2: u32,
}

impl Params {
    /// The parameters of an activation over `len` values.
    pub fn new(len: usize) -> Self {
        Self {
            len: len as u32,
            ..Self::default()
        }
    }
}

/// What `activation.forward` reads and writes.
pub struct ForwardBuffers<'a> {
    /// `[len]` input.
    pub x: wgpu::BufferBinding<'a>,
    /// `[len]` output.
    pub y: wgpu::BufferBinding<'a>,
}

/// What `activation.backward_input` reads and writes.
pub struct BackwardBuffers<'a> {
    /// `[len]` the forward's input.
    pub x: wgpu::BufferBinding<'a>,
    /// `[len]` gradient of the output.
    pub dy: wgpu::BufferBinding<'a>,
    /// `[len]` gradient of the input.
    pub dx: wgpu::BufferBinding<'a>,
}

/// Builds the `activation.forward` launch `x [len] → y [len]`.
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    function: Function,
    params: Params,
    buffers: ForwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.forward");
    let grid = grid_for(ctx, &label, u64::from(params.len), WORKGROUP)?;
    Dispatch::new(
        ctx,
        Kernel::ActivationForward,
        &label,
        &function,
        &params,
        &[buffers.x, buffers.y],
        grid,
    )
}

/// Builds the `activation.backward_input` launch `(x [len], dy [len]) → dx [len]`, where `x`
/// is the forward's input.
pub fn encode_backward_input(
    ctx: &GpuContext,
    label: &str,
    function: Function,
    params: Params,
    buffers: BackwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.backward_input");
    let grid = grid_for(ctx, &label, u64::from(params.len), WORKGROUP)?;
    Dispatch::new(
        ctx,
        Kernel::ActivationBackwardInput,
        &label,
        &function,
        &params,
        &[buffers.x, buffers.dy, buffers.dx],
        grid,
    )
}
