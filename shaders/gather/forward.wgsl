// gather.forward: assemble one batch from the data set resident on the GPU.
//
//   batch[r, j]      = images[indices[step.sample_start + r], j] / 255   for r < step.batch_rows
//   batch_labels[r]  = labels[indices[step.sample_start + r]]
// Rows r >= step.batch_rows (a short last batch) are zero with label NO_LABEL, so every later
// kernel can run over the full batch and the loss ignores them.
//
// group 0:
//   binding 0: params        uniform Params
//   binding 1: images        [samples * sample_len] u8, packed four to a u32 (little-endian)
//   binding 2: labels        [samples] u32
//   binding 3: indices       [n] u32, absolute sample numbers in visiting order
//   binding 4: batch         [rows, sample_len] f32 (output)
//   binding 5: batch_labels  [rows] u32 (output)
// group 1:
//   binding 0: step          uniform StepParams (dynamic offset)

struct Params {
    rows: u32,        // batch capacity
    sample_len: u32,  // values per sample (H * W * C)
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

const NO_LABEL: u32 = 0xffffffffu;
const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> batch: array<f32>;
@group(0) @binding(5) var<storage, read_write> batch_labels: array<u32>;
@group(1) @binding(0) var<uniform> step: StepParams;

fn pixel(byte_index: u32) -> f32 {
    let word = images[byte_index / 4u];
    return f32(extractBits(word, (byte_index % 4u) * 8u, 8u)) / 255.0;
}

@compute @workgroup_size(WORKGROUP)
fn gather_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i >= params.rows * params.sample_len {
        return;
    }
    let row = i / params.sample_len;
    let col = i % params.sample_len;
    if row >= step.batch_rows {
        batch[i] = 0.0;
        if col == 0u {
            batch_labels[row] = NO_LABEL;
        }
        return;
    }
    let sample = indices[step.sample_start + row];
    batch[i] = pixel(sample * params.sample_len + col);
    if col == 0u {
        batch_labels[row] = labels[sample];
    }
}
