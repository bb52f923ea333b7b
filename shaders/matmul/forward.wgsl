// matmul.forward: tiled C = opA · opB with a fused epilogue; the one GEMM behind every pass of
// the dense and conv2d layers (one tiled kernel, not one copy per pass).
//
//   C[m, n] = epilogue(sum_k opA[m, k] * opB[k, n])
//   EPILOGUE 0: none   1: + bias[n]   2: f(. + bias[n])   3: . * (mask[m, n] > 0)
//            4: none, and the column sums of opB, Σ_k opB[k, n], go to column_sums[n]: a
//               weight gradient's GEMM also gives its bias gradient, from the dz it stages.
//   f: the activation the override constants ACTIVATION and NEGATIVE_SLOPE choose
//   (shaders/activation/functions.wgsl, which gpu/kernels.rs puts before this text).
// OPERANDS says how opA and opB are read (NHWC activations, kernel [kh, kw, c_in, c_out]):
//   0 MATRICES              opA = A [M, K] (A^T when TRANS_A: A stored [K, M]),
//                           opB = B [K, N] (B^T when TRANS_B: B stored [N, K])
//   1 CONV_FORWARD          opA = im2col(x) [B·OH·OW, KH·KW·C_in], opB = kernel [KH·KW·C_in, C_out]
//   2 CONV_BACKWARD_INPUT   opA[(b,ih,iw), (ki,kj,co)] = dz[b, (ih+pt−ki)/sh, (iw+pl−kj)/sw, co]
//                           where that is a whole, in-range output position, else 0;
//                           opB[(ki,kj,co), ci] = kernel[ki, kj, ci, co]
//   3 CONV_BACKWARD_WEIGHT  opA = im2col(x)^T [KH·KW·C_in, B·OH·OW], opB = dz [B·OH·OW, C_out]
// With split-K (grid z > 1, k_chunk < K), workgroup z sums k in [z·k_chunk, (z+1)·k_chunk)
// into its own partial C at c[z·R·N ..] (EPILOGUE 0 and 4 only), R = M rows, plus one row of
// column sums with EPILOGUE 4 (which then go there, not to column_sums); bias.backward then
// sums the partials in a fixed order.
// Each workgroup of LANES_N x LANES_M threads computes a TILE_M x TILE_N tile of C, each thread
// a (4·MICRO_M) x (4·MICRO_N) block of it (MICRO: 1 or 2 vec4s a side; the launcher picks the
// shape per GEMM), over 16-deep k slices staged in workgroup memory as vec4s of four rows (A)
// or four columns (B). A thread's rows are quads lane.y + r·LANES_M, its columns quads
// lane.x + c·LANES_N, so neighbouring threads read neighbouring quads. Every operand value a
// thread reads is used 4·MICRO times: the larger block halves the loads per multiply-add (the
// cost that dominates on a CPU adapter) at the price of more registers. The k sum runs in
// ascending order with fma, so results are reproducible bit for bit. Out-of-range loads read
// zero: any M, N, K work. The tile is at most 64 x 64 (the workgroup arrays' size) and a thread
// stages at most MAX_A_PER_THREAD vec4s of A (it keeps their row descriptors).
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: a       [M, K] or [K, M] f32
//   binding 2: b       [K, N] or [N, K] f32
//   binding 3: bias    [N] f32 (read by EPILOGUE 1, 2)
//   binding 4: mask    [M, N] f32 (read by EPILOGUE 3)
//   binding 5: c       [M, N] f32 (output)
//   binding 6: column_sums [N] f32 (output of EPILOGUE 4 without split-K)
//   binding 7: pooled  [B, pooled_h, pooled_w, N] f32 (output with POOLED)

struct Params {
    m: u32,
    n: u32,
    k: u32,
    k_chunk: u32, // k per split (a multiple of TILE_K); split z writes its partial to c[z]
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
    // POOLED: the pooled output's height and width (out_h / 2, out_w / 2, floored).
    pooled_h: u32,
    pooled_w: u32,
    _pad0: u32,
    _pad1: u32,
}

const MATRICES: u32 = 0u;
const CONV_FORWARD: u32 = 1u;
const CONV_BACKWARD_INPUT: u32 = 2u;
const CONV_BACKWARD_WEIGHT: u32 = 3u;

override OPERANDS: u32 = MATRICES;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override EPILOGUE: u32 = 0u;
override COLUMN_SUMS: bool = EPILOGUE == 4u;
// Both convolution strides are 1 (CONV_BACKWARD_INPUT then needs no division).
override UNIT_STRIDE: bool = false;
// CONV_FORWARD only: a 2×2, stride-2 pooling of the output is computed too (the planner folds
// the pooling layer after the convolution into it). Rows of C then run over the pooling
// windows, four rows a window: row 4·w + q is output pixel (2·ph + q / 2, 2·pw + q % 2) of
// window w = (b, ph, pw); each window's max (or, with POOL_AVERAGE, mean, summed in row-major
// order as pool2d.forward does) after the epilogue goes to `pooled`. Pixels past the last
// whole window (an odd height or width) are not computed: the pooling reads none of them.
override POOLED: bool = false;
override POOL_AVERAGE: bool = false;

const TILE_K: u32 = 16u;
// Threads along M and N, and vec4s of C per thread along M and N.
override LANES_M: u32 = 16u;
override LANES_N: u32 = 16u;
override MICRO_M: u32 = 1u;
override MICRO_N: u32 = 1u;
// vec4s of one k slice along M and N.
override QUADS_M: u32 = LANES_M * MICRO_M;
override QUADS_N: u32 = LANES_N * MICRO_N;
override TILE_M: u32 = QUADS_M * 4u;
override TILE_N: u32 = QUADS_N * 4u;
override THREADS: u32 = LANES_M * LANES_N;
// vec4s of one k slice: [TILE_K, QUADS_M] of A, [TILE_K, QUADS_N] of B.
override A_QUADS: u32 = TILE_K * QUADS_M;
override B_QUADS: u32 = TILE_K * QUADS_N;
// vec4s each thread stages per k slice (at most MAX_A_PER_THREAD of A).
override A_PER_THREAD: u32 = (A_QUADS + THREADS - 1u) / THREADS;
override B_PER_THREAD: u32 = (B_QUADS + THREADS - 1u) / THREADS;
const MAX_A_PER_THREAD: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> column_sums: array<f32>;
@group(0) @binding(7) var<storage, read_write> pooled: array<f32>;

// n / d and n % d for n < 2^21 (the launcher keeps K below that): an f32 division, within
// 2.5 ulp on any Vulkan device, is then less than 1 from n / d, so its floor is the quotient or
// one off, and one step corrects it. Staging decomposes k in every slice; integer division
// there is a chain of scalar divisions on CPU adapters, where it cost more than the
// multiply-adds.
struct QuoRem {
    quo: u32,
    rem: u32,
}

fn quo_rem(n: u32, d: u32) -> QuoRem {
    var quo = u32(f32(n) / f32(d));
    if quo * d > n {
        quo -= 1u;
    } else if n - quo * d >= d {
        quo += 1u;
    }
    return QuoRem(quo, n - quo * d);
}

// The tap (ki, kj) and channel of a k index (ki, kj, c) over `channels`.
struct Tap {
    ki: i32,
    kj: i32,
    channel: u32,
}

fn split_tap(kk: u32, channels: u32) -> Tap {
    let c = quo_rem(kk, channels);
    let k = quo_rem(c.quo, params.kernel_w);
    return Tap(i32(k.quo), i32(k.rem), c.rem);
}

// Sized for the largest tile, 64 x 64.
var<workgroup> a_tile: array<vec4<f32>, 256>; // [TILE_K, QUADS_M]: rows 4r..4r+3 at one k
var<workgroup> b_tile: array<vec4<f32>, 256>; // [TILE_K, QUADS_N]: columns 4c..4c+3 at one k

// Four values of `a` at `index` where `inside`, else 0 (outside lanes read element 0 and
// discard it).
fn read_a(index: vec4<u32>, inside: vec4<bool>) -> vec4<f32> {
    let at = select(vec4<u32>(0u), index, inside);
    return select(vec4<f32>(0.0), vec4<f32>(a[at.x], a[at.y], a[at.z], a[at.w]), inside);
}

// Four consecutive rows of A that one thread stages, described once per workgroup so that
// staging a k slice of a convolution costs one decomposition of k, not one per element:
//   CONV_FORWARD          rows are output pixels: base = b·in_h, h/w = oh·sh − pt, ow·sw − pl
//   CONV_BACKWARD_INPUT   rows are input pixels:  base = b·out_h, h/w = ih + pt, iw + pl
//   CONV_BACKWARD_WEIGHT  rows are kernel taps:   base = ci,      h/w = ki, kj
struct RowQuad {
    first: u32,
    ok: vec4<bool>,
    base: vec4<u32>,
    h: vec4<i32>,
    w: vec4<i32>,
}

// Four output pixels (b, oh, ow) of a convolution.
struct Pixels {
    b: vec4<u32>,
    h: vec4<u32>,
    w: vec4<u32>,
}

// The output pixels that rows stand for, row-major over (b, oh, ow).
fn output_pixels(rows: vec4<u32>) -> Pixels {
    let ow = rows % params.out_w;
    let oh = (rows / params.out_w) % params.out_h;
    return Pixels(rows / (params.out_w * params.out_h), oh, ow);
}

// POOLED: the four pixels of the pooling window that rows first..first+3 (first a multiple
// of 4) stand for.
fn window_pixels(first: u32) -> Pixels {
    let w = first / 4u;
    let pw = w % params.pooled_w;
    let ph = (w / params.pooled_w) % params.pooled_h;
    let b = w / (params.pooled_w * params.pooled_h);
    let h = vec4<u32>(2u * ph) + vec4<u32>(0u, 0u, 1u, 1u);
    let x = vec4<u32>(2u * pw) + vec4<u32>(0u, 1u, 0u, 1u);
    return Pixels(vec4<u32>(b), h, x);
}

fn describe_rows(first: u32) -> RowQuad {
    let rows = vec4<u32>(first, first + 1u, first + 2u, first + 3u);
    var q: RowQuad;
    q.first = first;
    q.ok = rows < vec4<u32>(params.m);
    switch OPERANDS {
        case CONV_FORWARD: {
            var pixel = output_pixels(rows);
            if POOLED {
                pixel = window_pixels(first);
            }
            q.base = pixel.b * params.in_h;
            q.h = vec4<i32>(pixel.h * params.stride_h) - i32(params.pad_top);
            q.w = vec4<i32>(pixel.w * params.stride_w) - i32(params.pad_left);
        }
        case CONV_BACKWARD_INPUT: {
            let iw = rows % params.in_w;
            let ih = (rows / params.in_w) % params.in_h;
            q.base = rows / (params.in_w * params.in_h) * params.out_h;
            q.h = vec4<i32>(ih + params.pad_top);
            q.w = vec4<i32>(iw + params.pad_left);
        }
        case CONV_BACKWARD_WEIGHT: {
            q.base = rows % params.in_c;
            q.w = vec4<i32>((rows / params.in_c) % params.kernel_w);
            q.h = vec4<i32>(rows / (params.in_c * params.kernel_w));
        }
        default: {}
    }
    return q;
}

// x[b, ih, iw, ci] where in range and `ok`, else 0, for four positions at once.
fn gather_input(ok: vec4<bool>, base: vec4<u32>, ih: vec4<i32>, iw: vec4<i32>, ci: vec4<u32>) -> vec4<f32> {
    let inside = ok & (ih >= vec4<i32>(0)) & (iw >= vec4<i32>(0))
        & (ih < vec4<i32>(i32(params.in_h))) & (iw < vec4<i32>(i32(params.in_w)));
    let index = ((base + vec4<u32>(ih)) * params.in_w + vec4<u32>(iw)) * params.in_c + ci;
    return read_a(index, inside);
}

// opA at the four rows `q` describes and column kk.
fn stage_a(q: RowQuad, kk: u32) -> vec4<f32> {
    let k_ok = vec4<bool>(kk < params.k);
    switch OPERANDS {
        case CONV_FORWARD: {
            let tap = split_tap(kk, params.in_c);
            return gather_input(q.ok & k_ok, q.base, q.h + tap.ki, q.w + tap.kj, vec4<u32>(tap.channel));
        }
        case CONV_BACKWARD_INPUT: {
            // kk = (ki, kj, co); the output position (th, tw) / stride must be whole and inside.
            let tap = split_tap(kk, params.out_c);
            let th = q.h - tap.ki;
            let tw = q.w - tap.kj;
            var oh = th;
            var ow = tw;
            if !UNIT_STRIDE {
                // Exact where th is a multiple of the stride, and the test below rejects the rest.
                let sh = vec4<f32>(f32(params.stride_h));
                let sw = vec4<f32>(f32(params.stride_w));
                oh = vec4<i32>(round(vec4<f32>(th) / sh));
                ow = vec4<i32>(round(vec4<f32>(tw) / sw));
            }
            let inside = q.ok & k_ok & (th >= vec4<i32>(0)) & (tw >= vec4<i32>(0))
                & (oh * i32(params.stride_h) == th) & (ow * i32(params.stride_w) == tw)
                & (oh < vec4<i32>(i32(params.out_h))) & (ow < vec4<i32>(i32(params.out_w)));
            let index = ((q.base + vec4<u32>(oh)) * params.out_w + vec4<u32>(ow)) * params.out_c + tap.channel;
            return read_a(index, inside);
        }
        case CONV_BACKWARD_WEIGHT: {
            // kk = output pixel (b, oh, ow); rows are taps.
            let w = quo_rem(kk, params.out_w);
            let h = quo_rem(w.quo, params.out_h);
            let h0 = i32(h.rem * params.stride_h) - i32(params.pad_top);
            let w0 = i32(w.rem * params.stride_w) - i32(params.pad_left);
            return gather_input(q.ok & k_ok, vec4<u32>(h.quo * params.in_h), q.h + h0, q.w + w0, q.base);
        }
        default: {
            let rows = vec4<u32>(q.first) + vec4<u32>(0u, 1u, 2u, 3u);
            var index = rows * params.k + kk;
            if TRANS_A {
                index = kk * params.m + rows;
            }
            return read_a(index, q.ok & k_ok);
        }
    }
}

// opB at row kk and the four columns col..col+3, each 0 where out of range.
fn stage_b(kk: u32, col: u32) -> vec4<f32> {
    let cols = vec4<u32>(col, col + 1u, col + 2u, col + 3u);
    let inside = vec4<bool>(kk < params.k) & (cols < vec4<u32>(params.n));
    var index: vec4<u32>;
    if OPERANDS == CONV_BACKWARD_INPUT {
        // kk = (ki, kj, co), col = ci: kernel[ki, kj, ci, co].
        let tap = quo_rem(kk, params.out_c);
        index = (tap.quo * params.in_c + cols) * params.out_c + tap.rem;
    } else if TRANS_B {
        index = cols * params.k + kk;
    } else {
        index = kk * params.n + cols;
    }
    // Out-of-range lanes read a valid element and discard it.
    index = select(vec4<u32>(0u), index, inside);
    return select(vec4<f32>(0.0), vec4<f32>(b[index.x], b[index.y], b[index.z], b[index.w]), inside);
}

fn epilogue(row: u32, col: u32, sum: f32) -> f32 {
    switch EPILOGUE {
        case 1u: {
            return sum + bias[col];
        }
        case 2u: {
            return activate(sum + bias[col]);
        }
        case 3u: {
            return select(0.0, sum, mask[row * params.n + col] > 0.0);
        }
        default: {
            return sum;
        }
    }
}

// Rows of one split's partial C: M, and the column sums' row with COLUMN_SUMS.
fn partial_rows() -> u32 {
    return params.m + select(0u, 1u, COLUMN_SUMS);
}

fn store(split: u32, row: u32, col0: u32, sums: vec4<f32>) {
    if row >= params.m {
        return;
    }
    let base = (split * partial_rows() + row) * params.n;
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + j;
        if col < params.n {
            c[base + col] = epilogue(row, col, sums[j]);
        }
    }
}

// block[i] += rows[i] · cols: the outer product of four rows and four columns at one k.
fn accumulate(block: ptr<function, array<vec4<f32>, 4>>, rows: vec4<f32>, cols: vec4<f32>) {
    (*block)[0] = fma(vec4<f32>(rows.x), cols, (*block)[0]);
    (*block)[1] = fma(vec4<f32>(rows.y), cols, (*block)[1]);
    (*block)[2] = fma(vec4<f32>(rows.z), cols, (*block)[2]);
    (*block)[3] = fma(vec4<f32>(rows.w), cols, (*block)[3]);
}

// The 4 x 4 block at (row, col) of split `split`'s C.
fn store_block(split: u32, row: u32, col: u32, block: array<vec4<f32>, 4>) {
    if POOLED {
        store_window(row, col, block);
        return;
    }
    for (var i = 0u; i < 4u; i++) {
        store(split, row + i, col, block[i]);
    }
}

// POOLED: the 4 x 4 block at (row, col) is one pooling window's four pixels by four columns:
// each pixel goes to its place in the convolution's output, and the window's max (or mean)
// to `pooled`.
fn store_window(row: u32, col: u32, block: array<vec4<f32>, 4>) {
    if row >= params.m {
        return;
    }
    let pixel = window_pixels(row);
    for (var j = 0u; j < 4u; j++) {
        let col_j = col + j;
        if col_j >= params.n {
            continue;
        }
        var best = 0.0;
        var sum = 0.0;
        for (var i = 0u; i < 4u; i++) {
            let value = epilogue(row + i, col_j, block[i][j]);
            let at = (pixel.b.x * params.out_h + pixel.h[i]) * params.out_w + pixel.w[i];
            c[at * params.n + col_j] = value;
            best = select(max(best, value), value, i == 0u);
            sum += value;
        }
        pooled[(row / 4u) * params.n + col_j] = select(best, sum / 4.0, POOL_AVERAGE);
    }
}

// The column sums of columns col..col+3 over split `split`'s k: straight to column_sums in
// one split, else as row M of the split's partial C.
fn store_column_sums(split: u32, col: u32, sums: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        if col + j < params.n {
            if params.k_chunk >= params.k {
                column_sums[col + j] = sums[j];
            } else {
                c[(split * partial_rows() + params.m) * params.n + col + j] = sums[j];
            }
        }
    }
}

// Where the i-th vec4 of a k slice lies: (quad, k). The mapping makes consecutive threads
// read consecutive addresses of the operand's storage order: along k when it is contiguous in
// k (A [M, K], B^T [N, K]), else along the quads.
fn a_slot(i: u32) -> vec2<u32> {
    if TRANS_A || OPERANDS == CONV_BACKWARD_WEIGHT {
        return vec2<u32>(i % QUADS_M, i / QUADS_M);
    }
    return vec2<u32>(i / TILE_K, i % TILE_K);
}

fn b_slot(i: u32) -> vec2<u32> {
    if TRANS_B || OPERANDS == CONV_BACKWARD_INPUT {
        return vec2<u32>(i / TILE_K, i % TILE_K);
    }
    return vec2<u32>(i % QUADS_N, i / QUADS_N);
}

@compute @workgroup_size(LANES_N, LANES_M)
fn matmul_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lane: vec3<u32>,
) {
    let row0 = group.y * TILE_M;
    let col0 = group.x * TILE_N;
    let thread = lane.y * LANES_N + lane.x;
    // The A vec4s this thread stages: i = thread + j·THREADS, each with its row quad.
    var quads: array<RowQuad, MAX_A_PER_THREAD>;
    for (var j = 0u; j < A_PER_THREAD; j++) {
        let slot = a_slot(thread + j * THREADS);
        quads[j] = describe_rows(row0 + slot.x * 4u);
    }
    // acc_rc: the 4 x 4 block of row quad r and column quad c (r, c < MICRO); sums_c: the
    // column sums of column quad c (COLUMN_SUMS).
    var acc00: array<vec4<f32>, 4>;
    var acc01: array<vec4<f32>, 4>;
    var acc10: array<vec4<f32>, 4>;
    var acc11: array<vec4<f32>, 4>;
    var acc20: array<vec4<f32>, 4>;
    var acc21: array<vec4<f32>, 4>;
    var acc30: array<vec4<f32>, 4>;
    var acc31: array<vec4<f32>, 4>;
    var sums0 = vec4<f32>(0.0);
    var sums1 = vec4<f32>(0.0);
    let k_end = min(params.k, (group.z + 1u) * params.k_chunk);
    for (var k0 = group.z * params.k_chunk; k0 < k_end; k0 += TILE_K) {
        for (var j = 0u; j < A_PER_THREAD; j++) {
            let i = thread + j * THREADS;
            if i < A_QUADS {
                let slot = a_slot(i);
                a_tile[slot.y * QUADS_M + slot.x] = stage_a(quads[j], k0 + slot.y);
            }
        }
        for (var j = 0u; j < B_PER_THREAD; j++) {
            let i = thread + j * THREADS;
            if i < B_QUADS {
                let slot = b_slot(i);
                let bc = col0 + slot.x * 4u;
                let bk = k0 + slot.y;
                b_tile[slot.y * QUADS_N + slot.x] = stage_b(bk, bc);
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let r0 = a_tile[kk * QUADS_M + lane.y];
            let c0 = b_tile[kk * QUADS_N + lane.x];
            var r1 = vec4<f32>(0.0);
            var r2 = vec4<f32>(0.0);
            var r3 = vec4<f32>(0.0);
            var c1 = vec4<f32>(0.0);
            if MICRO_M >= 2u {
                r1 = a_tile[kk * QUADS_M + lane.y + LANES_M];
            }
            if MICRO_M == 4u {
                r2 = a_tile[kk * QUADS_M + lane.y + 2u * LANES_M];
                r3 = a_tile[kk * QUADS_M + lane.y + 3u * LANES_M];
            }
            if MICRO_N == 2u {
                c1 = b_tile[kk * QUADS_N + lane.x + LANES_N];
            }
            accumulate(&acc00, r0, c0);
            if MICRO_N == 2u {
                accumulate(&acc01, r0, c1);
            }
            if COLUMN_SUMS {
                sums0 += c0;
                sums1 += c1;
            }
            if MICRO_M >= 2u {
                accumulate(&acc10, r1, c0);
                if MICRO_N == 2u {
                    accumulate(&acc11, r1, c1);
                }
            }
            if MICRO_M == 4u {
                accumulate(&acc20, r2, c0);
                accumulate(&acc30, r3, c0);
                if MICRO_N == 2u {
                    accumulate(&acc21, r2, c1);
                    accumulate(&acc31, r3, c1);
                }
            }
        }
        workgroupBarrier();
    }
    let row = row0 + lane.y * 4u;
    let col = col0 + lane.x * 4u;
    let col_far = col + LANES_N * 4u;
    // Row quad q of this thread starts at row + q·LANES_M·4.
    let rows_apart = LANES_M * 4u;
    store_block(group.z, row, col, acc00);
    if MICRO_N == 2u {
        store_block(group.z, row, col_far, acc01);
    }
    if MICRO_M >= 2u {
        store_block(group.z, row + rows_apart, col, acc10);
        if MICRO_N == 2u {
            store_block(group.z, row + rows_apart, col_far, acc11);
        }
    }
    if MICRO_M == 4u {
        store_block(group.z, row + 2u * rows_apart, col, acc20);
        store_block(group.z, row + 3u * rows_apart, col, acc30);
        if MICRO_N == 2u {
            store_block(group.z, row + 2u * rows_apart, col_far, acc21);
            store_block(group.z, row + 3u * rows_apart, col_far, acc31);
        }
    }
    // Every thread summed its columns; the first row of threads of the first row of tiles
    // writes them.
    if COLUMN_SUMS && group.y == 0u && lane.y == 0u {
        store_column_sums(group.z, col, sums0);
        if MICRO_N == 2u {
            store_column_sums(group.z, col_far, sums1);
        }
    }
}
