//! Reference RMSprop step: one plain loop.

use super::Params;

/// Updates `values`, the momentum `m` and the average `v` in place from `grads` with learning
/// rate `lr`.
pub fn step(
    params: &Params,
    lr: f32,
    grads: &[f32],
    values: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for i in 0..params.len as usize {
        let g = grads[i];
        v[i] = params.rho * v[i] + (1.0 - params.rho) * (g * g);
        let increment = lr * g / (v[i] + params.epsilon).sqrt();
        if params.momentum > 0.0 {
            m[i] = params.momentum * m[i] + increment;
            values[i] -= m[i];
        } else {
            values[i] -= increment;
        }
    }
}
