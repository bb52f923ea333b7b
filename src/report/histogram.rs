//! How many examples each class has: a text table with a bar of █ per class, and the lecture's
//! label histogram (`plt.hist(labels, bins=range(11), align='left', rwidth=0.8,
//! color='skyblue', edgecolor='black')`).
//!
//! ```text
//! label  count
//!     0    479  ████████████████████████████████████
//!     1    563  ████████████████████████████████████████
//! ```

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use super::axis::Ticks;
use super::canvas::{self, Area, DrawError};
use super::colormap::{GRID, SKYBLUE};
use super::decor::{self, Names};
use super::font::FAMILY;
use super::ReportError;

/// The picture's size in pixels (the lecture's `figsize=(8, 5)` at 100 dpi).
const SIZE: (u32, u32) = (800, 500);
/// Characters in the longest bar of the text table.
const BAR: usize = 40;
/// Each bar's width, in classes (`rwidth=0.8`).
const BAR_WIDTH: f64 = 0.8;

/// A header line, then one line per class: the class, its count and a bar of █ whose length is
/// proportional to the count (the largest class gets 40).
pub fn text(counts: &[usize]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0);
    let width = max.to_string().len().max("count".len());
    let label = counts
        .len()
        .saturating_sub(1)
        .to_string()
        .len()
        .max("label".len());
    let mut out = format!("{:>label$}  {:>width$}\n", "label", "count");
    for (class, &count) in counts.iter().enumerate() {
        let bar = if max == 0 {
            0
        } else {
            (count as f64 * BAR as f64 / max as f64).round() as usize
        };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{class:>label$}  {count:>width$}  {}", "█".repeat(bar));
    }
    out
}

/// Saves the label histogram as the PNG `path`, 800×500: one skyblue, black-edged bar per class
/// (`counts[class]`), classes along the x axis ("Label"), counts up the y axis ("Frequency"),
/// horizontal grid lines and `title` on top.
pub fn png(path: &Path, counts: &[usize], title: &str) -> Result<(), ReportError> {
    if counts.is_empty() {
        return Err(ReportError::Input {
            path: path.to_owned(),
            problem: "there are no classes to draw; pass one count per class".into(),
        });
    }
    canvas::render(path, SIZE, |root| draw(root, counts, title))
}

/// Draws the histogram of the non-empty `counts` on `root`.
fn draw(root: &Area, counts: &[usize], title: &str) -> Result<(), DrawError> {
    let classes = counts.len() as f64;
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let ticks: Vec<f64> = (0..counts.len()).map(|c| c as f64).collect();
    let mut chart = ChartBuilder::on(root)
        .margin(15)
        .margin_top(45)
        .x_label_area_size(50)
        .y_label_area_size(65)
        .build_cartesian_2d(Ticks::new(-1.0..classes, ticks), 0.0..max * 1.05)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .bold_line_style(GRID.mix(0.75))
        .light_line_style(TRANSPARENT)
        .label_style((FAMILY, 14))
        .draw()?;
    for (class, &count) in counts.iter().enumerate() {
        let corners = [
            (class as f64 - BAR_WIDTH / 2.0, 0.0),
            (class as f64 + BAR_WIDTH / 2.0, count as f64),
        ];
        chart.draw_series([
            Rectangle::new(corners, SKYBLUE.filled()),
            Rectangle::new(corners, BLACK.stroke_width(1)),
        ])?;
    }
    let names = Names {
        title,
        x: "Label",
        y: "Frequency",
        x_gap: 36,
        y_gap: 50,
    };
    decor::name(root, &chart.plotting_area().get_pixel_range(), &names)
}
