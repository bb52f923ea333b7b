//! Creating buffers (checked against the device's limits) and reading them back in tests and
//! at the end of a run.

use bytemuck::Pod;
use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};

/// Usage of every storage buffer gpu-cnn makes: bound in shaders, filled by the queue, copied
/// out for readback.
const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

/// Creates the buffer `descriptor` describes inside out-of-memory and validation error
/// scopes, so a device that cannot hold it (or refuses the descriptor) is an error naming the
/// buffer and its size, not a panic or a later uncaptured error. Every storage and staging
/// buffer gpu-cnn makes is created here.
pub fn create(
    ctx: &GpuContext,
    descriptor: &wgpu::BufferDescriptor<'_>,
) -> Result<wgpu::Buffer, GpuError> {
    ctx.check_buffer_size(descriptor.label.unwrap_or("a buffer"), descriptor.size)?;
    let filters = [
        wgpu::ErrorFilter::Validation,
        wgpu::ErrorFilter::OutOfMemory,
    ];
    let (buffer, error) = super::caught(&ctx.device, &filters, || {
        ctx.device.create_buffer(descriptor)
    });
    match error {
        None => Ok(buffer),
        Some(error) => Err(GpuError::Allocation {
            buffer: descriptor.label.unwrap_or("a buffer").to_string(),
            bytes: descriptor.size,
            out_of_memory: matches!(error, wgpu::Error::OutOfMemory { .. }),
            message: error.to_string(),
        }),
    }
}

/// A zeroed storage buffer of `bytes` (at least 4), checked against the binding limit.
pub fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
    let bytes = bytes.max(4).next_multiple_of(4);
    ctx.check_binding_size(label, bytes)?;
    create(
        ctx,
        &wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: STORAGE,
            mapped_at_creation: false,
        },
    )
}

/// A storage buffer holding `data`, checked against the binding limit.
pub fn storage_with<T: Pod>(
    ctx: &GpuContext,
    label: &str,
    data: &[T],
) -> Result<wgpu::Buffer, GpuError> {
    if data.is_empty() {
        return storage(ctx, label, 4);
    }
    let buffer = storage(ctx, label, std::mem::size_of_val(data) as u64)?;
    ctx.queue
        .write_buffer(&buffer, 0, bytemuck::cast_slice(data));
    Ok(buffer)
}

/// A uniform buffer holding one `Params` struct.
pub fn uniform<T: Pod>(ctx: &GpuContext, label: &str, params: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM,
        })
}

/// A buffer of `bytes` (rounded up to 4) to copy results into and map for reading.
pub fn staging(ctx: &GpuContext, label: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
    create(
        ctx,
        &wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4).next_multiple_of(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        },
    )
}

/// Copies `count` elements of type `T` starting at element `first` out of `buffer`, blocking
/// until the GPU has finished everything submitted before ([`read_async`] in a browser).
#[cfg(not(target_arch = "wasm32"))]
pub fn read<T: Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    first: usize,
    count: usize,
) -> Result<Vec<T>, GpuError> {
    super::block_on(read_async(ctx, buffer, first, count))
}

/// `read` without blocking: the copy lands once the GPU has finished everything submitted
/// before ([`GpuContext::settle`]).
pub async fn read_async<T: Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    first: usize,
    count: usize,
) -> Result<Vec<T>, GpuError> {
    let size = std::mem::size_of::<T>();
    let bytes = (count * size) as u64;
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let staging = staging(ctx, "readback.staging", bytes)?;
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    encoder.copy_buffer_to_buffer(
        buffer,
        (first * size) as u64,
        &staging,
        0,
        bytes.next_multiple_of(4),
    );
    let submission = ctx.queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |result| {
        // The receiver outlives this callback: it is read right below.
        let _ = sender.send(result);
    });
    ctx.settle(Some(&submission), || receiver.try_recv().ok())
        .await?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let values = bytemuck::cast_slice::<u8, T>(&view[..bytes as usize]).to_vec();
    drop(view);
    staging.unmap();
    Ok(values)
}

/// `binding`, or where there is none a 4-byte storage buffer (kept in `slot`) for a writable
/// binding that the launch's configuration never writes: a kernel declares all of its bindings,
/// and a writable one cannot alias another.
pub fn or_stand_in<'a>(
    ctx: &GpuContext,
    label: &str,
    binding: Option<wgpu::BufferBinding<'a>>,
    slot: &'a mut Option<wgpu::Buffer>,
) -> Result<wgpu::BufferBinding<'a>, GpuError> {
    match binding {
        Some(binding) => Ok(binding),
        None => Ok(whole(slot.insert(storage(
            ctx,
            &format!("{label}.unused"),
            4,
        )?))),
    }
}

/// A binding of all of `buffer`.
pub fn whole(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}
