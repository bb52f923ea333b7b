// softmax.forward: class probabilities of a batch of logits (Keras `model.predict`), written
// into a whole-data-set buffer at the batch's position so that one readback returns every
// prediction.
//
//   probabilities[step.sample_start + r, c] = exp(z[r, c] - max_r) / sum_c' exp(z[r, c'] - max_r)
//   for r < step.batch_rows
//
// group 0:
//   binding 0: params         uniform Params
//   binding 1: logits         [rows, classes] f32
//   binding 2: probabilities  [samples, classes] f32 (output)
// group 1:
//   binding 0: step           uniform StepParams (dynamic offset)

struct Params {
    rows: u32,     // batch capacity
    classes: u32,
    _pad0: u32,
    _pad1: u32,
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

const WORKGROUP: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> probabilities: array<f32>;
@group(1) @binding(0) var<uniform> step: StepParams;

@compute @workgroup_size(WORKGROUP)
fn softmax_forward(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if row >= min(params.rows, step.batch_rows) {
        return;
    }
    let base = row * params.classes;
    var top = logits[base];
    for (var c = 1u; c < params.classes; c++) {
        top = max(top, logits[base + c]);
    }
    var total = 0.0;
    for (var c = 0u; c < params.classes; c++) {
        total += exp(logits[base + c] - top);
    }
    let out = (step.sample_start + row) * params.classes;
    for (var c = 0u; c < params.classes; c++) {
        probabilities[out + c] = exp(logits[base + c] - top) / total;
    }
}
