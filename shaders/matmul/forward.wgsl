// matmul.forward: tiled C = op(A) · op(B) with a fused epilogue; the one GEMM behind the dense
// layer's forward, backward_input and backward_weight passes.
//
//   C[m, n] = epilogue(sum_k opA[m, k] * opB[k, n])
//   opA = A [M, K], or A^T when TRANS_A (A stored [K, M])
//   opB = B [K, N], or B^T when TRANS_B (B stored [N, K])
//   EPILOGUE 0: none   1: + bias[n]   2: relu(. + bias[n])   3: . * (mask[m, n] > 0)
// Each workgroup computes a TILE_M x TILE_N tile, each thread THREAD_M x THREAD_N of it, over
// TILE_K-deep slices staged in workgroup memory. The k sum runs in ascending order with fma,
// so results are reproducible bit for bit. Out-of-range loads read zero: any M, N, K work.
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
const THREAD_M: u32 = 4u;
const THREAD_N: u32 = 4u;
const LANES_M: u32 = 16u; // TILE_M / THREAD_M
const LANES_N: u32 = 16u; // TILE_N / THREAD_N
const THREADS: u32 = 256u; // LANES_M * LANES_N

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;

var<workgroup> a_tile: array<f32, 1024>; // [TILE_K, TILE_M]
var<workgroup> b_tile: array<f32, 1024>; // [TILE_K, TILE_N]

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

@compute @workgroup_size(LANES_N, LANES_M)
fn matmul_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lane: vec3<u32>,
) {
    let row0 = group.y * TILE_M;
    let col0 = group.x * TILE_N;
    let thread = lane.y * LANES_N + lane.x;
    var acc: array<f32, 16>; // [THREAD_M, THREAD_N]
    for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
        // Stage the tiles; consecutive threads read consecutive addresses of the source.
        for (var i = 0u; i < TILE_M * TILE_K / THREADS; i++) {
            let e = thread + i * THREADS;
            var m: u32;
            var kk: u32;
            if TRANS_A {
                m = e % TILE_M;
                kk = e / TILE_M;
            } else {
                kk = e % TILE_K;
                m = e / TILE_K;
            }
            a_tile[kk * TILE_M + m] = load_a(row0 + m, k0 + kk);
        }
        for (var i = 0u; i < TILE_N * TILE_K / THREADS; i++) {
            let e = thread + i * THREADS;
            var n: u32;
            var kk: u32;
            if TRANS_B {
                kk = e % TILE_K;
                n = e / TILE_K;
            } else {
                n = e % TILE_N;
                kk = e / TILE_N;
            }
            b_tile[kk * TILE_N + n] = load_b(k0 + kk, col0 + n);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            var a_reg: array<f32, 4>;
            var b_reg: array<f32, 4>;
            for (var i = 0u; i < THREAD_M; i++) {
                a_reg[i] = a_tile[kk * TILE_M + lane.y * THREAD_M + i];
            }
            for (var j = 0u; j < THREAD_N; j++) {
                b_reg[j] = b_tile[kk * TILE_N + lane.x * THREAD_N + j];
            }
            for (var i = 0u; i < THREAD_M; i++) {
                for (var j = 0u; j < THREAD_N; j++) {
                    acc[i * THREAD_N + j] = fma(a_reg[i], b_reg[j], acc[i * THREAD_N + j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < THREAD_M; i++) {
        let row = row0 + lane.y * THREAD_M + i;
        for (var j = 0u; j < THREAD_N; j++) {
            let col = col0 + lane.x * THREAD_N + j;
            if row < params.m && col < params.n {
                c[row * params.n + col] = epilogue(row, col, acc[i * THREAD_N + j]);
            }
        }
    }
}
