// pool2d.backward_input: the gradient of a pooling layer's input, without atomics (reproducible
// bit for bit). Where windows may overlap, one thread per input value gathers from every window
// that contains it. Where they cannot (PER_WINDOW: stride ≥ pool on both axes, Keras's default),
// one thread per window writes every input of its stride cell (the cell after the last window
// reaches the input's edge): a quarter of the threads for 2×2 windows, each loading the window
// once instead of once per input.
//
//   max:      dx[b, ih, iw, c] = Σ over windows (oh, ow) whose first maximum (row-major) is at
//                                (ih, iw) of dy[b, oh, ow, c]
//   average:  dx[b, ih, iw, c] = Σ over windows (oh, ow) containing (ih, iw) of dy / (pool_h·pool_w)
//   then, when MASK_BY_INPUT (x is a ReLU output): dx = 0 where x <= 0
// Inputs past the last whole window get zero.
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [batch, in_h, in_w, channels] f32
//   binding 2: dy      [batch, out_h, out_w, channels] f32
//   binding 3: dx      [batch, in_h, in_w, channels] f32 (output)

struct Params {
    batch: u32,
    in_h: u32,
    in_w: u32,
    channels: u32,
    out_h: u32,
    out_w: u32,
    pool_h: u32,
    pool_w: u32,
    stride_h: u32,
    stride_w: u32,
    _pad0: u32,
    _pad1: u32,
}

override AVERAGE: bool = false;
override MASK_BY_INPUT: bool = false;
override PER_WINDOW: bool = false;

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn x_at(b: u32, h: u32, w: u32, c: u32) -> f32 {
    return x[((b * params.in_h + h) * params.in_w + w) * params.channels + c];
}

// First and one-past-last window index along an axis whose windows contain `i`.
fn window_range(i: u32, pool: u32, stride: u32, count: u32) -> vec2<u32> {
    var first = 0u;
    if i + 1u > pool {
        first = (i + 1u - pool + stride - 1u) / stride;
    }
    let last = min(i / stride + 1u, count);
    return vec2<u32>(first, max(first, last));
}

// The first maximum (row-major) of window (oh, ow): its position and value.
struct WindowMax {
    h: u32,
    w: u32,
    value: f32,
}

fn window_max(b: u32, oh: u32, ow: u32, c: u32) -> WindowMax {
    let h0 = oh * params.stride_h;
    let w0 = ow * params.stride_w;
    var best = WindowMax(h0, w0, x_at(b, h0, w0, c));
    for (var ki = 0u; ki < params.pool_h; ki++) {
        for (var kj = 0u; kj < params.pool_w; kj++) {
            let v = x_at(b, h0 + ki, w0 + kj, c);
            if v > best.value {
                best = WindowMax(h0 + ki, w0 + kj, v);
            }
        }
    }
    return best;
}

// (b, h, w, c) of element i of an NHWC tensor [batch, height, width, channels].
fn nhwc(i: u32, height: u32, width: u32) -> vec4<u32> {
    let c = i % params.channels;
    let w = (i / params.channels) % width;
    let h = (i / (params.channels * width)) % height;
    return vec4<u32>(i / (params.channels * width * height), h, w, c);
}

// PER_WINDOW: window i = (b, oh, ow, c) writes the inputs of its stride cell.
fn backward_window(i: u32) {
    if i >= params.batch * params.out_h * params.out_w * params.channels {
        return;
    }
    let at = nhwc(i, params.out_h, params.out_w);
    let b = at.x;
    let oh = at.y;
    let ow = at.z;
    let c = at.w;
    let g = dy[i];
    let h0 = oh * params.stride_h;
    let w0 = ow * params.stride_w;
    let h_end = select(h0 + params.stride_h, params.in_h, oh + 1u == params.out_h);
    let w_end = select(w0 + params.stride_w, params.in_w, ow + 1u == params.out_w);
    var best = WindowMax(0u, 0u, 0.0);
    if !AVERAGE {
        best = window_max(b, oh, ow, c);
    }
    let share = g / f32(params.pool_h * params.pool_w);
    for (var h = h0; h < h_end; h++) {
        for (var w = w0; w < w_end; w++) {
            let index = ((b * params.in_h + h) * params.in_w + w) * params.channels + c;
            var grad = 0.0;
            if AVERAGE {
                if h < h0 + params.pool_h && w < w0 + params.pool_w {
                    grad = share;
                }
                if MASK_BY_INPUT && x[index] <= 0.0 {
                    grad = 0.0;
                }
            } else if h == best.h && w == best.w && !(MASK_BY_INPUT && best.value <= 0.0) {
                grad = g;
            }
            dx[index] = grad;
        }
    }
}

@compute @workgroup_size(WORKGROUP)
fn pool2d_backward_input(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if PER_WINDOW {
        backward_window(i);
        return;
    }
    if i >= params.batch * params.in_h * params.in_w * params.channels {
        return;
    }
    let at = nhwc(i, params.in_h, params.in_w);
    let b = at.x;
    let ih = at.y;
    let iw = at.z;
    let c = at.w;
    let rows = window_range(ih, params.pool_h, params.stride_h, params.out_h);
    let cols = window_range(iw, params.pool_w, params.stride_w, params.out_w);
    let area = f32(params.pool_h * params.pool_w);
    var grad = 0.0;
    for (var oh = rows.x; oh < rows.y; oh++) {
        for (var ow = cols.x; ow < cols.y; ow++) {
            let g = dy[((b * params.out_h + oh) * params.out_w + ow) * params.channels + c];
            if AVERAGE {
                grad += g / area;
            } else {
                let best = window_max(b, oh, ow, c);
                if best.h == ih && best.w == iw {
                    grad += g;
                }
            }
        }
    }
    if MASK_BY_INPUT && x[i] <= 0.0 {
        grad = 0.0;
    }
    dx[i] = grad;
}
