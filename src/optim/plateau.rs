//! Keras's `ReduceLROnPlateau` callback: after an epoch, when the monitored value has not
//! improved for `patience` epochs (and no cooldown runs), the learning rate is multiplied by
//! `factor`, never below `min_lr`. With a schedule the factor multiplies the schedule's rate,
//! so later steps take `max(schedule(step) · scale, min_lr)`; the rates reach the kernels
//! through the step table. Its state is part of the run's, saved in checkpoints.

use serde::{Deserialize, Serialize};

use crate::run::{EpochStats, Monitor};

/// `ReduceLROnPlateau(monitor, factor, patience, cooldown, min_lr, min_delta)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateauConfig {
    /// Epochs without improvement before a reduction.
    pub patience: usize,
    /// The factor of each reduction (Keras's default 0.1).
    pub factor: f64,
    /// Epochs after a reduction before waiting starts again.
    pub cooldown: usize,
    /// The lowest rate a reduction leaves.
    pub min_lr: f64,
    /// The value watched.
    pub monitor: Monitor,
    /// The least change of it that counts as an improvement.
    pub min_delta: f64,
}

impl PlateauConfig {
    /// The first setting out of its range: its option, its value and a hint; `None` when all
    /// are valid.
    pub fn invalid_setting(&self) -> Option<(&'static str, String, &'static str)> {
        if self.patience == 0 {
            return Some((
                "--reduce-lr-on-plateau",
                "0".into(),
                "give a patience of at least 1 epoch",
            ));
        }
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Some((
                "--reduce-lr-factor",
                self.factor.to_string(),
                "give a factor in (0, 1), e.g. 0.1 (Keras's default)",
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Some((
                "--min-lr",
                self.min_lr.to_string(),
                "give a rate of at least 0, e.g. 0.00001",
            ));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Some((
                "--min-delta",
                self.min_delta.to_string(),
                "give a change of at least 0, e.g. 0.001",
            ));
        }
        None
    }
}

/// Where reduce-on-plateau stands after the epochs so far.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The product of the reductions so far (1: none).
    pub scale: f64,
    /// The best monitored value so far.
    pub best: Option<f64>,
    /// Epochs since the best (or the last reduction).
    pub wait: usize,
    /// Epochs of cooldown left.
    pub cooldown: usize,
}

impl Default for PlateauState {
    fn default() -> Self {
        Self {
            scale: 1.0,
            best: None,
            wait: 0,
            cooldown: 0,
        }
    }
}

impl PlateauState {
    /// The rate of a step the schedule gives `scheduled`: scaled by the reductions so far,
    /// and, once reduced, never below `min_lr`.
    pub fn learning_rate(&self, config: Option<&PlateauConfig>, scheduled: f64) -> f64 {
        match config {
            Some(config) if self.scale < 1.0 => (scheduled * self.scale).max(config.min_lr),
            _ => scheduled,
        }
    }

    /// Keras's `on_epoch_end` after the epoch of `stats`, whose last step ran at rate
    /// `current`: counts an epoch without improvement and reduces the rate once `patience`
    /// of them have passed. Says whether it reduced the rate.
    pub fn after_epoch(
        &mut self,
        config: &PlateauConfig,
        stats: &EpochStats,
        current: f64,
    ) -> bool {
        let value = config.monitor.of(stats);
        if self.cooldown > 0 {
            self.cooldown -= 1;
            self.wait = 0;
        }
        if config.monitor.improves(value, self.best, config.min_delta) {
            self.best = Some(value);
            self.wait = 0;
            return false;
        }
        if self.cooldown > 0 {
            return false;
        }
        self.wait += 1;
        if self.wait < config.patience || current <= config.min_lr {
            return false;
        }
        self.scale *= config.factor;
        self.cooldown = config.cooldown;
        self.wait = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(loss: f64) -> EpochStats {
        EpochStats {
            epoch: 1,
            steps: 1,
            seconds: 0.0,
            loss,
            accuracy: 0.0,
            validation: None,
            learning_rate: None,
        }
    }

    #[test]
    fn reduces_after_patience_flat_epochs_then_cools_down_and_stops_at_min_lr() {
        let config = PlateauConfig {
            patience: 2,
            factor: 0.5,
            cooldown: 1,
            min_lr: 0.3,
            monitor: Monitor::Loss,
            min_delta: 0.0,
        };
        let mut state = PlateauState::default();
        let rate = |state: &PlateauState| state.learning_rate(Some(&config), 1.0);
        // Epoch 1 sets the best; 2 and 3 do not improve: reduced after 3.
        let reduced: Vec<bool> = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
            .into_iter()
            .map(|loss| {
                let current = rate(&state);
                state.after_epoch(&config, &stats(loss), current)
            })
            .collect();
        // 3: reduced to 0.5; 4: its cooldown ends, waiting starts again (Keras counts that
        // epoch); 5: reduced to max(0.25, 0.3) = 0.3; 6: cooldown; 7: at min_lr, kept.
        assert_eq!(
            reduced,
            [false, false, true, false, true, false, false],
            "{state:?}"
        );
        assert_eq!(rate(&state), 0.3);
        // At min_lr, no further reduction.
        for _ in 0..4 {
            let current = rate(&state);
            assert!(!state.after_epoch(&config, &stats(1.0), current));
        }
        assert_eq!(state.scale, 0.25);
    }
}
