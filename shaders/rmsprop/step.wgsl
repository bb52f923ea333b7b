// rmsprop.step: one RMSprop update (centered=False) of every parameter in the slab (Keras 3
// semantics). Its bindings, the vec4 layout and the non-finite record come from
// optim/update.wgsl.
//
//   a         = rho * a + (1 - rho) * g * g
//   increment = lr * g / sqrt(a + epsilon)
//   momentum == 0:  param -= increment                  (m untouched)
//   otherwise:      m = momentum * m + increment
//                   param -= m
// where lr = step.step_rate, the learning rate, set on the host.
//
// group 0:
//   binding 0: params  uniform Params
//   bindings 1-5, group 1: see optim/update.wgsl (v: the average a; m: momentum)

struct Params {
    len: u32,
    rho: f32,
    momentum: f32,
    epsilon: f32,
}

@group(0) @binding(0) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP)
fn rmsprop_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = update_index(group, groups, lane);
    if i * 4u >= params.len {
        return;
    }
    let g = grads[i];
    let average = params.rho * v[i] + (1.0 - params.rho) * (g * g);
    v[i] = average;
    let increment = step.step_rate * g / sqrt(average + vec4<f32>(params.epsilon));
    if params.momentum > 0.0 {
        let momentum = params.momentum * m[i] + increment;
        m[i] = momentum;
        store_checked(i, values[i] - momentum);
    } else {
        store_checked(i, values[i] - increment);
    }
}
