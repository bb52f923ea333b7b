//! Reference Adam (and AdamW) step: one plain loop.

use super::Params;

/// Updates `values`, `m` and `v` in place from `grads` with step size `alpha`, the weight
/// decay scaled by the step's plain `learning_rate`.
pub fn step(
    params: &Params,
    alpha: f32,
    learning_rate: f32,
    grads: &[f32],
    values: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for i in 0..params.len as usize {
        if params.weight_decay > 0.0 {
            values[i] -= values[i] * params.weight_decay * learning_rate;
        }
        let g = grads[i];
        m[i] += (g - m[i]) * (1.0 - params.beta1);
        v[i] += (g * g - v[i]) * (1.0 - params.beta2);
        values[i] -= alpha * m[i] / (v[i].sqrt() + params.epsilon);
    }
}
