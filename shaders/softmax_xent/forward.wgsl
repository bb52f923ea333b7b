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
// HEAD (training, one workgroup): the classifier head in the same launch. First the last
// Dense layer's logits, z = x · kernel + bias; then the loss as above; then that layer's
// gradients, dkernel = xᵀ · dz, dbias = Σ_r dz, and with HEAD_DX dx = dz · kernelᵀ (zero where
// x ≤ 0 with HEAD_MASK: a fused ReLU). Every sum runs in the order of the separate GEMM
// launches (ascending, fma, the bias after the products), so the weights match theirs bit for
// bit. The kernel and bias sit in the parameter slab at kernel_at and bias_at, their gradients
// at the same offsets of the gradient slab.
//
// group 0:
//   binding 0: params   uniform Params
//   binding 1: logits   [rows, classes] f32
//   binding 2: labels   [rows] u32 (NO_LABEL on padding rows)
//   binding 3: grad     [rows, classes] f32 (output)
//   binding 4: metrics  [slots] Metrics (output, row step.slot)
//   binding 5: x        [rows, inputs] f32 (HEAD)
//   binding 6: weights  the parameter slab (HEAD)
//   binding 7: weight_grads  the gradient slab (HEAD, output)
//   binding 8: dx       [rows, inputs] f32 (HEAD_DX, output)
// group 1:
//   binding 0: step     uniform StepParams (dynamic offset)

struct Params {
    rows: u32,     // batch capacity
    classes: u32,
    inputs: u32,   // HEAD: the Dense layer's input width
    kernel_at: u32, // HEAD: offset of its kernel [inputs, classes] in the slabs
    bias_at: u32,  // HEAD: offset of its bias [classes] in the slabs
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

struct Metrics {
    loss_sum: f32,
    correct: u32,
}

const WORKGROUP: u32 = 256u;

override WRITE_GRAD: bool = true;
override HEAD: bool = false;
override HEAD_DX: bool = false;
override HEAD_MASK: bool = false;
// HEAD: the sizes as pipeline constants (the plan fixes them), so the head's loops have constant
// bounds: lavapipe re-specializes a kernel whose loop bounds come from uniforms for the values it
// sees, and did so at every launch of the head.
override HEAD_ROWS: u32 = 1u;
override HEAD_INPUTS: u32 = 1u;
override HEAD_CLASSES: u32 = 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<Metrics>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> weights: array<f32>;
@group(0) @binding(7) var<storage, read_write> weight_grads: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(1) @binding(0) var<uniform> step: StepParams;

var<workgroup> loss_partial: array<f32, WORKGROUP>;
var<workgroup> correct_partial: array<u32, WORKGROUP>;

// HEAD: z = x · kernel + bias, a thread per logit.
fn head_forward(lane: u32) {
    for (var i = lane; i < HEAD_ROWS * HEAD_CLASSES; i += WORKGROUP) {
        let row = i / HEAD_CLASSES;
        let column = i % HEAD_CLASSES;
        var sum = 0.0;
        for (var k = 0u; k < HEAD_INPUTS; k++) {
            sum = fma(x[row * HEAD_INPUTS + k], weights[params.kernel_at + k * HEAD_CLASSES + column], sum);
        }
        logits[i] = sum + weights[params.bias_at + column];
    }
}

// HEAD: dkernel and dbias from dz (in `grad`), a thread per value; dx with HEAD_DX.
fn head_backward(lane: u32) {
    for (var i = lane; i < (HEAD_INPUTS + 1u) * HEAD_CLASSES; i += WORKGROUP) {
        let k = i / HEAD_CLASSES;
        let column = i % HEAD_CLASSES;
        var sum = 0.0;
        if k < HEAD_INPUTS {
            for (var row = 0u; row < HEAD_ROWS; row++) {
                sum = fma(x[row * HEAD_INPUTS + k], grad[row * HEAD_CLASSES + column], sum);
            }
            weight_grads[params.kernel_at + i] = sum;
        } else {
            for (var row = 0u; row < HEAD_ROWS; row++) {
                sum += grad[row * HEAD_CLASSES + column];
            }
            weight_grads[params.bias_at + column] = sum;
        }
    }
    if HEAD_DX {
        for (var i = lane; i < HEAD_ROWS * HEAD_INPUTS; i += WORKGROUP) {
            let row = i / HEAD_INPUTS;
            let k = i % HEAD_INPUTS;
            var sum = 0.0;
            for (var column = 0u; column < HEAD_CLASSES; column++) {
                sum = fma(grad[row * HEAD_CLASSES + column], weights[params.kernel_at + k * HEAD_CLASSES + column], sum);
            }
            if HEAD_MASK {
                sum = select(0.0, sum, x[i] > 0.0);
            }
            dx[i] = sum;
        }
    }
}

@compute @workgroup_size(WORKGROUP)
fn softmax_xent_forward(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    if HEAD {
        head_forward(lane);
        storageBarrier();
    }
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
    if HEAD {
        storageBarrier();
        head_backward(lane);
    }
}
