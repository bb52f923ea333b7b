//! Keras 3's learning-rate schedules (`keras.optimizers.schedules`), with its formulas and
//! defaults. A schedule maps the optimizer's step, counted as Keras's `optimizer.iterations` (0
//! for the first update, over the whole run: a resumed run continues it), to the learning rate
//! of that step:
//!
//! ```text
//! exponential:  lr · rate^(step / decay_steps)            (floor of the ratio with staircase)
//! cosine:       warmup (step < warmup_steps): lr + (target - lr) · step / warmup_steps
//!               then, s = min(step - warmup_steps, decay_steps):
//!               from · ((1 - alpha) · ½(1 + cos(π s / decay_steps)) + alpha)
//!               (from: warmup_target, or lr without one)
//! piecewise:    values[i] for the first boundaries[i] >= step, values[last] past them all
//! ```
//!
//! Each setting is an option of `train`, a key of a model file's `[optimizer]` table too:
//! [`ScheduleSetting`] names them, [`ScheduleSettings`] holds those given and builds the
//! [`Schedule`], refusing a setting the chosen schedule does not take.

mod settings;

use serde::{Deserialize, Serialize};

pub use settings::{Refusal, ScheduleSetting, ScheduleSettings};

/// How the learning rate changes over the steps of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The optimizer's learning rate at every step.
    #[default]
    Constant,
    /// `keras.optimizers.schedules.ExponentialDecay`.
    Exponential(ExponentialDecay),
    /// `keras.optimizers.schedules.CosineDecay`, with its warmup.
    Cosine(CosineDecay),
    /// `keras.optimizers.schedules.PiecewiseConstantDecay`.
    Piecewise(PiecewiseConstantDecay),
}

/// `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExponentialDecay {
    /// Steps over which the rate is multiplied by `decay_rate` once.
    pub decay_steps: u64,
    /// The factor of every `decay_steps` steps.
    pub decay_rate: f64,
    /// Decay in whole periods (the floor of `step / decay_steps`).
    pub staircase: bool,
}

/// `CosineDecay(initial_learning_rate, decay_steps, alpha, warmup_target, warmup_steps)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineDecay {
    /// Steps of the cosine, after the warmup.
    pub decay_steps: u64,
    /// The rate the cosine ends at, as a fraction of the rate it starts from.
    pub alpha: f64,
    /// Steps of the linear warmup from the initial rate to `warmup_target`.
    pub warmup_steps: u64,
    /// The rate the warmup reaches and the cosine starts from (none: no warmup).
    pub warmup_target: Option<f64>,
}

/// `PiecewiseConstantDecay(boundaries, values)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PiecewiseConstantDecay {
    /// Increasing steps where the rate changes.
    pub boundaries: Vec<u64>,
    /// The rates: one up to each boundary (included), and one after the last.
    pub values: Vec<f64>,
}

impl Schedule {
    /// Every schedule's name, as `--lr-schedule` takes it.
    pub const NAMES: [&'static str; 3] = ["exponential", "cosine", "piecewise"];

    /// Its name (`constant` for none).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Exponential(_) => "exponential",
            Self::Cosine(_) => "cosine",
            Self::Piecewise(_) => "piecewise",
        }
    }

    /// The settings that describe it, all given ([`ScheduleSettings::build`] makes it again).
    pub fn settings(&self) -> ScheduleSettings {
        let name = Some(self.name().to_string());
        match self {
            Self::Constant => ScheduleSettings {
                name,
                ..ScheduleSettings::default()
            },
            Self::Exponential(e) => ScheduleSettings {
                name,
                decay_steps: Some(e.decay_steps),
                decay_rate: Some(e.decay_rate),
                staircase: Some(e.staircase),
                ..ScheduleSettings::default()
            },
            Self::Cosine(c) => ScheduleSettings {
                name,
                decay_steps: Some(c.decay_steps),
                alpha: Some(c.alpha),
                warmup_steps: Some(c.warmup_steps),
                warmup_target: c.warmup_target,
                ..ScheduleSettings::default()
            },
            Self::Piecewise(p) => ScheduleSettings {
                name,
                boundaries: Some(p.boundaries.clone()),
                values: Some(p.values.clone()),
                ..ScheduleSettings::default()
            },
        }
    }

    /// Whether the rate changes from step to step.
    pub fn varies(&self) -> bool {
        *self != Self::Constant
    }

    /// The learning rate of step `step` (0 for the first update), starting from `initial`
    /// (the optimizer's learning rate; unused by `piecewise`).
    pub fn learning_rate(&self, initial: f64, step: u64) -> f64 {
        let step_f = step as f64;
        match self {
            Self::Constant => initial,
            Self::Exponential(e) => {
                let ratio = step_f / e.decay_steps as f64;
                let power = if e.staircase { ratio.floor() } else { ratio };
                initial * e.decay_rate.powf(power)
            }
            Self::Cosine(c) => {
                let decay_steps = c.decay_steps as f64;
                let cosine = |step: f64, from: f64| {
                    let fraction = step.min(decay_steps) / decay_steps;
                    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * fraction).cos());
                    from * ((1.0 - c.alpha) * cosine + c.alpha)
                };
                match c.warmup_target {
                    None => cosine(step_f, initial),
                    Some(target) if step < c.warmup_steps => {
                        let fraction = step_f / c.warmup_steps as f64;
                        (target - initial) * fraction + initial
                    }
                    Some(target) => cosine((step - c.warmup_steps) as f64, target),
                }
            }
            Self::Piecewise(p) => {
                let index = p.boundaries.partition_point(|&boundary| boundary < step);
                let last = p.values.len().saturating_sub(1);
                p.values.get(index.min(last)).copied().unwrap_or(initial)
            }
        }
    }

    /// The first setting out of its range: its option, its value and a hint; `None` when all
    /// are valid.
    pub fn invalid_setting(&self) -> Option<(&'static str, String, String)> {
        use ScheduleSetting::*;
        let bad = |setting: ScheduleSetting, value: String, hint: &str| {
            Some((setting.option(), value, hint.to_string()))
        };
        let positive_rate = |x: f64| x.is_finite() && x > 0.0;
        match self {
            Self::Constant => None,
            Self::Exponential(e) if e.decay_steps == 0 => {
                bad(DecaySteps, "0".into(), "give at least 1 step, e.g. 1000")
            }
            Self::Exponential(e) if !positive_rate(e.decay_rate) => bad(
                DecayRate,
                e.decay_rate.to_string(),
                "give a positive factor, e.g. 0.96 (below 1 decays)",
            ),
            Self::Cosine(c) if c.decay_steps == 0 => {
                bad(DecaySteps, "0".into(), "give at least 1 step, e.g. 1000")
            }
            Self::Cosine(c) if !(0.0..=1.0).contains(&c.alpha) => bad(
                Alpha,
                c.alpha.to_string(),
                "give a fraction in [0, 1], e.g. 0.0 (Keras's default)",
            ),
            Self::Cosine(c) => match c.warmup_target {
                Some(target) if !positive_rate(target) => bad(
                    WarmupTarget,
                    target.to_string(),
                    "give a positive learning rate, e.g. 0.01",
                ),
                _ => None,
            },
            Self::Piecewise(p) => {
                let list = |values: &[String]| values.join(",");
                let shown: Vec<String> = p.boundaries.iter().map(u64::to_string).collect();
                if p.boundaries.windows(2).any(|pair| pair[0] >= pair[1]) {
                    return bad(
                        Boundaries,
                        list(&shown),
                        "give increasing steps, e.g. 1000,2000",
                    );
                }
                let values: Vec<String> = p.values.iter().map(f64::to_string).collect();
                if p.values.len() != p.boundaries.len() + 1 {
                    let hint = format!(
                        "give one more value than the {} boundaries: {} values",
                        p.boundaries.len(),
                        p.boundaries.len() + 1
                    );
                    return Some((Values.option(), list(&values), hint));
                }
                p.values
                    .iter()
                    .find(|&&value| !positive_rate(value))
                    .and_then(|value| {
                        bad(
                            Values,
                            value.to_string(),
                            "give positive learning rates, e.g. 0.001,0.0005,0.0001",
                        )
                    })
            }
            _ => None,
        }
    }
}
