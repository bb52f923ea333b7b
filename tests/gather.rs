//! `gather.forward` against the reference: random u8 images of odd sample sizes (not multiples
//! of 4, so packed words straddle samples), random visiting orders, a short last batch whose
//! padding rows must come out zero with `NO_LABEL`. Exact: the kernel divides a byte by 255
//! like the reference (tolerance 0).

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::gather::{self, cpu, pack_bytes, Params, Source, NO_LABEL};
use rand::seq::SliceRandom;
use rand::Rng;

fn check(
    samples: usize,
    sample_len: usize,
    rows: usize,
    start: usize,
    batch_rows: usize,
    seed: u64,
) {
    let ctx = context();
    let mut rng = rng(seed);
    let images: Vec<u8> = (0..samples * sample_len).map(|_| rng.random()).collect();
    let labels: Vec<u32> = (0..samples).map(|_| rng.random_range(0..10)).collect();
    let mut indices: Vec<u32> = (0..samples as u32).collect();
    indices.shuffle(&mut rng);
    let params = Params {
        rows: rows as u32,
        sample_len: sample_len as u32,
        ..Default::default()
    };
    let (expected, expected_labels) =
        cpu::forward(&params, &images, &labels, &indices, start, batch_rows);

    let images_buf = upload(&ctx, "images", &pack_bytes(&images));
    let labels_buf = upload(&ctx, "labels", &labels);
    let indices_buf = upload(&ctx, "indices", &indices);
    let batch = poisoned(&ctx, "batch", rows * sample_len);
    let batch_labels = upload(&ctx, "batch.labels", &vec![12345u32; rows]);
    let source = Source {
        images: &images_buf,
        labels: &labels_buf,
        indices: &indices_buf,
    };
    let dispatch = gather::encode_forward(
        &ctx,
        "test.gather",
        params,
        &source,
        gather::Io {
            batch: batch.as_entire_buffer_binding(),
            batch_labels: batch_labels.as_entire_buffer_binding(),
        },
    )
    .expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            sample_start: start as u32,
            batch_rows: batch_rows as u32,
            ..Default::default()
        },
    );
    run(&ctx, &[dispatch], Some(&table));
    let what = format!("gather {samples}x{sample_len} rows {rows} from {start}");
    assert_close(
        &what,
        &read(&ctx, &batch, rows * sample_len),
        &expected,
        0.0,
        0.0,
    );
    assert_eq!(
        read::<u32>(&ctx, &batch_labels, rows),
        expected_labels,
        "{what}: labels"
    );
}

#[test]
fn gather_matches_cpu_on_odd_sample_sizes() {
    check(50, 784, 33, 7, 33, 1);
    check(40, 13, 7, 0, 7, 2);
    check(9, 1, 5, 4, 5, 3);
    check(300, 3, 100, 150, 100, 4);
}

#[test]
fn gather_short_last_batch_pads_with_zero_rows_and_no_label() {
    check(40, 13, 16, 33, 7, 5);
    let (expected, labels) = cpu::forward(
        &Params {
            rows: 3,
            sample_len: 2,
            ..Default::default()
        },
        &[10, 20, 30, 40],
        &[4, 6],
        &[1, 0],
        1,
        1,
    );
    assert_eq!(
        expected,
        vec![10.0 / 255.0, 20.0 / 255.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(labels, vec![4, NO_LABEL, NO_LABEL]);
}
