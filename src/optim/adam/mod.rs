//! Adam and AdamW over the whole parameter slab in one dispatch, with Keras 3 semantics:
//!
//! ```text
//! p      -= p · weight_decay · lr_t                        (AdamW only, before the update)
//! alpha_t = lr_t · sqrt(1 - beta2^t) / (1 - beta1^t)      (host, per step)
//! m      += (g - m) · (1 - beta1)
//! v      += (g² - v) · (1 - beta2)
//! p      -= alpha_t · m / (sqrt(v) + epsilon)
//! ```
//!
//! where `lr_t` is step `t`'s learning rate (scheduled), which the step table carries.

pub mod cpu;

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// Adam's hyperparameters; the default is Keras's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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

/// AdamW's hyperparameters: Adam's and the decoupled weight decay; the default is Keras 3's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// Adam's settings.
    #[serde(flatten)]
    pub adam: AdamConfig,
    /// Each step first takes `p · weight_decay · learning_rate` off every parameter.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            adam: AdamConfig::default(),
            weight_decay: 0.004,
        }
    }
}

impl AdamConfig {
    /// The bias-corrected step size of step `t` (counted from 1) at that step's
    /// `learning_rate`.
    pub fn alpha(&self, t: u64, learning_rate: f64) -> f32 {
        let t = t as f64;
        (learning_rate * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t))) as f32
    }

    /// The kernel's uniform parameters for a slab of `len` elements, with AdamW's
    /// `weight_decay` (0 for Adam: no decay).
    pub fn params(&self, len: usize, weight_decay: f64) -> Params {
        Params {
            len: len as u32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            epsilon: self.epsilon as f32,
            weight_decay: weight_decay as f32,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
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
    /// AdamW's decoupled weight decay, scaled by the step's learning rate
    /// (`StepParams.learning_rate`); 0 (Adam) skips it.
    pub weight_decay: f32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
    /// Padding to 16-byte multiples.
    pub _pad2: u32,
}
