//! Training history, one row per epoch: a CSV for tables and notebooks, and the two panels
//! Keras users plot from `history.history` (loss; accuracy), training and validation curves.

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use super::axis::Ticks;
use super::canvas::{self, Area, DrawError};
use super::colormap::{GRID, TAB_BLUE, TAB_ORANGE};
use super::decor::{self, Key, Names};
use super::font::FAMILY;
use super::ReportError;

/// The picture's size in pixels: two panels side by side.
const SIZE: (u32, u32) = (1000, 400);
/// At most this many epoch ticks on the x axis.
const MAX_TICKS: usize = 12;

/// One epoch's metrics; the caller converts its own history type into these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRow {
    /// The epoch's number as shown to the user (Keras counts from 1).
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub loss: f64,
    /// Training accuracy over the epoch, in [0, 1].
    pub accuracy: f64,
    /// Loss on the validation split, when there is one.
    pub val_loss: Option<f64>,
    /// Accuracy on the validation split, when there is one.
    pub val_accuracy: Option<f64>,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
}

/// The rows as CSV with the header `epoch,loss,accuracy,val_loss,val_accuracy,seconds`, one line
/// per row; validation cells are empty when there is no validation split.
pub fn csv(rows: &[HistoryRow]) -> String {
    let cell = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    let mut out = String::from("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for row in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            row.epoch,
            row.loss,
            row.accuracy,
            cell(row.val_loss),
            cell(row.val_accuracy),
            row.seconds
        );
    }
    out
}

/// Saves the history as the PNG `path`, 1000×400: loss on the left, accuracy on the right, each
/// with the training curve and (where present) the validation curve, markers at every epoch, a
/// legend and "epoch" along the x axis. Non-finite values (a diverged loss) are left out.
pub fn png(path: &Path, rows: &[HistoryRow]) -> Result<(), ReportError> {
    if rows.is_empty() {
        return Err(ReportError::Input {
            path: path.to_owned(),
            problem: "the history has no epochs; train for at least one epoch first".into(),
        });
    }
    canvas::render(path, SIZE, |root| {
        let panels = root.split_evenly((1, 2));
        let pick = |f: fn(&HistoryRow) -> Option<f64>| -> Vec<(f64, f64)> {
            rows.iter()
                .filter_map(|row| Some((row.epoch as f64, f(row)?)))
                .filter(|(_, y)| y.is_finite())
                .collect()
        };
        panel(
            &panels[0],
            "Loss",
            [pick(|r| Some(r.loss)), pick(|r| r.val_loss)],
            Corner::Top,
        )?;
        panel(
            &panels[1],
            "Accuracy",
            [pick(|r| Some(r.accuracy)), pick(|r| r.val_accuracy)],
            Corner::Bottom,
        )
    })
}

/// Where a panel's legend goes, inside the plotting area on the right.
#[derive(Clone, Copy)]
enum Corner {
    /// Top right: for curves that fall (loss).
    Top,
    /// Bottom right: for curves that rise (accuracy).
    Bottom,
}

/// One panel: `[train, validation]` curves of (epoch, value) against epoch; an empty curve is
/// not drawn and not in the legend.
fn panel(
    area: &Area,
    metric: &str,
    curves: [Vec<(f64, f64)>; 2],
    corner: Corner,
) -> Result<(), DrawError> {
    let epochs = curves.iter().flatten().map(|&(x, _)| x);
    let first = epochs.clone().fold(f64::INFINITY, f64::min);
    let last = epochs.fold(f64::NEG_INFINITY, f64::max);
    let (first, last) = if first <= last {
        (first, last)
    } else {
        (1.0, 1.0)
    };
    let values = curves.iter().flatten().map(|&(_, y)| y);
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.01 };

    let step = ((last - first) / MAX_TICKS as f64).ceil().max(1.0);
    let ticks: Vec<f64> = (0..)
        .map(|i| first + step * f64::from(i))
        .take_while(|&x| x <= last)
        .collect();
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(40)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(
            Ticks::new(first - 0.3..last + 0.3, ticks),
            lo - pad..hi + pad,
        )?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .bold_line_style(GRID.mix(0.4))
        .light_line_style(TRANSPARENT)
        .label_style((FAMILY, 13))
        .draw()?;

    let mut entries = Vec::new();
    for (points, name, color) in [
        (&curves[0], "train", TAB_BLUE),
        (&curves[1], "validation", TAB_ORANGE),
    ] {
        if !points.is_empty() {
            let style = color.filled().stroke_width(2);
            chart.draw_series(LineSeries::new(points.iter().copied(), style).point_size(4))?;
            entries.push((name, color));
        }
    }

    let plot = chart.plotting_area().get_pixel_range();
    let (width, height) = decor::legend_size(&entries);
    let top = match corner {
        Corner::Top => plot.1.start + 10,
        Corner::Bottom => plot.1.end - height - 10,
    };
    decor::legend(
        area,
        (plot.0.end - width - 10, top),
        &entries,
        Key::LineWithDot,
        true,
    )?;
    let y_name = metric.to_lowercase();
    let names = Names {
        title: metric,
        x: "epoch",
        y: &y_name,
        x_gap: 34,
        y_gap: 52,
    };
    decor::name(area, &plot, &names)
}
