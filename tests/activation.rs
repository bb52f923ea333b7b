//! `activation.forward` and `activation.backward_input` against the CPU reference for every
//! [`Function`], on odd lengths (1, 7, 1000, 100003, and one past 65,535 workgroups so the grid
//! is 2-D), with inputs that include exact zeros and signed zeros (relu's kink).
//!
//! Tolerance: exact (`|gpu − cpu| ≤ 0`): both passes are a select or the identity.

mod common;

use common::*;
use gpu_cnn::layers::activation::{self, cpu, Function, Params};

fn binding(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// Runs both passes of `function` over `len` random values and compares them with the CPU.
fn check(function: Function, len: usize, seed: u64) {
    let ctx = context();
    let mut rng = rng(seed);
    let mut x = uniform(&mut rng, len, -2.0, 2.0);
    // Exact zeros of both signs, where relu's derivative switches.
    for (i, v) in x.iter_mut().enumerate().step_by(5) {
        *v = if i % 2 == 0 { 0.0 } else { -0.0 };
    }
    let dy = uniform(&mut rng, len, -1.0, 1.0);
    let params = Params::new(len);
    let (x_buf, dy_buf) = (upload(&ctx, "x", &x), upload(&ctx, "dy", &dy));
    let y = poisoned(&ctx, "y", len);
    let dx = poisoned(&ctx, "dx", len);
    let forward = activation::encode_forward(
        &ctx,
        "test.activation",
        function,
        params,
        activation::ForwardBuffers {
            x: binding(&x_buf),
            y: binding(&y),
        },
    )
    .expect("dispatch");
    let backward = activation::encode_backward_input(
        &ctx,
        "test.activation",
        function,
        params,
        activation::BackwardBuffers {
            x: binding(&x_buf),
            dy: binding(&dy_buf),
            dx: binding(&dx),
        },
    )
    .expect("dispatch");
    run(&ctx, &[forward, backward], None);
    let what = format!("activation {function:?} len {len}");
    assert_close(
        &format!("{what}: forward"),
        &read(&ctx, &y, len),
        &cpu::forward(function, &x),
        0.0,
        0.0,
    );
    assert_close(
        &format!("{what}: backward_input"),
        &read(&ctx, &dx, len),
        &cpu::backward_input(function, &x, &dy),
        0.0,
        0.0,
    );
}

#[test]
fn activation_matches_cpu_for_every_function_on_odd_lengths() {
    for function in Function::ALL {
        for (seed, len) in [1usize, 7, 1000, 100_003].into_iter().enumerate() {
            check(function, len, seed as u64);
        }
    }
}

#[test]
fn activation_covers_a_2d_grid_past_65535_workgroups() {
    check(Function::Relu, 65_535 * 256 + 300, 9);
}

#[test]
fn activation_codes_are_the_documented_override_values() {
    assert_eq!(Function::Linear.code(), 0);
    assert_eq!(Function::Relu.code(), 1);
    let codes: Vec<u32> = Function::ALL.iter().map(|f| f.code()).collect();
    assert_eq!(codes, (0..Function::ALL.len() as u32).collect::<Vec<_>>());
}

#[test]
fn relu_reference_is_max_with_zero_and_its_gradient_is_zero_at_the_kink() {
    let x = [-1.5, -0.0, 0.0, 2.5];
    assert_eq!(cpu::forward(Function::Relu, &x), vec![0.0, 0.0, 0.0, 2.5]);
    assert_eq!(
        cpu::backward_input(Function::Relu, &x, &[3.0; 4]),
        vec![0.0, 0.0, 0.0, 3.0]
    );
    assert_eq!(cpu::forward(Function::Linear, &x), x.to_vec());
    assert_eq!(
        cpu::backward_input(Function::Linear, &x, &[1.0, 2.0, 3.0, 4.0]),
        vec![1.0, 2.0, 3.0, 4.0]
    );
}
