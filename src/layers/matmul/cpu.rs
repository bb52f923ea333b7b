//! Reference GEMM: plain triple loop, same operands and epilogues as the kernel.

use super::{Epilogue, Params, SumParams, Transpose};
use crate::layers::activation::cpu as activation;

/// `C [M, N] = epilogue(op(A) · op(B))`; `bias` is `[N]`, `mask` `[M, N]` (either may be empty
/// when its epilogue is not used).
pub fn forward(
    params: &Params,
    transpose: Transpose,
    epilogue: Epilogue,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    mask: &[f32],
) -> Vec<f32> {
    let (m, n, k) = (params.m as usize, params.n as usize, params.k as usize);
    let mut c = vec![0.0; m * n];
    for row in 0..m {
        for col in 0..n {
            let mut sum = 0.0f32;
            for kk in 0..k {
                let a_value = if transpose.a {
                    a[kk * m + row]
                } else {
                    a[row * k + kk]
                };
                let b_value = if transpose.b {
                    b[col * k + kk]
                } else {
                    b[kk * n + col]
                };
                sum += a_value * b_value;
            }
            c[row * n + col] = match epilogue {
                Epilogue::None | Epilogue::ColumnSums => sum,
                Epilogue::Bias => sum + bias[col],
                Epilogue::BiasActivation(function) => activation::value(function, sum + bias[col]),
                Epilogue::ReluMask => {
                    if mask[row * n + col] > 0.0 {
                        sum
                    } else {
                        0.0
                    }
                }
            };
        }
    }
    c
}

/// `C [M, N] = epilogue(Σ_z partials[z, M, N])`, summed from split 0 up as
/// `matmul.sum_splits` does; `bias` is `[N]`, `mask` `[M, N]` (either may be empty when its
/// epilogue is not used).
pub fn sum_splits(
    params: &SumParams,
    epilogue: Epilogue,
    partials: &[f32],
    bias: &[f32],
    mask: &[f32],
) -> Vec<f32> {
    let (splits, n) = (params.splits as usize, params.n as usize);
    let len = params.m as usize * n;
    (0..len)
        .map(|index| {
            let mut sum = 0.0f32;
            for split in 0..splits {
                sum += partials[split * len + index];
            }
            match epilogue {
                Epilogue::None | Epilogue::ColumnSums => sum,
                Epilogue::Bias => sum + bias[index % n],
                Epilogue::BiasActivation(function) => {
                    activation::value(function, sum + bias[index % n])
                }
                Epilogue::ReluMask => {
                    if mask[index] > 0.0 {
                        sum
                    } else {
                        0.0
                    }
                }
            }
        })
        .collect()
}
