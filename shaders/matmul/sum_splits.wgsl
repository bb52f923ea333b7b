// matmul.sum_splits: the split-K partials of a GEMM summed in split order, then its epilogue,
// which the split launch could not apply to a partial sum:
//
//   c[m, n] = epilogue(sum over z < splits of partials[z, m, n])
//   EPILOGUE 0: none   1: + bias[n]   2: f(. + bias[n])   3: . * (mask[m, n] > 0)
//            (the codes of matmul.forward)
//   f: the activation the override constants ACTIVATION and NEGATIVE_SLOPE choose
//   (shaders/activation/functions.wgsl, which gpu/kernels.rs puts before this text).
// One thread per element of C; the sum runs from split 0 up, so results are bit-identical from
// run to run (no atomics). Workgroups form a 2-D grid when one dimension would exceed the
// device's limit: the linear group index is group.y * num_groups.x + group.x.
//
// group 0:
//   binding 0: params    uniform Params
//   binding 1: partials  [splits, M, N] f32
//   binding 2: bias      [N] f32 (read by EPILOGUE 1, 2)
//   binding 3: mask      [M, N] f32 (read by EPILOGUE 3)
//   binding 4: c         [M, N] f32 (output)

struct Params {
    splits: u32,
    m: u32,
    n: u32,
    _pad0: u32,
}

override EPILOGUE: u32 = 0u;

const THREADS: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn epilogue(index: u32, col: u32, sum: f32) -> f32 {
    switch EPILOGUE {
        case 1u: {
            return sum + bias[col];
        }
        case 2u: {
            return activate(sum + bias[col]);
        }
        case 3u: {
            return select(0.0, sum, mask[index] > 0.0);
        }
        default: {
            return sum;
        }
    }
}

@compute @workgroup_size(THREADS)
fn matmul_sum_splits(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let index = (group.y * groups.x + group.x) * THREADS + lane;
    let len = params.m * params.n;
    if index >= len {
        return;
    }
    var sum = 0.0;
    for (var split = 0u; split < params.splits; split++) {
        sum += partials[split * len + index];
    }
    c[index] = epilogue(index, index % params.n, sum);
}
