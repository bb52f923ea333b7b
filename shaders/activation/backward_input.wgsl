// activation.backward_input: the input gradient of an elementwise activation function.
//
//   dx[i] = dy[i] · f'(x[i])      (x is the forward's input)
// f is chosen by the override constants ACTIVATION and NEGATIVE_SLOPE of the activation
// functions (shaders/activation/functions.wgsl, which gpu/kernels.rs puts before this text and
// which lists every function's derivative; relu's is 0 at the kink, as TensorFlow's).
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [len] f32 (the forward's input)
//   binding 2: dy      [len] f32
//   binding 3: dx      [len] f32 (output)

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn activation_backward_input(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i >= params.len {
        return;
    }
    dx[i] = activation_gradient(x[i], dy[i]);
}
