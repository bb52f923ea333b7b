//! Optimizers with Keras 3's names, defaults and formulas: each a folder with the kernel
//! launcher and its CPU reference, all updating the whole parameter slab in one dispatch and
//! keeping their state in the slab's `m` and `v` buffers (state an optimizer does not use stays
//! zero). Shared here: the configuration the run carries, the per-step rate and the launch.

pub mod adam;
pub mod plateau;
pub mod rmsprop;
pub mod schedule;
pub mod sgd;

use bytemuck::Pod;
use serde::{Deserialize, Serialize};

use crate::gpu::dispatch::grid_for;
use crate::gpu::kernels::Overrides;
use crate::gpu::slab::ParamSlab;
use crate::gpu::{Dispatch, GpuContext, GpuError, Kernel};

pub use adam::{AdamConfig, AdamWConfig};
pub use rmsprop::RmspropConfig;
pub use schedule::{Schedule, ScheduleSettings};
pub use sgd::SgdConfig;

/// No parameter of a step became NaN or infinite: the initial value of each row of
/// `first_non_finite`.
pub const ALL_FINITE: u32 = u32::MAX;

/// A setting, the test its value must pass, and a hint when it fails.
type Check = (Setting, fn(f64) -> bool, &'static str);

/// An optimizer and its schedule as given (a model file's `[optimizer]` table, the command
/// line), each setting optional: what is left out takes a default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerSettings {
    /// The optimizer's name.
    pub name: Option<String>,
    /// The optimizer settings given, each with its value (`nesterov` as 1 or 0).
    pub settings: Vec<(Setting, f64)>,
    /// The schedule's settings given.
    pub schedule: ScheduleSettings,
}

/// Which optimizer a run trains with, and its settings (Keras's `optimizer=`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// `keras.optimizers.Adam`.
    Adam(AdamConfig),
    /// `keras.optimizers.SGD`.
    Sgd(SgdConfig),
    /// `keras.optimizers.RMSprop` (centered=False).
    Rmsprop(RmspropConfig),
    /// `keras.optimizers.AdamW`.
    Adamw(AdamWConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self::Adam(AdamConfig::default())
    }
}

/// A setting of an optimizer, as its command-line option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `--learning-rate`.
    LearningRate,
    /// `--momentum`.
    Momentum,
    /// `--nesterov` (1 for on, 0 for off).
    Nesterov,
    /// `--rho`.
    Rho,
    /// `--weight-decay`.
    WeightDecay,
    /// `--beta-1`.
    Beta1,
    /// `--beta-2`.
    Beta2,
    /// `--epsilon`.
    Epsilon,
}

impl Setting {
    /// Every setting, in the order options list them.
    pub const ALL: [Setting; 8] = [
        Self::LearningRate,
        Self::Momentum,
        Self::Nesterov,
        Self::Rho,
        Self::WeightDecay,
        Self::Beta1,
        Self::Beta2,
        Self::Epsilon,
    ];

    /// The command-line option.
    pub fn option(self) -> &'static str {
        match self {
            Self::LearningRate => "--learning-rate",
            Self::Momentum => "--momentum",
            Self::Nesterov => "--nesterov",
            Self::Rho => "--rho",
            Self::WeightDecay => "--weight-decay",
            Self::Beta1 => "--beta-1",
            Self::Beta2 => "--beta-2",
            Self::Epsilon => "--epsilon",
        }
    }

    /// Its key in a model file's `[optimizer]` table: `beta_1`.
    pub fn key(self) -> String {
        self.option().trim_start_matches("--").replace('-', "_")
    }

    /// The optimizers that take it, for messages: `sgd, rmsprop`.
    pub fn taken_by(self) -> String {
        OptimizerConfig::NAMES
            .iter()
            .filter(|name| {
                OptimizerConfig::keras_default(name)
                    .is_some_and(|config| config.get(self).is_some())
            })
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl OptimizerConfig {
    /// Every optimizer's name, as `--optimizer` takes it.
    pub const NAMES: [&'static str; 4] = ["adam", "sgd", "rmsprop", "adamw"];

    /// The optimizer called `name` with Keras 3's defaults.
    pub fn keras_default(name: &str) -> Option<Self> {
        match name {
            "adam" => Some(Self::Adam(AdamConfig::default())),
            "sgd" => Some(Self::Sgd(SgdConfig::default())),
            "rmsprop" => Some(Self::Rmsprop(RmspropConfig::default())),
            "adamw" => Some(Self::Adamw(AdamWConfig::default())),
            _ => None,
        }
    }

    /// Its name, as `--optimizer` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Adam(_) => "adam",
            Self::Sgd(_) => "sgd",
            Self::Rmsprop(_) => "rmsprop",
            Self::Adamw(_) => "adamw",
        }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.get(Setting::LearningRate).unwrap_or_default()
    }

    fn slot(&mut self, setting: Setting) -> Option<&mut f64> {
        use Setting::*;
        match (self, setting) {
            (Self::Adam(c), LearningRate) => Some(&mut c.learning_rate),
            (Self::Adam(c), Beta1) => Some(&mut c.beta1),
            (Self::Adam(c), Beta2) => Some(&mut c.beta2),
            (Self::Adam(c), Epsilon) => Some(&mut c.epsilon),
            (Self::Adamw(c), LearningRate) => Some(&mut c.adam.learning_rate),
            (Self::Adamw(c), Beta1) => Some(&mut c.adam.beta1),
            (Self::Adamw(c), Beta2) => Some(&mut c.adam.beta2),
            (Self::Adamw(c), Epsilon) => Some(&mut c.adam.epsilon),
            (Self::Adamw(c), WeightDecay) => Some(&mut c.weight_decay),
            (Self::Sgd(c), LearningRate) => Some(&mut c.learning_rate),
            (Self::Sgd(c), Momentum) => Some(&mut c.momentum),
            (Self::Rmsprop(c), LearningRate) => Some(&mut c.learning_rate),
            (Self::Rmsprop(c), Momentum) => Some(&mut c.momentum),
            (Self::Rmsprop(c), Rho) => Some(&mut c.rho),
            (Self::Rmsprop(c), Epsilon) => Some(&mut c.epsilon),
            _ => None,
        }
    }

    /// The value of `setting`, or `None` when this optimizer does not take it.
    pub fn get(&self, setting: Setting) -> Option<f64> {
        match (self, setting) {
            (Self::Sgd(c), Setting::Nesterov) => Some(f64::from(u8::from(c.nesterov))),
            _ => {
                let mut copy = *self;
                copy.slot(setting).map(|value| *value)
            }
        }
    }

    /// Sets `setting` to `value`; `false` when this optimizer does not take it.
    pub fn set(&mut self, setting: Setting, value: f64) -> bool {
        if let (Self::Sgd(c), Setting::Nesterov) = (&mut *self, setting) {
            c.nesterov = value != 0.0;
            return true;
        }
        self.slot(setting).map(|slot| *slot = value).is_some()
    }

    /// The first setting out of its range, with a hint, or `None` when all are valid.
    pub fn invalid_setting(&self) -> Option<(Setting, f64, &'static str)> {
        use Setting::*;
        let checks: [Check; 7] = [
            (
                LearningRate,
                |x| x.is_finite() && x > 0.0,
                "give a positive number, e.g. 0.001 (Keras's default for adam)",
            ),
            (
                Momentum,
                |x| (0.0..=1.0).contains(&x),
                "give a momentum in [0, 1], e.g. 0.9",
            ),
            (
                Rho,
                |x| (0.0..1.0).contains(&x),
                "give a decay in [0, 1), e.g. 0.9",
            ),
            (
                WeightDecay,
                |x| x.is_finite() && x >= 0.0,
                "give a non-negative number, e.g. 0.004 (Keras's default)",
            ),
            (
                Beta1,
                |x| (0.0..1.0).contains(&x),
                "give a decay in [0, 1), e.g. 0.9",
            ),
            (
                Beta2,
                |x| (0.0..1.0).contains(&x),
                "give a decay in [0, 1), e.g. 0.999",
            ),
            (
                Epsilon,
                |x| x.is_finite() && x > 0.0,
                "give a small positive number, e.g. 1e-7 (Keras's default)",
            ),
        ];
        checks.into_iter().find_map(|(setting, valid, hint)| {
            self.get(setting)
                .filter(|&value| !valid(value))
                .map(|value| (setting, value, hint))
        })
    }

    /// The rate of step `t` (counted from 1) at the (scheduled) `learning_rate` of that step,
    /// that the kernels read as `StepParams.step_rate`: Adam's bias-corrected step size, the
    /// plain learning rate for SGD and RMSprop.
    pub fn step_rate(&self, t: u64, learning_rate: f64) -> f32 {
        match self {
            Self::Adam(c) => c.alpha(t, learning_rate),
            Self::Adamw(c) => c.adam.alpha(t, learning_rate),
            Self::Sgd(_) | Self::Rmsprop(_) => learning_rate as f32,
        }
    }

    /// Builds the one launch that updates every parameter of `slab`; a step that leaves a
    /// parameter NaN or infinite writes the smallest such index into its row (`step.slot`) of
    /// `first_non_finite` (`[steps] u32`, each [`ALL_FINITE`] beforehand).
    pub fn encode_step(
        &self,
        ctx: &GpuContext,
        slab: &ParamSlab,
        first_non_finite: &wgpu::Buffer,
    ) -> Result<Dispatch, GpuError> {
        let len = slab.layout.total;
        match self {
            Self::Adam(c) => launch(
                ctx,
                Kernel::AdamStep,
                &(),
                &c.params(len, 0.0),
                slab,
                first_non_finite,
            ),
            Self::Adamw(c) => launch(
                ctx,
                Kernel::AdamStep,
                &(),
                &c.adam.params(len, c.weight_decay),
                slab,
                first_non_finite,
            ),
            Self::Sgd(c) => launch(
                ctx,
                Kernel::SgdStep,
                c,
                &c.params(len),
                slab,
                first_non_finite,
            ),
            Self::Rmsprop(c) => launch(
                ctx,
                Kernel::RmspropStep,
                &(),
                &c.params(len),
                slab,
                first_non_finite,
            ),
        }
    }

    /// The CPU reference of one step `t` (counted from 1) at the (scheduled) `learning_rate`
    /// of that step, on host copies of the slab's buffers.
    pub fn cpu_step(
        &self,
        t: u64,
        learning_rate: f64,
        grads: &[f32],
        values: &mut [f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        let len = values.len();
        let rate = self.step_rate(t, learning_rate);
        let lr = learning_rate as f32;
        match self {
            Self::Adam(c) => adam::cpu::step(&c.params(len, 0.0), rate, lr, grads, values, m, v),
            Self::Adamw(c) => adam::cpu::step(
                &c.adam.params(len, c.weight_decay),
                rate,
                lr,
                grads,
                values,
                m,
                v,
            ),
            Self::Sgd(c) => sgd::cpu::step(&c.params(len), c.nesterov, rate, grads, values, m),
            Self::Rmsprop(c) => rmsprop::cpu::step(&c.params(len), rate, grads, values, m, v),
        }
    }
}

/// One optimizer kernel over the whole slab: the bindings of `shaders/optim/update.wgsl`, four
/// parameters a thread.
fn launch<P: Pod>(
    ctx: &GpuContext,
    kernel: Kernel,
    overrides: &dyn Overrides,
    params: &P,
    slab: &ParamSlab,
    first_non_finite: &wgpu::Buffer,
) -> Result<Dispatch, GpuError> {
    let label = kernel.label();
    Dispatch::new(
        ctx,
        kernel,
        label,
        overrides,
        params,
        &[
            slab.grads.as_entire_buffer_binding(),
            slab.params.as_entire_buffer_binding(),
            slab.m.as_entire_buffer_binding(),
            slab.v.as_entire_buffer_binding(),
            first_non_finite.as_entire_buffer_binding(),
        ],
        grid_for(ctx, label, slab.layout.total.div_ceil(4) as u64, 256)?,
    )
}
