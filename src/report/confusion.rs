//! The confusion matrix: `matrix[true][predicted]` counts, as a text table and as the lecture's
//! seaborn heatmap (`sns.heatmap(cm, annot=True, fmt='d', cmap='Blues', cbar=False)`).
//!
//! ```text
//! True\Pred      0      1 …      9    Total
//!         0    973      0 …      1      980
//!         …
//!     Total    981   1134 …   1003    10000
//! ```

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use super::axis::Ticks;
use super::canvas::{self, Area, DrawError};
use super::colormap::{blues, text_on};
use super::decor::{self, Names};
use super::font::FAMILY;
use super::text::{self, Style};
use super::ReportError;

/// The heatmap's title for the data set called `data` (the lecture's is MNIST's).
pub fn title(data: &str) -> String {
    format!("Confusion Matrix for {data} Classification")
}
/// The heatmap's size in pixels (the lecture's `figsize=(8, 6)` at 100 dpi).
const SIZE: (u32, u32) = (800, 600);

/// The matrix as an aligned table: one row per true label, one column per predicted label, each
/// row's total on the right and each column's total (and the grand total) underneath.
pub fn text(matrix: &[Vec<usize>]) -> String {
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(0);
    let row_totals: Vec<usize> = matrix.iter().map(|row| row.iter().sum()).collect();
    let col_totals: Vec<usize> = (0..cols)
        .map(|c| matrix.iter().filter_map(|row| row.get(c)).sum())
        .collect();
    let total: usize = row_totals.iter().sum();
    let width = total.to_string().len().max(5);
    let corner = "True\\Pred";
    let label = corner.len().max(matrix.len().to_string().len());

    // Writing to a String cannot fail.
    let mut out = format!("{corner:>label$}");
    for c in 0..cols {
        let _ = write!(out, "  {c:>width$}");
    }
    let _ = writeln!(out, "  {:>width$}", "Total");
    for (r, row) in matrix.iter().enumerate() {
        let _ = write!(out, "{r:>label$}");
        for c in 0..cols {
            let cell = row.get(c).map(ToString::to_string).unwrap_or_default();
            let _ = write!(out, "  {cell:>width$}");
        }
        let _ = writeln!(out, "  {:>width$}", row_totals[r]);
    }
    let _ = write!(out, "{:>label$}", "Total");
    for count in &col_totals {
        let _ = write!(out, "  {count:>width$}");
    }
    let _ = writeln!(out, "  {total:>width$}");
    out
}

/// Saves the lecture's heatmap of `matrix` (square, at least 1×1) as the PNG `path`, 800×600:
/// "Blues" colours scaled from the smallest to the largest count, each count written in its
/// cell (white on dark cells), true labels down the left, predicted labels along the bottom,
/// and `title` (see [`title`]) above.
pub fn png(path: &Path, matrix: &[Vec<usize>], title: &str) -> Result<(), ReportError> {
    let n = matrix.len();
    if n == 0 || matrix.iter().any(|row| row.len() != n) {
        let shape: Vec<usize> = matrix.iter().map(Vec::len).collect();
        return Err(ReportError::Input {
            path: path.to_owned(),
            problem: format!(
                "a confusion matrix must be square with at least one class, but has {n} rows of \
                 lengths {shape:?}; pass one row per true label with one count per predicted label"
            ),
        });
    }
    canvas::render(path, SIZE, |root| draw(root, matrix, title))
}

/// Draws the heatmap of the square, non-empty `matrix` on `root`.
fn draw(root: &Area, matrix: &[Vec<usize>], title: &str) -> Result<(), DrawError> {
    let n = matrix.len();
    let side = n as f64;
    let centers: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    let mut chart = ChartBuilder::on(root)
        .margin(15)
        .margin_top(45)
        .x_label_area_size(55)
        .y_label_area_size(60)
        .build_cartesian_2d(
            Ticks::new(0.0..side, centers.clone()),
            Ticks::new(0.0..side, centers),
        )?;
    // Row 0 is drawn at the top, as seaborn does: y = side - row.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| format!("{}", x.floor()))
        .y_label_formatter(&|y| format!("{}", side - 1.0 - y.floor()))
        .label_style((FAMILY, 15))
        .draw()?;

    let counts = matrix.iter().flatten();
    let lo = counts.clone().copied().min().unwrap_or(0) as f64;
    let hi = counts.copied().max().unwrap_or(0) as f64;
    let scale = |count: usize| {
        if hi > lo {
            (count as f64 - lo) / (hi - lo)
        } else {
            0.0
        }
    };
    for (r, row) in matrix.iter().enumerate() {
        let top = side - r as f64;
        for (c, &count) in row.iter().enumerate() {
            let fill = blues(scale(count));
            let left = c as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(left, top - 1.0), (left + 1.0, top)],
                fill.filled(),
            )))?;
            let at = chart.backend_coord(&(left + 0.5, top - 0.5));
            let style = Style::centered(16.0).colored(text_on(fill));
            text::draw(root, &count.to_string(), at, style)?;
        }
    }
    let names = Names {
        title,
        x: "Predicted labels",
        y: "True labels",
        x_gap: 40,
        y_gap: 42,
    };
    decor::name(root, &chart.plotting_area().get_pixel_range(), &names)
}
