//! Device faults end with a clear error, never a hang or a panic: a buffer past the device's
//! limits, a buffer the device refuses, a validation error inside a submitted command, and a
//! lost (here: destroyed) device during a readback.

mod common;

use std::time::{Duration, Instant};

use gpu_cnn::gpu::readback::Readback;
use gpu_cnn::gpu::{buffers, GpuError};

/// A lost device must end a wait within this (a poll slice is 100 ms).
const PROMPT: Duration = Duration::from_secs(5);

#[test]
fn a_buffer_over_the_devices_largest_is_a_limit_error_naming_it() {
    let ctx = common::context();
    let bytes = ctx.limits.max_buffer_size + 4;
    let descriptor = wgpu::BufferDescriptor {
        label: Some("huge.test [too many values]"),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    };
    let error = buffers::create(&ctx, &descriptor).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, GpuError::LimitExceeded { needed, .. } if needed == bytes),
        "{message}"
    );
    assert!(message.contains("huge.test [too many values]"), "{message}");
    assert!(
        message.contains(&format!("allows at most {}", ctx.limits.max_buffer_size)),
        "{message}"
    );
    let error = buffers::storage(
        &ctx,
        "slab.test",
        ctx.limits.max_storage_buffer_binding_size + 4,
    );
    assert!(error.unwrap_err().to_string().contains("slab.test"));
    ctx.check()
        .expect("refused before wgpu saw it: no error left behind");
}

#[test]
fn a_buffer_the_device_refuses_is_an_allocation_error_naming_it_not_an_uncaptured_one() {
    let ctx = common::context();
    // MAP_READ with STORAGE needs a feature gpu-cnn does not request: wgpu refuses it.
    let descriptor = wgpu::BufferDescriptor {
        label: Some("refused.test"),
        size: 64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    };
    let error = buffers::create(&ctx, &descriptor).unwrap_err();
    let message = error.to_string();
    let refused = matches!(
        &error,
        GpuError::Allocation { buffer, bytes: 64, out_of_memory: false, .. } if buffer == "refused.test"
    );
    assert!(refused, "{message}");
    assert!(
        message.contains("could not allocate buffer `refused.test` of 64 bytes"),
        "{message}"
    );
    // The scope captured it: the device is fine and later work runs.
    ctx.check().expect("no uncaptured error");
    let buffer = buffers::storage_with(&ctx, "after.test", &[1.5f32, -2.0, 3.25]).unwrap();
    assert_eq!(
        buffers::read::<f32>(&ctx, &buffer, 0, 3).unwrap(),
        [1.5, -2.0, 3.25]
    );
}

#[test]
fn a_validation_error_in_a_submitted_command_is_an_error_at_the_next_wait() {
    let ctx = common::context();
    let small = buffers::storage(&ctx, "small.test", 16).unwrap();
    let large = buffers::storage(&ctx, "large.test", 64).unwrap();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("invalid.copy"),
        });
    // 64 bytes into a 16-byte buffer: invalid, reported when the encoder finishes.
    encoder.copy_buffer_to_buffer(&large, 0, &small, 0, 64);
    ctx.queue.submit([encoder.finish()]);
    let started = Instant::now();
    let error = ctx.wait_idle().unwrap_err();
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    let message = error.to_string();
    assert!(matches!(error, GpuError::Wgpu { .. }), "{message}");
    assert!(
        message.contains("small.test") || message.contains("invalid.copy"),
        "{message}"
    );
}

#[test]
fn a_readback_on_a_destroyed_device_fails_promptly_and_every_later_wait_too() {
    let ctx = common::context();
    let values: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
    let buffer = buffers::storage_with(&ctx, "values.test", &values).unwrap();
    assert_eq!(
        buffers::read::<f32>(&ctx, &buffer, 10, 2).unwrap(),
        [5.0, 5.5]
    );
    ctx.device.destroy();
    let started = Instant::now();
    let error = buffers::read::<f32>(&ctx, &buffer, 0, 1000).unwrap_err();
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    assert!(matches!(error, GpuError::DeviceLost(_)), "{error}");
    assert!(
        error.to_string().contains("the GPU device was lost"),
        "{error}"
    );
    // The loss is not forgotten once reported.
    let again = ctx.wait_idle();
    assert!(
        matches!(again, Err(GpuError::DeviceLost(_))),
        "{again:?} after {error}"
    );
}

#[test]
fn the_metrics_ring_on_a_destroyed_device_fails_promptly_instead_of_waiting() {
    let ctx = common::context();
    let source = buffers::storage_with(&ctx, "metrics.test", &[7u32; 8]).unwrap();
    let mut ring = Readback::new(&ctx, "ring.test", 32, 2).unwrap();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("ring.copy"),
        });
    let slot = ring.copy(&mut encoder, &source, 0, 32).unwrap();
    let submission = ctx.queue.submit([encoder.finish()]);
    ring.submitted(slot, 3, 32, submission);
    ctx.device.destroy();
    let started = Instant::now();
    let result = ring.finish(&ctx);
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    match result {
        // The copy may have landed before the loss; then its bytes are the source's.
        Ok(landed) => {
            assert_eq!(landed[0].tag, 3);
            assert_eq!(bytemuck::cast_slice::<u8, u32>(&landed[0].bytes), [7; 8]);
            assert!(matches!(ctx.wait_idle(), Err(GpuError::DeviceLost(_))));
        }
        Err(error) => assert!(matches!(error, GpuError::DeviceLost(_)), "{error}"),
    }
}
