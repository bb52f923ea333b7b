// sgd.step: one SGD update of every parameter in the slab (Keras 3 semantics). Its bindings,
// the vec4 layout and the non-finite record come from optim/update.wgsl.
//
//   momentum == 0:  param -= lr * g                    (m untouched)
//   otherwise:      m = momentum * m - lr * g
//                   param += m                          (NESTEROV false)
//                   param += momentum * m - lr * g      (NESTEROV true, with the new m)
// where lr = step.step_rate, the learning rate, set on the host.
//
// group 0:
//   binding 0: params  uniform Params
//   bindings 1-5, group 1: see optim/update.wgsl (m: velocity; v unused)

struct Params {
    len: u32,
    momentum: f32,
    _pad0: u32,
    _pad1: u32,
}

// Nesterov momentum (Keras's nesterov=True).
override NESTEROV: bool = false;

@group(0) @binding(0) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP)
fn sgd_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = update_index(group, groups, lane);
    if i * 4u >= params.len {
        return;
    }
    let g = grads[i];
    let lr = step.step_rate;
    if params.momentum == 0.0 {
        store_checked(i, values[i] - g * lr);
        return;
    }
    let velocity = m[i] * params.momentum - g * lr;
    m[i] = velocity;
    if NESTEROV {
        store_checked(i, values[i] + (velocity * params.momentum - g * lr));
    } else {
        store_checked(i, values[i] + velocity);
    }
}
