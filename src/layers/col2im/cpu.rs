//! Reference col2im: for every input value, its taps in row-major order.

use super::Geometry;

/// The output position along one axis that input position `i` reaches through tap `tap`.
fn output_along(i: u32, pad: u32, tap: u32, stride: u32, count: u32) -> Option<u32> {
    let t = (i + pad).checked_sub(tap)?;
    (t % stride == 0 && t / stride < count).then_some(t / stride)
}

/// `dx [B, IH, IW, C_in]` from `columns [B·OH·OW, KH·KW·C_in]`, zeroed where `mask` (the
/// convolution's input) is not positive when a mask is given.
pub fn forward(params: &Geometry, columns: &[f32], mask: Option<&[f32]>) -> Vec<f32> {
    let p = params;
    let mut dx = vec![0.0; p.input_len()];
    let row_len = p.column_len();
    for b in 0..p.batch {
        for ih in 0..p.in_h {
            for iw in 0..p.in_w {
                for ci in 0..p.in_c {
                    let mut sum = 0.0f32;
                    for ki in 0..p.kernel_h {
                        let Some(oh) = output_along(ih, p.pad_top, ki, p.stride_h, p.out_h) else {
                            continue;
                        };
                        for kj in 0..p.kernel_w {
                            let Some(ow) = output_along(iw, p.pad_left, kj, p.stride_w, p.out_w)
                            else {
                                continue;
                            };
                            let row = ((b * p.out_h + oh) * p.out_w + ow) as usize;
                            let col = ((ki * p.kernel_w + kj) * p.in_c + ci) as usize;
                            sum += columns[row * row_len + col];
                        }
                    }
                    let at = (((b * p.in_h + ih) * p.in_w + iw) * p.in_c + ci) as usize;
                    let masked = mask.is_some_and(|x| x[at] <= 0.0);
                    dx[at] = if masked { 0.0 } else { sum };
                }
            }
        }
    }
    dx
}
