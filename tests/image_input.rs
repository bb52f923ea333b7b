//! `load_digit`: PNGs drawn like a paint program would (any polarity, channel layout, bit depth,
//! size) come back in the MNIST convention; bad files give errors naming the file.

use std::path::{Path, PathBuf};

use gpu_cnn::data::{bundled_mnist_dir, load_digit, load_dir, DataError, Dataset};
use gpu_cnn::input_file::InputFileError;
use image::{GrayImage, ImageBuffer, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage};
use tempfile::TempDir;

/// Canvas of the drawn test digit: wider than tall, like a paint program's default.
const CANVAS_W: u32 = 300;
const CANVAS_H: u32 = 200;

/// Ink coverage in `[0, 1]` of a thick "7" drawn off-centre on the 300×200 canvas: a bar along
/// the top and a diagonal down to the bottom left, 18 px thick, inside x 40..=125, y 25..=175.
/// Edges are anti-aliased by 4×4 supersampling.
fn seven(x: u32, y: u32) -> f32 {
    let mut hits = 0;
    for sy in 0..4 {
        for sx in 0..4 {
            let px = f64::from(x) + (f64::from(sx) + 0.5) / 4.0;
            let py = f64::from(y) + (f64::from(sy) + 0.5) / 4.0;
            let bar = segment_distance((px, py), (49.0, 34.0), (116.0, 34.0));
            let stem = segment_distance((px, py), (116.0, 34.0), (66.0, 166.0));
            if bar.min(stem) <= 9.0 {
                hits += 1;
            }
        }
    }
    hits as f32 / 16.0
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// Mixes `paper` and `ink` by coverage `c`, rounded to u8.
fn mix8(paper: u8, ink: u8, c: f32) -> u8 {
    (f32::from(paper) + (f32::from(ink) - f32::from(paper)) * c).round() as u8
}

/// Saves `image` as `dir/name` and returns the path.
fn save<P, C>(dir: &TempDir, name: &str, image: &ImageBuffer<P, C>) -> PathBuf
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    let path = dir.path().join(name);
    if let Err(e) = image.save(&path) {
        panic!("saving {}: {e}", path.display());
    }
    path
}

/// `load_digit` into 28×28 or panic with the error.
fn load28(path: &Path) -> Vec<u8> {
    load_into(path, 28, 28)
}

/// `load_digit` into `rows x cols` or panic with the error.
fn load_into(path: &Path, rows: usize, cols: usize) -> Vec<u8> {
    match load_digit(path, rows, cols) {
        Ok(pixels) => {
            assert_eq!(pixels.len(), rows * cols, "{}", path.display());
            pixels
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// The black "7" on a white 300×200 RGB canvas.
fn black_on_white_rgb() -> RgbImage {
    RgbImage::from_fn(CANVAS_W, CANVAS_H, |x, y| {
        let v = mix8(255, 0, seven(x, y));
        Rgb([v, v, v])
    })
}

/// Centre of mass `(x, y)` of a `[rows, cols]` image.
fn centre_of_mass(pixels: &[u8], rows: usize, cols: usize) -> (f64, f64) {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for r in 0..rows {
        for c in 0..cols {
            let v = f64::from(pixels[r * cols + c]);
            m += v;
            mx += v * c as f64;
            my += v * r as f64;
        }
    }
    assert!(m > 0.0, "image has no ink");
    (mx / m, my / m)
}

/// Bounding box `(width, height)` of the pixels >= 128 in a `[rows, cols]` image.
fn ink_box(pixels: &[u8], rows: usize, cols: usize) -> (usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for r in 0..rows {
        for c in 0..cols {
            if pixels[r * cols + c] >= 128 {
                (x0, y0, x1, y1) = (x0.min(c), y0.min(r), x1.max(c), y1.max(r));
            }
        }
    }
    assert!(x0 <= x1, "image has no pixel >= 128");
    (x1 - x0 + 1, y1 - y0 + 1)
}

/// Mean absolute difference of two equally long images, in grey levels.
fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    total as f64 / a.len() as f64
}

/// The checks every 28×28 result of the drawn "7" must pass: dark background, full-strength ink,
/// centred by mass at (14, 14) like MNIST, longer side of the ink box ≈ 20 (the "7" is taller
/// than wide).
fn assert_mnist_like_seven(pixels: &[u8], what: &str) {
    let (cx, cy) = centre_of_mass(pixels, 28, 28);
    assert!(
        (cx - 14.0).abs() <= 1.5 && (cy - 14.0).abs() <= 1.5,
        "{what}: centre of mass ({cx:.2}, {cy:.2}) is not within 1.5 px of (14, 14)"
    );
    let (w, h) = ink_box(pixels, 28, 28);
    assert!(
        (19..=21).contains(&h) && w < h,
        "{what}: ink box {w}x{h}, expected height ~20 and narrower than tall"
    );
    let max = *pixels.iter().max().unwrap_or(&0);
    assert!(max >= 250, "{what}: strongest ink {max}, expected ~255");
    // Background: the corners are empty, nothing but a faint anti-aliased fringe reaches the
    // outer ring (centring the lopsided "7" by mass pushes its foot down; about 1% of MNIST
    // digits touch the ring too), and most pixels are exactly 0.
    for r in 0..28 {
        for c in 0..28 {
            let v = pixels[r * 28 + c];
            let corner = !(4..24).contains(&r) && !(4..24).contains(&c);
            let ring = r == 0 || c == 0 || r == 27 || c == 27;
            assert!(
                !(corner && v > 0 || ring && v >= 64),
                "{what}: pixel (row {r}, col {c}) = {v}, expected background"
            );
        }
    }
    let zero = pixels.iter().filter(|&&v| v == 0).count();
    assert!(
        zero >= 28 * 28 * 6 / 10,
        "{what}: only {zero} of 784 pixels are background (0)"
    );
    let strong = pixels.iter().filter(|&&v| v >= 200).count();
    assert!(
        (40..=300).contains(&strong),
        "{what}: {strong} pixels >= 200, expected a stroke's worth"
    );
}

#[test]
fn load_digit_black_on_white_rgb_is_inverted_cropped_scaled_and_centred() {
    let dir = TempDir::new().unwrap();
    let path = save(&dir, "digit.png", &black_on_white_rgb());
    let pixels = load28(&path);
    assert_mnist_like_seven(&pixels, "black on white RGB");
}

#[test]
fn load_digit_white_on_black_grey_matches_black_on_white_rgb() {
    let dir = TempDir::new().unwrap();
    let reference = load28(&save(&dir, "rgb.png", &black_on_white_rgb()));
    let grey = GrayImage::from_fn(CANVAS_W, CANVAS_H, |x, y| Luma([mix8(0, 255, seven(x, y))]));
    let pixels = load28(&save(&dir, "grey.png", &grey));
    assert_mnist_like_seven(&pixels, "white on black grey");
    let diff = mean_abs_diff(&pixels, &reference);
    assert!(
        diff < 2.0,
        "mean |difference| {diff:.3} from the RGB drawing"
    );
}

#[test]
fn load_digit_dark_ink_on_transparent_rgba_matches_black_on_white() {
    let dir = TempDir::new().unwrap();
    let reference = load28(&save(&dir, "rgb.png", &black_on_white_rgb()));
    // Transparent pixels are black with alpha 0, as most paint programs store them; the ink is
    // dark blue with anti-aliased alpha.
    let rgba = RgbaImage::from_fn(CANVAS_W, CANVAS_H, |x, y| {
        let alpha = mix8(0, 255, seven(x, y));
        Rgba([0, 0, if alpha == 0 { 0 } else { 40 }, alpha])
    });
    let pixels = load28(&save(&dir, "rgba.png", &rgba));
    assert_mnist_like_seven(&pixels, "dark ink on transparent RGBA");
    let diff = mean_abs_diff(&pixels, &reference);
    assert!(
        diff < 5.0,
        "mean |difference| {diff:.3} from the RGB drawing"
    );
}

#[test]
fn load_digit_light_ink_on_transparent_grey_alpha_matches_black_on_white() {
    let dir = TempDir::new().unwrap();
    let reference = load28(&save(&dir, "rgb.png", &black_on_white_rgb()));
    let grey_alpha = ImageBuffer::<LumaA<u8>, Vec<u8>>::from_fn(CANVAS_W, CANVAS_H, |x, y| {
        LumaA([255, mix8(0, 255, seven(x, y))])
    });
    let pixels = load28(&save(&dir, "grey_alpha.png", &grey_alpha));
    assert_mnist_like_seven(&pixels, "light ink on transparent grey+alpha");
    let diff = mean_abs_diff(&pixels, &reference);
    assert!(
        diff < 2.0,
        "mean |difference| {diff:.3} from the RGB drawing"
    );
}

#[test]
fn load_digit_opaque_canvas_with_transparent_holes_keeps_holes_as_background() {
    // White canvas, black ink, and a fully transparent (black, alpha 0) band on the left: the
    // band is canvas, not ink.
    let dir = TempDir::new().unwrap();
    let reference = load28(&save(&dir, "rgb.png", &black_on_white_rgb()));
    let rgba = RgbaImage::from_fn(CANVAS_W, CANVAS_H, |x, y| {
        if x < 30 {
            Rgba([0, 0, 0, 0])
        } else {
            let v = mix8(255, 0, seven(x, y));
            Rgba([v, v, v, 255])
        }
    });
    let pixels = load28(&save(&dir, "holes.png", &rgba));
    let diff = mean_abs_diff(&pixels, &reference);
    assert!(
        diff < 1.0,
        "mean |difference| {diff:.3} from the RGB drawing"
    );
}

#[test]
fn load_digit_reads_16_bit_grey_on_grey_paper() {
    // 16-bit greyscale, dark grey ink on light grey paper: contrast is stretched to 0..255.
    let dir = TempDir::new().unwrap();
    let reference = load28(&save(&dir, "rgb.png", &black_on_white_rgb()));
    let grey16 = ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(CANVAS_W, CANVAS_H, |x, y| {
        let c = seven(x, y);
        Luma([(52_000.0 - 44_000.0 * c).round() as u16])
    });
    let pixels = load28(&save(&dir, "grey16.png", &grey16));
    assert_mnist_like_seven(&pixels, "16-bit grey on grey paper");
    let diff = mean_abs_diff(&pixels, &reference);
    assert!(
        diff < 2.0,
        "mean |difference| {diff:.3} from the RGB drawing"
    );
}

#[test]
fn load_digit_upscales_a_tiny_5x5_image() {
    // A "1": one black column, rows 1..=3, on white.
    let dir = TempDir::new().unwrap();
    let tiny = GrayImage::from_fn(5, 5, |x, y| {
        Luma([if x == 2 && (1..=3).contains(&y) {
            0
        } else {
            255
        }])
    });
    let pixels = load28(&save(&dir, "tiny.png", &tiny));
    let (w, h) = ink_box(&pixels, 28, 28);
    assert!((19..=21).contains(&h) && w <= 10, "ink box {w}x{h}");
    let (cx, cy) = centre_of_mass(&pixels, 28, 28);
    assert!(
        (cx - 14.0).abs() <= 1.5 && (cy - 14.0).abs() <= 1.5,
        "centre of mass ({cx:.2}, {cy:.2})"
    );
    assert!(pixels.iter().max() >= Some(&250));
    assert_eq!(pixels[0], 0, "corner must be background");
}

#[test]
fn load_digit_keeps_a_thin_stroke_on_a_large_canvas_at_full_strength() {
    // A "0" drawn with a 3 px pen on a 1201x899 canvas: shrinking 25-fold averages the stroke to
    // a faint grey, which is stretched back so the ink peaks at 255 like MNIST's.
    let dir = TempDir::new().unwrap();
    let canvas = GrayImage::from_fn(1201, 899, |x, y| {
        let dx = (f64::from(x) - 700.0) / 150.0;
        let dy = (f64::from(y) - 400.0) / 250.0;
        let on_ring = ((dx * dx + dy * dy).sqrt() - 1.0).abs() * 200.0 < 1.5;
        Luma([if on_ring { 0 } else { 255 }])
    });
    let pixels = load28(&save(&dir, "thin.png", &canvas));
    assert!(
        pixels.iter().max() >= Some(&250),
        "the stroke must reach ~255"
    );
    let (w, h) = ink_box(&pixels, 28, 28);
    assert!((19..=21).contains(&h) && w < h, "ink box {w}x{h}");
    assert_eq!(
        pixels[14 * 28 + 14],
        0,
        "the hole of the 0 stays background"
    );
}

#[test]
fn load_digit_scales_the_box_with_an_odd_non_square_frame() {
    // 21 rows x 17 cols: the box is 20/28 of each side (15.0 x 12.1); the tall "7" is limited by
    // the rows, so its height is ~15. The centre of mass goes to (cols / 2, rows / 2).
    let dir = TempDir::new().unwrap();
    let path = save(&dir, "digit.png", &black_on_white_rgb());
    let (rows, cols) = (21, 17);
    let pixels = load_into(&path, rows, cols);
    let (w, h) = ink_box(&pixels, rows, cols);
    assert!((14..=16).contains(&h) && w < h, "ink box {w}x{h}");
    let (cx, cy) = centre_of_mass(&pixels, rows, cols);
    assert!(
        (cx - 8.5).abs() <= 1.5 && (cy - 10.5).abs() <= 1.5,
        "centre of mass ({cx:.2}, {cy:.2}), frame centre (8.5, 10.5)"
    );
}

/// MNIST test image `i` written as an 8-bit greyscale PNG and read back with `load_digit`.
fn mnist_round_trip(dir: &TempDir, test: &Dataset, i: usize) -> Vec<u8> {
    let png = GrayImage::from_raw(test.cols as u32, test.rows as u32, test.image(i).to_vec())
        .expect("one byte per pixel");
    load_into(
        &save(dir, &format!("mnist{i}.png"), &png),
        test.rows,
        test.cols,
    )
}

#[test]
fn load_digit_round_trips_mnist_test_images() {
    let splits = match load_dir(&bundled_mnist_dir()) {
        Ok(s) => s,
        Err(e) => panic!("bundled MNIST must load: {e}"),
    };
    let test = &splits.test;
    let dir = TempDir::new().unwrap();

    // Image 0 (a 7) is already MNIST-normalised: it must come back nearly unchanged.
    assert_eq!(test.labels[0], 7, "MNIST test image 0 is a 7");
    let diff0 = mean_abs_diff(&mnist_round_trip(&dir, test, 0), test.image(0));
    // And so must the next 99, on average.
    let mean_diff = (0..100)
        .map(|i| mean_abs_diff(&mnist_round_trip(&dir, test, i), test.image(i)))
        .sum::<f64>()
        / 100.0;
    eprintln!(
        "MNIST round trip: image 0 mean |difference| {diff0:.2}, images 0..100 {mean_diff:.2} \
         (of 255)"
    );
    assert!(diff0 < 5.0, "image 0: mean |difference| {diff0:.2} of 255");
    assert!(
        mean_diff < 5.0,
        "images 0..100: mean |difference| {mean_diff:.2} of 255"
    );
}

/// `load_digit`'s error for `path`, panicking if it succeeds.
fn load_error(path: &Path) -> DataError {
    match load_digit(path, 28, 28) {
        Ok(_) => panic!("{} must not load", path.display()),
        Err(e) => e,
    }
}

#[test]
fn load_digit_rejects_a_text_file_named_png() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("digit.png");
    std::fs::write(&path, "this is not a picture of a digit\n").unwrap();
    let err = load_error(&path);
    let msg = err.to_string();
    assert!(matches!(err, DataError::ImageFormat { .. }), "{err:?}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not in any known image format"), "{msg}");
    assert!(msg.contains("save the drawing as a PNG"), "{msg}");
}

#[test]
fn load_digit_rejects_a_jpeg_and_a_truncated_png() {
    let dir = TempDir::new().unwrap();
    let jpeg = dir.path().join("photo.png");
    std::fs::write(
        &jpeg,
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0],
    )
    .unwrap();
    let msg = load_error(&jpeg).to_string();
    assert!(msg.contains("only PNG is supported"), "{msg}");
    assert!(msg.contains(&jpeg.display().to_string()), "{msg}");

    let whole = save(&dir, "whole.png", &black_on_white_rgb());
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_error(&cut);
    let msg = err.to_string();
    assert!(matches!(err, DataError::ImageFormat { .. }), "{err:?}");
    assert!(msg.contains(&cut.display().to_string()), "{msg}");
}

#[test]
fn load_digit_rejects_a_missing_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("no_such_digit.png");
    let err = load_error(&path);
    let msg = err.to_string();
    assert!(
        matches!(err, DataError::File(InputFileError::NotFound { .. })),
        "{err:?}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("check the path"), "{msg}");
}

#[test]
fn load_digit_rejects_blank_images() {
    let dir = TempDir::new().unwrap();
    let white = save(
        &dir,
        "white.png",
        &RgbImage::from_pixel(64, 48, Rgb([255, 255, 255])),
    );
    let faint = save(
        &dir,
        "faint.png",
        &GrayImage::from_fn(64, 48, |x, y| {
            Luma([if (x + y) % 7 == 0 { 250 } else { 255 }])
        }),
    );
    let clear = save(
        &dir,
        "clear.png",
        &RgbaImage::from_pixel(30, 30, Rgba([0, 0, 0, 0])),
    );
    for path in [white, faint, clear] {
        let err = load_error(&path);
        let msg = err.to_string();
        assert!(matches!(err, DataError::BlankImage { .. }), "{err:?}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("blank") && msg.contains("draw a digit"),
            "{msg}"
        );
    }
}
