//! Optimizers: each a folder with the kernel launcher and its CPU reference.

pub mod adam;
