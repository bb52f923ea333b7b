// bias.backward: the bias gradient, the column sums of an output gradient.
//
//   bias_grad[c] = sum over r < rows of grad[r, c]
// Summed in a fixed order (ROW_LANES strided partial sums, then a fixed tree), so results are
// bit-identical from run to run.
//
// group 0:
//   binding 0: params     uniform Params
//   binding 1: grad       [rows, cols] f32
//   binding 2: bias_grad  [cols] f32 (output)

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

const COL_LANES: u32 = 16u;
const ROW_LANES: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias_grad: array<f32>;

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
    if lane.y == 0u && col < params.cols {
        bias_grad[col] = partial[lane.x];
    }
}
