//! Every optimizer kernel against its CPU reference over slabs of odd lengths (not multiples of
//! the 256-wide workgroup), several consecutive steps with the step rate of each, from random
//! optimizer state; state an optimizer does not use starts NaN-poisoned and must stay so. Then
//! one step of each, computed by hand from Keras 3's formula.
//!
//! Tolerance: |gpu − cpu| ≤ 1e-6 + 1e-5·|cpu| for values and state (the kernel and the loop
//! evaluate the same f32 expressions; only `sqrt` and fused multiply-adds may round apart).
//! Hand-computed steps: |gpu − keras| ≤ 1e-6·|keras| + 1e-7 (the formula is evaluated in f64).

mod common;

use common::*;
use gpu_cnn::gpu::slab::{ParamSlab, SlabLayout};
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::optim::{
    AdamConfig, AdamWConfig, OptimizerConfig, RmspropConfig, SgdConfig, ALL_FINITE,
};

/// Which of `m` and `v` the optimizer keeps its state in.
fn uses_state(config: &OptimizerConfig) -> (bool, bool) {
    match config {
        OptimizerConfig::Adam(_) | OptimizerConfig::Adamw(_) => (true, true),
        OptimizerConfig::Sgd(c) => (c.momentum != 0.0, false),
        OptimizerConfig::Rmsprop(c) => (c.momentum > 0.0, true),
    }
}

fn check_matches_cpu(config: OptimizerConfig) {
    let ctx = context();
    let (uses_m, uses_v) = uses_state(&config);
    for (seed, len) in [1usize, 255, 257, 1000, 101_770].into_iter().enumerate() {
        let mut rng = rng(seed as u64);
        let layout = SlabLayout::new([("w".to_string(), vec![len])], 1);
        let mut values = uniform(&mut rng, len, -1.0, 1.0);
        let state = |rng: &mut _, used: bool, low: f32| {
            if used {
                uniform(rng, len, low, 1e-2)
            } else {
                vec![f32::NAN; len]
            }
        };
        let mut m = state(&mut rng, uses_m, -1e-2);
        // A second moment or average of squares is never negative.
        let mut v = state(&mut rng, uses_v, 0.0);
        let slab = ParamSlab::new(&ctx, layout, &values).expect("slab");
        slab.write(&ctx, &slab.m, &m);
        slab.write(&ctx, &slab.v, &v);
        let flags = upload(&ctx, "first_non_finite", &[ALL_FINITE]);
        let dispatch = config.encode_step(&ctx, &slab, &flags).expect("dispatch");
        for t in 1..=3u64 {
            let grads = uniform(&mut rng, len, -1e-2, 1e-2);
            slab.write(&ctx, &slab.grads, &grads);
            let table = step_table(
                &ctx,
                StepParams {
                    step_rate: config.step_rate(t, config.learning_rate()),
                    learning_rate: config.learning_rate() as f32,
                    ..Default::default()
                },
            );
            run(&ctx, std::slice::from_ref(&dispatch), Some(&table));
            config.cpu_step(
                t,
                config.learning_rate(),
                &grads,
                &mut values,
                &mut m,
                &mut v,
            );
            let what = format!("{} len {len} step {t}", config.name());
            let gpu = slab.read(&ctx, &slab.params).unwrap();
            assert_close(&format!("{what} values"), &gpu, &values, 1e-6, 1e-5);
            for (name, used, buffer, cpu) in
                [("m", uses_m, &slab.m, &m), ("v", uses_v, &slab.v, &v)]
            {
                let gpu = slab.read(&ctx, buffer).unwrap();
                if used {
                    assert_close(&format!("{what} {name}"), &gpu, cpu, 1e-9, 1e-5);
                } else {
                    assert!(
                        gpu.iter().all(|x| x.is_nan()),
                        "{what}: unused {name} was written"
                    );
                }
            }
            assert_eq!(read::<u32>(&ctx, &flags, 1), [ALL_FINITE], "{what}");
        }
    }
}

#[test]
fn adam_matches_cpu_over_several_steps_on_odd_lengths() {
    check_matches_cpu(OptimizerConfig::Adam(AdamConfig::default()));
}

#[test]
fn adamw_matches_cpu_over_several_steps_on_odd_lengths() {
    check_matches_cpu(OptimizerConfig::Adamw(AdamWConfig {
        weight_decay: 0.3,
        ..AdamWConfig::default()
    }));
}

#[test]
fn sgd_matches_cpu_over_several_steps_on_odd_lengths() {
    for (momentum, nesterov) in [(0.0, false), (0.9, false), (0.9, true)] {
        check_matches_cpu(OptimizerConfig::Sgd(SgdConfig {
            momentum,
            nesterov,
            ..SgdConfig::default()
        }));
    }
}

#[test]
fn rmsprop_matches_cpu_over_several_steps_on_odd_lengths() {
    for momentum in [0.0, 0.5] {
        check_matches_cpu(OptimizerConfig::Rmsprop(RmspropConfig {
            momentum,
            ..RmspropConfig::default()
        }));
    }
}

/// One GPU step `t` of `config` on a one-parameter slab: the new (value, m, v).
fn one_step(config: OptimizerConfig, t: u64, p: f32, g: f32, m: f32, v: f32) -> [f32; 3] {
    let ctx = context();
    let layout = SlabLayout::new([("w".to_string(), vec![1])], 1);
    let slab = ParamSlab::new(&ctx, layout, &[p]).expect("slab");
    slab.write(&ctx, &slab.grads, &[g]);
    slab.write(&ctx, &slab.m, &[m]);
    slab.write(&ctx, &slab.v, &[v]);
    let flags = upload(&ctx, "first_non_finite", &[ALL_FINITE]);
    let dispatch = config.encode_step(&ctx, &slab, &flags).expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            step_rate: config.step_rate(t, config.learning_rate()),
            learning_rate: config.learning_rate() as f32,
            ..Default::default()
        },
    );
    run(&ctx, std::slice::from_ref(&dispatch), Some(&table));
    let read = |buffer| slab.read(&ctx, buffer).unwrap()[0];
    [read(&slab.params), read(&slab.m), read(&slab.v)]
}

fn assert_keras(what: &str, gpu: [f32; 3], keras: [f64; 3]) {
    for (name, (g, k)) in ["value", "m", "v"].iter().zip(gpu.into_iter().zip(keras)) {
        let err = (f64::from(g) - k).abs();
        assert!(
            err <= 1e-6 * k.abs() + 1e-7,
            "{what} {name}: gpu {g} vs keras {k}"
        );
    }
}

#[test]
fn sgd_step_is_keras_by_hand() {
    let sgd = |momentum, nesterov| {
        OptimizerConfig::Sgd(SgdConfig {
            learning_rate: 0.01,
            momentum,
            nesterov,
        })
    };
    // p = 1, g = 0.5, velocity 0.2 before the step.
    // No momentum: p -= lr·g = 1 − 0.005; the velocity is left alone.
    assert_keras(
        "sgd",
        one_step(sgd(0.0, false), 1, 1.0, 0.5, 0.2, 0.0),
        [0.995, 0.2, 0.0],
    );
    // v = 0.9·0.2 − 0.01·0.5 = 0.175; p += v.
    assert_keras(
        "sgd momentum",
        one_step(sgd(0.9, false), 1, 1.0, 0.5, 0.2, 0.0),
        [1.175, 0.175, 0.0],
    );
    // Nesterov: p += 0.9·0.175 − 0.005 = 0.1525.
    assert_keras(
        "sgd nesterov",
        one_step(sgd(0.9, true), 1, 1.0, 0.5, 0.2, 0.0),
        [1.1525, 0.175, 0.0],
    );
}

#[test]
fn rmsprop_step_is_keras_by_hand() {
    let rmsprop = |momentum| {
        OptimizerConfig::Rmsprop(RmspropConfig {
            momentum,
            ..RmspropConfig::default()
        })
    };
    // p = 1, g = 0.5, average 0.04 and momentum 0.01 before the step; lr 0.001, rho 0.9.
    let a: f64 = 0.9 * 0.04 + 0.1 * 0.25; // 0.061
    let increment = 0.001 * 0.5 / (a + 1e-7).sqrt(); // epsilon inside the root, as Keras 3
    assert_keras(
        "rmsprop",
        one_step(rmsprop(0.0), 1, 1.0, 0.5, 0.01, 0.04),
        [1.0 - increment, 0.01, a],
    );
    let mom = 0.5 * 0.01 + increment;
    assert_keras(
        "rmsprop momentum",
        one_step(rmsprop(0.5), 1, 1.0, 0.5, 0.01, 0.04),
        [1.0 - mom, mom, a],
    );
}

#[test]
fn adam_and_adamw_steps_are_keras_by_hand() {
    // p = 1, g = 0.5, zero moments, step t = 2 (bias correction with t = 2).
    let m: f64 = 0.1 * 0.5; // 0.05
    let v: f64 = 0.001 * 0.25; // 0.00025
    let alpha = 0.001 * (1.0 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.9f64.powi(2));
    let step = alpha * m / (v.sqrt() + 1e-7);
    let adam = OptimizerConfig::Adam(AdamConfig::default());
    assert_keras(
        "adam",
        one_step(adam, 2, 1.0, 0.5, 0.0, 0.0),
        [1.0 - step, m, v],
    );
    // AdamW first takes p·weight_decay·lr = 1·0.004·0.001 off the parameter.
    let adamw = OptimizerConfig::Adamw(AdamWConfig::default());
    let decayed = 1.0 - 0.004 * 0.001;
    assert_keras(
        "adamw",
        one_step(adamw, 2, 1.0, 0.5, 0.0, 0.0),
        [decayed - step, m, v],
    );
}
