//! Colours the lecture's plots use: matplotlib's "Blues" map, its named colours, and seaborn's
//! rule for annotation text on a coloured cell.

use plotters::style::RGBColor;

/// matplotlib's "Blues" (ColorBrewer, 9 classes), light to dark; the map interpolates linearly.
const BLUES: [(u8, u8, u8); 9] = [
    (0xf7, 0xfb, 0xff),
    (0xde, 0xeb, 0xf7),
    (0xc6, 0xdb, 0xef),
    (0x9e, 0xca, 0xe1),
    (0x6b, 0xae, 0xd6),
    (0x42, 0x92, 0xc6),
    (0x21, 0x71, 0xb5),
    (0x08, 0x51, 0x9c),
    (0x08, 0x30, 0x6b),
];

/// matplotlib's "skyblue".
pub(crate) const SKYBLUE: RGBColor = RGBColor(0x87, 0xce, 0xeb);
/// matplotlib's default first series colour, "tab:blue".
pub(crate) const TAB_BLUE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// matplotlib's default second series colour, "tab:orange".
pub(crate) const TAB_ORANGE: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// matplotlib's default grid colour, "#b0b0b0".
pub(crate) const GRID: RGBColor = RGBColor(0xb0, 0xb0, 0xb0);

/// The "Blues" colour at `t` in [0, 1] (clamped; NaN reads as 0).
pub(crate) fn blues(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (BLUES.len() - 1) as f64;
    let i = (x.floor() as usize).min(BLUES.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// seaborn's annotation colour on a cell of `color`: near-black (".15") on light cells, white
/// on dark ones (relative luminance at most 0.408).
pub(crate) fn text_on(color: RGBColor) -> RGBColor {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(color.0) + 0.7152 * linear(color.1) + 0.0722 * linear(color.2);
    if luminance > 0.408 {
        RGBColor(38, 38, 38)
    } else {
        RGBColor(255, 255, 255)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blues_runs_from_near_white_to_dark_blue() {
        assert_eq!(blues(0.0), RGBColor(0xf7, 0xfb, 0xff));
        assert_eq!(blues(1.0), RGBColor(0x08, 0x30, 0x6b));
        assert_eq!(blues(0.5), RGBColor(0x6b, 0xae, 0xd6));
    }

    #[test]
    fn annotation_is_dark_on_light_cells_and_white_on_dark_ones() {
        assert_eq!(text_on(blues(0.0)), RGBColor(38, 38, 38));
        assert_eq!(text_on(blues(1.0)), RGBColor(255, 255, 255));
    }
}
