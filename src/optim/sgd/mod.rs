//! SGD over the whole parameter slab in one dispatch, with Keras 3 semantics (the velocity in
//! the slab's `m`; `v` unused):
//!
//! ```text
//! momentum = 0:  p -= lr · g
//! otherwise:     m  = momentum · m - lr · g
//!                p += m                        (nesterov: p += momentum · m - lr · g)
//! ```

pub mod cpu;

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

use crate::gpu::kernels::{flag, Overrides};

/// SGD's hyperparameters; the default is Keras's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub learning_rate: f64,
    /// Velocity decay (0: plain gradient descent).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

impl SgdConfig {
    /// The kernel's uniform parameters for a slab of `len` elements.
    pub fn params(&self, len: usize) -> Params {
        Params {
            len: len as u32,
            momentum: self.momentum as f32,
            _pad0: 0,
            _pad1: 0,
        }
    }
}

/// `sgd.step`'s `NESTEROV` override.
impl Overrides for SgdConfig {
    fn constants(&self) -> Vec<(&'static str, f64)> {
        vec![("NESTEROV", flag(self.nesterov))]
    }
}

/// Mirrors `struct Params` of `shaders/sgd/step.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Elements in the slab.
    pub len: u32,
    /// Velocity decay.
    pub momentum: f32,
    /// Padding to 16-byte multiples.
    pub _pad0: u32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
}
