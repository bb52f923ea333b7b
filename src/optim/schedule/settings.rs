//! A schedule's settings as the command line and a model file's `[optimizer]` table give them:
//! each optional, refused when the chosen schedule does not take it, Keras's defaults for the
//! rest.

use super::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay, Schedule};

/// A setting of a schedule, as its command-line option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleSetting {
    /// `--decay-steps`.
    DecaySteps,
    /// `--decay-rate`.
    DecayRate,
    /// `--staircase`.
    Staircase,
    /// `--alpha`.
    Alpha,
    /// `--warmup-steps`.
    WarmupSteps,
    /// `--warmup-target`.
    WarmupTarget,
    /// `--boundaries`.
    Boundaries,
    /// `--values`.
    Values,
}

impl ScheduleSetting {
    /// Every setting, in the order options list them.
    pub const ALL: [ScheduleSetting; 8] = [
        Self::DecaySteps,
        Self::DecayRate,
        Self::Staircase,
        Self::Alpha,
        Self::WarmupSteps,
        Self::WarmupTarget,
        Self::Boundaries,
        Self::Values,
    ];

    /// The command-line option.
    pub fn option(self) -> &'static str {
        match self {
            Self::DecaySteps => "--decay-steps",
            Self::DecayRate => "--decay-rate",
            Self::Staircase => "--staircase",
            Self::Alpha => "--alpha",
            Self::WarmupSteps => "--warmup-steps",
            Self::WarmupTarget => "--warmup-target",
            Self::Boundaries => "--boundaries",
            Self::Values => "--values",
        }
    }

    /// Its key in a model file's `[optimizer]` table: `decay_steps`.
    pub fn key(self) -> String {
        self.option().trim_start_matches("--").replace('-', "_")
    }

    /// The schedules that take it.
    pub fn taken_by(self) -> &'static [&'static str] {
        match self {
            Self::DecaySteps => &["exponential", "cosine"],
            Self::DecayRate | Self::Staircase => &["exponential"],
            Self::Alpha | Self::WarmupSteps | Self::WarmupTarget => &["cosine"],
            Self::Boundaries | Self::Values => &["piecewise"],
        }
    }
}

/// A schedule's settings as given (on the command line or in a model file), each optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScheduleSettings {
    /// `--lr-schedule`.
    pub name: Option<String>,
    /// `--decay-steps`.
    pub decay_steps: Option<u64>,
    /// `--decay-rate`.
    pub decay_rate: Option<f64>,
    /// `--staircase`.
    pub staircase: Option<bool>,
    /// `--alpha`.
    pub alpha: Option<f64>,
    /// `--warmup-steps`.
    pub warmup_steps: Option<u64>,
    /// `--warmup-target`.
    pub warmup_target: Option<f64>,
    /// `--boundaries`.
    pub boundaries: Option<Vec<u64>>,
    /// `--values`.
    pub values: Option<Vec<f64>>,
}

/// Why schedule settings do not make a schedule: the option, the value given and a hint.
pub type Refusal = (&'static str, String, String);

impl ScheduleSettings {
    /// These settings, each not given taken from `defaults` (a model file's).
    pub fn over(self, defaults: &Self) -> Self {
        let d = defaults.clone();
        Self {
            name: self.name.or(d.name),
            decay_steps: self.decay_steps.or(d.decay_steps),
            decay_rate: self.decay_rate.or(d.decay_rate),
            staircase: self.staircase.or(d.staircase),
            alpha: self.alpha.or(d.alpha),
            warmup_steps: self.warmup_steps.or(d.warmup_steps),
            warmup_target: self.warmup_target.or(d.warmup_target),
            boundaries: self.boundaries.or(d.boundaries),
            values: self.values.or(d.values),
        }
    }

    /// The settings given, each with its value as the user writes it.
    pub fn given(&self) -> Vec<(ScheduleSetting, String)> {
        use ScheduleSetting::*;
        let list = |values: &[String]| values.join(",");
        [
            (DecaySteps, self.decay_steps.map(|n| n.to_string())),
            (DecayRate, self.decay_rate.map(|x| x.to_string())),
            (Staircase, self.staircase.map(|on| on.to_string())),
            (Alpha, self.alpha.map(|x| x.to_string())),
            (WarmupSteps, self.warmup_steps.map(|n| n.to_string())),
            (WarmupTarget, self.warmup_target.map(|x| x.to_string())),
            (
                Boundaries,
                self.boundaries
                    .as_ref()
                    .map(|b| list(&b.iter().map(u64::to_string).collect::<Vec<_>>())),
            ),
            (
                Values,
                self.values
                    .as_ref()
                    .map(|v| list(&v.iter().map(f64::to_string).collect::<Vec<_>>())),
            ),
        ]
        .into_iter()
        .filter_map(|(setting, value)| value.map(|value| (setting, value)))
        .collect()
    }

    /// The schedule these settings describe, Keras's defaults for those left out.
    /// `learning_rate_given` says whether the optimizer's learning rate was given, which
    /// `piecewise` (whose values are the rates) refuses. A setting of another schedule, a
    /// required one missing or a value out of range is refused.
    pub fn build(&self, learning_rate_given: bool) -> Result<Schedule, Refusal> {
        let name = self.name.as_deref().unwrap_or("constant");
        if let Some((setting, value)) = self
            .given()
            .into_iter()
            .find(|(setting, _)| !setting.taken_by().contains(&name))
        {
            let hint = format!(
                "{} applies to --lr-schedule {} only, and the schedule is {name}: choose one \
                 of those with --lr-schedule, or leave {} out",
                setting.option(),
                setting.taken_by().join(", "),
                setting.option()
            );
            return Err((setting.option(), value, hint));
        }
        // A setting the schedule needs and was not given.
        let missing = |option: &'static str, example: &str| {
            let hint = format!("--lr-schedule {name} needs it: give e.g. {option} {example}");
            (option, "none".to_string(), hint)
        };
        let decay_steps = || {
            self.decay_steps
                .ok_or_else(|| missing("--decay-steps", "1000"))
        };
        let schedule = match name {
            "constant" => Schedule::Constant,
            "exponential" => Schedule::Exponential(ExponentialDecay {
                decay_steps: decay_steps()?,
                decay_rate: (self.decay_rate).ok_or_else(|| missing("--decay-rate", "0.96"))?,
                staircase: self.staircase.unwrap_or(false),
            }),
            "cosine" => Schedule::Cosine(CosineDecay {
                decay_steps: decay_steps()?,
                alpha: self.alpha.unwrap_or(0.0),
                warmup_steps: self.warmup_steps.unwrap_or(0),
                warmup_target: self.warmup_target,
            }),
            "piecewise" => {
                if learning_rate_given {
                    let hint = "--lr-schedule piecewise takes its rates from --values: leave \
                                --learning-rate out";
                    return Err(("--learning-rate", "given".into(), hint.into()));
                }
                Schedule::Piecewise(PiecewiseConstantDecay {
                    boundaries: self
                        .boundaries
                        .clone()
                        .ok_or_else(|| missing("--boundaries", "1000,2000"))?,
                    values: self
                        .values
                        .clone()
                        .ok_or_else(|| missing("--values", "0.001,0.0005,0.0001"))?,
                })
            }
            other => {
                let hint = format!("give one of {}", Schedule::NAMES.join(", "));
                return Err(("--lr-schedule", other.to_string(), hint));
            }
        };
        match schedule.invalid_setting() {
            Some(refusal) => Err(refusal),
            None => Ok(schedule),
        }
    }
}
