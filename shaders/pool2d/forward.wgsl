// pool2d.forward: max or average pooling over NHWC input, valid padding (windows that would run
// past the edge are dropped: floor on odd sizes).
//
//   y[b, oh, ow, c] = max (or mean) over ki < pool_h, kj < pool_w of
//                     x[b, oh·stride_h + ki, ow·stride_w + kj, c]
//
// group 0:
//   binding 0: params  uniform Params
//   binding 1: x       [batch, in_h, in_w, channels] f32
//   binding 2: y       [batch, out_h, out_w, channels] f32 (output)

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
    // Read by backward_input with COLUMNS only.
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

const WORKGROUP: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn pool2d_forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP + lane;
    if i >= params.batch * params.out_h * params.out_w * params.channels {
        return;
    }
    let c = i % params.channels;
    let ow = (i / params.channels) % params.out_w;
    let oh = (i / (params.channels * params.out_w)) % params.out_h;
    let b = i / (params.channels * params.out_w * params.out_h);
    let h0 = oh * params.stride_h;
    let w0 = ow * params.stride_w;
    var best = x[((b * params.in_h + h0) * params.in_w + w0) * params.channels + c];
    var sum = 0.0;
    for (var ki = 0u; ki < params.pool_h; ki++) {
        for (var kj = 0u; kj < params.pool_w; kj++) {
            let v = x[((b * params.in_h + h0 + ki) * params.in_w + w0 + kj) * params.channels + c];
            best = max(best, v);
            sum += v;
        }
    }
    if AVERAGE {
        y[i] = sum / f32(params.pool_h * params.pool_w);
    } else {
        y[i] = best;
    }
}
