//! Non-blocking readback of small results (per-step metrics) through a ring of staging
//! buffers: copy into a free slot after a chunk of steps, `map_async` it, collect whatever has
//! landed at the next chance. The host waits only when every slot is in flight (which also
//! keeps it from running far ahead of the GPU) and at [`Readback::finish_async`].

use std::collections::VecDeque;
use std::sync::mpsc;

use super::{buffers, GpuContext, GpuError};

type MapResult = Result<(), wgpu::BufferAsyncError>;

struct InFlight {
    slot: usize,
    tag: usize,
    bytes: u64,
    submission: wgpu::SubmissionIndex,
    done: mpsc::Receiver<MapResult>,
}

/// A ring of staging buffers for reading small ranges back while the GPU keeps working.
pub struct Readback {
    slots: Vec<wgpu::Buffer>,
    free: Vec<usize>,
    in_flight: VecDeque<InFlight>,
    slot_bytes: u64,
}

/// One range that has come back: the tag given to [`Readback::copy`] and its bytes.
pub struct Landed {
    /// The caller's tag (e.g. the first step of the chunk).
    pub tag: usize,
    /// The bytes copied.
    pub bytes: Vec<u8>,
}

impl Readback {
    /// A ring of `depth` slots of `slot_bytes` each.
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        slot_bytes: u64,
        depth: usize,
    ) -> Result<Self, GpuError> {
        let slot_bytes = slot_bytes.max(4).next_multiple_of(4);
        let slots = (0..depth.max(1))
            .map(|i| buffers::staging(ctx, &format!("{label}.staging{i}"), slot_bytes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            free: (0..slots.len()).rev().collect(),
            slots,
            in_flight: VecDeque::new(),
            slot_bytes,
        })
    }

    /// Records a copy of `bytes` at `offset` of `source` into a free slot and returns the
    /// slot; call [`Readback::submitted`] with it right after submitting `encoder`. With no
    /// slot free ([`Readback::has_free_slot`]) it is an error: collect the oldest copy first
    /// ([`Readback::oldest_async`]).
    pub fn copy(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Result<usize, GpuError> {
        self.copy_parts(encoder, &[(source, offset, bytes)])
    }

    /// [`Readback::copy`] of several `(source, offset, bytes)` ranges, one after another into
    /// one slot, so they come back in one mapping.
    pub fn copy_parts(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        parts: &[(&wgpu::Buffer, u64, u64)],
    ) -> Result<usize, GpuError> {
        let total: u64 = parts.iter().map(|&(_, _, bytes)| bytes).sum();
        if total > self.slot_bytes || parts.iter().any(|&(_, _, bytes)| bytes % 4 != 0) {
            return Err(GpuError::Readback(format!(
                "{total} bytes do not fit a {}-byte staging slot in 4-byte parts",
                self.slot_bytes
            )));
        }
        let slot = self.free.pop().ok_or_else(|| {
            GpuError::Readback("no staging slot free: collect the oldest copy first".into())
        })?;
        let mut at = 0;
        for &(source, offset, bytes) in parts {
            encoder.copy_buffer_to_buffer(source, offset, &self.slots[slot], at, bytes);
            at += bytes;
        }
        Ok(slot)
    }

    /// Starts mapping `slot` once `submission`, the submit that filled it, has been made.
    pub fn submitted(
        &mut self,
        slot: usize,
        tag: usize,
        bytes: u64,
        submission: wgpu::SubmissionIndex,
    ) {
        let (sender, done) = mpsc::channel();
        self.slots[slot].map_async(wgpu::MapMode::Read, ..bytes, move |result| {
            // The receiver lives in `in_flight` until this result is read.
            let _ = sender.send(result);
        });
        self.in_flight.push_back(InFlight {
            slot,
            tag,
            bytes,
            submission,
            done,
        });
    }

    fn take(&mut self, entry: InFlight, result: MapResult) -> Result<Landed, GpuError> {
        result.map_err(|e| GpuError::Readback(e.to_string()))?;
        let buffer = &self.slots[entry.slot];
        let view = buffer
            .get_mapped_range(..entry.bytes)
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let bytes = view.to_vec();
        drop(view);
        buffer.unmap();
        self.free.push(entry.slot);
        Ok(Landed {
            tag: entry.tag,
            bytes,
        })
    }

    /// Whether a copy can start without waiting.
    pub fn has_free_slot(&self) -> bool {
        !self.free.is_empty()
    }

    /// The oldest copy in flight, once it has landed ([`GpuContext::settle`]).
    pub async fn oldest_async(&mut self, ctx: &GpuContext) -> Result<Landed, GpuError> {
        let entry = self
            .in_flight
            .pop_front()
            .ok_or_else(|| GpuError::Readback("nothing in flight".into()))?;
        let result = ctx
            .settle(Some(&entry.submission), || entry.done.try_recv().ok())
            .await?;
        self.take(entry, result)
    }

    /// Collects every copy that has landed, without blocking.
    pub fn poll(&mut self, ctx: &GpuContext) -> Result<Vec<Landed>, GpuError> {
        ctx.device
            .poll(wgpu::PollType::Poll)
            .map_err(|e| GpuError::DeviceLost(e.to_string()))?;
        ctx.check()?;
        let mut landed = Vec::new();
        while let Some(result) = self.in_flight.front().and_then(|e| e.done.try_recv().ok()) {
            if let Some(entry) = self.in_flight.pop_front() {
                landed.push(self.take(entry, result)?);
            }
        }
        Ok(landed)
    }

    /// Blocks until every copy in flight has landed and returns them in submission order
    /// ([`Readback::finish_async`] in a browser).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn finish(&mut self, ctx: &GpuContext) -> Result<Vec<Landed>, GpuError> {
        super::block_on(self.finish_async(ctx))
    }

    /// Every copy in flight, in submission order, once all have landed.
    pub async fn finish_async(&mut self, ctx: &GpuContext) -> Result<Vec<Landed>, GpuError> {
        let mut landed = Vec::new();
        while !self.in_flight.is_empty() {
            landed.push(self.oldest_async(ctx).await?);
        }
        Ok(landed)
    }
}
