// matmul.forward: tiled C = op(A) · op(B) with a fused epilogue; the one GEMM behind the dense
// layer's forward, backward_input and backward_weight passes.
//
//   C[m, n] = epilogue(sum_k opA[m, k] * opB[k, n])
//   opA = A [M, K], or A^T when TRANS_A (A stored [K, M])
//   opB = B [K, N], or B^T when TRANS_B (B stored [N, K])
//   EPILOGUE 0: none   1: + bias[n]   2: relu(. + bias[n])   3: . * (mask[m, n] > 0)
// Each workgroup computes a 64 x 64 tile of C, each thread a 4 x 4 block of it held in four
// vec4 accumulators, over 16-deep k slices staged in workgroup memory as vec4s of four rows
// (A) or four columns (B). The k sum runs in ascending order with fma, so results are
// reproducible bit for bit. Out-of-range loads read zero: any M, N, K work.
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: a       [M, K] or [K, M] f32
//   binding 2: b       [K, N] or [N, K] f32
//   binding 3: bias    [N] f32 (read by EPILOGUE 1, 2)
//   binding 4: mask    [M, N] f32 (read by EPILOGUE 3)
//   binding 5: c       [M, N] f32 (output)

struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override EPILOGUE: u32 = 0u;

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
const LANES: u32 = 16u; // threads along each of M and N; each covers 4 rows and 4 columns

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;

var<workgroup> a_tile: array<vec4<f32>, 256>; // [TILE_K, TILE_M / 4]: rows 4r..4r+3 at one k
var<workgroup> b_tile: array<vec4<f32>, 256>; // [TILE_K, TILE_N / 4]: columns 4c..4c+3 at one k

fn load_a(row: u32, kk: u32) -> f32 {
    if row >= params.m || kk >= params.k {
        return 0.0;
    }
    if TRANS_A {
        return a[kk * params.m + row];
    }
    return a[row * params.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if kk >= params.k || col >= params.n {
        return 0.0;
    }
    if TRANS_B {
        return b[col * params.k + kk];
    }
    return b[kk * params.n + col];
}

fn epilogue(row: u32, col: u32, sum: f32) -> f32 {
    switch EPILOGUE {
        case 1u: {
            return sum + bias[col];
        }
        case 2u: {
            return max(sum + bias[col], 0.0);
        }
        case 3u: {
            return select(0.0, sum, mask[row * params.n + col] > 0.0);
        }
        default: {
            return sum;
        }
    }
}

fn store(row: u32, col0: u32, sums: vec4<f32>) {
    if row >= params.m {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + j;
        if col < params.n {
            c[row * params.n + col] = epilogue(row, col, sums[j]);
        }
    }
}

@compute @workgroup_size(LANES, LANES)
fn matmul_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lane: vec3<u32>,
) {
    let row0 = group.y * TILE_M;
    let col0 = group.x * TILE_N;
    let thread = lane.y * LANES + lane.x;
    // Which vec4 of each tile this thread stages: the mapping that makes consecutive threads
    // read consecutive addresses of the operand's storage order.
    var a_quad = thread / TILE_K;
    var a_k = thread % TILE_K;
    if TRANS_A {
        a_quad = thread % LANES;
        a_k = thread / LANES;
    }
    var b_quad = thread % LANES;
    var b_k = thread / LANES;
    if TRANS_B {
        b_quad = thread / TILE_K;
        b_k = thread % TILE_K;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
        let ar = row0 + a_quad * 4u;
        let ak = k0 + a_k;
        a_tile[a_k * LANES + a_quad] = vec4<f32>(
            load_a(ar, ak), load_a(ar + 1u, ak), load_a(ar + 2u, ak), load_a(ar + 3u, ak));
        let bc = col0 + b_quad * 4u;
        let bk = k0 + b_k;
        b_tile[b_k * LANES + b_quad] = vec4<f32>(
            load_b(bk, bc), load_b(bk, bc + 1u), load_b(bk, bc + 2u), load_b(bk, bc + 3u));
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let rows = a_tile[kk * LANES + lane.y];
            let cols = b_tile[kk * LANES + lane.x];
            acc0 = fma(vec4<f32>(rows.x), cols, acc0);
            acc1 = fma(vec4<f32>(rows.y), cols, acc1);
            acc2 = fma(vec4<f32>(rows.z), cols, acc2);
            acc3 = fma(vec4<f32>(rows.w), cols, acc3);
        }
        workgroupBarrier();
    }
    let row = row0 + lane.y * 4u;
    let col = col0 + lane.x * 4u;
    store(row, col, acc0);
    store(row + 1u, col, acc1);
    store(row + 2u, col, acc2);
    store(row + 3u, col, acc3);
}
