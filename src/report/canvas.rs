//! One PNG picture, written atomically: plotters draws into a temporary `.png` in the target's
//! directory, which is renamed over the target only once it is complete.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::style::WHITE;

use super::{font, ReportError};

/// The whole picture, pixel coordinates from the top-left corner.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What drawing on an [`Area`] can fail with.
pub(crate) type DrawError =
    DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// Draws a `size` = (width, height) picture on a white background with `draw` and saves it as
/// the PNG `path` ([`crate::atomic::write`]), replacing any file there. On failure nothing is
/// left behind.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), DrawError>,
) -> Result<(), ReportError> {
    font::face()?;
    let (width, height) = size;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|error| ReportError::Draw {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .map_err(|error| ReportError::Draw {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
    crate::atomic::write(path, &png).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}
