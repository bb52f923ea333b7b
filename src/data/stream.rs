//! Uploading a data set to the GPU: images as packed u8 (four to a u32), labels as u32, kept
//! resident for the whole run so a training step never waits on the host.

use super::dataset::Dataset;
use crate::gpu::{buffers, GpuContext, GpuError};
use crate::layers::gather::pack_bytes;

/// A data set resident on the GPU.
pub struct GpuDataset {
    /// `[samples · sample_len]` u8 packed into u32.
    pub images: wgpu::Buffer,
    /// `[samples]` u32.
    pub labels: wgpu::Buffer,
    /// Number of samples.
    pub len: usize,
}

impl GpuDataset {
    /// Uploads `data` (checked against the device's binding limit: a set too large to be
    /// resident is reported with its size).
    pub fn upload(ctx: &GpuContext, label: &str, data: &Dataset) -> Result<Self, GpuError> {
        let labels: Vec<u32> = data.labels.iter().map(|&l| u32::from(l)).collect();
        Ok(Self {
            images: buffers::storage_with(
                ctx,
                &format!("{label}.images"),
                &pack_bytes(&data.images),
            )?,
            labels: buffers::storage_with(ctx, &format!("{label}.labels"), &labels)?,
            len: data.len(),
        })
    }
}
