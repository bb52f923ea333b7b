//! gpu-cnn: train and run convolutional neural networks entirely in WGSL compute shaders
//! through wgpu, on Vulkan, Metal, DX12 or Mesa's lavapipe.
//!
//! The house, top to bottom: [`train`] and [`evaluate`] drive a [`model::Network`] whose layers
//! ([`layers`], [`optim`]) launch kernels through [`gpu`]; [`data`] reads and uploads the data.

pub mod atomic;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod compare;
pub mod compat;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod gpu;
pub mod input_file;
pub mod json_float;
pub mod layers;
pub mod model;
pub mod onnx;
pub mod optim;
pub mod report;
pub mod restore;
pub mod run;
pub mod selftest;
pub mod train;

pub use error::{Error, Result};
