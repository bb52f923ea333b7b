//! Small real files of every kind gpu-cnn reads, built from the bundled data and the library's
//! own writers: the bases that `tests/mutations.rs` mutates and the fuzz targets' seed corpus
//! (`fuzz/seeds/`, written by `GPU_CNN_WRITE_FUZZ_SEEDS=1 cargo test --release --test mutations`).

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

pub mod peak;

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use gpu_cnn::checkpoint;
use gpu_cnn::data::bundled_mnist_dir;
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::model::file::parse_text;
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::shape::infer;
use gpu_cnn::train::{TrainConfig, TrainState};
use image::{GrayImage, ImageFormat, Luma};

/// Images kept from the bundled test set for the IDX slices.
pub const IDX_IMAGES: usize = 3;

/// A small model with every kind of tensor a checkpoint holds: a Conv2D kernel and bias, a
/// BatchNormalization layer's moving statistics, a Dense kernel and bias.
pub const SMALL_MODEL: &str = r#"name = "small"
input = [6, 5, 1]
classes = 3

[[layers]]
type = "Conv2D"
filters = 2
kernel_size = [3, 2]

[[layers]]
type = "BatchNormalization"
momentum = 0.9

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 3
activation = "softmax"
"#;

/// The first `len` decompressed bytes of a bundled MNIST file.
fn bundled_prefix(name: &str, len: usize) -> Vec<u8> {
    let file = std::fs::File::open(bundled_mnist_dir().join(name))
        .unwrap_or_else(|e| panic!("bundled {name}: {e}"));
    let mut bytes = Vec::with_capacity(len);
    GzDecoder::new(file)
        .take(len as u64)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("bundled {name}: {e}"));
    bytes
}

/// `count` replaced in a big-endian IDX header at bytes 4..8.
fn with_count(mut idx: Vec<u8>, count: usize) -> Vec<u8> {
    idx[4..8].copy_from_slice(&(count as u32).to_be_bytes());
    idx
}

/// A raw IDX image file: the first [`IDX_IMAGES`] images of the bundled test set.
pub fn idx_images_raw() -> Vec<u8> {
    let bytes = bundled_prefix("t10k-images-idx3-ubyte.gz", 16 + IDX_IMAGES * 28 * 28);
    with_count(bytes, IDX_IMAGES)
}

/// A raw IDX label file: the first [`IDX_IMAGES`] labels of the bundled test set.
pub fn idx_labels_raw() -> Vec<u8> {
    with_count(
        bundled_prefix("t10k-labels-idx1-ubyte.gz", 8 + IDX_IMAGES),
        IDX_IMAGES,
    )
}

/// `bytes` gzipped, as the bundled files are.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// The bundled model files, `(file name, text)`.
pub fn model_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("assets/models")
        .map(|entry| {
            let path = entry.expect("assets/models entry").path();
            let text = std::fs::read_to_string(&path).expect("a bundled model file");
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    files.sort();
    files
}

/// The bytes of a checkpoint of [`SMALL_MODEL`] (align 1, distinct values in every slot), as
/// `checkpoint::save` writes it; no GPU needed.
pub fn checkpoint_bytes() -> Vec<u8> {
    let spec = parse_text(SMALL_MODEL).expect("SMALL_MODEL parses");
    let layers = infer(&spec).expect("SMALL_MODEL's shapes");
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    let ramp = |len: usize, scale: f32| (0..len).map(|i| i as f32 * scale).collect::<Vec<_>>();
    let state = TrainState {
        epochs_done: 1,
        steps_done: 7,
        params: ramp(layouts.params.total, 0.25),
        m: ramp(layouts.params.total, -0.5),
        v: ramp(layouts.params.total, 0.125),
        state: ramp(layouts.state.total, 1.5),
        history: Vec::new(),
        partial: None,
        plateau: Default::default(),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("small.safetensors");
    checkpoint::save(&path, &spec, &TrainConfig::default(), &layouts, &state)
        .expect("saving the small checkpoint");
    std::fs::read(&path).expect("reading the small checkpoint back")
}

/// A 24×20 greyscale PNG of a dark stroke on white paper, as a paint program saves it.
pub fn png_bytes() -> Vec<u8> {
    let image = GrayImage::from_fn(20, 24, |x, y| {
        let on_stroke = (6..14).contains(&x) && (4..20).contains(&y) && (x + y) % 5 != 0;
        Luma([if on_stroke { 20 } else { 250 }])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, ImageFormat::Png)
        .expect("PNG into memory");
    bytes.into_inner()
}
