// col2im.forward: a convolution's input gradient from its column gradient, the second half of
// backward_input where the convolution has fewer output than input pixels (valid padding,
// strides > 1). The first half is a plain GEMM, columns = dz · kernelᵀ; this kernel sums each
// input value's columns, so no multiply-add is spent on the zero padding that an implicit GEMM
// over dz would walk.
//
//   columns[(b, oh, ow), (ki, kj, ci)] = Σ_co dz[b, oh, ow, co] · kernel[ki, kj, ci, co]
//   dx[b, ih, iw, ci] = Σ over taps (ki, kj) in row-major order with ih + pt − ki = oh·sh and
//                       iw + pl − kj = ow·sw for an output position (oh, ow) in range
//                       of columns[(b, oh, ow), (ki, kj, ci)]
//   then, when MASK_BY_INPUT (x is a ReLU output): dx = 0 where x <= 0
// Each thread writes one input value; nothing is accumulated across threads (no atomics, bit
// for bit reproducible). A workgroup covers CHANNEL_LANES channels of PIXEL_LANES pixels of one
// image: grid [⌈in_c / CHANNEL_LANES⌉, ⌈in_h·in_w / PIXEL_LANES⌉, batch].
//
// group 0:
//   binding 0: params   uniform Params
//   binding 1: columns  [batch·out_h·out_w, kernel_h·kernel_w·in_c] f32
//   binding 2: x        [batch, in_h, in_w, in_c] f32 (read with MASK_BY_INPUT)
//   binding 3: dx       [batch, in_h, in_w, in_c] f32 (output)

struct Params {
    batch: u32,
    in_h: u32,
    in_w: u32,
    in_c: u32,
    out_h: u32,
    out_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_left: u32,
}

override MASK_BY_INPUT: bool = false;
// Both strides are 1: every tap lands on a whole output position, no division needed.
override UNIT_STRIDE: bool = false;

const CHANNEL_LANES: u32 = 32u;
const PIXEL_LANES: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> columns: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// The output position along one axis that input position `i` reaches through tap `tap`, or -1
// where there is none (in the padding, between strides, or past the edge).
fn output_along(i: u32, pad: u32, tap: u32, stride: u32, count: u32) -> i32 {
    let t = i32(i + pad) - i32(tap);
    if t < 0 {
        return -1;
    }
    var o = t;
    if !UNIT_STRIDE {
        if t % i32(stride) != 0 {
            return -1;
        }
        o = t / i32(stride);
    }
    return select(-1, o, o < i32(count));
}

@compute @workgroup_size(CHANNEL_LANES, PIXEL_LANES)
fn col2im_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lane: vec3<u32>,
) {
    let ci = group.x * CHANNEL_LANES + lane.x;
    let pixel = group.y * PIXEL_LANES + lane.y;
    let b = group.z;
    if ci >= params.in_c || pixel >= params.in_h * params.in_w {
        return;
    }
    let ih = pixel / params.in_w;
    let iw = pixel - ih * params.in_w;
    let row_len = params.kernel_h * params.kernel_w * params.in_c;
    var sum = 0.0;
    for (var ki = 0u; ki < params.kernel_h; ki++) {
        let oh = output_along(ih, params.pad_top, ki, params.stride_h, params.out_h);
        if oh < 0 {
            continue;
        }
        for (var kj = 0u; kj < params.kernel_w; kj++) {
            let ow = output_along(iw, params.pad_left, kj, params.stride_w, params.out_w);
            if ow < 0 {
                continue;
            }
            let row = (b * params.out_h + u32(oh)) * params.out_w + u32(ow);
            sum += columns[row * row_len + (ki * params.kernel_w + kj) * params.in_c + ci];
        }
    }
    let at = (b * params.in_h * params.in_w + pixel) * params.in_c + ci;
    if MASK_BY_INPUT && x[at] <= 0.0 {
        sum = 0.0;
    }
    dx[at] = sum;
}
