//! Text placed glyph by glyph. plotters 0.3.7's ab_glyph renderer drops each glyph's left side
//! bearing, so whole strings come out unevenly spaced ("MNIS T", "Fr equency"). Here each
//! character is its own plotters `Text`, put where the font's advances, kerning and bearings
//! say, so titles, axis names, legends and captions read evenly.

use ab_glyph::{Font, ScaleFont};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::canvas::{Area, DrawError};
use super::font::{self, FAMILY};

/// How a string is drawn.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    /// Font size in pixels.
    pub size: f64,
    /// Ink colour.
    pub color: RGBColor,
    /// Which point of the string sits at the given position.
    pub anchor: (HPos, VPos),
    /// Read bottom to top (a y-axis name) instead of left to right.
    pub vertical: bool,
}

impl Style {
    /// Black, horizontal, centred on the position.
    pub(crate) fn centered(size: f64) -> Self {
        Self {
            size,
            color: BLACK,
            anchor: (HPos::Center, VPos::Center),
            vertical: false,
        }
    }

    /// The same style with another anchor.
    pub(crate) fn anchored(self, h: HPos, v: VPos) -> Self {
        Self {
            anchor: (h, v),
            ..self
        }
    }

    /// The same style in another colour.
    pub(crate) fn colored(self, color: RGBColor) -> Self {
        Self { color, ..self }
    }

    /// The same style, reading bottom to top.
    pub(crate) fn upward(self) -> Self {
        Self {
            vertical: true,
            ..self
        }
    }
}

/// Where each character's ink starts along the line, in pixels from the line's start, and the
/// line's advance width. Characters without ink (spaces) are left out.
fn layout(text: &str, size: f64) -> (Vec<(char, f64)>, f64) {
    let Ok(face) = font::face() else {
        return (Vec::new(), 0.0);
    };
    let face = face.as_scaled(size as f32);
    let mut pen = 0.0_f32;
    let mut previous = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = face.glyph_id(c);
        if let Some(previous) = previous {
            pen += face.kern(previous, id);
        }
        if !c.is_whitespace() {
            glyphs.push((c, f64::from(pen + face.h_side_bearing(id))));
        }
        pen += face.h_advance(id);
        previous = Some(id);
    }
    (glyphs, f64::from(pen))
}

/// The advance width of `text` at `size` pixels.
pub(crate) fn width(text: &str, size: f64) -> f64 {
    layout(text, size).1
}

/// `text`, shortened with "…" at the end if needed so it is at most `max` pixels wide at `size`.
pub(crate) fn fit(text: &str, size: f64, max: f64) -> String {
    if width(text, size) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let shorter: String = chars.iter().chain(['…'].iter()).collect();
        if width(&shorter, size) <= max {
            return shorter;
        }
    }
    "…".to_string()
}

/// Draws `text` on `area` with its anchor at `at`, in the backend's (whole picture's) pixels.
pub(crate) fn draw(area: &Area, text: &str, at: (i32, i32), style: Style) -> Result<(), DrawError> {
    let (glyphs, width) = layout(text, style.size);
    let start = match style.anchor.0 {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    let mut font = (FAMILY, style.size).into_font();
    if style.vertical {
        font = font.transform(FontTransform::Rotate270);
    }
    let glyph_style = TextStyle::from(font)
        .color(&style.color)
        .pos(Pos::new(HPos::Left, style.anchor.1));
    let (base_x, base_y) = area.get_base_pixel();
    for (c, offset) in glyphs {
        let along = (start + offset).round() as i32;
        let (x, y) = if style.vertical {
            (at.0, at.1 - along)
        } else {
            (at.0 + along, at.1)
        };
        area.draw(&Text::new(
            c.to_string(),
            (x - base_x, y - base_y),
            glyph_style.clone(),
        ))?;
    }
    Ok(())
}
