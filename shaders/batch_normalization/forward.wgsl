// batch_normalization.forward: Keras BatchNormalization(axis=-1) over x [rows, positions,
// channels] (NHWC flattened; positions = H·W, or 1 for a flat input). Only the first
// step.batch_rows rows are real; n = step.batch_rows · positions values per channel.
//
// TRAINING = 1 (one workgroup per channel c, grid [channels, 1, 1]):
//   mean     = Σ x[.., c] / n                        (real rows only)
//   var      = Σ (x[.., c] − mean)² / n              (second pass; biased, as Keras 3)
//   inv_std  = 1 / sqrt(var + epsilon)
//   y        = gamma[c] · (x − mean) · inv_std + beta[c]   real rows;  0 padding rows
//   saved[c] = mean,  saved[channels + c] = inv_std          (for the backward)
//   moving_mean[c]     = moving_mean[c] · momentum + mean · (1 − momentum)
//   moving_variance[c] = moving_variance[c] · momentum + var · (1 − momentum)
//   (with n = 0 y is all 0 and nothing else is written)
// TRAINING = 0 (elementwise over every rows · positions · channels value, 256 per workgroup,
// 2-D grid with linear group index group.y · num_groups.x + group.x):
//   y = gamma[c] · (x − moving_mean[c]) / sqrt(moving_variance[c] + epsilon) + beta[c]
//   and nothing else is written.
// Sums run lane-strided then through a fixed tree: bit-identical from run to run.
//
// group 0:
//   binding 0: params           uniform Params
//   binding 1: x                [rows, positions, channels] f32
//   binding 2: gamma            [channels] f32
//   binding 3: beta             [channels] f32
//   binding 4: moving_mean      [channels] f32 (updated in place when TRAINING = 1)
//   binding 5: moving_variance  [channels] f32 (updated in place when TRAINING = 1)
//   binding 6: saved            [2, channels] f32 (output when TRAINING = 1: mean, inv_std)
//   binding 7: y                [rows, positions, channels] f32 (output)
// group 1:
//   binding 0: step             uniform StepParams (dynamic offset)

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

override TRAINING: u32 = 1u;

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> moving_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> moving_variance: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(1) @binding(0) var<uniform> step: StepParams;

var<workgroup> partial: array<f32, WORKGROUP>;

// The sum of every lane's `value`, in a fixed tree order; every lane gets it.
fn workgroup_sum(lane: u32, value: f32) -> f32 {
    partial[lane] = value;
    workgroupBarrier();
    for (var half = WORKGROUP / 2u; half > 0u; half /= 2u) {
        if lane < half {
            partial[lane] += partial[lane + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier(); // partial is reused by the next sum
    return total;
}

fn forward_training(c: u32, lane: u32) {
    let channels = params.channels;
    let n = min(step.batch_rows, params.rows) * params.positions;
    let count = f32(max(n, 1u));

    var sum = 0.0;
    for (var j = lane; j < n; j += WORKGROUP) {
        sum += x[j * channels + c];
    }
    let mean = workgroup_sum(lane, sum) / count;

    var squares = 0.0;
    for (var j = lane; j < n; j += WORKGROUP) {
        let d = x[j * channels + c] - mean;
        squares += d * d;
    }
    let variance = workgroup_sum(lane, squares) / count;
    let inv_std = 1.0 / sqrt(variance + params.epsilon);

    let g = gamma[c];
    let b = beta[c];
    let total = params.rows * params.positions;
    for (var j = lane; j < total; j += WORKGROUP) {
        let i = j * channels + c;
        if j < n {
            y[i] = g * (x[i] - mean) * inv_std + b;
        } else {
            y[i] = 0.0;
        }
    }
    if lane == 0u && n > 0u {
        saved[c] = mean;
        saved[channels + c] = inv_std;
        let keep = params.momentum;
        moving_mean[c] = moving_mean[c] * keep + mean * (1.0 - keep);
        moving_variance[c] = moving_variance[c] * keep + variance * (1.0 - keep);
    }
}

fn forward_inference(i: u32) {
    if i >= params.rows * params.positions * params.channels {
        return;
    }
    let c = i % params.channels;
    y[i] = gamma[c] * (x[i] - moving_mean[c]) / sqrt(moving_variance[c] + params.epsilon)
        + beta[c];
}

@compute @workgroup_size(WORKGROUP)
fn batch_normalization_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    if TRAINING == 1u {
        forward_training(group.x, lane);
    } else {
        forward_inference((group.y * groups.x + group.x) * WORKGROUP + lane);
    }
}
