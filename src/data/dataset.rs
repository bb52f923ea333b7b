//! Labelled image sets in host memory, the MNIST directory loader, and the index lists the
//! trainer works with (random subset, Keras validation split, seeded per-epoch shuffle).
//!
//! Index lists hold absolute sample indices as `u32`, the type the GPU gather kernel reads.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::idx::{images_from_bytes, labels_from_bytes, read_images, read_labels, IdxImages};
use super::DataError;

/// Number of classes (digits 0-9); every label is below this.
pub const NUM_CLASSES: usize = 10;

/// Images with one label each: `images` is `[len, rows, cols]` u8, row-major; `labels` is `[len]`.
///
/// Built by [`Dataset::from_idx`], which guarantees `images.len() == len * rows * cols` and every
/// label `< NUM_CLASSES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Pixels, `[len, rows, cols]`, one byte each (0 = background).
    pub images: Vec<u8>,
    /// Labels, `[len]`, each in `0..NUM_CLASSES`.
    pub labels: Vec<u8>,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
}

impl Dataset {
    /// Number of classes, same as [`NUM_CLASSES`].
    pub const CLASSES: usize = NUM_CLASSES;

    /// Pairs images with labels, checking that the counts agree and every label is a class.
    ///
    /// The paths are only used in error messages.
    pub fn from_idx(
        images: IdxImages,
        labels: Vec<u8>,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Dataset, DataError> {
        let expected = images
            .count
            .checked_mul(images.rows)
            .and_then(|n| n.checked_mul(images.cols));
        if expected != Some(images.pixels.len()) {
            return Err(DataError::PixelCountMismatch {
                path: images_path.to_path_buf(),
                count: images.count,
                rows: images.rows,
                cols: images.cols,
                expected: expected.unwrap_or(usize::MAX),
                actual: images.pixels.len(),
            });
        }
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images_path.to_path_buf(),
                images: images.count,
                labels_path: labels_path.to_path_buf(),
                labels: labels.len(),
            });
        }
        if let Some((index, &value)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= NUM_CLASSES)
        {
            return Err(DataError::LabelOutOfRange {
                path: labels_path.to_path_buf(),
                index,
                value,
            });
        }
        Ok(Dataset {
            images: images.pixels,
            labels,
            rows: images.rows,
            cols: images.cols,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image: `rows * cols`.
    pub fn sample_len(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of sample `i`, `[rows, cols]` row-major.
    ///
    /// # Panics
    /// If `i >= self.len()` (like slice indexing).
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.sample_len();
        &self.images[i * n..(i + 1) * n]
    }
}

/// The MNIST training and test sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistSplits {
    /// The 60,000 training samples (validation is split off later, from its end).
    pub train: Dataset,
    /// The 10,000 test samples.
    pub test: Dataset,
}

/// The four standard files, without their `.gz`: training images and labels, test images
/// and labels.
const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The data set shipped with the crate: `<crate>/assets/mnist`.
pub fn bundled_mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist")
}

/// Loads the four standard MNIST files from `dir`.
///
/// Each of `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte` is taken with a `.gz` suffix if that file exists, else without.
/// Training and test images must have the same size.
pub fn load_dir(dir: &Path) -> Result<MnistSplits, DataError> {
    if !dir.is_dir() {
        return Err(DataError::DirNotFound {
            dir: dir.to_path_buf(),
        });
    }
    let train_images = find_file(dir, FILE_NAMES[0])?;
    let train_labels = find_file(dir, FILE_NAMES[1])?;
    let test_images = find_file(dir, FILE_NAMES[2])?;
    let test_labels = find_file(dir, FILE_NAMES[3])?;

    let train = load_pair(&train_images, &train_labels)?;
    let test = load_pair(&test_images, &test_labels)?;
    let splits = MnistSplits::new(train, test, [&train_images, &test_images])?;
    let (train, test) = (&splits.train, &splits.test);
    log::info!(
        "loaded MNIST from {}: {} training and {} test images of {}x{}",
        dir.display(),
        train.len(),
        test.len(),
        train.rows,
        train.cols
    );
    Ok(splits)
}

/// The four standard MNIST files' bytes (published `.gz` or decompressed), in `load_dir`'s
/// order: training images and labels, then test images and labels; errors name each by its
/// standard file name. What a page that fetched them loads.
pub fn load_bytes(files: [&[u8]; 4]) -> Result<MnistSplits, DataError> {
    let [train_images, train_labels, test_images, test_labels] = files;
    let names = FILE_NAMES.map(|name| PathBuf::from(format!("{name}.gz")));
    let pair = |images: &[u8], labels: &[u8], [images_path, labels_path]: [&PathBuf; 2]| {
        let images = images_from_bytes(images, images_path)?;
        let labels = labels_from_bytes(labels, labels_path)?;
        Dataset::from_idx(images, labels, images_path, labels_path)
    };
    let train = pair(train_images, train_labels, [&names[0], &names[1]])?;
    let test = pair(test_images, test_labels, [&names[2], &names[3]])?;
    MnistSplits::new(train, test, [&names[0], &names[2]])
}

impl MnistSplits {
    /// The two sets, checked to have images of one size (`image_files`, training then test,
    /// name them in the error).
    pub fn new(train: Dataset, test: Dataset, image_files: [&Path; 2]) -> Result<Self, DataError> {
        if (train.rows, train.cols) != (test.rows, test.cols) {
            let [train_path, test_path] = image_files.map(Path::to_path_buf);
            return Err(DataError::ImageSizeMismatch {
                train_path,
                train_rows: train.rows,
                train_cols: train.cols,
                test_path,
                test_rows: test.rows,
                test_cols: test.cols,
            });
        }
        Ok(Self { train, test })
    }
}

/// `dir/name.gz` if it exists, else `dir/name` if it exists (whether each is a regular file is
/// for the reader to check and say).
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return Ok(gz);
    }
    let raw = dir.join(name);
    if raw.exists() {
        return Ok(raw);
    }
    Err(DataError::MissingInDir {
        dir: dir.to_path_buf(),
        name: name.to_string(),
    })
}

/// Reads an image file and a label file into one [`Dataset`].
fn load_pair(images_path: &Path, labels_path: &Path) -> Result<Dataset, DataError> {
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    Dataset::from_idx(images, labels, images_path, labels_path)
}

/// `n` distinct indices from `0..len`, chosen at random without replacement, in the random order
/// drawn (like numpy's `random.choice(len, n, replace=False)`). The same seed gives the same list.
///
/// Errors if `n == 0`, `n > len`, or `len` does not fit `u32` indices.
pub fn subsample(len: usize, n: usize, seed: u64) -> Result<Vec<u32>, DataError> {
    if n == 0 || n > len {
        return Err(DataError::SubsampleSize { n, len });
    }
    if u32::try_from(len - 1).is_err() {
        return Err(DataError::TooManySamples { len });
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // Every index is < len <= u32::MAX + 1, so the conversion cannot fail.
    Ok(rand::seq::index::sample(&mut rng, len, n)
        .into_iter()
        .map(|i| i as u32)
        .collect())
}

/// Keras `validation_split`: the last `fraction` of `indices` (in the given order, before any
/// shuffling) is validation, the rest training. Returns `(train, validation)`.
///
/// The training count is `floor(len * (1 - fraction))` as Keras computes it, except that a
/// product within rounding noise of an integer counts as that integer (so 60000 with 0.1 is
/// exactly 54000 / 6000). `fraction` must be in `[0, 1)` and leave at least one training sample.
pub fn split_validation(indices: &[u32], fraction: f64) -> Result<(Vec<u32>, Vec<u32>), DataError> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(DataError::ValidationFraction { fraction });
    }
    let len = indices.len();
    let exact = len as f64 * (1.0 - fraction);
    let nearest = exact.round();
    let train_count = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.floor()
    };
    // `train_count` lies in [0, len]; the `min` guards the float-to-int conversion anyway.
    let train_count = (train_count as usize).min(len);
    if train_count == 0 {
        return Err(DataError::EmptyTrainSplit { len, fraction });
    }
    let (train, val) = indices.split_at(train_count);
    Ok((train.to_vec(), val.to_vec()))
}

/// The training indices shuffled for one epoch. The RNG is seeded from `(seed, epoch)` alone,
/// so the same inputs give the same order and each epoch gets its own order.
pub fn epoch_order(train: &[u32], seed: u64, epoch: usize) -> Vec<u32> {
    // 32-byte ChaCha key: seed, epoch, and a tag that keeps these streams apart from
    // `StdRng::seed_from_u64` streams used elsewhere.
    let mut key = [0u8; 32];
    let parts = [seed, epoch as u64, u64::from_le_bytes(*b"epochord"), 0];
    for (chunk, part) in key.chunks_exact_mut(8).zip(parts) {
        chunk.copy_from_slice(&part.to_le_bytes());
    }
    let mut rng = StdRng::from_seed(key);
    let mut order = train.to_vec();
    order.shuffle(&mut rng);
    order
}

/// How many labels fall in each class; labels `>= NUM_CLASSES` are not counted.
pub fn class_counts(labels: &[u8]) -> [usize; NUM_CLASSES] {
    let mut counts = [0usize; NUM_CLASSES];
    for &label in labels {
        if let Some(count) = counts.get_mut(usize::from(label)) {
            *count += 1;
        }
    }
    counts
}
