//! A grid of greyscale digits with a caption under each, as the lecture shows the first training
//! images (`plt.imshow(image, cmap=plt.cm.binary)` with `plt.xlabel(label)`) and, later, the
//! mistakes ("label 7 → 2").

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{self, Area, DrawError};
use super::text::{self, Style};
use super::ReportError;

/// Each image pixel becomes a `SCALE`×`SCALE` square.
const SCALE: usize = 4;
/// The narrowest slot, so captions fit under small images.
const MIN_SLOT: usize = 110;
/// Height of the caption strip under each image.
const CAPTION: usize = 28;
/// Caption size in pixels.
const CAPTION_SIZE: f64 = 16.0;
/// Space between slots.
const GAP: usize = 14;
/// Space around the grid.
const MARGIN: usize = 14;
/// The largest picture side drawn, in pixels.
const MAX_SIDE: usize = 16_384;

/// How the images are laid out, in pixels.
struct Layout {
    /// Image height in source pixels.
    rows: usize,
    /// Image width in source pixels.
    cols: usize,
    /// Images per grid row.
    per_row: usize,
    /// Width of one slot (an image and its caption).
    slot: usize,
}

impl Layout {
    /// Top-left corner of image `i` (its slot is centred on the image).
    fn origin(&self, i: usize) -> (usize, usize) {
        let (row, col) = (i / self.per_row, i % self.per_row);
        let x = MARGIN + col * (self.slot + GAP) + (self.slot - self.cols * SCALE) / 2;
        let y = MARGIN + row * (self.rows * SCALE + CAPTION + GAP);
        (x, y)
    }

    /// (width, height) of the whole picture holding `n` images.
    fn size(&self, n: usize) -> (usize, usize) {
        let grid_rows = n.div_ceil(self.per_row);
        let width = 2 * MARGIN + self.per_row * self.slot + (self.per_row - 1) * GAP;
        let height = 2 * MARGIN + grid_rows * (self.rows * SCALE + CAPTION) + (grid_rows - 1) * GAP;
        (width, height)
    }
}

/// Saves `images` (each `rows`×`cols` bytes, row-major, 0 = background) as the PNG `path`: a grid
/// of `per_row` images a row, each scaled up 4× in the `binary` colour map (0 white, 255 black)
/// inside a thin frame, with `captions[i]` centred under image `i`; no axes.
pub fn png(
    path: &Path,
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    captions: &[String],
    per_row: usize,
) -> Result<(), ReportError> {
    let problem = check(images, rows, cols, captions, per_row);
    let layout = Layout {
        rows,
        cols,
        per_row: per_row.min(images.len()).max(1),
        slot: (cols * SCALE).max(MIN_SLOT),
    };
    let (width, height) = layout.size(images.len().max(1));
    let problem = problem.or_else(|| {
        (width.max(height) > MAX_SIDE).then(|| {
            format!(
                "a grid of {} images of {rows}×{cols} would be {width}×{height} pixels, more than \
                 {MAX_SIDE}; pass fewer images or change per_row",
                images.len()
            )
        })
    });
    if let Some(problem) = problem {
        return Err(ReportError::Input {
            path: path.to_owned(),
            problem,
        });
    }
    canvas::render(path, (width as u32, height as u32), |root| {
        draw(root, &layout, images, captions)
    })
}

/// What is wrong with the arguments, if anything.
fn check(
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    captions: &[String],
    per_row: usize,
) -> Option<String> {
    if images.is_empty() {
        return Some("there are no images to draw; pass at least one".into());
    }
    if rows == 0 || cols == 0 || per_row == 0 {
        return Some(format!(
            "rows ({rows}), cols ({cols}) and per_row ({per_row}) must all be at least 1"
        ));
    }
    if captions.len() != images.len() {
        return Some(format!(
            "there are {} images but {} captions; pass one caption per image",
            images.len(),
            captions.len()
        ));
    }
    let bad = images.iter().position(|image| image.len() != rows * cols)?;
    Some(format!(
        "image {bad} has {} bytes but {rows}×{cols} images need {}",
        images[bad].len(),
        rows * cols
    ))
}

/// Draws every image, its frame and its caption on `root`.
fn draw(
    root: &Area,
    layout: &Layout,
    images: &[&[u8]],
    captions: &[String],
) -> Result<(), DrawError> {
    let caption_style = Style::centered(CAPTION_SIZE).anchored(HPos::Center, VPos::Top);
    let at = |x: usize, y: usize| (x as i32, y as i32);
    for (i, (image, caption)) in images.iter().zip(captions).enumerate() {
        let (x0, y0) = layout.origin(i);
        for (p, &value) in image.iter().enumerate() {
            if value == 0 {
                continue; // the background is already white
            }
            let grey = 255 - value;
            // A filled rectangle covers its top-left corner but not its bottom-right one.
            let (x, y) = (
                x0 + (p % layout.cols) * SCALE,
                y0 + (p / layout.cols) * SCALE,
            );
            root.draw(&Rectangle::new(
                [at(x, y), at(x + SCALE, y + SCALE)],
                RGBColor(grey, grey, grey).filled(),
            ))?;
        }
        let (w, h) = (layout.cols * SCALE, layout.rows * SCALE);
        root.draw(&Rectangle::new(
            [at(x0 - 1, y0 - 1), at(x0 + w, y0 + h)],
            BLACK.stroke_width(1),
        ))?;
        let caption = text::fit(caption, CAPTION_SIZE, layout.slot as f64);
        text::draw(root, &caption, at(x0 + w / 2, y0 + h + 6), caption_style)?;
    }
    Ok(())
}
