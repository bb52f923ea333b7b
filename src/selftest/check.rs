//! One check: a named case (kernel, shape) that launches kernels on seeded random data and
//! compares their outputs with the CPU references, recording which kernels ran, the errors and
//! the time it took.

use std::future::Future;
use std::pin::Pin;

use web_time::Instant;

use bytemuck::Pod;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::compare::{compare, Errors, Tolerance};
use super::launch::{run_once_async, step_table};
use super::Row;
use crate::gpu::step_table::StepParams;
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};

/// A check's body at work: a future borrowing the [`Check`] it runs in.
pub type BodyFuture<'c> = Pin<Box<dyn Future<Output = Result<(), GpuError>> + 'c>>;

/// What a check does on the device: launch, read back, compare through [`Check`]. A case
/// writes it `move |check| Box::pin(async move { .. })`.
pub type Body = Box<dyn for<'c, 'a> Fn(&'c mut Check<'a>) -> BodyFuture<'c>>;

/// One check to run: its case and its body.
pub struct Case {
    /// The case: the variant and its shape (`7x13x37 Aᵀ·B bias`).
    pub what: String,
    /// The tolerance every output of the case is held to.
    pub tolerance: Tolerance,
    /// The seed of its random data.
    pub seed: u64,
    /// Launches and compares.
    pub body: Body,
}

impl Case {
    /// A case named `what`, held to `tolerance`, whose data comes from `seed`.
    pub fn new(
        what: impl Into<String>,
        tolerance: Tolerance,
        seed: u64,
        body: impl for<'c, 'a> Fn(&'c mut Check<'a>) -> BodyFuture<'c> + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            tolerance,
            seed,
            body: Box::new(body),
        }
    }

    /// Runs the case on `ctx`: its row. A GPU error fails the row with its message.
    pub async fn run_async(&self, ctx: &GpuContext) -> Row {
        let start = Instant::now();
        let mut check = Check {
            ctx,
            tolerance: self.tolerance,
            rng: StdRng::seed_from_u64(self.seed),
            kernels: Vec::new(),
            errors: Errors::default(),
        };
        let failure = (self.body)(&mut check).await.err().map(|e| e.to_string());
        Row {
            kernels: check.kernels,
            case: self.what.clone(),
            errors: check.errors,
            tolerance: self.tolerance,
            failure,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

/// A check in progress: the device, the case's random stream, the kernels launched and the
/// errors found so far.
pub struct Check<'a> {
    /// The device the kernels run on.
    pub ctx: &'a GpuContext,
    tolerance: Tolerance,
    rng: StdRng,
    kernels: Vec<Kernel>,
    errors: Errors,
}

impl Check<'_> {
    /// `len` values uniform in `[low, high)` from the case's seeded stream.
    pub fn uniform(&mut self, len: usize, low: f32, high: f32) -> Vec<f32> {
        match Uniform::new(low, high) {
            Ok(dist) => (0..len).map(|_| dist.sample(&mut self.rng)).collect(),
            Err(_) => vec![low; len],
        }
    }

    /// The case's random stream, for data other than uniform floats.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A storage buffer holding `data`.
    pub fn upload<T: Pod>(&self, label: &str, data: &[T]) -> Result<wgpu::Buffer, GpuError> {
        buffers::storage_with(self.ctx, label, data)
    }

    /// A NaN-poisoned output buffer of `len` f32.
    pub fn poisoned(&self, label: &str, len: usize) -> Result<wgpu::Buffer, GpuError> {
        super::launch::poisoned(self.ctx, label, len)
    }

    /// Runs `dispatches` once with step-table entry `step`, noting their kernels as this
    /// check's.
    pub async fn launch(
        &mut self,
        dispatches: &[Dispatch],
        step: StepParams,
    ) -> Result<(), GpuError> {
        for dispatch in dispatches {
            if !self.kernels.contains(&dispatch.kernel()) {
                self.kernels.push(dispatch.kernel());
            }
        }
        let table = step_table(self.ctx, step)?;
        run_once_async(self.ctx, dispatches, &table).await
    }

    /// The first `len` values of `buffer`.
    pub async fn read<T: Pod>(
        &self,
        buffer: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<T>, GpuError> {
        buffers::read_async(self.ctx, buffer, 0, len).await
    }

    /// Compares a GPU output with its reference, at the case's tolerance.
    pub fn compare(&mut self, gpu: &[f32], cpu: &[f32]) {
        self.errors.merge(compare(gpu, cpu, self.tolerance));
    }

    /// Fails the check: the reference gives no value for an output the kernel writes.
    pub fn missing(&mut self) {
        self.errors.merge(Errors {
            length_mismatch: true,
            ..Errors::default()
        });
    }

    /// Reads `len` values of `buffer` and compares them with `cpu`.
    pub async fn compare_buffer(
        &mut self,
        buffer: &wgpu::Buffer,
        cpu: &[f32],
    ) -> Result<(), GpuError> {
        let gpu = self.read::<f32>(buffer, cpu.len()).await?;
        self.compare(&gpu, cpu);
        Ok(())
    }
}
