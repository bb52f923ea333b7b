// batch_normalization.backward: the gradients of the training forward (batch statistics)
// with respect to its input, gamma and beta, in one kernel because they share the sums.
// x [rows, positions, channels] NHWC flattened; only the first step.batch_rows rows are real,
// n = step.batch_rows · positions values per channel. One workgroup per channel c
// (grid [channels, 1, 1]):
//
//   mean = saved[c],  inv_std = saved[channels + c],  xhat = (x − mean) · inv_std
//   beta_grad[c]  = dbeta  = Σ dy                      (real rows only)
//   gamma_grad[c] = dgamma = Σ dy · xhat
//   dx = gamma[c] · inv_std / n · (n · dy − dbeta − xhat · dgamma)   real rows;  0 padding rows
// Sums run lane-strided then through a fixed tree: bit-identical from run to run.
//
// group 0:
//   binding 0: params      uniform Params
//   binding 1: x           [rows, positions, channels] f32 (the forward's input)
//   binding 2: dy          [rows, positions, channels] f32
//   binding 3: gamma       [channels] f32
//   binding 4: saved       [2, channels] f32 (mean, inv_std from the training forward)
//   binding 5: dx          [rows, positions, channels] f32 (output)
//   binding 6: gamma_grad  [channels] f32 (output)
//   binding 7: beta_grad   [channels] f32 (output)
// group 1:
//   binding 0: step        uniform StepParams (dynamic offset)

struct Params {
    rows: u32,     // batch capacity
    positions: u32,
    channels: u32,
    momentum: f32,
    epsilon: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
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
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> gamma_grad: array<f32>;
@group(0) @binding(7) var<storage, read_write> beta_grad: array<f32>;
@group(1) @binding(0) var<uniform> step: StepParams;

var<workgroup> dbeta_partial: array<f32, WORKGROUP>;
var<workgroup> dgamma_partial: array<f32, WORKGROUP>;

@compute @workgroup_size(WORKGROUP)
fn batch_normalization_backward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let c = group.x;
    let channels = params.channels;
    let n = min(step.batch_rows, params.rows) * params.positions;
    let mean = saved[c];
    let inv_std = saved[channels + c];

    var dbeta = 0.0;
    var dgamma = 0.0;
    for (var j = lane; j < n; j += WORKGROUP) {
        let i = j * channels + c;
        dbeta += dy[i];
        dgamma += dy[i] * (x[i] - mean) * inv_std;
    }
    dbeta_partial[lane] = dbeta;
    dgamma_partial[lane] = dgamma;
    workgroupBarrier();
    for (var half = WORKGROUP / 2u; half > 0u; half /= 2u) {
        if lane < half {
            dbeta_partial[lane] += dbeta_partial[lane + half];
            dgamma_partial[lane] += dgamma_partial[lane + half];
        }
        workgroupBarrier();
    }
    let sum_dbeta = dbeta_partial[0];
    let sum_dgamma = dgamma_partial[0];

    let count = f32(n);
    let scale = gamma[c] * inv_std / f32(max(n, 1u));
    let total = params.rows * params.positions;
    for (var j = lane; j < total; j += WORKGROUP) {
        let i = j * channels + c;
        if j < n {
            let xhat = (x[i] - mean) * inv_std;
            dx[i] = scale * (count * dy[i] - sum_dbeta - xhat * sum_dgamma);
        } else {
            dx[i] = 0.0;
        }
    }
    if lane == 0u {
        gamma_grad[c] = sum_dgamma;
        beta_grad[c] = sum_dbeta;
    }
}
