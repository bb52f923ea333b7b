//! The bundled DejaVu Sans (assets/fonts/, Bitstream Vera licence), registered once with
//! plotters' ab_glyph text renderer so pictures have text on machines without system fonts.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::{register_font, FontStyle};

use super::ReportError;

/// The family name every chart asks for.
pub(crate) const FAMILY: &str = "sans-serif";

/// DejaVu Sans Book.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The parsed font (for glyph metrics), registered with plotters under [`FAMILY`] the first time
/// it is asked for. Other styles (bold, italic) fall back to it.
pub(crate) fn face() -> Result<&'static FontRef<'static>, ReportError> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| {
        let face = FontRef::try_from_slice(DEJAVU_SANS).ok()?;
        register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).ok()?;
        Some(face)
    })
    .as_ref()
    .ok_or(ReportError::Font)
}
