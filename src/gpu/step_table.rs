//! The per-step table: what changes from one training step to the next (which samples, how
//! many, where the metrics go, the step's learning rate and the optimizer's step rate), one
//! 256-byte-aligned entry per step, bound with a dynamic offset so a whole chunk of steps
//! records into one compute pass with no host round trip: a schedule changes the rate with no
//! plan rebuilt.

use bytemuck::{Pod, Zeroable};

use super::{buffers, GpuContext, GpuError};

/// One step's entry, mirrored by `struct StepParams` in every kernel that binds group 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct StepParams {
    /// First position in the index buffer this step reads samples from.
    pub sample_start: u32,
    /// Real samples in this step (the last batch of an epoch may be short).
    pub batch_rows: u32,
    /// Row of the metrics buffer this step writes its loss sum and correct count to.
    pub slot: u32,
    /// The optimizer's rate for this step ([`crate::optim::OptimizerConfig::step_rate`]):
    /// Adam's bias-corrected `lr_t * sqrt(1 - beta2^t) / (1 - beta1^t)`, the learning rate for
    /// SGD and RMSprop.
    pub step_rate: f32,
    /// Steps taken before this one over the whole run (Adam's `t` minus one): with the seed, the
    /// counter of every random stream (Dropout), so a resumed run draws what an unbroken one would.
    pub step: u32,
    /// This step's plain learning rate `lr_t` (the schedule's and reduce-on-plateau's), which
    /// AdamW's decoupled weight decay is scaled by.
    pub learning_rate: f32,
    /// Padding to 16-byte multiples.
    pub _pad1: u32,
    /// Padding to 16-byte multiples.
    pub _pad2: u32,
}

/// A uniform buffer of `capacity` step entries and the bind group that reads one of them.
pub struct StepTable {
    buffer: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    stride: u32,
    capacity: usize,
}

impl StepTable {
    /// A table of `capacity` entries (all zero until written).
    pub fn new(ctx: &GpuContext, label: &str, capacity: usize) -> Result<Self, GpuError> {
        let stride = ctx
            .limits
            .min_uniform_buffer_offset_alignment
            .max(std::mem::size_of::<StepParams>() as u32);
        let bytes = u64::from(stride) * capacity.max(1) as u64;
        if bytes > ctx.limits.max_buffer_size {
            return Err(GpuError::LimitExceeded {
                what: format!("{label} ({capacity} steps)"),
                needed: bytes,
                limit: ctx.limits.max_buffer_size,
                adapter: ctx.info.name.clone(),
                hint: "use a larger --batch-size",
            });
        }
        let descriptor = wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        };
        let buffer = buffers::create(ctx, &descriptor)?;
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: ctx.kernels.step_layout(),
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<StepParams>() as u64),
                }),
            }],
        });
        Ok(Self {
            buffer,
            bind_group,
            stride,
            capacity,
        })
    }

    /// Queues `entries` to be written from entry 0 on (they land before the next submit).
    pub fn write(&self, ctx: &GpuContext, entries: &[StepParams]) {
        debug_assert!(entries.len() <= self.capacity);
        let stride = self.stride as usize;
        let mut bytes = vec![0u8; entries.len() * stride];
        for (chunk, entry) in bytes.chunks_exact_mut(stride).zip(entries) {
            chunk[..std::mem::size_of::<StepParams>()].copy_from_slice(bytemuck::bytes_of(entry));
        }
        ctx.queue.write_buffer(&self.buffer, 0, &bytes);
    }

    /// The dynamic offset of entry `step`.
    pub fn offset(&self, step: usize) -> u32 {
        self.stride * step as u32
    }

    /// The bind group (group 1) that reads one entry.
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    /// How many entries the table holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
