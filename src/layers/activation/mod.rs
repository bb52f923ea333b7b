//! Elementwise activation functions over `len` values (any shape, flattened):
//!
//! ```text
//! forward          y[i]  = f(x[i])
//! backward_input   dx[i] = dy[i] · f'(x[i])        (x is the forward's input)
//! ```
//! | function | code | f(x)        | f'(x)              |
//! |----------|------|-------------|--------------------|
//! | linear   | 0    | x           | 1                  |
//! | relu     | 1    | max(x, 0)   | x > 0 ? 1 : 0      |
//!
//! The code is the kernels' `ACTIVATION` override constant. To add a function: a variant of
//! [`Function`] with the next code, a `case` in both kernels, an arm in [`cpu`].

pub mod cpu;
pub mod layer;

pub use layer::{Activation, ActivationLayer, ActivationOp, ReLU};

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::Overrides;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Threads per workgroup of both activation kernels.
const WORKGROUP: u64 = 256;

/// An elementwise activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// The identity, `f(x) = x`.
    Linear,
    /// `f(x) = max(x, 0)`; its derivative is taken as 0 at `x = 0`.
    Relu,
}

impl Function {
    /// Every function, in code order.
    pub const ALL: [Function; 2] = [Function::Linear, Function::Relu];

    /// The value of the kernels' `ACTIVATION` override constant.
    pub fn code(self) -> u32 {
        match self {
            Self::Linear => 0,
            Self::Relu => 1,
        }
    }
}

impl Overrides for Function {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![("ACTIVATION", f64::from(self.code()))]
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
