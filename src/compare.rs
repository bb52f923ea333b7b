//! The lecture's hyperparameter-tuning section as one call: train several models with the
//! same data and settings, one after another on one device, and collect what a table needs.

use crate::data::MnistSplits;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::model::ModelSpec;
use crate::train::{EpochStats, Progress, TrainConfig, Trainer};

/// One model's outcome in a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    /// The model's name.
    pub model: String,
    /// Trainable parameters.
    pub params: usize,
    /// Mean wall time of its training epochs.
    pub seconds_per_epoch: f64,
    /// Validation accuracy after the last epoch (`None` without a validation split).
    pub val_accuracy: Option<f64>,
    /// Accuracy on the test set.
    pub test_accuracy: f64,
    /// Every epoch.
    pub history: Vec<EpochStats>,
}

/// Trains each of `models` with `config` on `data` and tests it; `progress` hears which model
/// each report is about.
pub fn compare(
    ctx: &GpuContext,
    models: &[ModelSpec],
    data: &MnistSplits,
    config: &TrainConfig,
    mut progress: impl FnMut(&str, Progress),
) -> Result<Vec<Compared>> {
    models
        .iter()
        .map(|spec| {
            let mut trainer = Trainer::new(ctx, spec.clone(), data, config.clone())?;
            let history = trainer.fit(|report| progress(&spec.name, report))?;
            let test = trainer.evaluate_test()?;
            let seconds: f64 = history.iter().map(|epoch| epoch.seconds).sum();
            Ok(Compared {
                model: spec.name.clone(),
                params: trainer.network().param_count(),
                seconds_per_epoch: seconds / history.len().max(1) as f64,
                val_accuracy: history
                    .last()
                    .and_then(|epoch| epoch.validation)
                    .map(|v| v.accuracy),
                test_accuracy: test.accuracy,
                history,
            })
        })
        .collect()
}
