//! `softmax.forward` against the reference: odd batch sizes and class counts, large logits,
//! a short batch written at an offset into a whole-set buffer (rows past the batch and before
//! its offset must stay untouched).
//!
//! Tolerance: |gpu − cpu| ≤ 1e-6 + 1e-5·|cpu|.

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::softmax::{self, cpu, Params};

#[test]
fn softmax_matches_cpu_at_its_offset_in_the_whole_set_buffer() {
    let ctx = context();
    for (seed, &(rows, batch_rows, classes, start, scale)) in [
        (7, 7, 10, 0, 3.0),
        (33, 20, 3, 5, 3.0),
        (100, 99, 13, 1000, 80.0),
        (1, 1, 2, 3, 1.0),
    ]
    .iter()
    .enumerate()
    {
        let mut rng = rng(seed as u64);
        let logits = uniform(&mut rng, rows * classes, -scale, scale);
        let params = Params {
            rows: rows as u32,
            classes: classes as u32,
            ..Default::default()
        };
        let expected = cpu::forward(&params, &logits, batch_rows);
        let total = (start + rows + 2) * classes;
        let logits_buf = upload(&ctx, "logits", &logits);
        let out = poisoned(&ctx, "probabilities", total);
        let dispatch = softmax::encode_forward(
            &ctx,
            "test.softmax",
            params,
            softmax::Io {
                logits: logits_buf.as_entire_buffer_binding(),
                probabilities: out.as_entire_buffer_binding(),
            },
        )
        .expect("dispatch");
        let entry = StepParams {
            sample_start: start as u32,
            batch_rows: batch_rows as u32,
            ..Default::default()
        };
        let table = step_table(&ctx, entry);
        run(&ctx, &[dispatch], Some(&table));
        let got: Vec<f32> = read(&ctx, &out, total);
        let what = format!("softmax rows {rows} ({batch_rows} real) classes {classes} at {start}");
        assert_close(
            &what,
            &got[start * classes..(start + batch_rows) * classes],
            &expected,
            1e-6,
            1e-5,
        );
        assert!(
            got[..start * classes].iter().all(|v| v.is_nan()),
            "{what}: wrote before its offset"
        );
        assert!(
            got[(start + batch_rows) * classes..]
                .iter()
                .all(|v| v.is_nan()),
            "{what}: wrote past its rows"
        );
        for row in expected.chunks(classes) {
            assert!(
                (row.iter().sum::<f32>() - 1.0).abs() < 1e-5,
                "{what}: a row does not sum to 1"
            );
        }
    }
}
