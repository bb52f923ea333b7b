//! Reference SGD step: one plain loop.

use super::Params;

/// Updates `values` and the velocity `m` in place from `grads` with learning rate `lr`.
pub fn step(
    params: &Params,
    nesterov: bool,
    lr: f32,
    grads: &[f32],
    values: &mut [f32],
    m: &mut [f32],
) {
    for i in 0..params.len as usize {
        let g = grads[i];
        if params.momentum == 0.0 {
            values[i] -= g * lr;
            continue;
        }
        m[i] = m[i] * params.momentum - g * lr;
        if nesterov {
            values[i] += m[i] * params.momentum - g * lr;
        } else {
            values[i] += m[i];
        }
    }
}
