// softmax_xent.forward: softmax cross-entropy of a batch of logits against integer labels,
// its gradient and the number of correct predictions, in one kernel.
//
//   p[r, :]        = softmax(logits[r, :])
//   loss[r]        = log(sum_c exp(z[r, c] - max_r)) - (z[r, label] - max_r)
//   grad[r, c]     = (p[r, c] - [c == label[r]]) / step.batch_rows   for r < step.batch_rows
//   grad[r, c]     = 0                                                for padding rows
//   metrics[slot · G + g] = (sum of loss[r], count of r with argmax(z[r, :]) == label[r]) over
//                           the rows of workgroup g of the G in the grid (training: G = 1)
// Argmax takes the first of equal maxima (as numpy). Workgroup g takes rows g·256 + lane,
// striding by 256·G; each sums its rows in a fixed order (lane-strided partial sums, then a
// fixed tree), so results are reproducible bit for bit; the host adds the G rows of a step.
// WRITE_GRAD = false (inference) skips the gradient: `grad` is not written at all.
//
// group 0:
//   binding 0: params   uniform Params
//   binding 1: logits   [rows, classes] f32
//   binding 2: labels   [rows] u32 (NO_LABEL on padding rows)
//   binding 3: grad     [rows, classes] f32 (output)
//   binding 4: metrics  [slots] Metrics (output, row step.slot)
// group 1:
//   binding 0: step     uniform StepParams (dynamic offset)

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
    adam_alpha: f32,
    step: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Metrics {
    loss_sum: f32,
    correct: u32,
}

const WORKGROUP: u32 = 256u;

override WRITE_GRAD: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<Metrics>;
@group(1) @binding(0) var<uniform> step: StepParams;

var<workgroup> loss_partial: array<f32, WORKGROUP>;
var<workgroup> correct_partial: array<u32, WORKGROUP>;

@compute @workgroup_size(WORKGROUP)
fn softmax_xent_forward(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let classes = params.classes;
    let scale = 1.0 / f32(max(step.batch_rows, 1u));
    var loss_sum = 0.0;
    var correct = 0u;
    for (var row = group.x * WORKGROUP + lane; row < params.rows; row += WORKGROUP * groups.x) {
        let base = row * classes;
        if row >= step.batch_rows {
            if WRITE_GRAD {
                for (var c = 0u; c < classes; c++) {
                    grad[base + c] = 0.0;
                }
            }
            continue;
        }
        var best = 0u;
        var top = logits[base];
        for (var c = 1u; c < classes; c++) {
            let z = logits[base + c];
            if z > top {
                top = z;
                best = c;
            }
        }
        var total = 0.0;
        for (var c = 0u; c < classes; c++) {
            total += exp(logits[base + c] - top);
        }
        let label = labels[row];
        if WRITE_GRAD {
            for (var c = 0u; c < classes; c++) {
                let p = exp(logits[base + c] - top) / total;
                grad[base + c] = (p - select(0.0, 1.0, c == label)) * scale;
            }
        }
        loss_sum += log(total) - (logits[base + label] - top);
        correct += select(0u, 1u, best == label);
    }
    loss_partial[lane] = loss_sum;
    correct_partial[lane] = correct;
    workgroupBarrier();
    for (var half = WORKGROUP / 2u; half > 0u; half /= 2u) {
        if lane < half {
            loss_partial[lane] += loss_partial[lane + half];
            correct_partial[lane] += correct_partial[lane + half];
        }
        workgroupBarrier();
    }
    if lane == 0u {
        metrics[step.slot * groups.x + group.x] = Metrics(loss_partial[0], correct_partial[0]);
    }
}
