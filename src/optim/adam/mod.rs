//! Adam over the whole parameter slab in one dispatch, with Keras semantics:
//!
//! ```text
//! alpha_t = lr · sqrt(1 - beta2^t) / (1 - beta1^t)        (host, per step)
//! m      += (g - m) · (1 - beta1)
//! v      += (g² - v) · (1 - beta2)
//! p      -= alpha_t · m / (sqrt(v) + epsilon)
//! ```

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::slab::ParamSlab;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// Adam's hyperparameters; the default is Keras's.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub learning_rate: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to `sqrt(v)`.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl AdamConfig {
    /// The bias-corrected step size of step `t` (counted from 1).
    pub fn alpha(&self, t: u64) -> f32 {
        let t = t as f64;
        (self.learning_rate * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t))) as f32
    }

    /// The kernel's uniform parameters for a slab of `len` elements.
    pub fn params(&self, len: usize) -> Params {
        Params {
            len: len as u32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            epsilon: self.epsilon as f32,
        }
    }
}

/// Mirrors `struct Params` of `shaders/adam/step.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Elements in the slab.
    pub len: u32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to `sqrt(v)`.
    pub epsilon: f32,
}

/// No parameter of a step became NaN or infinite: the initial value of each row of
/// `first_non_finite`.
pub const ALL_FINITE: u32 = u32::MAX;

/// Builds the one `adam.step` launch that updates every parameter of `slab`; a step that
/// leaves a parameter NaN or infinite writes the smallest such index into its row
/// (`step.slot`) of `first_non_finite` (`[steps] u32`, each [`ALL_FINITE`] beforehand).
pub fn encode_step(
    ctx: &GpuContext,
    config: &AdamConfig,
    slab: &ParamSlab,
    first_non_finite: &wgpu::Buffer,
) -> Result<Dispatch, GpuError> {
    let len = slab.layout.total;
    Dispatch::new(
        ctx,
        Kernel::AdamStep,
        "adam.step",
        &(),
        &config.params(len),
        &[
            slab.grads.as_entire_buffer_binding(),
            slab.params.as_entire_buffer_binding(),
            slab.m.as_entire_buffer_binding(),
            slab.v.as_entire_buffer_binding(),
            first_non_finite.as_entire_buffer_binding(),
        ],
        // Four parameters a thread.
        grid_for(ctx, "adam.step", len.div_ceil(4) as u64, 256)?,
    )
}
