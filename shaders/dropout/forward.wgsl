// dropout.forward: Keras inverted dropout while training.
//
//   y[i] = keep(i) ? x[i] · scale : 0
//   keep(i) = (hash(seed, step.step, i) >> 8) >= threshold
//   hash(seed, step, i) = mix(mix(mix(seed + 0x9e3779b9) ^ step) ^ i)
//   mix(h): h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b; h ^= h >> 16
// mix is Chris Wellons's "lowbias32" integer finaliser (murmur3 fmix32 family, a bijection
// of u32 with near-ideal avalanche); chaining it over seed, step and index gives every layer
// (seed) and every step its own stream, and nothing is stored between forward and backward.
// Integer math only, so the CPU reference (src/layers/dropout/cpu.rs) draws identical bits.
// threshold = round(rate · 2^24) and scale = 1 / (1 − rate) come from the host; padding rows
// (row ≥ step.batch_rows) are masked like the rest, they carry zeros.
// The backward pass is this kernel over the output gradient: dx[i] = keep(i) ? dy[i] · scale : 0
// with the same seed and step draws the same mask.
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [len] f32
//   binding 2: y       [len] f32 (output)
// group 1:
//   binding 0: step    uniform StepParams (dynamic offset)

struct Params {
    len: u32,
    seed: u32,
    threshold: u32,
    scale: f32,
}

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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(1) @binding(0) var<uniform> step: StepParams;

fn mix(value: u32) -> u32 {
    var h = value;
    h ^= h >> 16u;
    h *= 0x7feb352du;
    h ^= h >> 15u;
    h *= 0x846ca68bu;
    h ^= h >> 16u;
    return h;
}

fn keep(i: u32) -> bool {
    let bits = mix(mix(mix(params.seed + 0x9e3779b9u) ^ step.step) ^ i);
    return (bits >> 8u) >= params.threshold;
}

@compute @workgroup_size(WORKGROUP)
fn dropout_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i >= params.len {
        return;
    }
    y[i] = select(0.0, x[i] * params.scale, keep(i));
}
