//! `adam.step`'s record of the first parameter it left NaN or infinite (exact; the code is the
//! one every optimizer kernel shares, `shaders/optim/update.wgsl`) and its bias-corrected step
//! size. Its match with the CPU reference is in `tests/optimizers.rs`.

mod common;

use common::*;
use gpu_cnn::gpu::slab::{ParamSlab, SlabLayout};
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::optim::{AdamConfig, OptimizerConfig, ALL_FINITE};

#[test]
fn adam_records_the_first_parameter_its_step_leaves_nan_or_infinite_in_the_steps_row() {
    let ctx = context();
    let config = AdamConfig::default();
    let optimizer = OptimizerConfig::Adam(config);
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
    let flags = upload(&ctx, "first_non_finite", &[ALL_FINITE; 3]);
    let dispatch = optimizer
        .encode_step(&ctx, &slab, &flags)
        .expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            step_rate: config.alpha(1, config.learning_rate),
            slot: 2,
            ..Default::default()
        },
    );
    run(&ctx, std::slice::from_ref(&dispatch), Some(&table));
    // f32::MAX minus a tiny step stays finite; rows of other steps are untouched.
    assert_eq!(read::<u32>(&ctx, &flags, 3), [ALL_FINITE, ALL_FINITE, 517]);
}

#[test]
fn adam_step_size_is_keras_bias_corrected_learning_rate() {
    let config = AdamConfig::default();
    let expected = 1e-3 * (1.0f64 - 0.999).sqrt() / (1.0 - 0.9);
    assert!((f64::from(config.alpha(1, config.learning_rate)) - expected).abs() < 1e-9);
    let late = 1e-3 * (1.0f64 - 0.999f64.powi(1000)).sqrt() / (1.0 - 0.9f64.powi(1000));
    assert!((f64::from(config.alpha(1000, config.learning_rate)) - late).abs() < 1e-9);
}
