//! The data layer: MNIST IDX files on disk → [`Dataset`]s in host memory → lists of sample
//! indices for the trainer.
//!
//! - [`idx`] reads one IDX file (gzip or raw, detected by its magic bytes) and checks its header,
//!   size and trailing bytes.
//! - [`dataset`] pairs images with labels ([`Dataset`]), loads the four standard files of a
//!   directory ([`load_dir`]), and builds the index lists the trainer works with: a random subset
//!   ([`subsample`]), the Keras `validation_split` tail ([`split_validation`]) and a seeded
//!   per-epoch shuffle ([`epoch_order`]).
//!
//! Pixels stay `u8` here (`[N, rows, cols]`, row-major); normalising to `f32` happens on the GPU.
//! Every failure a file or a user can cause is a [`DataError`] that names the file (or the bad
//! number) and says what to do.

pub mod dataset;
pub mod idx;
pub mod image_input;
pub mod names;
pub mod stream;

use std::path::PathBuf;

use crate::input_file::InputFileError;

pub use dataset::{
    bundled_mnist_dir, class_counts, epoch_order, load_bytes, load_dir, split_validation,
    subsample, Dataset, MnistSplits, NUM_CLASSES,
};
pub use idx::{images_from_bytes, labels_from_bytes, read_images, read_labels, IdxImages};
pub use image_input::{digit_from_png, load_digit};
pub use names::{describe, DataNames};

/// Hint appended to file errors: where the data set must come from.
const DATA_HINT: &str = "pass --data DIR with the four MNIST IDX files \
(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
t10k-labels-idx1-ubyte, each gzipped (.gz) or raw), or leave --data out to use the bundled \
assets/mnist";

/// Everything that can go wrong while reading or splitting a data set.
///
/// Each variant names the file (or the offending number) and ends with a hint.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data directory does not exist or is not a directory.
    #[error("{}: data directory not found (or not a directory); {DATA_HINT}", .dir.display())]
    DirNotFound {
        /// The directory that was asked for.
        dir: PathBuf,
    },

    /// A file given by path is missing, not a regular file, or too large to be data.
    #[error(transparent)]
    File(#[from] InputFileError),

    /// A data directory's `classes.txt` is not one name per class.
    #[error(
        "{}{}: {problem}",
        .path.display(),
        .line.map_or(String::new(), |l| format!(", line {l}"))
    )]
    ClassNames {
        /// The `classes.txt` file.
        path: PathBuf,
        /// The line at fault, from 1, when one is.
        line: Option<usize>,
        /// What is wrong, and what to do.
        problem: String,
    },

    /// One of the four standard files is in the directory neither gzipped nor raw.
    #[error(
        "{}: neither {name}.gz nor {name} found in this directory; {DATA_HINT}",
        .dir.display()
    )]
    MissingInDir {
        /// The data directory.
        dir: PathBuf,
        /// The standard file name without `.gz`, e.g. `train-images-idx3-ubyte`.
        name: String,
    },

    /// The file exists but could not be read (permissions, I/O error, ...).
    #[error("{}: could not read: {source}; check that the file is readable", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The file starts like gzip (0x1f 0x8b) but does not decompress.
    #[error(
        "{}: corrupt gzip data: {source}; the download is damaged: fetch the file again \
         (or store it uncompressed)",
        .path.display()
    )]
    CorruptGzip {
        /// The gzip file.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },

    /// The (decompressed) file is shorter than its IDX header.
    #[error(
        "{}: IDX header too short: expected {expected} bytes, the file holds only {actual}; \
         is this an IDX file? {DATA_HINT}",
        .path.display()
    )]
    HeaderTooShort {
        /// The file.
        path: PathBuf,
        /// Header length in bytes (magic + dimensions).
        expected: usize,
        /// Bytes actually present.
        actual: usize,
    },

    /// The big-endian magic number is not the one for this kind of file.
    #[error(
        "{}: wrong magic number {found:#010x}, expected {expected:#010x} (an IDX {kind} file); \
         is this {kind_article} {kind} file? {DATA_HINT}",
        .path.display(),
        kind_article = article(.kind)
    )]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number required.
        expected: u32,
        /// `"image"` or `"label"`.
        kind: &'static str,
    },

    /// An image file declares zero rows or zero columns.
    #[error(
        "{}: image size {rows}x{cols} has a zero dimension; the header is damaged: {DATA_HINT}",
        .path.display()
    )]
    ZeroDimension {
        /// The image file.
        path: PathBuf,
        /// Rows declared in the header.
        rows: u32,
        /// Columns declared in the header.
        cols: u32,
    },

    /// The header claims more data than this reader accepts ([`idx::MAX_BODY_BYTES`]).
    #[error(
        "{}: header declares {dims} = {bytes} bytes of data, more than gpu-cnn's limit of \
         {max} bytes (1 GiB) for one IDX file; the header is damaged or this is not MNIST-sized \
         data",
        .path.display(),
        max = idx::MAX_BODY_BYTES
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The declared dimensions, e.g. `"4000000000x28x28"`.
        dims: String,
        /// Declared body size (saturating).
        bytes: u64,
    },

    /// The body ends before the size the header declares.
    #[error(
        "{}: truncated: the header ({dims}) declares {expected} data bytes after the header, \
         but only {actual} are present; the file is cut short: fetch it again",
        .path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The declared dimensions, e.g. `"60000x28x28"`.
        dims: String,
        /// Data bytes the header declares.
        expected: usize,
        /// Data bytes present.
        actual: usize,
    },

    /// Bytes follow the body that the header declares.
    #[error(
        "{}: {}{extra} unexpected trailing bytes after the {expected} data bytes the header \
         ({dims}) declares; the header and the data disagree: fetch the file again",
        .path.display(),
        at_least_prefix(.at_least)
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The declared dimensions.
        dims: String,
        /// Data bytes the header declares.
        expected: usize,
        /// Extra bytes found (counted up to a limit).
        extra: u64,
        /// True when counting stopped at the limit, so there are more.
        at_least: bool,
    },

    /// An [`IdxImages`] whose pixel buffer does not match its dimensions.
    #[error(
        "{}: pixel buffer holds {actual} bytes but {count}x{rows}x{cols} images need {expected}; \
         build IdxImages with read_images",
        .path.display()
    )]
    PixelCountMismatch {
        /// The image file the images came from.
        path: PathBuf,
        /// Declared image count.
        count: usize,
        /// Declared rows.
        rows: usize,
        /// Declared columns.
        cols: usize,
        /// count * rows * cols.
        expected: usize,
        /// Bytes in the buffer.
        actual: usize,
    },

    /// Image and label files hold different numbers of samples.
    #[error(
        "{}: {images} images, but {}: {labels} labels; the two files must belong to the same \
         split: {DATA_HINT}",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },

    /// A label is not a digit class 0..=9.
    #[error(
        "{}: label {value} at index {index} is out of range (classes are 0..={max}); \
         the file is damaged or not MNIST: {DATA_HINT}",
        .path.display(),
        max = dataset::NUM_CLASSES - 1
    )]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// Sample index of the bad label.
        index: usize,
        /// The bad label.
        value: u8,
    },

    /// Training and test images have different sizes.
    #[error(
        "{}: images are {train_rows}x{train_cols}, but {}: images are {test_rows}x{test_cols}; \
         training and test images must have the same size: {DATA_HINT}",
        .train_path.display(),
        .test_path.display()
    )]
    ImageSizeMismatch {
        /// The training image file.
        train_path: PathBuf,
        /// Training image rows.
        train_rows: usize,
        /// Training image columns.
        train_cols: usize,
        /// The test image file.
        test_path: PathBuf,
        /// Test image rows.
        test_rows: usize,
        /// Test image columns.
        test_cols: usize,
    },

    /// A subsample size that is zero or larger than the data set.
    #[error(
        "cannot take a subsample of {n} from a data set of {len} samples; \
         choose a size between 1 and {len}"
    )]
    SubsampleSize {
        /// Requested subsample size.
        n: usize,
        /// Data set size.
        len: usize,
    },

    /// A data set too large to index with `u32`.
    #[error(
        "a data set of {len} samples cannot be indexed with u32 (at most {} samples)",
        u64::from(u32::MAX) + 1
    )]
    TooManySamples {
        /// Data set size.
        len: usize,
    },

    /// A validation fraction outside `[0, 1)`.
    #[error("validation fraction {fraction} is not in [0, 1); use e.g. 0.1 for the last 10%")]
    ValidationFraction {
        /// The fraction given.
        fraction: f64,
    },

    /// A validation split that leaves no training samples.
    #[error(
        "validation fraction {fraction} of {len} samples leaves no training samples; \
         use a smaller fraction or more samples"
    )]
    EmptyTrainSplit {
        /// Number of samples split.
        len: usize,
        /// The fraction given.
        fraction: f64,
    },

    /// A digit image file that is not a PNG this reader can decode.
    #[error(
        "{}: not a readable PNG image: {detail}; save the drawing as a PNG (greyscale, RGB or \
         RGBA, 8 or 16 bit) and pass that file",
        .path.display()
    )]
    ImageFormat {
        /// The image file.
        path: PathBuf,
        /// What is wrong: unknown contents, another format, or the decoder's error.
        detail: String,
    },

    /// A digit image whose header declares more pixels a side than gpu-cnn decodes.
    #[error(
        "{}: the image is {width}x{height} pixels, larger than gpu-cnn reads (at most {max} \
         pixels a side); scale the drawing down and save it again",
        .path.display(),
        max = image_input::MAX_IMAGE_SIDE
    )]
    ImageTooLarge {
        /// The image file.
        path: PathBuf,
        /// Width its header declares.
        width: u32,
        /// Height its header declares.
        height: u32,
    },

    /// A digit image with no ink on it: one flat colour, or too little contrast to find a digit.
    #[error(
        "{}: the image is blank: no ink stands out from the background (contrast {contrast:.3}, \
         at least {min} needed); draw a digit on it, dark on light or light on dark, and save \
         it again",
        .path.display(),
        min = image_input::MIN_CONTRAST
    )]
    BlankImage {
        /// The image file.
        path: PathBuf,
        /// Brightness difference between the ink and the background, in `[0, 1]`.
        contrast: f32,
    },
}

/// "an" before "image", "a" before "label".
fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "at least " when a count stopped at its limit.
fn at_least_prefix(at_least: &bool) -> &'static str {
    if *at_least {
        "at least "
    } else {
        ""
    }
}
