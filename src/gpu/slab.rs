//! The parameter slab: every trainable tensor of a network carved out of one buffer, with
//! gradients, Adam's `m` and `v` in three more buffers of the same layout, so one Adam
//! dispatch updates the whole network.

use super::{buffers, GpuContext, GpuError};

/// Where one tensor lives in the slab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSlot {
    /// Name, e.g. `dense_1.kernel`.
    pub name: String,
    /// Shape in Keras layout (dense kernel `[in, out]`, bias `[out]`).
    pub shape: Vec<usize>,
    /// First element.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
}

/// The tensors of a network laid out one after another, each starting at an aligned offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlabLayout {
    /// Tensors in the order they were given.
    pub tensors: Vec<TensorSlot>,
    /// Elements in the slab, padding included.
    pub total: usize,
}

impl SlabLayout {
    /// Lays out `tensors` with each offset a multiple of `align` elements.
    pub fn new(tensors: impl IntoIterator<Item = (String, Vec<usize>)>, align: usize) -> Self {
        let mut total: usize = 0;
        let tensors = tensors
            .into_iter()
            .map(|(name, shape)| {
                let offset = total.next_multiple_of(align.max(1));
                let len = shape.iter().product();
                total = offset + len;
                TensorSlot {
                    name,
                    shape,
                    offset,
                    len,
                }
            })
            .collect();
        Self { tensors, total }
    }

    /// Elements of a buffer of this layout: [`SlabLayout::total`] rounded up to whole vec4s
    /// (the optimizer kernels read them so; the padding stays zero).
    pub fn padded_len(&self) -> usize {
        self.total.next_multiple_of(4)
    }

    /// Values in the tensors, padding excluded.
    pub fn param_count(&self) -> usize {
        self.tensors.iter().map(|t| t.len).sum()
    }

    /// The index of the tensor called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|t| t.name == name)
    }

    /// Binding of tensor `index` inside `buffer`, a buffer laid out as this.
    pub fn binding<'a>(&self, buffer: &'a wgpu::Buffer, index: usize) -> wgpu::BufferBinding<'a> {
        let slot = &self.tensors[index];
        wgpu::BufferBinding {
            buffer,
            offset: (slot.offset * 4) as u64,
            size: wgpu::BufferSize::new((slot.len.max(1) * 4) as u64),
        }
    }
}

/// Where a network keeps its tensors: the parameter slab (and Adam's moments, laid out the
/// same) and the non-trainable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layouts {
    /// Trainable tensors.
    pub params: SlabLayout,
    /// Non-trainable state (moving statistics).
    pub state: SlabLayout,
}

/// The four buffers of the slab on the GPU.
pub struct ParamSlab {
    /// The layout shared by the four buffers.
    pub layout: SlabLayout,
    /// Parameter values.
    pub params: wgpu::Buffer,
    /// Gradients of the last backward pass.
    pub grads: wgpu::Buffer,
    /// The optimizer's state `m` (Adam's first moment, SGD's velocity, RMSprop's momentum).
    pub m: wgpu::Buffer,
    /// The optimizer's state `v` (Adam's second moment, RMSprop's average of squares).
    pub v: wgpu::Buffer,
}

/// The slab alignment in f32 elements that lets each tensor be bound on its own.
pub fn alignment(ctx: &GpuContext) -> usize {
    (ctx.limits.min_storage_buffer_offset_alignment as usize / 4).max(1)
}

impl ParamSlab {
    /// Uploads `values` (laid out as `layout`); gradients and moments start at zero.
    /// Each buffer holds [`SlabLayout::padded_len`] values; the padding stays zero.
    pub fn new(ctx: &GpuContext, layout: SlabLayout, values: &[f32]) -> Result<Self, GpuError> {
        let bytes = (layout.padded_len().max(values.len()) * 4) as u64;
        let slab = Self {
            params: buffers::storage(ctx, "slab.params", bytes)?,
            grads: buffers::storage(ctx, "slab.grads", bytes)?,
            m: buffers::storage(ctx, "slab.adam_m", bytes)?,
            v: buffers::storage(ctx, "slab.adam_v", bytes)?,
            layout,
        };
        // Written in place rather than through a padded copy: no second host copy of the
        // parameters.
        slab.write(ctx, &slab.params, values);
        Ok(slab)
    }

    /// Binding of tensor `index` inside `buffer` (one of this slab's four).
    pub fn binding<'a>(&self, buffer: &'a wgpu::Buffer, index: usize) -> wgpu::BufferBinding<'a> {
        self.layout.binding(buffer, index)
    }

    /// Reads one of the four buffers back in full (blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(&self, ctx: &GpuContext, buffer: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        buffers::read(ctx, buffer, 0, self.layout.total)
    }

    /// `read` without blocking.
    pub async fn read_async(
        &self,
        ctx: &GpuContext,
        buffer: &wgpu::Buffer,
    ) -> Result<Vec<f32>, GpuError> {
        buffers::read_async(ctx, buffer, 0, self.layout.total).await
    }

    /// Overwrites one of the four buffers in full.
    pub fn write(&self, ctx: &GpuContext, buffer: &wgpu::Buffer, values: &[f32]) {
        ctx.queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(values));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_aligns_every_tensor_and_counts_params_without_padding() {
        let layout = SlabLayout::new(
            [
                ("a".to_string(), vec![3, 5]),
                ("b".to_string(), vec![5]),
                ("c".to_string(), vec![64]),
            ],
            64,
        );
        let offsets: Vec<usize> = layout.tensors.iter().map(|t| t.offset).collect();
        assert_eq!(offsets, vec![0, 64, 128]);
        assert_eq!(layout.total, 192);
        assert_eq!(layout.param_count(), 15 + 5 + 64);
    }
}
