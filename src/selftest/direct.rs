//! Checks of kernels through their own launchers rather than a layer's op: the GEMM in every
//! transpose and epilogue, whole and split over k; gather; softmax; softmax cross-entropy; and
//! each optimizer's step over a slab of odd length.

use rand::seq::SliceRandom;
use rand::Rng;

use super::check::Case;
use super::compare::Tolerance;
use crate::gpu::slab::{ParamSlab, SlabLayout};
use crate::gpu::step_table::StepParams;
use crate::layers::gather::{self, pack_bytes, Source};
use crate::layers::matmul::{self, Epilogue, GemmPlan, Layout, Operands, Tile, Transpose};
use crate::layers::{softmax, softmax_xent};
use crate::optim::{OptimizerConfig, ALL_FINITE};

/// `m × n = op(A) · op(B)` over `k`, with `epilogue`; split over k in slices of `k_chunk`
/// where given (then `matmul.sum_splits` sums the partials and applies the epilogue).
pub fn matmul(
    (m, n, k): (usize, usize, usize),
    transpose: Transpose,
    epilogue: Epilogue,
    tile: Tile,
    k_chunk: Option<u32>,
    seed: u64,
) -> Case {
    let a_t = if transpose.a { "ᵀ" } else { "" };
    let b_t = if transpose.b { "ᵀ" } else { "" };
    let split = k_chunk.map_or(String::new(), |chunk| format!(" split-k {chunk}"));
    let what = format!("{m}x{n}x{k} A{a_t}·B{b_t} {epilogue:?}{split}");
    let tolerance = match k_chunk {
        Some(_) => Tolerance::new(1e-3, 1e-4),
        None => Tolerance::new(1e-4, 1e-4),
    };
    Case::new(what, tolerance, seed, move |check| {
        Box::pin(async move {
            let a = check.uniform(m * k, -1.0, 1.0);
            let b = check.uniform(k * n, -1.0, 1.0);
            let bias = check.uniform(n, -1.0, 1.0);
            let mask = check.uniform(m * n, -1.0, 1.0);
            let mut params = matmul::Params::new(m, n, k);
            if let Some(chunk) = k_chunk {
                params.k_chunk = chunk;
            }
            let expected = matmul::cpu::forward(&params, transpose, epilogue, &a, &b, &bias, &mask);
            let (a_buf, b_buf) = (check.upload("a", &a)?, check.upload("b", &b)?);
            let (bias_buf, mask_buf) = (check.upload("bias", &bias)?, check.upload("mask", &mask)?);
            let c = check.poisoned("c", m * n)?;
            let operands = Operands {
                a: a_buf.as_entire_buffer_binding(),
                b: b_buf.as_entire_buffer_binding(),
                bias: bias_buf.as_entire_buffer_binding(),
                mask: mask_buf.as_entire_buffer_binding(),
                c: c.as_entire_buffer_binding(),
                column_sums: None,
                pooled: None,
            };
            let plan = GemmPlan::new(params, tile);
            let dispatches = matmul::encode_plan(
                check.ctx,
                "selftest.matmul",
                &plan,
                Layout::Matrices(transpose),
                epilogue,
                operands,
            )?;
            check.launch(&dispatches, StepParams::default()).await?;
            check.compare_buffer(&c, &expected).await
        })
    })
}

/// The tolerance of `pixel / 255` against the correctly rounded quotient: WGSL lets a division
/// be off by 2.5 ULP. Lavapipe's is exact; SwiftShader's (Chromium's WebGPU without a GPU) is 1
/// ULP off for some pixels.
const PIXEL_SCALING: Tolerance = Tolerance::new(0.0, 3e-7);

/// `rows` of `sample_len` u8 pixels gathered from `samples`, from position `start` of a
/// shuffled index, the first `batch_rows` real: images to [`PIXEL_SCALING`], labels exactly
/// (small integers pass a relative tolerance only when equal).
pub fn gather(samples: usize, sample_len: usize, rows: usize, start: usize, seed: u64) -> Case {
    let batch_rows = rows.min(samples - start);
    let what = format!("{rows} of {samples}x{sample_len} u8 from {start} ({batch_rows} real)");
    Case::new(what, PIXEL_SCALING, seed, move |check| {
        Box::pin(async move {
            let images: Vec<u8> = (0..samples * sample_len)
                .map(|_| check.rng().random())
                .collect();
            let labels: Vec<u32> = (0..samples)
                .map(|_| check.rng().random_range(0..10))
                .collect();
            let mut indices: Vec<u32> = (0..samples as u32).collect();
            indices.shuffle(check.rng());
            let params = gather::Params {
                rows: rows as u32,
                sample_len: sample_len as u32,
                ..Default::default()
            };
            let (expected, expected_labels) =
                gather::cpu::forward(&params, &images, &labels, &indices, start, batch_rows);
            let images_buf = check.upload("images", &pack_bytes(&images))?;
            let labels_buf = check.upload("labels", &labels)?;
            let indices_buf = check.upload("indices", &indices)?;
            let batch = check.poisoned("batch", rows * sample_len)?;
            let batch_labels = check.upload("batch.labels", &vec![u32::MAX - 1; rows])?;
            let source = Source {
                images: &images_buf,
                labels: &labels_buf,
                indices: &indices_buf,
            };
            let io = gather::Io {
                batch: batch.as_entire_buffer_binding(),
                batch_labels: batch_labels.as_entire_buffer_binding(),
            };
            let dispatch =
                gather::encode_forward(check.ctx, "selftest.gather", params, &source, io)?;
            let step = StepParams {
                sample_start: start as u32,
                batch_rows: batch_rows as u32,
                ..StepParams::default()
            };
            check.launch(&[dispatch], step).await?;
            check.compare_buffer(&batch, &expected).await?;
            let got: Vec<u32> = check.read(&batch_labels, rows).await?;
            let as_f32 = |labels: &[u32]| labels.iter().map(|&l| l as f32).collect::<Vec<_>>();
            check.compare(&as_f32(&got), &as_f32(&expected_labels));
            Ok(())
        })
    })
}

/// Class probabilities of `rows` logits in `[−scale, scale)` over `classes`, written at sample
/// `start` of the whole set's buffer.
pub fn softmax(rows: usize, classes: usize, start: usize, scale: f32, seed: u64) -> Case {
    let what = format!("{rows}x{classes} logits ±{scale} at sample {start}");
    Case::new(what, Tolerance::new(1e-6, 1e-5), seed, move |check| {
        Box::pin(async move {
            let logits = check.uniform(rows * classes, -scale, scale);
            let params = softmax::Params {
                rows: rows as u32,
                classes: classes as u32,
                ..Default::default()
            };
            let expected = softmax::cpu::forward(&params, &logits, rows);
            let logits_buf = check.upload("logits", &logits)?;
            let out = check.poisoned("probabilities", (start + rows) * classes)?;
            let io = softmax::Io {
                logits: logits_buf.as_entire_buffer_binding(),
                probabilities: out.as_entire_buffer_binding(),
            };
            let dispatch = softmax::encode_forward(check.ctx, "selftest.softmax", params, io)?;
            let step = StepParams {
                sample_start: start as u32,
                batch_rows: rows as u32,
                ..StepParams::default()
            };
            check.launch(&[dispatch], step).await?;
            let got: Vec<f32> = check.read(&out, (start + rows) * classes).await?;
            check.compare(&got[start * classes..], &expected);
            Ok(())
        })
    })
}

/// Loss sum, correct count and logits gradient of a training step of `rows` logits, the first
/// `batch_rows` labelled (the rest padding).
pub fn softmax_xent(rows: usize, batch_rows: usize, classes: usize, seed: u64) -> Case {
    let what = format!("{rows}x{classes} logits ({batch_rows} real): loss, correct, gradient");
    Case::new(what, Tolerance::new(1e-6, 1e-4), seed, move |check| {
        Box::pin(async move {
            let logits = check.uniform(rows * classes, -3.0, 3.0);
            let labels: Vec<u32> = (0..rows)
                .map(|r| match r < batch_rows {
                    true => check.rng().random_range(0..classes as u32),
                    false => gather::NO_LABEL,
                })
                .collect();
            let params = softmax_xent::Params {
                rows: rows as u32,
                classes: classes as u32,
                ..Default::default()
            };
            let (expected_grad, expected) =
                softmax_xent::cpu::forward(&params, &logits, &labels, batch_rows);
            let logits_buf = check.upload("logits", &logits)?;
            let labels_buf = check.upload("labels", &labels)?;
            let grad = check.poisoned("grad", rows * classes)?;
            let unwritten = softmax_xent::Metrics {
                loss_sum: f32::NAN,
                correct: u32::MAX,
            };
            let metrics = check.upload("metrics", &[unwritten])?;
            let io = softmax_xent::Io {
                logits: logits_buf.as_entire_buffer_binding(),
                labels: labels_buf.as_entire_buffer_binding(),
                grad: grad.as_entire_buffer_binding(),
                metrics: metrics.as_entire_buffer_binding(),
                head: None,
            };
            let launch = softmax_xent::Launch::TRAINING;
            let dispatch = softmax_xent::encode_forward(
                check.ctx,
                "selftest.softmax_xent",
                params,
                launch,
                io,
            )?;
            let step = StepParams {
                batch_rows: batch_rows as u32,
                ..StepParams::default()
            };
            check.launch(&[dispatch], step).await?;
            check.compare_buffer(&grad, &expected_grad).await?;
            let got: Vec<softmax_xent::Metrics> = check.read(&metrics, 1).await?;
            check.compare(&[got[0].loss_sum], &[expected.loss_sum]);
            check.compare(&[got[0].correct as f32], &[expected.correct as f32]);
            Ok(())
        })
    })
}

/// `steps` consecutive steps of `config` over a slab of `len` parameters from random state, at
/// a learning rate that falls from step to step (`lr / t`): the parameters, `m` and `v` after
/// each, and no non-finite parameter flagged.
pub fn optimizer(what: &str, config: OptimizerConfig, len: usize, steps: u64, seed: u64) -> Case {
    let what = format!("{what}: {len} values, {steps} steps");
    Case::new(what, Tolerance::new(1e-6, 1e-5), seed, move |check| {
        Box::pin(async move {
            let layout = SlabLayout::new([("w".to_string(), vec![len])], 1);
            let mut values = check.uniform(len, -1.0, 1.0);
            let mut m = check.uniform(len, -1e-2, 1e-2);
            // A second moment or average of squares is never negative.
            let mut v = check.uniform(len, 0.0, 1e-2);
            let slab = ParamSlab::new(check.ctx, layout, &values)?;
            slab.write(check.ctx, &slab.m, &m);
            slab.write(check.ctx, &slab.v, &v);
            let flags = check.upload("first_non_finite", &[ALL_FINITE])?;
            let dispatch = config.encode_step(check.ctx, &slab, &flags)?;
            for t in 1..=steps {
                let grads = check.uniform(len, -1e-2, 1e-2);
                slab.write(check.ctx, &slab.grads, &grads);
                // A rate that changes from step to step, as a schedule's does.
                let learning_rate = config.learning_rate() / t as f64;
                let step = StepParams {
                    step_rate: config.step_rate(t, learning_rate),
                    learning_rate: learning_rate as f32,
                    step: (t - 1) as u32,
                    ..StepParams::default()
                };
                check.launch(std::slice::from_ref(&dispatch), step).await?;
                config.cpu_step(t, learning_rate, &grads, &mut values, &mut m, &mut v);
                check.compare_buffer(&slab.params, &values).await?;
                check.compare_buffer(&slab.m, &m).await?;
                check.compare_buffer(&slab.v, &v).await?;
            }
            let flag: Vec<u32> = check.read(&flags, 1).await?;
            check.compare(&[flag[0] as f32], &[ALL_FINITE as f32]);
            Ok(())
        })
    })
}
