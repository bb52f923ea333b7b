// bias.backward: column sums of a matrix; sums split-K partials of a weight gradient (and of
// its bias gradient, the partials' last row).
//
//   bias_grad[c] = sum over r < rows of grad[r, c]
// The last tail_len sums go to `tail` instead (summing split-K partials whose last row is a bias
// gradient: the kernel gradient to bias_grad, the bias gradient to tail).
// Summed in a fixed order (ROW_LANES strided partial sums, then a fixed tree), so results are
// bit-identical from run to run.
//
// group 0:
//   binding 0: params     uniform Params
//   binding 1: grad       [rows, cols] f32
//   binding 2: bias_grad  [cols − tail_len] f32 (output)
//   binding 3: tail       [tail_len] f32 (output)

struct Params {
    rows: u32,
    cols: u32,
    tail_len: u32,
    _pad0: u32,
}

const COL_LANES: u32 = 16u;
const ROW_LANES: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> tail: array<f32>;

var<workgroup> partial: array<f32, 256>; // [ROW_LANES, COL_LANES]

@compute @workgroup_size(COL_LANES, ROW_LANES)
fn bias_backward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lane: vec3<u32>,
) {
    let col = group.x * COL_LANES + lane.x;
    var sum = 0.0;
    if col < params.cols {
        for (var row = lane.y; row < params.rows; row += ROW_LANES) {
            sum += grad[row * params.cols + col];
        }
    }
    partial[lane.y * COL_LANES + lane.x] = sum;
    workgroupBarrier();
    for (var half = ROW_LANES / 2u; half > 0u; half /= 2u) {
        if lane.y < half {
            partial[lane.y * COL_LANES + lane.x] += partial[(lane.y + half) * COL_LANES + lane.x];
        }
        workgroupBarrier();
    }
    let head = params.cols - params.tail_len;
    if lane.y == 0u && col < params.cols {
        if col < head {
            bias_grad[col] = partial[lane.x];
        } else {
            tail[col - head] = partial[lane.x];
        }
    }
}
