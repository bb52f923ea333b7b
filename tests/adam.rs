//! `adam.step` against the reference over slabs of odd lengths (not multiples of the 256-wide
//! workgroup), several consecutive steps with the bias-corrected step size of each.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-6 + 1e-5·|cpu| for values, m and v. The step's record of the
//! first parameter it left NaN or infinite is exact.

mod common;

use common::*;
use gpu_cnn::gpu::slab::{ParamSlab, SlabLayout};
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::optim::adam::{self, cpu, AdamConfig};

#[test]
fn adam_matches_cpu_over_several_steps_on_odd_lengths() {
    let ctx = context();
    let config = AdamConfig::default();
    for (seed, len) in [1usize, 255, 257, 1000, 101_770].into_iter().enumerate() {
        let mut rng = rng(seed as u64);
        let layout = SlabLayout::new([("w".to_string(), vec![len])], 1);
        let mut values = uniform(&mut rng, len, -1.0, 1.0);
        let (mut m, mut v) = (vec![0.0; len], vec![0.0; len]);
        let slab = ParamSlab::new(&ctx, layout, &values).expect("slab");
        let flags = upload(&ctx, "first_non_finite", &[adam::ALL_FINITE]);
        let dispatch = adam::encode_step(&ctx, &config, &slab, &flags).expect("dispatch");
        let params = config.params(len);
        for t in 1..=3u64 {
            let grads = uniform(&mut rng, len, -1e-2, 1e-2);
            slab.write(&ctx, &slab.grads, &grads);
            let alpha = config.alpha(t);
            let table = step_table(
                &ctx,
                StepParams {
                    adam_alpha: alpha,
                    ..Default::default()
                },
            );
            run(&ctx, std::slice::from_ref(&dispatch), Some(&table));
            cpu::step(&params, alpha, &grads, &mut values, &mut m, &mut v);
            let what = format!("adam len {len} step {t}");
            assert_close(
                &format!("{what} values"),
                &slab.read(&ctx, &slab.params).unwrap(),
                &values,
                1e-6,
                1e-5,
            );
            assert_close(
                &format!("{what} m"),
                &slab.read(&ctx, &slab.m).unwrap(),
                &m,
                1e-9,
                1e-5,
            );
            assert_close(
                &format!("{what} v"),
                &slab.read(&ctx, &slab.v).unwrap(),
                &v,
                1e-12,
                1e-5,
            );
            assert_eq!(read::<u32>(&ctx, &flags, 1), [adam::ALL_FINITE], "{what}");
        }
    }
}

#[test]
fn adam_records_the_first_parameter_its_step_leaves_nan_or_infinite_in_the_steps_row() {
    let ctx = context();
    let config = AdamConfig::default();
    let len = 1001;
    let layout = SlabLayout::new([("w".to_string(), vec![len])], 1);
    let mut values = uniform(&mut rng(5), len, -1.0, 1.0);
    // An infinity late in the slab, a NaN in another workgroup and lane; any first would do
    // for a racing store, the record must be the smallest.
    values[998] = f32::INFINITY;
    values[517] = f32::NAN;
    values[262] = f32::MAX;
    let slab = ParamSlab::new(&ctx, layout, &values).expect("slab");
    slab.write(&ctx, &slab.grads, &vec![1e-3; len]);
    let flags = upload(&ctx, "first_non_finite", &[adam::ALL_FINITE; 3]);
    let dispatch = adam::encode_step(&ctx, &config, &slab, &flags).expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            adam_alpha: config.alpha(1),
            slot: 2,
            ..Default::default()
        },
    );
    run(&ctx, std::slice::from_ref(&dispatch), Some(&table));
    // f32::MAX minus a tiny step stays finite; rows of other steps are untouched.
    assert_eq!(
        read::<u32>(&ctx, &flags, 3),
        [adam::ALL_FINITE, adam::ALL_FINITE, 517]
    );
}

#[test]
fn adam_step_size_is_keras_bias_corrected_learning_rate() {
    let config = AdamConfig::default();
    let expected = 1e-3 * (1.0f64 - 0.999).sqrt() / (1.0 - 0.9);
    assert!((f64::from(config.alpha(1)) - expected).abs() < 1e-9);
    let late = 1e-3 * (1.0f64 - 0.999f64.powi(1000)).sqrt() / (1.0 - 0.9f64.powi(1000));
    assert!((f64::from(config.alpha(1000)) - late).abs() < 1e-9);
}
