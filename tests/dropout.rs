//! `dropout.forward` and `dropout.backward_input` against the CPU reference, and the mask's
//! statistics: odd lengths (1, 7, 1000, 100003), rates 0, 0.25, 0.5, 0.9, several steps.
//!
//! Tolerances: GPU and CPU agree bit for bit (the op multiplies by a constant or writes 0, and
//! the mask is integer math); the kept fraction of 1e5 elements is within 0.01 (absolute) of
//! `1 − rate` (that is ≥ 10 standard deviations for every rate tested).

mod common;

use common::*;
use gpu_cnn::gpu::step_table::StepParams;
use gpu_cnn::layers::dropout::{self, cpu, Params};

const RATES: [f32; 4] = [0.0, 0.25, 0.5, 0.9];
const LENGTHS: [usize; 4] = [1, 7, 1000, 100_003];

/// Values with no exact zero, so a zero output always means "dropped".
fn nonzero(seed: u64, len: usize) -> Vec<f32> {
    uniform(&mut rng(seed), len, 0.5, 2.0)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i % 3 == 0 { -v } else { v })
        .collect()
}

/// Runs forward on `x` and backward_input on `dy` at global step `step`; returns (y, dx).
fn run_gpu(
    params: Params,
    step: u32,
    batch_rows: u32,
    x: &[f32],
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let ctx = context();
    let len = params.len as usize;
    let (x_buf, dy_buf) = (upload(&ctx, "x", x), upload(&ctx, "dy", dy));
    let y = poisoned(&ctx, "y", len);
    let dx = poisoned(&ctx, "dx", len);
    let forward = dropout::encode(
        &ctx,
        "test.dropout.forward",
        params,
        dropout::Buffers {
            input: x_buf.as_entire_buffer_binding(),
            output: y.as_entire_buffer_binding(),
        },
    )
    .expect("dispatch");
    let backward = dropout::encode(
        &ctx,
        "test.dropout.backward_input",
        params,
        dropout::Buffers {
            input: dy_buf.as_entire_buffer_binding(),
            output: dx.as_entire_buffer_binding(),
        },
    )
    .expect("dispatch");
    let table = step_table(
        &ctx,
        StepParams {
            batch_rows,
            step,
            ..Default::default()
        },
    );
    run(&ctx, &[forward, backward], Some(&table));
    (read(&ctx, &y, len), read(&ctx, &dx, len))
}

/// Bit patterns, so that 0.0 vs −0.0 and every last ulp count.
fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn dropout_matches_cpu_bit_for_bit_on_odd_lengths_and_rates() {
    for (r, rate) in RATES.into_iter().enumerate() {
        for (l, len) in LENGTHS.into_iter().enumerate() {
            let seed = 17 + 3 * r as u32 + l as u32;
            let step = 1000 * l as u32 + r as u32;
            let params = Params::new(len, seed, rate).expect("valid rate");
            let x = nonzero(seed.into(), len);
            let dy = nonzero(u64::from(seed) + 100, len);
            let (y, dx) = run_gpu(params, step, 1, &x, &dy);
            let what = format!("dropout rate {rate} len {len} step {step}");
            assert_eq!(
                bits(&y),
                bits(&cpu::forward(&params, step, &x)),
                "{what}: forward"
            );
            assert_eq!(
                bits(&dx),
                bits(&cpu::backward_input(&params, step, &dy)),
                "{what}: backward_input"
            );
            // Backward drops exactly what forward dropped.
            for (i, (&y, &g)) in y.iter().zip(&dx).enumerate() {
                assert_eq!(y == 0.0, g == 0.0, "{what}: element {i} masked differently");
            }
            if rate == 0.0 {
                assert_eq!(bits(&y), bits(&x), "{what}: rate 0 is the identity");
            }
        }
    }
}

#[test]
fn dropout_keeps_one_minus_rate_of_the_elements() {
    let len = 100_000;
    for (r, rate) in RATES.into_iter().enumerate() {
        for step in [0u32, 1, 77_777] {
            let params = Params::new(len, 5 + r as u32, rate).expect("valid rate");
            let kept = (0..len as u32)
                .filter(|&i| cpu::keep(params.seed, step, i, params.threshold))
                .count();
            let fraction = kept as f64 / len as f64;
            let expected = 1.0 - f64::from(rate);
            assert!(
                (fraction - expected).abs() <= 0.01,
                "rate {rate} step {step}: kept {fraction}, expected {expected} ± 0.01"
            );
        }
    }
    // And the GPU draws the same mask (checked on one large case).
    let params = Params::new(len, 3, 0.25).expect("valid rate");
    let x = nonzero(1, len);
    let (y, _) = run_gpu(params, 42, 32, &x, &x);
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / len as f64;
    assert!(
        (kept - 0.75).abs() <= 0.01,
        "GPU kept {kept}, expected 0.75 ± 0.01"
    );
}

/// Fraction of indices where the masks of (seed, step) and (seed', step') agree.
fn agreement(a: (u32, u32), b: (u32, u32), threshold: u32, len: u32) -> f64 {
    let same = (0..len)
        .filter(|&i| cpu::keep(a.0, a.1, i, threshold) == cpu::keep(b.0, b.1, i, threshold))
        .count();
    same as f64 / f64::from(len)
}

#[test]
fn dropout_masks_differ_between_steps_and_layers_and_look_independent() {
    let (len, rate) = (100_000u32, 0.5f32);
    let params = Params::new(len as usize, 9, rate).expect("valid rate");
    // Independent masks with keep probability p agree with probability p² + (1 − p)² = 0.5.
    for (a, b) in [
        ((9, 0), (9, 1)),
        ((9, 1), (9, 2)),
        ((9, 5), (10, 5)),
        ((0, 0), (1, 0)),
        ((9, 0), (9, 65_536)),
    ] {
        let same = agreement(a, b, params.threshold, len);
        assert!(
            (same - 0.5).abs() <= 0.01,
            "(seed, step) {a:?} vs {b:?}: masks agree on {same} of the elements, not ≈ 0.5"
        );
    }
    // Neighbouring elements are not correlated.
    let same_as_next = (0..len - 1)
        .filter(|&i| {
            cpu::keep(9, 3, i, params.threshold) == cpu::keep(9, 3, i + 1, params.threshold)
        })
        .count() as f64
        / f64::from(len - 1);
    assert!(
        (same_as_next - 0.5).abs() <= 0.01,
        "neighbours agree on {same_as_next}"
    );

    // On the GPU: another step gives another mask, the same step the same mask.
    let x = nonzero(2, len as usize);
    let (first, _) = run_gpu(params, 3, 1, &x, &x);
    let (again, _) = run_gpu(params, 3, 1, &x, &x);
    let (next, _) = run_gpu(params, 4, 1, &x, &x);
    assert_eq!(bits(&first), bits(&again), "same inputs, different mask");
    let differ = first
        .iter()
        .zip(&next)
        .filter(|(a, b)| (**a == 0.0) != (**b == 0.0))
        .count();
    assert!(
        differ > len as usize / 3,
        "steps 3 and 4 differ on only {differ} of {len} elements"
    );
}

#[test]
fn dropout_params_threshold_and_scale_follow_the_rate() {
    let p = Params::new(10, 1, 0.25).expect("valid rate");
    assert_eq!(p.threshold, 1 << 22);
    assert_eq!(p.scale, 1.0 / 0.75f32);
    assert_eq!(Params::new(10, 1, 0.0).expect("valid rate").threshold, 0);
    assert_eq!(Params::new(10, 1, 0.0).expect("valid rate").scale, 1.0);
    assert!(Params::new(10, 1, 1.0).is_none(), "rate 1 drops everything");
    assert!(Params::new(10, 1, -0.1).is_none());
    assert!(Params::new(10, 1, f32::NAN).is_none());
}

#[test]
fn dropout_hash_is_lowbias32_chained_over_seed_step_index() {
    // lowbias32 is a bijection; 0 is its fixed point, and one input bit flips about half the
    // output bits.
    assert_eq!(cpu::mix(0), 0);
    let flips: u32 = (0..32)
        .map(|b| (cpu::mix(1 << b) ^ cpu::mix(0)).count_ones())
        .sum();
    let mean = f64::from(flips) / 32.0;
    assert!(
        (12.0..=20.0).contains(&mean),
        "avalanche: {mean} bits of 32 flip"
    );
    assert_eq!(
        cpu::hash(7, 8, 9),
        cpu::mix(cpu::mix(cpu::mix(7u32.wrapping_add(0x9e37_79b9)) ^ 8) ^ 9)
    );
}
