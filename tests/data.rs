//! The data layer: the bundled MNIST set, every bad-file error, and the index-list helpers.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use gpu_cnn::data::{
    bundled_mnist_dir, class_counts, epoch_order, load_bytes, load_dir, read_images, read_labels,
    split_validation, subsample, DataError, Dataset, MnistSplits, NUM_CLASSES,
};
use gpu_cnn::input_file::InputFileError;

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The bundled set, loaded once for all tests.
fn bundled() -> &'static MnistSplits {
    static SPLITS: OnceLock<MnistSplits> = OnceLock::new();
    SPLITS.get_or_init(|| match load_dir(&bundled_mnist_dir()) {
        Ok(s) => s,
        Err(e) => panic!("bundled MNIST must load: {e}"),
    })
}

/// Raw IDX image file bytes: `count` images of `rows x cols`, pixel = (i * 7 + 3) mod 256.
fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0000_0803, count, rows, cols] {
        v.extend_from_slice(&word.to_be_bytes());
    }
    let n = (count * rows * cols) as usize;
    v.extend((0..n).map(|i| ((i * 7 + 3) % 256) as u8));
    v
}

/// Raw IDX label file bytes holding `labels`.
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x0000_0801u32.to_be_bytes());
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A directory with all four files, small and valid (7 train, 4 test images of 3x5), gzipped.
fn small_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_small_set(dir.path(), true);
    dir
}

fn write_small_set(dir: &Path, gz: bool) {
    let files = [
        (TRAIN_IMAGES, idx_images(7, 3, 5)),
        (TRAIN_LABELS, idx_labels(&[3, 1, 4, 1, 5, 9, 2])),
        (TEST_IMAGES, idx_images(4, 3, 5)),
        (TEST_LABELS, idx_labels(&[6, 5, 3, 5])),
    ];
    for (name, bytes) in files {
        if gz {
            write(dir, &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir, name, &bytes);
        }
    }
}

/// Asserts that the error message contains `path`.
fn assert_names(err: &DataError, path: &Path) {
    let msg = err.to_string();
    let shown = path.display().to_string();
    assert!(msg.contains(&shown), "message should name {shown}: {msg}");
}

// ---- the bundled data set ----

#[test]
fn bundled_mnist_has_60000_train_and_10000_test_images_of_28x28() {
    let s = bundled();
    assert_eq!(s.train.len(), 60_000);
    assert_eq!(s.test.len(), 10_000);
    for d in [&s.train, &s.test] {
        assert_eq!((d.rows, d.cols), (28, 28));
        assert_eq!(d.sample_len(), 784);
        assert_eq!(d.images.len(), d.len() * 784);
        assert_eq!(d.image(d.len() - 1).len(), 784);
    }
}

#[test]
fn bundled_mnist_class_counts_equal_the_readme() {
    let s = bundled();
    assert_eq!(
        class_counts(&s.train.labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        class_counts(&s.test.labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(Dataset::CLASSES, NUM_CLASSES);
}

#[test]
fn bundled_mnist_first_train_labels_are_5_0_4_1_9() {
    assert_eq!(bundled().train.labels[..5], [5, 0, 4, 1, 9]);
}

#[test]
fn bundled_mnist_first_image_has_ink_in_the_middle_and_blank_corners() {
    let img = bundled().train.image(0);
    assert_eq!(img[0], 0);
    assert_eq!(img[783], 0);
    assert!(img.iter().filter(|&&p| p > 128).count() > 50);
}

// ---- gzip or raw ----

#[test]
fn raw_test_split_loads_the_same_as_the_bundled_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for name in [TEST_IMAGES, TEST_LABELS] {
        let gz = std::fs::read(bundled_mnist_dir().join(format!("{name}.gz"))).unwrap();
        let mut raw = Vec::new();
        std::io::copy(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
        write(dir.path(), name, &raw);
    }
    let images = read_images(&dir.path().join(TEST_IMAGES)).unwrap();
    let labels = read_labels(&dir.path().join(TEST_LABELS)).unwrap();
    assert_eq!(images.pixels, bundled().test.images);
    assert_eq!(labels, bundled().test.labels);
}

#[test]
fn raw_directory_loads_the_same_as_gzipped_directory() {
    let gz = small_dir();
    let raw = tempfile::tempdir().unwrap();
    write_small_set(raw.path(), false);
    let a = load_dir(gz.path()).unwrap();
    let b = load_dir(raw.path()).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.train.len(), a.test.len()), (7, 4));
    assert_eq!((a.train.rows, a.train.cols), (3, 5));
    assert_eq!(a.train.image(1), &idx_images(7, 3, 5)[16 + 15..16 + 30]);
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let gz_named_raw = write(dir.path(), "labels.gz", &idx_labels(&[1, 2, 3]));
    let raw_named_gz = write(dir.path(), "labels", &gzip(&idx_labels(&[1, 2, 3])));
    assert_eq!(read_labels(&gz_named_raw).unwrap(), [1, 2, 3]);
    assert_eq!(read_labels(&raw_named_gz).unwrap(), [1, 2, 3]);
}

#[test]
fn load_dir_prefers_gz_over_raw() {
    let dir = small_dir();
    // A broken raw copy beside the good .gz must be ignored.
    write(dir.path(), TRAIN_LABELS, b"not an idx file");
    assert_eq!(load_dir(dir.path()).unwrap().train.len(), 7);
}

// ---- bad files ----

#[test]
fn missing_directory_is_dir_not_found_naming_the_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no-such-dir");
    let err = load_dir(&dir).unwrap_err();
    assert!(matches!(err, DataError::DirNotFound { .. }), "{err:?}");
    assert_names(&err, &dir);
    assert!(err.to_string().contains("--data"));
}

#[test]
fn missing_file_in_dir_is_missing_in_dir_naming_the_file() {
    let dir = small_dir();
    std::fs::remove_file(dir.path().join(format!("{TEST_LABELS}.gz"))).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::MissingInDir { .. }), "{err:?}");
    assert_names(&err, dir.path());
    let msg = err.to_string();
    assert!(
        msg.contains(TEST_LABELS) && msg.contains("assets/mnist"),
        "{msg}"
    );
}

#[test]
fn missing_file_by_path_is_file_not_found_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent-images");
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(err, DataError::File(InputFileError::NotFound { .. })),
        "{err:?}"
    );
    assert_names(&err, &path);
}

#[test]
fn label_file_read_as_images_is_wrong_magic_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels.gz", &gzip(&idx_labels(&[1, 2])));
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(err.to_string().contains("0x00000801"), "{err}");
}

#[test]
fn truncated_header_is_header_too_short_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", &idx_images(2, 3, 5)[..10]);
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::HeaderTooShort {
                expected: 16,
                actual: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
}

#[test]
fn truncated_body_is_truncated_with_expected_and_actual_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let full = idx_images(2, 3, 5); // 16 + 30 bytes
    let path = write(dir.path(), "images.gz", &gzip(&full[..16 + 21]));
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 30,
                actual: 21,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(err.to_string().contains("30") && err.to_string().contains("21"));
}

#[test]
fn trailing_bytes_are_an_error_in_raw_and_gzip_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_labels(&[1, 2, 3]);
    bytes.extend_from_slice(&[0, 0, 7]);
    for path in [
        write(dir.path(), "labels", &bytes),
        write(dir.path(), "labels.gz", &gzip(&bytes)),
    ] {
        let err = read_labels(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingBytes {
                    expected: 3,
                    extra: 3,
                    at_least: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names(&err, &path);
    }
}

#[test]
fn corrupt_gzip_is_corrupt_gzip_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = gzip(&idx_images(9, 11, 13));
    // Damaged deflate data in the middle.
    let mut flipped = good.clone();
    for b in &mut flipped[12..good.len() - 8] {
        *b ^= 0x5a;
    }
    // Correct data, wrong CRC in the trailer.
    let mut bad_crc = good.clone();
    let crc_at = good.len() - 8;
    bad_crc[crc_at] ^= 0xff;
    // Cut off mid-stream.
    let cut = good[..good.len() / 2].to_vec();
    for (name, bytes) in [("flipped", flipped), ("bad-crc", bad_crc), ("cut", cut)] {
        let path = write(dir.path(), name, &bytes);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(err, DataError::CorruptGzip { .. }),
            "{name}: {err:?}"
        );
        assert_names(&err, &path);
    }
}

#[test]
fn zero_rows_is_zero_dimension_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "images", &idx_images(4, 0, 5));
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ZeroDimension {
                rows: 0,
                cols: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
}

#[test]
fn header_claiming_over_4_gib_is_too_large_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for word in [0x0000_0803u32, 100_000_000, 28, 28] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    let path = write(dir.path(), "images", &bytes);
    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err:?}");
    assert_names(&err, &path);
}

#[test]
fn count_mismatch_names_both_files_and_both_counts() {
    let dir = small_dir();
    let labels = write(
        dir.path(),
        &format!("{TRAIN_LABELS}.gz"),
        &gzip(&idx_labels(&[1, 2, 3, 4, 5, 6])),
    );
    let images = dir.path().join(format!("{TRAIN_IMAGES}.gz"));
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 7,
                labels: 6,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &images);
    assert_names(&err, &labels);
}

#[test]
fn label_10_is_label_out_of_range_with_index_value_and_file() {
    let dir = small_dir();
    let labels = write(
        dir.path(),
        &format!("{TEST_LABELS}.gz"),
        &gzip(&idx_labels(&[6, 5, 10, 5])),
    );
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                value: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &labels);
}

#[test]
fn train_and_test_of_different_image_sizes_is_image_size_mismatch() {
    let dir = small_dir();
    let test_images = write(
        dir.path(),
        &format!("{TEST_IMAGES}.gz"),
        &gzip(&idx_images(4, 5, 3)),
    );
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, DataError::ImageSizeMismatch { .. }),
        "{err:?}"
    );
    assert_names(&err, &test_images);
}

#[test]
fn the_four_files_bytes_load_as_the_directory_does_and_are_checked_alike() {
    let raw = [
        idx_images(7, 3, 5),
        idx_labels(&[3, 1, 4, 1, 5, 9, 2]),
        idx_images(4, 3, 5),
        idx_labels(&[6, 5, 3, 5]),
    ];
    let gz = raw.clone().map(|bytes| gzip(&bytes));
    let dir = small_dir();
    let from_dir = load_dir(dir.path()).unwrap();
    assert_eq!(
        load_bytes([&gz[0], &gz[1], &gz[2], &gz[3]]).unwrap(),
        from_dir
    );
    assert_eq!(
        load_bytes([&raw[0], &raw[1], &raw[2], &raw[3]]).unwrap(),
        from_dir
    );
    let other_size = idx_images(4, 5, 3);
    let err = load_bytes([&raw[0], &raw[1], &other_size, &raw[3]]).unwrap_err();
    assert!(
        matches!(err, DataError::ImageSizeMismatch { .. }),
        "{err:?}"
    );
    assert_names(&err, Path::new(&format!("{TEST_IMAGES}.gz")));
}

// ---- index lists ----

#[test]
fn subsample_is_distinct_in_range_and_deterministic_per_seed() {
    let a = subsample(60_000, 1_000, 42).unwrap();
    assert_eq!(a.len(), 1_000);
    assert!(a.iter().all(|&i| i < 60_000));
    assert_eq!(a.iter().collect::<HashSet<_>>().len(), 1_000);
    assert_eq!(a, subsample(60_000, 1_000, 42).unwrap());
    assert_ne!(a, subsample(60_000, 1_000, 43).unwrap());
    // Random order, not sorted.
    assert!(a.windows(2).any(|w| w[0] > w[1]));
}

#[test]
fn subsample_of_everything_is_a_permutation() {
    let mut all = subsample(37, 37, 5).unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..37).collect::<Vec<u32>>());
}

#[test]
fn subsample_rejects_zero_and_more_than_the_data_set() {
    for n in [0, 61] {
        let err = subsample(60, n, 1).unwrap_err();
        assert!(
            matches!(err, DataError::SubsampleSize { len: 60, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("60"), "{err}");
    }
}

#[test]
fn split_validation_of_60000_by_0_1_is_54000_train_and_the_last_6000() {
    let indices: Vec<u32> = (0..60_000).collect();
    let (train, val) = split_validation(&indices, 0.1).unwrap();
    assert_eq!((train.len(), val.len()), (54_000, 6_000));
    assert_eq!(train[..], indices[..54_000]);
    assert_eq!(val[..], indices[54_000..]);
}

#[test]
fn split_validation_counts_are_exact_for_awkward_fractions() {
    let indices: Vec<u32> = (0..1000).rev().collect();
    for (fraction, train_len) in [(0.0, 1000), (0.2, 800), (0.3, 700), (0.7, 300), (0.15, 850)] {
        let (train, val) = split_validation(&indices, fraction).unwrap();
        assert_eq!(train.len(), train_len, "fraction {fraction}");
        assert_eq!([train, val].concat(), indices);
    }
    // Not an integer: floor, as Keras does.
    let (train, _) = split_validation(&indices[..7], 0.5).unwrap();
    assert_eq!(train.len(), 3);
}

#[test]
fn split_validation_rejects_fractions_outside_0_to_1_and_empty_train() {
    let indices: Vec<u32> = (0..10).collect();
    for fraction in [1.0, -0.1, f64::NAN, 1.5] {
        let err = split_validation(&indices, fraction).unwrap_err();
        assert!(
            matches!(err, DataError::ValidationFraction { .. }),
            "{err:?}"
        );
    }
    let err = split_validation(&indices, 0.95).unwrap_err();
    assert!(
        matches!(err, DataError::EmptyTrainSplit { len: 10, .. }),
        "{err:?}"
    );
}

#[test]
fn epoch_order_is_a_deterministic_permutation_that_differs_between_epochs() {
    let train: Vec<u32> = (100..1100).collect();
    let e0 = epoch_order(&train, 7, 0);
    let mut sorted = e0.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, train);
    assert_eq!(e0, epoch_order(&train, 7, 0));
    assert_ne!(e0, train);
    assert_ne!(e0, epoch_order(&train, 7, 1));
    assert_ne!(e0, epoch_order(&train, 8, 0));
}

#[test]
fn class_counts_ignores_out_of_range_labels() {
    assert_eq!(
        class_counts(&[0, 9, 9, 3, 10, 255]),
        [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    );
}
