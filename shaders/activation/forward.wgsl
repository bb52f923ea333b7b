// activation.forward: an elementwise activation function over `len` values.
//
//   y[i] = f(x[i])
// f is chosen by the override constants ACTIVATION and NEGATIVE_SLOPE of the activation
// functions (shaders/activation/functions.wgsl, which gpu/kernels.rs puts before this text and
// which lists every function's formula).
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [len] f32
//   binding 2: y       [len] f32 (output)

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn activation_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i >= params.len {
        return;
    }
    y[i] = activate(x[i]);
}
