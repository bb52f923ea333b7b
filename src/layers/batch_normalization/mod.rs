//! Keras `BatchNormalization(axis=-1)` over an activation `x [rows, positions, channels]`
//! (NHWC flattened: positions = H·W, or 1 for a flat input). Only the first `batch_rows` rows
//! (the step table's) are real; the statistics use those `n = batch_rows · positions` values
//! per channel `c`:
//!
//! ```text
//! training forward   mean = Σx/n,  var = Σ(x − mean)²/n  (biased, as Keras 3),
//!                    inv_std = 1/sqrt(var + epsilon)
//!                    y = gamma·(x − mean)·inv_std + beta   real rows; 0 padding rows
//!                    saved [2, channels] = (mean, inv_std)
//!                    moving_mean     = moving_mean·momentum + mean·(1 − momentum)
//!                    moving_variance = moving_variance·momentum + var·(1 − momentum)
//! inference forward  y = gamma·(x − moving_mean)/sqrt(moving_variance + epsilon) + beta
//!                    (every row; nothing else written)
//! backward           xhat = (x − mean)·inv_std;  dbeta = Σdy;  dgamma = Σdy·xhat
//!                    dx = gamma·inv_std/n · (n·dy − dbeta − xhat·dgamma)   real rows; 0 padding
//! ```
//! `gamma`, `beta`, `moving_mean`, `moving_variance`: `[channels]`. Keras's defaults are
//! [`KERAS_MOMENTUM`] and [`KERAS_EPSILON`]; gamma starts at 1, beta at 0, the moving mean at 0
//! and the moving variance at 1.

pub mod cpu;
pub mod layer;

pub use layer::{BatchNormOp, BatchNormalization};

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::Overrides;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Keras's default `momentum` of the moving statistics.
pub const KERAS_MOMENTUM: f32 = 0.99;
/// Keras's default `epsilon` added to the variance.
pub const KERAS_EPSILON: f32 = 1e-3;

/// Threads per workgroup of both kernels (per channel when training, per value at inference).
const WORKGROUP: u64 = 256;

/// Which statistics the forward normalises with: the kernel's `TRAINING` override constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The batch's statistics; saves them for the backward and updates the moving ones.
    Training,
    /// The moving statistics; writes only `y` (validation, evaluation, prediction).
    Inference,
}

impl Overrides for Mode {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![("TRAINING", f64::from(self.code()))]
    }
}

impl Mode {
    /// The value of the `TRAINING` override constant.
    pub fn code(self) -> u32 {
        match self {
            Self::Training => 1,
            Self::Inference => 0,
        }
    }
}

/// Mirrors `struct Params` of `shaders/batch_normalization/*.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Batch capacity (rows of `x`, real and padding).
    pub rows: u32,
    /// Positions per row (H·W, or 1).
    pub positions: u32,
    /// Channels, the normalised axis (last).
    pub channels: u32,
    /// Weight of the old value in the moving statistics' update.
    pub momentum: f32,
    /// Added to the variance before the square root.
    pub epsilon: f32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
    /// Padding to 16-byte multiples.
    pub _pad2: u32,
}

impl Params {
    /// The parameters of normalising `[rows, positions, channels]` activations.
    pub fn new(
        rows: usize,
        positions: usize,
        channels: usize,
        momentum: f32,
        epsilon: f32,
    ) -> Self {
        Self {
            rows: rows as u32,
            positions: positions as u32,
            channels: channels as u32,
            momentum,
            epsilon,
            ..Self::default()
        }
    }

    /// Values in `x` (and `y`, `dy`, `dx`): `rows · positions · channels`.
    pub fn len(&self) -> usize {
        self.rows as usize * self.positions as usize * self.channels as usize
    }

    /// Whether `x` holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The buffers of `batch_normalization.forward`, by name (bindings 1 to 7 in this order).
pub struct ForwardBuffers<'a> {
    /// `[rows, positions, channels]` input.
    pub x: wgpu::BufferBinding<'a>,
    /// `[channels]` scale.
    pub gamma: wgpu::BufferBinding<'a>,
    /// `[channels]` offset.
    pub beta: wgpu::BufferBinding<'a>,
    /// `[channels]` moving mean (updated in [`Mode::Training`], read in [`Mode::Inference`]).
    pub moving_mean: wgpu::BufferBinding<'a>,
    /// `[channels]` moving variance (updated in training, read at inference).
    pub moving_variance: wgpu::BufferBinding<'a>,
    /// `[2, channels]` batch mean and inverse standard deviation (written in training only).
    pub saved: wgpu::BufferBinding<'a>,
    /// `[rows, positions, channels]` output.
    pub y: wgpu::BufferBinding<'a>,
}

/// The buffers of `batch_normalization.backward`, by name (bindings 1 to 7 in this order).
pub struct BackwardBuffers<'a> {
    /// `[rows, positions, channels]` the forward's input.
    pub x: wgpu::BufferBinding<'a>,
    /// `[rows, positions, channels]` gradient of the forward's output.
    pub dy: wgpu::BufferBinding<'a>,
    /// `[channels]` scale.
    pub gamma: wgpu::BufferBinding<'a>,
    /// `[2, channels]` what the training forward of the same step saved.
    pub saved: wgpu::BufferBinding<'a>,
    /// `[rows, positions, channels]` input gradient (output).
    pub dx: wgpu::BufferBinding<'a>,
    /// `[channels]` gamma gradient (output, overwritten).
    pub gamma_grad: wgpu::BufferBinding<'a>,
    /// `[channels]` beta gradient (output, overwritten).
    pub beta_grad: wgpu::BufferBinding<'a>,
}

/// Builds the `batch_normalization.forward` launch `(x, gamma, beta) → y`, plus `saved` and
/// the moving statistics in [`Mode::Training`] (one workgroup per channel; reads
/// `batch_rows` from the step table), or elementwise with the moving statistics in
/// [`Mode::Inference`].
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    mode: Mode,
    params: Params,
    buffers: ForwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.forward");
    let grid = match mode {
        Mode::Training => [params.channels.max(1), 1, 1],
        Mode::Inference => grid_for(ctx, &label, params.len() as u64, WORKGROUP)?,
    };
    let ForwardBuffers {
        x,
        gamma,
        beta,
        moving_mean,
        moving_variance,
        saved,
        y,
    } = buffers;
    Dispatch::new(
        ctx,
        Kernel::BatchNormalizationForward,
        &label,
        &mode,
        &params,
        &[x, gamma, beta, moving_mean, moving_variance, saved, y],
        grid,
    )
}

/// Builds the `batch_normalization.backward` launch
/// `(x, dy, gamma, saved) → (dx, gamma_grad, beta_grad)`, one workgroup per channel (reads
/// `batch_rows` from the step table).
pub fn encode_backward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    buffers: BackwardBuffers<'_>,
) -> Result<Dispatch, GpuError> {
    let label = format!("{label}.backward");
    let BackwardBuffers {
        x,
        dy,
        gamma,
        saved,
        dx,
        gamma_grad,
        beta_grad,
    } = buffers;
    Dispatch::new(
        ctx,
        Kernel::BatchNormalizationBackward,
        &label,
        &(),
        &params,
        &[x, dy, gamma, saved, dx, gamma_grad, beta_grad],
        [params.channels.max(1), 1, 1],
    )
}
