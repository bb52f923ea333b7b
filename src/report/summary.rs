//! The Keras 3 model summary: one row per layer with its name, class, output shape (batch axis
//! `None`) and parameter count, then the totals.
//!
//! ```text
//! Model: "cnn"
//! ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
//! ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
//! ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
//! │ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! ...
//! └─────────────────────────────────┴────────────────────────┴───────────────┘
//!  Total params: 93,322 (364.54 KB)
//!  Trainable params: 93,322 (364.54 KB)
//!  Non-trainable params: 0 (0.00 B)
//! ```

use std::fmt::Write;

use crate::model::shape::{LayerInfo, Shape};
use crate::model::spec::ModelSpec;

/// Text widths of the three columns (Keras's at its default line length, less one space of
/// padding on each side); a column grows when a cell is longer.
const MIN_WIDTHS: [usize; 3] = [31, 22, 13];

/// Bytes per parameter (f32).
const BYTES_PER_PARAM: usize = 4;

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A size in bytes as Keras prints it: `364.54 KB` (powers of 1024, two decimals).
pub fn memory(bytes: usize) -> String {
    let mut size = bytes as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if size < 1024.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} TB")
}

/// A layer's output shape with the batch axis: `(None, 26, 26, 32)` or `(None, 576)`.
fn batch_shape(shape: Shape) -> String {
    match shape {
        Shape::Image { h, w, c } => format!("(None, {h}, {w}, {c})"),
        Shape::Flat(n) => format!("(None, {n})"),
    }
}

/// One horizontal rule: `left`, then each column's `fill` joined by `join`, then `right`.
fn rule(widths: &[usize; 3], [left, fill, join, right]: [char; 4]) -> String {
    let cells: Vec<String> = widths
        .iter()
        .map(|&w| fill.to_string().repeat(w + 2))
        .collect();
    format!("{left}{}{right}\n", cells.join(&join.to_string()))
}

/// One row between `bar`s: the first two cells left-aligned, the count right-aligned.
fn row(widths: &[usize; 3], cells: [&str; 3], bar: char) -> String {
    let [a, b, c] = cells;
    let [wa, wb, wc] = *widths;
    format!("{bar} {a:<wa$} {bar} {b:<wb$} {bar} {c:>wc$} {bar}\n")
}

/// The Keras-style summary of `spec`, whose layers [`crate::model::shape::infer`] resolved.
pub fn summary(spec: &ModelSpec, layers: &[LayerInfo]) -> String {
    let header = ["Layer (type)", "Output Shape", "Param #"];
    let rows: Vec<[String; 3]> = layers
        .iter()
        .map(|layer| {
            [
                format!("{} ({})", layer.name, layer.spec.class_name()),
                batch_shape(layer.output),
                thousands(layer.param_count()),
            ]
        })
        .collect();
    let mut widths = MIN_WIDTHS;
    for cells in &rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let mut out = format!("Model: \"{}\"\n", spec.name);
    out += &rule(&widths, ['┏', '━', '┳', '┓']);
    out += &row(&widths, header, '┃');
    out += &rule(&widths, ['┡', '━', '╇', '┩']);
    for (i, [a, b, c]) in rows.iter().enumerate() {
        if i > 0 {
            out += &rule(&widths, ['├', '─', '┼', '┤']);
        }
        out += &row(&widths, [a, b, c], '│');
    }
    out += &rule(&widths, ['└', '─', '┴', '┘']);

    let trainable: usize = layers.iter().map(LayerInfo::param_count).sum();
    let state: usize = layers.iter().map(LayerInfo::state_count).sum();
    let line = |count: usize| {
        let bytes = memory(count * BYTES_PER_PARAM);
        format!("{} ({bytes})", thousands(count))
    };
    // Writing to a String cannot fail.
    let _ = writeln!(out, " Total params: {}", line(trainable + state));
    let _ = writeln!(out, " Trainable params: {}", line(trainable));
    let _ = writeln!(out, " Non-trainable params: {}", line(state));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_in_threes() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(650), "650");
        assert_eq!(thousands(1_290), "1,290");
        assert_eq!(thousands(93_322), "93,322");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn memory_uses_powers_of_1024_like_keras() {
        assert_eq!(memory(0), "0.00 B");
        assert_eq!(memory(93_322 * 4), "364.54 KB");
        assert_eq!(memory(3 * 1024 * 1024), "3.00 MB");
    }
}
