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
// COLUMNS: dy arrives as the column gradient of the convolution that reads this pooling's
// output, and each dy value is summed from it as col2im does (the planner folds the
// convolution's col2im into this launch):
//   dy[b, oh, ow, c] = Σ over taps (ti, tj) in row-major order with oh + pad_top − ti =
//                      yh·tap_stride_h and ow + pad_left − tj = yw·tap_stride_w for a column
//                      position (yh, yw) in range of columns[(b, yh, yw), (ti, tj, c)]
// A 1×1 average window with stride 1 makes this kernel col2im alone (`pool2d::encode_col2im`).
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [batch, in_h, in_w, channels] f32
//   binding 2: dy      [batch, out_h, out_w, channels] f32, or with COLUMNS the column
//                      gradient [batch·columns_h·columns_w, tap_h·tap_w·channels] f32
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
    // COLUMNS: the geometry of the convolution whose column gradient dy is.
    columns_h: u32,
    columns_w: u32,
    tap_h: u32,
    tap_w: u32,
    tap_stride_h: u32,
    tap_stride_w: u32,
    pad_top: u32,
    pad_left: u32,
    _pad0: u32,
    _pad1: u32,
}

override AVERAGE: bool = false;
override MASK_BY_INPUT: bool = false;
override PER_WINDOW: bool = false;
override COLUMNS: bool = false;
// COLUMNS: both convolution strides are 1 (no division per tap).
override UNIT_TAP_STRIDE: bool = false;

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

// The column position along one axis that output position `o` reaches through tap `tap`, or
// -1 where there is none (in the padding, between strides, or past the edge).
fn column_along(o: u32, pad: u32, tap: u32, stride: u32, count: u32) -> i32 {
    let t = i32(o + pad) - i32(tap);
    if t < 0 {
        return -1;
    }
    var y = t;
    if !UNIT_TAP_STRIDE {
        if t % i32(stride) != 0 {
            return -1;
        }
        y = t / i32(stride);
    }
    return select(-1, y, y < i32(count));
}

// dy[b, oh, ow, c]: read, or with COLUMNS summed from the column gradient.
fn output_gradient(b: u32, oh: u32, ow: u32, c: u32) -> f32 {
    if !COLUMNS {
        return dy[((b * params.out_h + oh) * params.out_w + ow) * params.channels + c];
    }
    let row_len = params.tap_h * params.tap_w * params.channels;
    var sum = 0.0;
    for (var ti = 0u; ti < params.tap_h; ti++) {
        let yh = column_along(oh, params.pad_top, ti, params.tap_stride_h, params.columns_h);
        if yh < 0 {
            continue;
        }
        for (var tj = 0u; tj < params.tap_w; tj++) {
            let yw = column_along(ow, params.pad_left, tj, params.tap_stride_w, params.columns_w);
            if yw < 0 {
                continue;
            }
            let row = (b * params.columns_h + u32(yh)) * params.columns_w + u32(yw);
            sum += dy[row * row_len + (ti * params.tap_w + tj) * params.channels + c];
        }
    }
    return sum;
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
    let g = output_gradient(b, oh, ow, c);
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
            let g = output_gradient(b, oh, ow, c);
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
