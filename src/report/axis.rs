//! An f64 axis whose ticks sit exactly where a chart asks (cell centres, class numbers, epochs,
//! model indices) rather than at plotters' automatic "nice" values.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// A linear f64 axis over `range` with labelled ticks at `ticks` and no minor grid lines.
pub(crate) struct Ticks {
    /// The linear mapping of the whole range.
    inner: RangedCoordf64,
    /// Where the ticks and their labels go.
    ticks: Vec<f64>,
}

impl Ticks {
    /// An axis over `range` with ticks at `ticks`.
    pub(crate) fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticks {
    // Lets `configure_mesh` accept the axis; every chart sets its own label formatter.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}
