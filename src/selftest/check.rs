//! One check: a named case (kernel, shape) that launches kernels on seeded random data and
//! compares their outputs with the CPU references, recording which kernels ran, the errors and
//! the time it took.

use std::time::Instant;

use bytemuck::Pod;
use rand::distr::{Distribution, Uniform};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::compare::{compare, Errors, Tolerance};
use super::launch::{run_once, step_table};
use super::Row;
use crate::gpu::step_table::StepParams;
use crate::gpu::{buffers, Dispatch, GpuContext, GpuError, Kernel};

/// What a check does on the device: launch, read back, compare through [`Check`].
pub type Body = Box<dyn Fn(&mut Check<'_>) -> Result<(), GpuError>>;

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
        body: impl Fn(&mut Check<'_>) -> Result<(), GpuError> + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            tolerance,
            seed,
            body: Box::new(body),
        }
    }

    /// Runs the case on `ctx`: its row. A GPU error fails the row with its message.
    pub fn run(&self, ctx: &GpuContext) -> Row {
        let start = Instant::now();
        let mut check = Check {
            ctx,
            tolerance: self.tolerance,
            rng: StdRng::seed_from_u64(self.seed),
            kernels: Vec::new(),
            errors: Errors::default(),
        };
        let failure = (self.body)(&mut check).err().map(|e| e.to_string());
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
    pub fn launch(&mut self, dispatches: &[Dispatch], step: StepParams) -> Result<(), GpuError> {
        for dispatch in dispatches {
            if !self.kernels.contains(&dispatch.kernel()) {
                self.kernels.push(dispatch.kernel());
            }
        }
        run_once(self.ctx, dispatches, &step_table(self.ctx, step)?)
    }

    /// The first `len` values of `buffer`.
    pub fn read<T: Pod>(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<T>, GpuError> {
        buffers::read(self.ctx, buffer, 0, len)
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
    pub fn compare_buffer(&mut self, buffer: &wgpu::Buffer, cpu: &[f32]) -> Result<(), GpuError> {
        let gpu = self.read::<f32>(buffer, cpu.len())?;
        self.compare(&gpu, cpu);
        Ok(())
    }
}
