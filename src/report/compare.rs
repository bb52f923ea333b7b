//! Models side by side, as the lecture compares its networks: a table of size, speed and
//! accuracy, and a grouped bar chart of validation and test accuracy per model.
//!
//! ```text
//! model    params  s/epoch  val accuracy  test accuracy
//! dense   101,770     3.21        0.9712         0.9698
//! cnn      93,322    17.40        0.9902         0.9891
//! ```

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::Ticks;
use super::canvas::{self, Area, DrawError};
use super::colormap::{GRID, TAB_BLUE, TAB_ORANGE};
use super::decor::{self, Key, Names};
use super::font::FAMILY;
use super::summary::thousands;
use super::text::{self, Style};
use super::ReportError;

/// One of the two bars drawn for each model.
struct Bar {
    /// Its name in the legend.
    label: &'static str,
    /// Its colour.
    color: RGBColor,
    /// Its centre's offset from the model's centre, in bar widths.
    side: f64,
    /// The value it shows, if the model has one.
    value: fn(&CompareRow) -> Option<f64>,
}

/// Validation (matplotlib's first colour) left of test (its second).
const BARS: [Bar; 2] = [
    Bar {
        label: "validation",
        color: TAB_BLUE,
        side: -0.5,
        value: |row| row.val_accuracy,
    },
    Bar {
        label: "test",
        color: TAB_ORANGE,
        side: 0.5,
        value: |row| Some(row.test_accuracy),
    },
];

/// The picture's height in pixels; its width grows with the number of models.
const HEIGHT: u32 = 500;
/// Width of each model's slot in pixels: wide enough for its name, within these bounds (longer
/// names are shortened with "…").
const SLOT: (f64, f64) = (130.0, 260.0);
/// Size of the model names under the bars.
const NAME_SIZE: f64 = 14.0;
/// Width of one bar, in models.
const BAR_WIDTH: f64 = 0.36;
/// A bar's value is written inside it when the bar is at least this many pixels tall.
const INSIDE_MIN: i32 = 26;

/// One trained model's results.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    /// The model's name (a preset or model file name).
    pub model: String,
    /// Trainable parameters.
    pub params: usize,
    /// Mean wall-clock seconds per training epoch.
    pub seconds_per_epoch: f64,
    /// Accuracy on the validation split after the last epoch, when there was one.
    pub val_accuracy: Option<f64>,
    /// Accuracy on the test set.
    pub test_accuracy: f64,
}

/// The rows as an aligned table: model (left-aligned), params with thousands separators,
/// seconds per epoch, final validation accuracy ("-" when none) and test accuracy
/// (right-aligned). Every line has the same width.
pub fn text(rows: &[CompareRow]) -> String {
    let header = [
        "model",
        "params",
        "s/epoch",
        "val accuracy",
        "test accuracy",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                row.model.clone(),
                thousands(row.params),
                format!("{:.2}", row.seconds_per_epoch),
                row.val_accuracy
                    .map_or_else(|| "-".to_string(), |v| format!("{v:.4}")),
                format!("{:.4}", row.test_accuracy),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(header.map(String::from)).chain(cells) {
        let [model, rest @ ..] = &line;
        // Writing to a String cannot fail.
        let _ = write!(out, "{model:<w$}", w = widths[0]);
        for (cell, width) in rest.iter().zip(&widths[1..]) {
            let _ = write!(out, "  {cell:>width$}");
        }
        out.push('\n');
    }
    out
}

/// Saves a grouped bar chart as the PNG `path`, 500 pixels high and at least 800 wide (wider
/// for many models or long names): for each model a validation bar (when there is one) and a test bar, each labelled with its value; the
/// y axis runs from 0.01 below the lowest accuracy to 1.0.
pub fn png(path: &Path, rows: &[CompareRow]) -> Result<(), ReportError> {
    if rows.is_empty() {
        return Err(ReportError::Input {
            path: path.to_owned(),
            problem: "there are no models to compare; pass at least one row".into(),
        });
    }
    let widest = rows
        .iter()
        .map(|row| text::width(&row.model, NAME_SIZE) + 20.0)
        .fold(SLOT.0, f64::max)
        .min(SLOT.1);
    let width = (150.0 + widest * rows.len() as f64).max(800.0) as u32;
    canvas::render(path, (width, HEIGHT), |root| {
        draw(root, rows, widest - 20.0)
    })
}

/// Draws the grouped bars of the non-empty `rows` on `root`, model names at most `name_width`
/// pixels wide.
fn draw(root: &Area, rows: &[CompareRow], name_width: f64) -> Result<(), DrawError> {
    let accuracies = rows
        .iter()
        .flat_map(|row| [row.val_accuracy, Some(row.test_accuracy)])
        .flatten()
        .filter(|v| v.is_finite());
    let lowest = accuracies.fold(1.0_f64, f64::min);
    let bottom = (lowest - 0.01).clamp(0.0, 0.99);
    let models = rows.len() as f64;
    let ticks: Vec<f64> = (0..rows.len()).map(|i| i as f64).collect();
    let mut chart = ChartBuilder::on(root)
        .margin(15)
        .margin_top(62)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(Ticks::new(-0.5..models - 0.5, ticks), bottom..1.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|y| format!("{y:.3}"))
        .bold_line_style(GRID.mix(0.6))
        .light_line_style(TRANSPARENT)
        .label_style((FAMILY, 14))
        .draw()?;
    for (i, row) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64, bottom));
        let style = Style::centered(NAME_SIZE).anchored(HPos::Center, VPos::Top);
        let name = text::fit(&row.model, NAME_SIZE, name_width);
        text::draw(root, &name, (x, y + 8), style)?;
    }

    for bar in &BARS {
        let bars: Vec<(f64, f64)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| Some((i as f64 + bar.side * BAR_WIDTH, (bar.value)(row)?)))
            .filter(|(_, v)| v.is_finite())
            .map(|(x, v)| (x, v.min(1.0)))
            .collect();
        let half = BAR_WIDTH / 2.0;
        chart.draw_series(bars.iter().map(|&(x, v)| {
            Rectangle::new([(x - half, bottom), (x + half, v)], bar.color.filled())
        }))?;
        for &(x, v) in &bars {
            let (px, top) = chart.backend_coord(&(x, v));
            let tall = chart.backend_coord(&(x, bottom)).1 - top;
            let style = if tall >= INSIDE_MIN {
                Style::centered(13.0)
                    .anchored(HPos::Center, VPos::Top)
                    .colored(WHITE)
            } else {
                Style::centered(13.0).anchored(HPos::Center, VPos::Bottom)
            };
            let y = if tall >= INSIDE_MIN { top + 6 } else { top - 4 };
            text::draw(root, &format!("{v:.4}"), (px, y), style)?;
        }
    }

    let plot = chart.plotting_area().get_pixel_range();
    let entries: Vec<(&str, RGBColor)> = BARS.iter().map(|bar| (bar.label, bar.color)).collect();
    let (width, height) = decor::legend_size(&entries);
    let corner = (plot.0.end - width, plot.1.start - height - 4);
    decor::legend(root, corner, &entries, Key::Square, false)?;
    let names = Names {
        title: "Accuracy by model",
        x: "model",
        y: "accuracy",
        x_gap: 40,
        y_gap: 55,
    };
    decor::name(root, &plot, &names)
}
