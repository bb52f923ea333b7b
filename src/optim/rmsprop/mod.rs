//! RMSprop (centered=False) over the whole parameter slab in one dispatch, with Keras 3
//! semantics (the average `a` in the slab's `v`, the momentum in `m`):
//!
//! ```text
//! a         = rho · a + (1 - rho) · g²
//! increment = lr · g / sqrt(a + epsilon)
//! momentum = 0:  p -= increment
//! otherwise:     m  = momentum · m + increment;  p -= m
//! ```

pub mod cpu;

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// RMSprop's hyperparameters; the default is Keras's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RmspropConfig {
    /// Learning rate.
    pub learning_rate: f64,
    /// Decay of the average of squared gradients.
    pub rho: f64,
    /// Momentum (0: none).
    pub momentum: f64,
    /// Added to the average under the square root.
    pub epsilon: f64,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
        }
    }
}

impl RmspropConfig {
    /// The kernel's uniform parameters for a slab of `len` elements.
    pub fn params(&self, len: usize) -> Params {
        Params {
            len: len as u32,
            rho: self.rho as f32,
            momentum: self.momentum as f32,
            epsilon: self.epsilon as f32,
        }
    }
}

/// Mirrors `struct Params` of `shaders/rmsprop/step.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Elements in the slab.
    pub len: u32,
    /// Decay of the average of squared gradients.
    pub rho: f32,
    /// Momentum (0: none).
    pub momentum: f32,
    /// Added to the average under the square root.
    pub epsilon: f32,
}
