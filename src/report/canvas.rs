//! One PNG picture, written atomically: plotters draws into a temporary `.png` in the target's
//! directory, which is renamed over the target only once it is complete.

use std::path::Path;

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
/// the PNG `path`, replacing any file there. On failure nothing is left behind.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), DrawError>,
) -> Result<(), ReportError> {
    font::face()?;
    let write_error = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".png");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    // The suffix tells plotters' encoder to write PNG; dropping `temp` deletes the file.
    let temp = builder
        .tempfile_in(dir)
        .map_err(write_error)?
        .into_temp_path();
    {
        let root = BitMapBackend::new(&temp, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|error| ReportError::Draw {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
    }
    temp.persist(path).map_err(|error| write_error(error.error))
}
