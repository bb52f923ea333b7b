//! A hand-drawn digit in a PNG file → one image in the MNIST convention, for `predict`.
//!
//! MNIST digits are light ink (255) on a dark background (0); each was fitted into a 20×20 box
//! (aspect ratio kept) and placed in the 28×28 frame so that its centre of mass sits at the
//! centre. [`load_digit`] does the same to a drawing from any paint program:
//!
//! 1. decode the PNG (greyscale, grey+alpha, RGB or RGBA, 8 or 16 bit) to luminance in `[0, 1]`
//!    (Rec. 601 weights, as PIL and MNIST tooling use), compositing transparent pixels over the
//!    image's own background (`composite_background`);
//! 2. take the median of the border pixels as the background; if it is light, the drawing is
//!    dark on light and is inverted; then stretch so background → 0 and the strongest ink → 1;
//! 3. crop to the bounding box of the pixels at or above [`INK_THRESHOLD`] (plus a margin that
//!    keeps the anti-aliased edges), resize it area-like (`resample`) so that the box's longer
//!    side is 20/28 of the frame, and paste it so that its centre of mass lands at the frame's
//!    centre (pixel index `rows / 2`, `cols / 2`: 14 of 28, as in MNIST).
//!
//! Shapes: the decoded image is `[H, W]` (any size); the result is `[rows, cols]` u8, row-major.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, ImageError, ImageFormat, ImageReader, Limits, Luma};

use super::DataError;
use crate::input_file::{self, FileKind};

/// Least brightness difference (in `[0, 1]`) between the strongest ink and the background for an
/// image to count as holding a digit; below it the image is blank.
pub const MIN_CONTRAST: f32 = 0.1;

/// Ink level (after stretching to `[0, 1]`) at or above which a pixel belongs to the digit's
/// bounding box. Mid-grey, like the binary NIST strokes MNIST was made from.
pub const INK_THRESHOLD: f32 = 0.5;

/// Side of MNIST's digit box (20) over the side of its frame (28).
const BOX_FRACTION: f64 = 20.0 / 28.0;

/// Empty frame kept around the bounding box before resizing, in output pixels, so that the
/// anti-aliased edges of the strokes survive the crop.
const MARGIN_OUT: f64 = 2.0;

/// A one-channel float image, values in `[0, 1]`; `[H, W]` row-major.
type GreyF32 = ImageBuffer<Luma<f32>, Vec<f32>>;

/// Longest side, in pixels, of a PNG that [`load_digit`] decodes; a larger image is refused from
/// its header, before any pixel is decoded (so no small file can inflate into gigabytes).
/// Memory use while reading a digit is about 40 bytes a pixel: at most 640 MiB at this size.
pub const MAX_IMAGE_SIDE: u32 = 4096;

/// The most bytes the PNG decoder may allocate: a `MAX_IMAGE_SIDE`² image at 16-bit RGBA.
const MAX_DECODE_ALLOC: u64 = MAX_IMAGE_SIDE as u64 * MAX_IMAGE_SIDE as u64 * 8;

/// Reads a digit drawn in a PNG and returns `rows * cols` pixels in the MNIST convention:
/// `[rows, cols]` row-major u8, 0 = background, 255 = ink, the digit scaled into a box of
/// 20/28 of the frame and centred by its centre of mass.
///
/// Dark-on-light drawings are inverted; light-on-dark ones are kept. Transparent pixels count as
/// background. An image already in MNIST form (28×28, light on black, centred) comes back nearly
/// unchanged.
///
/// Errors: [`DataError::File`] if the path is not a regular, readable file of at most
/// [`FileKind::Png`]'s cap, else as [`digit_from_png`].
///
/// # Panics
/// If `rows` or `cols` is zero.
pub fn load_digit(path: &Path, rows: usize, cols: usize) -> Result<Vec<u8>, DataError> {
    let bytes = input_file::read(path, FileKind::Png)?;
    digit_from_png(&bytes, path, rows, cols)
}

/// [`load_digit`] on the bytes of a PNG file; `origin` names the file in errors.
///
/// Errors: [`DataError::ImageFormat`] if `bytes` are not a PNG that decodes,
/// [`DataError::ImageTooLarge`] if a side exceeds [`MAX_IMAGE_SIDE`], [`DataError::BlankImage`]
/// if no ink stands out from the background.
///
/// # Panics
/// If `rows` or `cols` is zero.
pub fn digit_from_png(
    bytes: &[u8],
    origin: &Path,
    rows: usize,
    cols: usize,
) -> Result<Vec<u8>, DataError> {
    assert!(
        rows > 0 && cols > 0,
        "load_digit: the target frame {rows}x{cols} has a zero side"
    );
    let image = decode_png(origin, bytes)?;
    let lum = luminance(&image); // [H, W]
    let ink = ink_map(&lum).map_err(|contrast| DataError::BlankImage {
        path: origin.to_path_buf(),
        contrast,
    })?; // [H, W], 0 = background, 1 = ink
    Ok(mnist_frame(&ink, rows, cols))
}

/// Decodes `bytes` as a PNG of at most [`MAX_IMAGE_SIDE`] a side, checked from its header before
/// decoding; anything else (unknown contents, another format, a damaged PNG) is an
/// [`DataError::ImageFormat`] naming `path`.
fn decode_png(path: &Path, bytes: &[u8]) -> Result<DynamicImage, DataError> {
    let format_error = |error: ImageError| DataError::ImageFormat {
        path: path.to_path_buf(),
        detail: error.to_string(),
    };
    let (width, height) = png_reader(path, bytes)?
        .into_dimensions()
        .map_err(format_error)?;
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(DataError::ImageTooLarge {
            path: path.to_path_buf(),
            width,
            height,
        });
    }
    let mut reader = png_reader(path, bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(format_error)
}

/// A reader of `bytes` that is known to hold a PNG (by its signature), else the
/// [`DataError::ImageFormat`] that says what it holds.
fn png_reader<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<ImageReader<Cursor<&'a [u8]>>, DataError> {
    let format_error = |detail: String| DataError::ImageFormat {
        path: path.to_path_buf(),
        detail,
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format_error(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Png) => Ok(reader),
        Some(other) => Err(format_error(format!(
            "it is a {other:?} image, and only PNG is supported"
        ))),
        None => Err(format_error(
            "its contents are not in any known image format".to_string(),
        )),
    }
}

/// Luminance of every pixel, `[H, W]` in `[0, 1]`, with partly transparent pixels composited
/// over [`composite_background`].
fn luminance(image: &DynamicImage) -> GreyF32 {
    let rgba = image.to_rgba32f(); // [H, W, 4], straight alpha, 8 and 16 bit both → [0, 1]
    let pixels: Vec<(f32, f32)> = rgba
        .pixels()
        .map(|p| {
            let [r, g, b, a] = p.0;
            (0.299 * r + 0.587 * g + 0.114 * b, a.clamp(0.0, 1.0))
        })
        .collect();
    let background = composite_background(&pixels);
    let values = pixels
        .iter()
        .map(|&(y, a)| (a * y + (1.0 - a) * background).clamp(0.0, 1.0))
        .collect();
    GreyF32::from_raw(rgba.width(), rgba.height(), values)
        .expect("one value per pixel of the decoded image")
}

/// The brightness that transparent pixels stand for, from `(luminance, alpha)` pairs.
///
/// When most pixels are opaque (alpha ≥ 0.5), the opaque ones are mostly canvas: transparent
/// holes take their median brightness. When most are transparent, the opaque pixels are the ink
/// and the transparent rest is the background: white behind dark ink, black behind light ink.
/// A fully transparent image is white (and so blank).
fn composite_background(pixels: &[(f32, f32)]) -> f32 {
    let mut opaque: Vec<f32> = pixels
        .iter()
        .filter(|&&(_, a)| a >= 0.5)
        .map(|&(y, _)| y)
        .collect();
    let Some(median_opaque) = median(&mut opaque) else {
        return 1.0;
    };
    if 2 * opaque.len() >= pixels.len() {
        median_opaque
    } else if median_opaque < 0.5 {
        1.0
    } else {
        0.0
    }
}

/// Turns luminance into MNIST polarity, `[H, W]`: 0 = background, 1 = the strongest ink.
///
/// The background is the median of the border pixels; a light background means dark ink, so the
/// image is inverted. Values are then stretched linearly so the background is 0 and the maximum
/// is 1 (clamped). Returns the contrast found as `Err` when it is below [`MIN_CONTRAST`].
fn ink_map(lum: &GreyF32) -> Result<GreyF32, f32> {
    let (w, h) = lum.dimensions();
    let mut border: Vec<f32> = lum
        .enumerate_pixels()
        .filter(|&(x, y, _)| x == 0 || y == 0 || x + 1 == w || y + 1 == h)
        .map(|(_, _, p)| p.0[0])
        .collect();
    let background = median(&mut border).unwrap_or(0.0);
    let invert = background > 0.5;
    let polarised = |v: f32| if invert { 1.0 - v } else { v };
    let floor = polarised(background);
    let peak = lum
        .pixels()
        .map(|p| polarised(p.0[0]))
        .fold(floor, f32::max);
    let contrast = peak - floor;
    if contrast < MIN_CONTRAST {
        return Err(contrast);
    }
    Ok(GreyF32::from_fn(w, h, |x, y| {
        let v = polarised(lum.get_pixel(x, y).0[0]);
        Luma([((v - floor) / contrast).clamp(0.0, 1.0)])
    }))
}

/// Fits the ink into the MNIST box and frame: crop to the bounding box of pixels ≥
/// [`INK_THRESHOLD`] (with a margin), resize so the box's longer side fills 20/28 of the frame,
/// stretch the result's peak back to 1, and paste so the centre of mass is at the frame's
/// centre. `ink` is `[H, W]` in `[0, 1]` and holds at least one pixel at 1; the result is
/// `[rows, cols]` u8.
fn mnist_frame(ink: &GreyF32, rows: usize, cols: usize) -> Vec<u8> {
    // Bounding box of the ink, inclusive, in source pixels.
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in ink.enumerate_pixels() {
        if p.0[0] >= INK_THRESHOLD {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    let box_w = f64::from(x1 - x0 + 1);
    let box_h = f64::from(y1 - y0 + 1);

    // One scale for both axes (aspect ratio kept): the longer side fills its share of the frame.
    let scale = (BOX_FRACTION * cols as f64 / box_w).min(BOX_FRACTION * rows as f64 / box_h);
    let margin = (MARGIN_OUT / scale).ceil().max(1.0) as u32; // source pixels on every side

    // The crop, padded with background where the margin runs past the image edge.
    let (w, h) = ink.dimensions();
    let crop_w = x1 - x0 + 1 + 2 * margin;
    let crop_h = y1 - y0 + 1 + 2 * margin;
    let crop = GreyF32::from_fn(crop_w, crop_h, |cx, cy| {
        let sx = i64::from(x0) + i64::from(cx) - i64::from(margin);
        let sy = i64::from(y0) + i64::from(cy) - i64::from(margin);
        if (0..i64::from(w)).contains(&sx) && (0..i64::from(h)).contains(&sy) {
            *ink.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([0.0])
        }
    });
    let out_w = ((f64::from(crop_w) * scale).round() as u32).max(1);
    let out_h = ((f64::from(crop_h) * scale).round() as u32).max(1);
    let mut patch = resample(&crop, out_w, out_h); // [out_h, out_w]

    // Shrinking averages a stroke thinner than an output pixel down to a faint grey; MNIST's
    // strokes always reach full strength, so stretch the patch's peak back to 1.
    let peak = patch.pixels().map(|p| p.0[0]).fold(0.0f32, f32::max);
    if peak > 0.0 {
        for p in patch.pixels_mut() {
            p.0[0] = (p.0[0] / peak).clamp(0.0, 1.0);
        }
    }

    // Centre of mass of the patch.
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, p) in patch.enumerate_pixels() {
        let v = f64::from(p.0[0]);
        mass += v;
        mx += v * f64::from(x);
        my += v * f64::from(y);
    }
    let (com_x, com_y) = if mass > 0.0 {
        (mx / mass, my / mass)
    } else {
        (f64::from(out_w - 1) / 2.0, f64::from(out_h - 1) / 2.0)
    };
    // Where the bounding box lies in the patch: the margin and the box, resized.
    let box_x = (
        f64::from(margin) * f64::from(out_w) / f64::from(crop_w),
        f64::from(margin + x1 - x0 + 1) * f64::from(out_w) / f64::from(crop_w),
    );
    let box_y = (
        f64::from(margin) * f64::from(out_h) / f64::from(crop_h),
        f64::from(margin + y1 - y0 + 1) * f64::from(out_h) / f64::from(crop_h),
    );
    let left = paste_offset(com_x, box_x, cols);
    let top = paste_offset(com_y, box_y, rows);

    let mut frame = vec![0u8; rows * cols]; // [rows, cols]
    for (x, y, p) in patch.enumerate_pixels() {
        let fx = left + i64::from(x);
        let fy = top + i64::from(y);
        if (0..cols as i64).contains(&fx) && (0..rows as i64).contains(&fy) {
            let v = (p.0[0] * 255.0).round() as u8;
            frame[fy as usize * cols + fx as usize] = v;
        }
    }
    frame
}

/// Resizes `image` to `width x height` as if each source pixel were a solid square of its value:
/// a tent (`Triangle`) filter, whose support widens with the ratio when shrinking, so every
/// source pixel is averaged in; when enlarging, the pixels are first repeated (`Nearest`) up to
/// at least the target size so that strokes keep flat, full-strength interiors instead of the
/// peaks of a bilinear ramp. A tent has no negative lobes, so, unlike Lanczos, it leaves no
/// ringing halo around the strokes.
fn resample(image: &GreyF32, width: u32, height: u32) -> GreyF32 {
    let (w, h) = image.dimensions();
    let repeat_x = width.div_ceil(w).max(1);
    let repeat_y = height.div_ceil(h).max(1);
    if repeat_x == 1 && repeat_y == 1 {
        return imageops::resize(image, width, height, FilterType::Triangle);
    }
    let blocky = imageops::resize(image, w * repeat_x, h * repeat_y, FilterType::Nearest);
    imageops::resize(&blocky, width, height, FilterType::Triangle)
}

/// Where a patch starts in a frame of `frame` pixels along one axis, given the patch's centre of
/// mass `com` and its ink box `(start, end)` (patch coordinates): the centre of mass goes to
/// pixel index `frame / 2` (14 of 28, where MNIST's digits have theirs: the test set's mean is
/// (14.01, 13.99)), rounded to a whole pixel, then moves just enough to keep the box in the
/// frame (MNIST's 20/28 box leaves room, so this only matters for very lopsided digits).
fn paste_offset(com: f64, (start, end): (f64, f64), frame: usize) -> i64 {
    let centred = (frame as f64 / 2.0 - com).round();
    let lowest = (-start).ceil();
    let highest = (frame as f64 - end).floor();
    let offset = if lowest <= highest {
        centred.clamp(lowest, highest)
    } else {
        centred
    };
    offset as i64
}

/// The median of `values` (the upper one for an even count), reordering them; `None` if empty.
fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*m)
}
