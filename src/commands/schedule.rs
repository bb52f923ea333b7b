//! The learning-rate schedule options of `train` and `compare` (Keras 3's
//! `keras.optimizers.schedules`; see [`gpu_cnn::optim::schedule`]), and the refusal of a
//! resumed run's schedule option that differs from its checkpoint's.

use clap::Args;
use gpu_cnn::optim::schedule::{Refusal, Schedule, ScheduleSettings};
use gpu_cnn::Error;

/// The schedule options; each optional, so that a model file's `[optimizer]` table can give
/// the default and a resumed run can tell an option given from one left out.
#[derive(Args, Clone, Debug, Default)]
pub struct ScheduleArgs {
    /// Vary the learning rate over the steps with Keras 3's schedule: exponential
    /// (ExponentialDecay), cosine (CosineDecay, with warmup) or piecewise
    /// (PiecewiseConstantDecay) [default: a constant rate].
    #[arg(long, value_name = "NAME", value_parser = Schedule::NAMES)]
    pub lr_schedule: Option<String>,
    /// exponential: steps per factor of --decay-rate; cosine: steps of the cosine.
    #[arg(long, value_name = "N")]
    pub decay_steps: Option<u64>,
    /// exponential: the factor of every --decay-steps steps.
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub decay_rate: Option<f64>,
    /// exponential: decay in whole periods of --decay-steps.
    #[arg(long)]
    pub staircase: bool,
    /// cosine: the rate it ends at, as a fraction of the rate it starts from [default: 0].
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// cosine: steps of the linear warmup to --warmup-target before the cosine [default: 0].
    #[arg(long, value_name = "N")]
    pub warmup_steps: Option<u64>,
    /// cosine: the rate the warmup reaches and the cosine starts from [default: none].
    #[arg(long, value_name = "RATE", allow_negative_numbers = true)]
    pub warmup_target: Option<f64>,
    /// piecewise: the increasing steps where the rate changes, e.g. 1000,2000.
    #[arg(long, value_name = "STEPS", value_delimiter = ',')]
    pub boundaries: Option<Vec<u64>>,
    /// piecewise: the rates, one more than --boundaries, e.g. 0.001,0.0005,0.0001.
    #[arg(
        long,
        value_name = "RATES",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub values: Option<Vec<f64>>,
}

impl ScheduleArgs {
    /// The settings given.
    pub fn settings(&self) -> ScheduleSettings {
        ScheduleSettings {
            name: self.lr_schedule.clone(),
            decay_steps: self.decay_steps,
            decay_rate: self.decay_rate,
            staircase: self.staircase.then_some(true),
            alpha: self.alpha,
            warmup_steps: self.warmup_steps,
            warmup_target: self.warmup_target,
            boundaries: self.boundaries.clone(),
            values: self.values.clone(),
        }
    }

    /// Refuses a schedule option of a resumed run that differs from `saved`, the checkpoint's
    /// schedule: a resumed run keeps it.
    pub fn check_resumed(&self, saved: &Schedule) -> Result<(), Error> {
        let given = self.settings();
        let theirs = saved.settings();
        let differs = |setting: &'static str, yours: String, saved: String| {
            Err(Error::InvalidSetting {
                setting,
                value: yours,
                hint: format!(
                    "the checkpoint was trained with {saved}, and a resumed run keeps its \
                     schedule: leave {setting} out, or train afresh without --resume"
                ),
            })
        };
        if let Some(name) = &given.name {
            if name != saved.name() {
                let saved = format!("--lr-schedule {}", saved.name());
                return differs("--lr-schedule", name.clone(), saved);
            }
        }
        let saved_values = theirs.given();
        for (setting, value) in given.given() {
            match saved_values.iter().find(|(theirs, _)| *theirs == setting) {
                Some((_, saved_value)) if *saved_value == value => {}
                Some((_, saved_value)) => {
                    let saved = format!("{} {saved_value}", setting.option());
                    return differs(setting.option(), value, saved);
                }
                None => {
                    let saved = format!("--lr-schedule {}, which has none", saved.name());
                    return differs(setting.option(), value, saved);
                }
            }
        }
        Ok(())
    }
}

/// A schedule's refusal as the command's error.
pub fn refused((setting, value, hint): Refusal) -> Error {
    Error::InvalidSetting {
        setting,
        value,
        hint,
    }
}
