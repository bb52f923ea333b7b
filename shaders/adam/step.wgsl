// adam.step: one Adam update of every parameter in the slab (Keras semantics).
//
//   m     += (g - m) * (1 - beta1)
//   v     += (g * g - v) * (1 - beta2)
//   param -= step.adam_alpha * m / (sqrt(v) + epsilon)
// where step.adam_alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t) is computed on the host.
// Each thread updates four parameters, read and written as vec4s (the slab's buffers hold whole
// vec4s, zero past len, and zeros stay zero): on CPU adapters a load costs the same per lane
// whatever its width.
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: grads   [len / 4, rounded up] vec4<f32>
//   binding 2: values  [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 3: m       [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 4: v       [len / 4, rounded up] vec4<f32> (updated in place)
// group 1:
//   binding 0: step    uniform StepParams (dynamic offset)

struct Params {
    len: u32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
}

struct StepParams {
    sample_start: u32,
    batch_rows: u32,
    slot: u32,
    adam_alpha: f32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> values: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> step: StepParams;

@compute @workgroup_size(WORKGROUP)
fn adam_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i * 4u >= params.len {
        return;
    }
    let g = grads[i];
    let m_old = m[i];
    let v_old = v[i];
    let m_new = m_old + (g - m_old) * (1.0 - params.beta1);
    let v_new = v_old + (g * g - v_old) * (1.0 - params.beta2);
    m[i] = m_new;
    v[i] = v_new;
    values[i] -= step.adam_alpha * m_new / (sqrt(v_new) + vec4<f32>(params.epsilon));
}
