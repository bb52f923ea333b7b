//! Reference dropout: the kernels' hash in Rust, and one loop per pass.

use super::Params;

/// Chris Wellons's "lowbias32" finaliser: a bijection of u32 with near-ideal avalanche.
pub fn mix(value: u32) -> u32 {
    let mut h = value;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^= h >> 16;
    h
}

/// The 32 random bits of element `index` at global step `step` for the layer's `seed`:
/// `mix(mix(mix(seed + 0x9e3779b9) ^ step) ^ index)`, as the kernels compute it.
pub fn hash(seed: u32, step: u32, index: u32) -> u32 {
    mix(mix(mix(seed.wrapping_add(0x9e37_79b9)) ^ step) ^ index)
}

/// Whether element `index` is kept: the top 24 bits of its hash are at least `threshold`.
pub fn keep(seed: u32, step: u32, index: u32, threshold: u32) -> bool {
    (hash(seed, step, index) >> 8) >= threshold
}

/// `y [len]`: `x · scale` where kept, 0 where dropped, at global step `step`.
pub fn forward(p: &Params, step: u32, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    for (i, (out, &v)) in y.iter_mut().zip(x).enumerate() {
        if keep(p.seed, step, i as u32, p.threshold) {
            *out = v * p.scale;
        }
    }
    y
}

/// `dx [len]`: `dy · scale` where the forward at global step `step` kept, 0 where it dropped:
/// the forward's mask and scale applied to the gradient.
pub fn backward_input(p: &Params, step: u32, dy: &[f32]) -> Vec<f32> {
    forward(p, step, dy)
}
