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
    /// resident is reported with its size, and the hint is about the data, not the batch).
    pub fn upload(ctx: &GpuContext, label: &str, data: &Dataset) -> Result<Self, GpuError> {
        let images_label = format!("{label}.images");
        // Four pixels to a u32, the last one padded.
        let image_bytes = data.images.len().div_ceil(4) as u64 * 4;
        ctx.check_binding_size(&images_label, image_bytes)
            .map_err(data_too_large)?;
        let labels: Vec<u32> = data.labels.iter().map(|&l| u32::from(l)).collect();
        Ok(Self {
            images: buffers::storage_with(ctx, &images_label, &pack_bytes(&data.images))?,
            labels: buffers::storage_with(ctx, &format!("{label}.labels"), &labels)
                .map_err(data_too_large)?,
            len: data.len(),
        })
    }
}

/// A binding limit exceeded by the data set itself: the batch size has nothing to do with it.
fn data_too_large(error: GpuError) -> GpuError {
    match error {
        GpuError::LimitExceeded {
            what,
            needed,
            limit,
            adapter,
            ..
        } => GpuError::LimitExceeded {
            what,
            needed,
            limit,
            adapter,
            hint: "the data set is too large to keep on this device: use a smaller data set, \
                   or pick a device with larger limits (gpu-cnn devices)",
        },
        other => other,
    }
}
