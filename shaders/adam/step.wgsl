// adam.step: one Adam update of every parameter in the slab (Keras semantics).
//
//   m     += (g - m) * (1 - beta1)
//   v     += (g * g - v) * (1 - beta2)
//   param -= step.adam_alpha * m / (sqrt(v) + epsilon)
// where step.adam_alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t) is computed on the host.
// Each thread updates four parameters, read and written as vec4s (the slab's buffers hold whole
// vec4s, zero past len, and zeros stay zero): on CPU adapters a load costs the same per lane
// whatever its width.
// A step whose update leaves a parameter NaN or infinite records the smallest such index in
// first_non_finite[step.slot] (atomicMin: deterministic whichever thread comes first), which the
// host reads back with the step's metrics. The test is on the bits (every exponent bit set), so
// no compiler may assume non-finite values away.
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: grads   [len / 4, rounded up] vec4<f32>
//   binding 2: values  [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 3: m       [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 4: v       [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 5: first_non_finite [steps] atomic<u32> (u32 max where none; row step.slot)
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
const EXPONENT_BITS: u32 = 0x7f800000u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> values: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> first_non_finite: array<atomic<u32>>;
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
    let value = values[i] - step.adam_alpha * m_new / (sqrt(v_new) + vec4<f32>(params.epsilon));
    values[i] = value;
    let exponent = bitcast<vec4<u32>>(value) & vec4<u32>(EXPONENT_BITS);
    let bad = exponent == vec4<u32>(EXPONENT_BITS);
    if any(bad) {
        let lane = select(select(select(3u, 2u, bad.z), 1u, bad.y), 0u, bad.x);
        atomicMin(&first_non_finite[step.slot], i * 4u + lane);
    }
}
