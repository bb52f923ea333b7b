//! `bias.backward` (column sums) against the reference on odd shapes: rows not a multiple of
//! the 16 row lanes, columns not a multiple of the 16 column lanes, with and without a tail of
//! sums going to a second output (as split-K partials with a bias row are summed).
//!
//! Tolerance: |gpu − cpu| ≤ 1e-5 + 1e-5·|cpu| (a different but fixed summation order).

mod common;

use common::*;
use gpu_cnn::layers::bias::{self, cpu, Params};

#[test]
fn bias_backward_matches_cpu_on_odd_shapes() {
    let ctx = context();
    for (seed, (rows, cols)) in [(1, 1), (7, 13), (33, 10), (100, 129), (1000, 3), (5, 64)]
        .into_iter()
        .enumerate()
    {
        let mut rng = rng(seed as u64);
        let grad = uniform(&mut rng, rows * cols, -1.0, 1.0);
        let tail_len = cols / 3;
        let params = Params {
            rows: rows as u32,
            cols: cols as u32,
            tail_len: tail_len as u32,
            ..Default::default()
        };
        let expected = cpu::backward(&params, &grad);
        let head = cols - tail_len;
        let grad_buf = upload(&ctx, "grad", &grad);
        let out = poisoned(&ctx, "bias_grad", head);
        let tail = poisoned(&ctx, "tail", tail_len.max(1));
        let dispatch = bias::encode_backward(
            &ctx,
            "test.bias",
            params,
            bias::Io {
                grad: grad_buf.as_entire_buffer_binding(),
                bias_grad: out.as_entire_buffer_binding(),
                tail: (tail_len > 0).then(|| tail.as_entire_buffer_binding()),
            },
        )
        .expect("dispatch");
        run(&ctx, &[dispatch], None);
        let what = format!("bias.backward {rows}x{cols}, tail {tail_len}");
        assert_close(
            &what,
            &read(&ctx, &out, head),
            &expected[..head],
            1e-5,
            1e-5,
        );
        if tail_len > 0 {
            let tail_sums = read(&ctx, &tail, tail_len);
            assert_close(
                &format!("{what}: tail"),
                &tail_sums,
                &expected[head..],
                1e-5,
                1e-5,
            );
        }
    }
}
