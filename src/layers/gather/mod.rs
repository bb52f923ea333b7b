//! Gather: one batch from the data set resident on the GPU.
//!
//! `batch [rows, sample_len] = images[indices[start + r]] / 255` and the matching labels, for
//! `r < batch_rows` of the current step; padding rows of a short last batch are zero with label
//! [`NO_LABEL`].

pub mod cpu;

use bytemuck::{Pod, Zeroable};

use crate::gpu::dispatch::grid_for;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

/// The label of a padding row (ignored by the loss).
pub const NO_LABEL: u32 = u32::MAX;

/// Mirrors `struct Params` of `shaders/gather/forward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// Batch capacity.
    pub rows: u32,
    /// Values per sample (H·W·C).
    pub sample_len: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

/// Where a batch comes from: images packed four bytes to a u32, labels, visiting order.
pub struct Source<'a> {
    /// `[samples · sample_len]` u8, packed little-endian into u32.
    pub images: &'a wgpu::Buffer,
    /// `[samples]` u32.
    pub labels: &'a wgpu::Buffer,
    /// `[n]` u32 absolute sample numbers.
    pub indices: &'a wgpu::Buffer,
}

/// Where `gather.forward` writes one batch.
#[derive(Clone, Debug)]
pub struct Io<'a> {
    /// `[rows, sample_len]` f32 images.
    pub batch: wgpu::BufferBinding<'a>,
    /// `[rows]` u32 labels.
    pub batch_labels: wgpu::BufferBinding<'a>,
}

/// Builds the `gather.forward` launch from `source` into `io`.
pub fn encode_forward(
    ctx: &GpuContext,
    label: &str,
    params: Params,
    source: &Source<'_>,
    io: Io<'_>,
) -> Result<Dispatch, GpuError> {
    let count = u64::from(params.rows) * u64::from(params.sample_len);
    Dispatch::new(
        ctx,
        Kernel::GatherForward,
        label,
        &(),
        &params,
        &[
            source.images.as_entire_buffer_binding(),
            source.labels.as_entire_buffer_binding(),
            source.indices.as_entire_buffer_binding(),
            io.batch,
            io.batch_labels,
        ],
        grid_for(ctx, label, count, 256)?,
    )
}

/// Packs u8 pixels four to a u32 (little-endian), the layout `gather.forward` reads.
pub fn pack_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(word)
        })
        .collect()
}
