//! What goes around a chart's plotting area, drawn with [`super::text`]: the title, the axis
//! names and a legend.

use std::ops::Range;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{Area, DrawError};
use super::text::{self, Style};

/// Title size in pixels.
const TITLE: f64 = 20.0;
/// Axis name size in pixels.
const AXIS: f64 = 16.0;
/// Legend text size in pixels.
const LEGEND: f64 = 14.0;
/// Height of one legend row.
const ROW: i32 = 22;
/// Width of a legend key (the sample line or square) and the space after it.
const KEY: i32 = 34;

/// A plotting area's pixel ranges (x, y) in the whole picture, from
/// `chart.plotting_area().get_pixel_range()`.
pub(crate) type Plot = (Range<i32>, Range<i32>);

/// A chart's names: the title above the plotting area, the x axis name `x_gap` pixels below it
/// and the y axis name, reading upward, `y_gap` pixels left of it.
pub(crate) struct Names<'a> {
    /// The title, centred over the plotting area.
    pub title: &'a str,
    /// The x axis name.
    pub x: &'a str,
    /// The y axis name.
    pub y: &'a str,
    /// Distance from the plotting area's bottom to the x name's centre.
    pub x_gap: i32,
    /// Distance from the plotting area's left to the y name's centre.
    pub y_gap: i32,
}

/// Draws `names` around the plotting area `plot` of a chart on `area`.
pub(crate) fn name(area: &Area, plot: &Plot, names: &Names) -> Result<(), DrawError> {
    let (xs, ys) = plot;
    let center = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
    let title = Style::centered(TITLE).anchored(HPos::Center, VPos::Bottom);
    text::draw(area, names.title, (center.0, ys.start - 14), title)?;
    text::draw(
        area,
        names.x,
        (center.0, ys.end + names.x_gap),
        Style::centered(AXIS),
    )?;
    text::draw(
        area,
        names.y,
        (xs.start - names.y_gap, center.1),
        Style::centered(AXIS).upward(),
    )
}

/// How a legend entry's key looks.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// A short line with a dot on it (a curve with markers).
    LineWithDot,
    /// A filled square (a bar).
    Square,
}

/// (width, height) of a boxed legend of `entries`.
pub(crate) fn legend_size(entries: &[(&str, RGBColor)]) -> (i32, i32) {
    let widest = entries
        .iter()
        .map(|(label, _)| text::width(label, LEGEND).ceil() as i32)
        .max()
        .unwrap_or(0);
    (KEY + widest + 16, ROW * entries.len() as i32 + 8)
}

/// Draws a legend of `entries` (label, colour) with its top-left corner at `corner` (whole
/// picture pixels), one entry a row; `boxed` adds a white, grey-edged box behind it.
pub(crate) fn legend(
    area: &Area,
    corner: (i32, i32),
    entries: &[(&str, RGBColor)],
    key: Key,
    boxed: bool,
) -> Result<(), DrawError> {
    let (base_x, base_y) = area.get_base_pixel();
    let local = |(x, y): (i32, i32)| (x - base_x, y - base_y);
    let (width, height) = legend_size(entries);
    let (left, top) = corner;
    if boxed {
        let frame = [local((left, top)), local((left + width, top + height))];
        area.draw(&Rectangle::new(frame, WHITE.mix(0.85).filled()))?;
        area.draw(&Rectangle::new(frame, BLACK.mix(0.3)))?;
    }
    for (row, &(label, color)) in entries.iter().enumerate() {
        let y = top + 4 + ROW * row as i32 + ROW / 2;
        let x = left + 8;
        match key {
            Key::LineWithDot => {
                let style = color.filled().stroke_width(2);
                area.draw(&PathElement::new(
                    vec![local((x, y)), local((x + 22, y))],
                    style,
                ))?;
                area.draw(&Circle::new(local((x + 11, y)), 4, style))?;
            }
            Key::Square => {
                let square = [local((x + 4, y - 7)), local((x + 18, y + 7))];
                area.draw(&Rectangle::new(square, color.filled()))?;
            }
        }
        let style = Style::centered(LEGEND).anchored(HPos::Left, VPos::Center);
        text::draw(area, label, (x + KEY - 8, y), style)?;
    }
    Ok(())
}
