// adam.step: one Adam (or AdamW) update of every parameter in the slab (Keras 3 semantics).
// Its bindings, the vec4 layout and the non-finite record come from optim/update.wgsl.
//
//   param -= param * weight_decay * step.learning_rate  (AdamW only: weight_decay > 0)
//   m     += (g - m) * (1 - beta1)
//   v     += (g * g - v) * (1 - beta2)
//   param -= step.step_rate * m / (sqrt(v) + epsilon)
// where step.step_rate = lr_t * sqrt(1 - beta2^t) / (1 - beta1^t) is computed on the host from
// the step's (scheduled) learning rate lr_t = step.learning_rate. Keras applies the decoupled
// weight decay before the update, with the step's plain learning rate.
//
// group 0:
//   binding 0: params  uniform Params
//   bindings 1-5, group 1: see optim/update.wgsl (m: first moment, v: second moment)

struct Params {
    len: u32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    weight_decay: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP)
fn adam_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = update_index(group, groups, lane);
    if i * 4u >= params.len {
        return;
    }
    var value = values[i];
    if params.weight_decay > 0.0 {
        value -= value * params.weight_decay * step.learning_rate;
    }
    let g = grads[i];
    let m_old = m[i];
    let v_old = v[i];
    let m_new = m_old + (g - m_old) * (1.0 - params.beta1);
    let v_new = v_old + (g * g - v_old) * (1.0 - params.beta2);
    m[i] = m_new;
    v[i] = v_new;
    store_checked(i, value - step.step_rate * m_new / (sqrt(v_new) + vec4<f32>(params.epsilon)));
}
