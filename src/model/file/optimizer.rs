//! A model file's `[optimizer]` table: the run's default optimizer and schedule, with the
//! command-line options' names (underscores for dashes; `schedule` for `--lr-schedule`).
//!
//! ```toml
//! [optimizer]
//! name = "sgd"
//! learning_rate = 0.01
//! momentum = 0.9
//! schedule = "cosine"
//! decay_steps = 1000
//! ```
//!
//! An unknown key, a value of the wrong type, an unknown optimizer or schedule, and a setting
//! the optimizer or schedule does not take are refused at their line and column; the values'
//! ranges are checked with the run's settings.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::{error_at, Hint, Located};
use crate::optim::schedule::{Schedule, ScheduleSetting, ScheduleSettings};
use crate::optim::{OptimizerConfig, OptimizerSettings, Setting};

/// The table as written; every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    name: Option<String>,
    learning_rate: Option<f64>,
    momentum: Option<f64>,
    nesterov: Option<bool>,
    rho: Option<f64>,
    weight_decay: Option<f64>,
    beta_1: Option<f64>,
    beta_2: Option<f64>,
    epsilon: Option<f64>,
    schedule: Option<String>,
    decay_steps: Option<u64>,
    decay_rate: Option<f64>,
    staircase: Option<bool>,
    alpha: Option<f64>,
    warmup_steps: Option<u64>,
    warmup_target: Option<f64>,
    boundaries: Option<Vec<u64>>,
    values: Option<Vec<f64>>,
}

/// Reads the `[optimizer]` table.
pub(super) fn parse(table: Spanned<DeValue<'_>>) -> Result<OptimizerSettings, Located> {
    let DeValue::Table(entries) = table.get_ref() else {
        let message = "`optimizer` must be a table: an [optimizer] section with name = \"adam\" \
                       and its settings";
        return Err((error_at(table.span(), message.into()), Hint::None));
    };
    // Where each key and its value stand, for the errors found after deserializing.
    let spans: Vec<(String, Range<usize>, Range<usize>)> = entries
        .iter()
        .map(|(key, value)| (key.get_ref().to_string(), key.span(), value.span()))
        .collect();
    let at = |key: &str, of_value: bool, message: String| {
        let span = spans
            .iter()
            .find(|(name, _, _)| name == key)
            .map_or(0..0, |(_, key, value)| {
                if of_value { value } else { key }.clone()
            });
        (error_at(span, message), Hint::None)
    };
    let parsed =
        Table::deserialize(ValueDeserializer::from(table)).map_err(|error| (error, Hint::None))?;
    let name = parsed.name.clone();
    let optimizer =
        OptimizerConfig::keras_default(name.as_deref().unwrap_or("adam")).ok_or_else(|| {
            let message = format!(
                "unknown optimizer `{}`, expected one of {}",
                name.as_deref().unwrap_or_default(),
                OptimizerConfig::NAMES.join(", ")
            );
            at("name", true, message)
        })?;
    if let Some(schedule) = &parsed.schedule {
        if !Schedule::NAMES.contains(&schedule.as_str()) {
            let message = format!(
                "unknown schedule `{schedule}`, expected one of {}",
                Schedule::NAMES.join(", ")
            );
            return Err(at("schedule", true, message));
        }
    }
    let settings = optimizer_settings(&parsed);
    if let Some((setting, _)) = settings
        .iter()
        .find(|(setting, _)| optimizer.get(*setting).is_none())
    {
        let message = format!(
            "`{}` is not a setting of {}: it applies to {} only",
            setting.key(),
            optimizer.name(),
            setting.taken_by()
        );
        return Err(at(&setting.key(), false, message));
    }
    let schedule = schedule_settings(parsed);
    let chosen = schedule.name.as_deref().unwrap_or("constant");
    if let Some((setting, _)) = schedule
        .given()
        .into_iter()
        .find(|(setting, _)| !setting.taken_by().contains(&chosen))
    {
        let message = format!(
            "`{}` is not a setting of the schedule {chosen}: it applies to schedule = {} only",
            setting.key(),
            quoted(setting)
        );
        return Err(at(&setting.key(), false, message));
    }
    Ok(OptimizerSettings {
        name,
        settings,
        schedule,
    })
}

/// The schedules that take `setting`, quoted as a table writes them: `"cosine"`.
fn quoted(setting: ScheduleSetting) -> String {
    let names: Vec<String> = setting
        .taken_by()
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect();
    names.join(" or ")
}

/// The optimizer settings the table gives (`nesterov` as 1 or 0).
fn optimizer_settings(table: &Table) -> Vec<(Setting, f64)> {
    let values = [
        table.learning_rate,
        table.momentum,
        table.nesterov.map(|on| f64::from(u8::from(on))),
        table.rho,
        table.weight_decay,
        table.beta_1,
        table.beta_2,
        table.epsilon,
    ];
    Setting::ALL
        .into_iter()
        .zip(values)
        .filter_map(|(setting, value)| value.map(|value| (setting, value)))
        .collect()
}

/// The schedule settings the table gives.
fn schedule_settings(table: Table) -> ScheduleSettings {
    ScheduleSettings {
        name: table.schedule,
        decay_steps: table.decay_steps,
        decay_rate: table.decay_rate,
        staircase: table.staircase,
        alpha: table.alpha,
        warmup_steps: table.warmup_steps,
        warmup_target: table.warmup_target,
        boundaries: table.boundaries,
        values: table.values,
    }
}
