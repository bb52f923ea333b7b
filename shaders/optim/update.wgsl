// optim/update.wgsl (library): what every optimizer kernel shares, put before its own file
// (adam.step, sgd.step, rmsprop.step). Each updates the whole parameter slab in one dispatch,
// four parameters a thread, read and written as vec4s (the slab's buffers hold whole vec4s, zero
// past len, and zeros stay zero): on CPU adapters a load costs the same per lane whatever its
// width. The optimizer's own state lives in the slab's m and v buffers; one it does not use is
// never read or written, so it stays zero.
//
// A step whose update leaves a parameter NaN or infinite records the smallest such index in
// first_non_finite[step.slot] (atomicMin: deterministic whichever thread comes first), which the
// host reads back with the step's metrics. The test is on the bits (every exponent bit set), so
// no compiler may assume non-finite values away.
//
// group 0 (binding 0 is the kernel's own uniform Params):
//   binding 1: grads   [len / 4, rounded up] vec4<f32>
//   binding 2: values  [len / 4, rounded up] vec4<f32> (updated in place)
//   binding 3: m       [len / 4, rounded up] vec4<f32> (optimizer state, updated in place)
//   binding 4: v       [len / 4, rounded up] vec4<f32> (optimizer state, updated in place)
//   binding 5: first_non_finite [steps] atomic<u32> (u32 max where none; row step.slot)
// group 1:
//   binding 0: step    uniform StepParams (dynamic offset); step.step_rate is the step's rate,
//              computed on the host per optimizer, step.learning_rate its plain (scheduled)
//              learning rate

struct StepParams {
    sample_start: u32,
    batch_rows: u32,
    slot: u32,
    step_rate: f32,
    step: u32,
    learning_rate: f32,
    _pad1: u32,
    _pad2: u32,
}

const WORKGROUP: u32 = 256u;
const EXPONENT_BITS: u32 = 0x7f800000u;

@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> values: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> first_non_finite: array<atomic<u32>>;
@group(1) @binding(0) var<uniform> step: StepParams;

// The vec4 index of this thread in a 2-D grid of WORKGROUP-wide groups.
fn update_index(group: vec3<u32>, groups: vec3<u32>, lane: u32) -> u32 {
    return (group.y * groups.x + group.x) * WORKGROUP + lane;
}

// Stores the updated parameters values[i] and records the first non-finite one of them.
fn store_checked(i: u32, value: vec4<f32>) {
    values[i] = value;
    let exponent = bitcast<vec4<u32>>(value) & vec4<u32>(EXPONENT_BITS);
    let bad = exponent == vec4<u32>(EXPONENT_BITS);
    if any(bad) {
        let lane = select(select(select(3u, 2u, bad.z), 1u, bad.y), 0u, bad.x);
        atomicMin(&first_non_finite[step.slot], i * 4u + lane);
    }
}
