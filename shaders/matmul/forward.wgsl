// matmul.forward: tiled C = opA · opB with a fused epilogue; the one GEMM behind every pass of
// the dense and conv2d layers (one tiled kernel, not one copy per pass).
//
//   C[m, n] = epilogue(sum_k opA[m, k] * opB[k, n])
//   EPILOGUE 0: none   1: + bias[n]   2: relu(. + bias[n])   3: . * (mask[m, n] > 0)
// OPERANDS says how opA and opB are read (NHWC activations, kernel [kh, kw, c_in, c_out]):
//   0 MATRICES              opA = A [M, K] (A^T when TRANS_A: A stored [K, M]),
//                           opB = B [K, N] (B^T when TRANS_B: B stored [N, K])
//   1 CONV_FORWARD          opA = im2col(x) [B·OH·OW, KH·KW·C_in], opB = kernel [KH·KW·C_in, C_out]
//   2 CONV_BACKWARD_INPUT   opA[(b,ih,iw), (ki,kj,co)] = dz[b, (ih+pt−ki)/sh, (iw+pl−kj)/sw, co]
//                           where that is a whole, in-range output position, else 0;
//                           opB[(ki,kj,co), ci] = kernel[ki, kj, ci, co]
//   3 CONV_BACKWARD_WEIGHT  opA = im2col(x)^T [KH·KW·C_in, B·OH·OW], opB = dz [B·OH·OW, C_out]
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
    // Convolution geometry (OPERANDS 1-3).
    in_h: u32,
    in_w: u32,
    in_c: u32,
    out_h: u32,
    out_w: u32,
    out_c: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_left: u32,
}

const MATRICES: u32 = 0u;
const CONV_FORWARD: u32 = 1u;
const CONV_BACKWARD_INPUT: u32 = 2u;
const CONV_BACKWARD_WEIGHT: u32 = 3u;

override OPERANDS: u32 = MATRICES;
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

// x[b, ih, iw, ci] for output pixel `pixel` = (b, oh, ow) and kernel tap `tap` = (ki, kj, ci);
// zero in the padding.
fn im2col(pixel: u32, tap: u32) -> f32 {
    let ow = pixel % params.out_w;
    let oh = (pixel / params.out_w) % params.out_h;
    let batch = pixel / (params.out_w * params.out_h);
    let ci = tap % params.in_c;
    let kj = (tap / params.in_c) % params.kernel_w;
    let ki = tap / (params.in_c * params.kernel_w);
    let ih = i32(oh * params.stride_h + ki) - i32(params.pad_top);
    let iw = i32(ow * params.stride_w + kj) - i32(params.pad_left);
    if ih < 0 || iw < 0 || ih >= i32(params.in_h) || iw >= i32(params.in_w) {
        return 0.0;
    }
    return a[((batch * params.in_h + u32(ih)) * params.in_w + u32(iw)) * params.in_c + ci];
}

// dz[b, oh, ow, co] for input pixel `pixel` = (b, ih, iw) and tap (ki, kj, co), where
// oh·sh = ih + pt − ki (likewise w); zero where no output position lands there.
fn col2im_grad(pixel: u32, tap: u32) -> f32 {
    let iw = pixel % params.in_w;
    let ih = (pixel / params.in_w) % params.in_h;
    let batch = pixel / (params.in_w * params.in_h);
    let co = tap % params.out_c;
    let kj = (tap / params.out_c) % params.kernel_w;
    let ki = tap / (params.out_c * params.kernel_w);
    let th = i32(ih + params.pad_top) - i32(ki);
    let tw = i32(iw + params.pad_left) - i32(kj);
    if th < 0 || tw < 0 || u32(th) % params.stride_h != 0u || u32(tw) % params.stride_w != 0u {
        return 0.0;
    }
    let oh = u32(th) / params.stride_h;
    let ow = u32(tw) / params.stride_w;
    if oh >= params.out_h || ow >= params.out_w {
        return 0.0;
    }
    return a[((batch * params.out_h + oh) * params.out_w + ow) * params.out_c + co];
}

fn load_a(row: u32, kk: u32) -> f32 {
    if row >= params.m || kk >= params.k {
        return 0.0;
    }
    switch OPERANDS {
        case CONV_FORWARD: {
            return im2col(row, kk);
        }
        case CONV_BACKWARD_INPUT: {
            return col2im_grad(row, kk);
        }
        case CONV_BACKWARD_WEIGHT: {
            return im2col(kk, row);
        }
        default: {
            if TRANS_A {
                return a[kk * params.m + row];
            }
            return a[row * params.k + kk];
        }
    }
}

fn load_b(kk: u32, col: u32) -> f32 {
    if kk >= params.k || col >= params.n {
        return 0.0;
    }
    if OPERANDS == CONV_BACKWARD_INPUT {
        // kk = (ki, kj, co), col = ci: kernel[ki, kj, ci, co].
        let tap = kk / params.out_c;
        return b[(tap * params.in_c + col) * params.out_c + kk % params.out_c];
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
    if TRANS_A || OPERANDS == CONV_BACKWARD_WEIGHT {
        a_quad = thread % LANES;
        a_k = thread / LANES;
    }
    var b_quad = thread % LANES;
    var b_k = thread / LANES;
    if TRANS_B || OPERANDS == CONV_BACKWARD_INPUT {
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
