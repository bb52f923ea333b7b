//! Hostile files, case by case: a device or a FIFO where a file should be, files over their
//! kind's cap, a PNG that declares 20000×20000 pixels, a gzip IDX that inflates (or claims to)
//! into gigabytes, a checkpoint whose metadata describes a model far larger than its tensors,
//! a model file with a bad value on line 7. Each is refused quickly with an error that says
//! what and where, holding little memory.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gpu_cnn::checkpoint::{self, CheckpointError};
use gpu_cnn::data::{images_from_bytes, load_digit, load_dir, read_images, DataError};
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::input_file::{FileKind, InputFileError};
use gpu_cnn::model::file::{self, parse_text};
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::shape::infer;
use safetensors::SafeTensors;
use support::peak::peak_bytes;
use tempfile::TempDir;

/// The error every reader gives for `path`, each run on its own thread so that one that blocks
/// fails the test after `seconds` instead of hanging it.
fn errors_within(path: &Path, seconds: u64) -> Vec<String> {
    let (sender, receiver) = mpsc::channel();
    let path = path.to_path_buf();
    thread::spawn(move || {
        let text = |result: Result<(), String>| result.err().unwrap_or_default();
        let errors = vec![
            text(checkpoint::load(&path).map(drop).map_err(|e| e.to_string())),
            text(file::load(&path).map(drop).map_err(|e| e.to_string())),
            text(
                load_digit(&path, 28, 28)
                    .map(drop)
                    .map_err(|e| e.to_string()),
            ),
            text(read_images(&path).map(drop).map_err(|e| e.to_string())),
        ];
        let _ = sender.send(errors);
    });
    receiver
        .recv_timeout(Duration::from_secs(seconds))
        .expect("a reader blocked on a file that is not a regular file")
}

#[test]
fn dev_zero_as_checkpoint_model_png_or_idx_is_refused_as_a_device_before_reading() {
    let (errors, peak) = peak_bytes(|| errors_within(Path::new("/dev/zero"), 10));
    let kinds = ["checkpoint", "model file", "PNG image", "IDX file"];
    for (message, kind) in errors.iter().zip(kinds) {
        assert!(
            message.starts_with("/dev/zero: is a character device, not a regular file")
                && message.contains(&format!("gpu-cnn reads a {kind} only from a regular file")),
            "{message}"
        );
    }
    assert!(peak < 1 << 20, "reading /dev/zero took {peak} bytes");
}

#[cfg(unix)]
/// A FIFO at `dir/name`, made with `mkfifo`.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("running mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
    path
}

#[cfg(unix)]
#[test]
fn a_fifo_as_checkpoint_model_png_or_idx_is_refused_without_blocking() {
    let dir = TempDir::new().unwrap();
    let path = fifo(dir.path(), "pipe");
    for message in errors_within(&path, 10) {
        assert!(
            message.contains("pipe: is a FIFO (named pipe), not a regular file"),
            "{message}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_in_the_data_directory_is_named_as_one_without_blocking() {
    let dir = TempDir::new().unwrap();
    fifo(dir.path(), "train-images-idx3-ubyte.gz");
    for name in [
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        fs::write(dir.path().join(name), b"").unwrap();
    }
    let data = dir.path().to_path_buf();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(load_dir(&data).map(drop)));
    let error = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("load_dir blocked on a FIFO")
        .unwrap_err();
    assert!(
        matches!(
            &error,
            DataError::File(InputFileError::NotRegular {
                kind: FileKind::Idx,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("train-images-idx3-ubyte.gz: is a FIFO"));
}

#[test]
fn files_over_their_kinds_cap_are_refused_by_size_without_reading_them() {
    let dir = TempDir::new().unwrap();
    for (kind, name) in [
        (FileKind::Checkpoint, "huge.safetensors"),
        (FileKind::ModelFile, "huge.toml"),
        (FileKind::Png, "huge.png"),
        (FileKind::Idx, "huge-idx"),
    ] {
        // Sparse: the size without the bytes.
        let path = dir.path().join(name);
        let size = kind.max_bytes() + 1;
        fs::File::create(&path).unwrap().set_len(size).unwrap();
        let (errors, peak) = peak_bytes(|| errors_within(&path, 10));
        let index = [
            FileKind::Checkpoint,
            FileKind::ModelFile,
            FileKind::Png,
            FileKind::Idx,
        ]
        .iter()
        .position(|&k| k == kind)
        .unwrap();
        let expected = format!("{}: is {size} bytes (", path.display());
        let message = &errors[index];
        assert!(message.starts_with(&expected), "{message}");
        assert!(
            message.contains(&format!(
                "gpu-cnn reads a {} of at most {} bytes",
                kind.noun(),
                kind.max_bytes()
            )),
            "{message}"
        );
        assert!(peak < 1 << 20, "{name}: refusing it took {peak} bytes");
    }
}

/// A PNG that declares `width × height` 8-bit grey pixels, holding only a few of them.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        let mut bytes = (data.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&crc.sum().to_be_bytes());
        bytes
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &support::gzip(&[0; 64])[10..]));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn a_png_declaring_20000_by_20000_pixels_is_refused_from_its_header() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bomb.png");
    fs::write(&path, png_declaring(20_000, 20_000)).unwrap();
    let (result, peak) = peak_bytes(|| load_digit(&path, 28, 28));
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            DataError::ImageTooLarge {
                width: 20_000,
                height: 20_000,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("bomb.png: the image is 20000x20000 pixels")
            && message.contains("at most 4096 pixels a side"),
        "{message}"
    );
    assert!(peak < 1 << 20, "refusing the PNG took {peak} bytes");
    // Just over the limit on one side only is refused too; at the limit the header passes.
    let wide = load_digit_bytes(&png_declaring(4097, 1));
    assert!(matches!(
        wide,
        Err(DataError::ImageTooLarge {
            width: 4097,
            height: 1,
            ..
        })
    ));
    let at_limit = load_digit_bytes(&png_declaring(4096, 1));
    assert!(
        matches!(at_limit, Err(DataError::ImageFormat { .. })),
        "{at_limit:?}"
    );
}

/// `digit_from_png` on `bytes`.
fn load_digit_bytes(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    gpu_cnn::data::digit_from_png(bytes, Path::new("crafted.png"), 28, 28)
}

/// A gzipped IDX image file whose header declares `count` 28×28 images, followed by `zeros`
/// zero bytes of body.
fn gzip_idx(count: u32, zeros: usize) -> Vec<u8> {
    let mut raw = vec![0, 0, 8, 3];
    for dim in [count, 28, 28] {
        raw.extend_from_slice(&dim.to_be_bytes());
    }
    raw.resize(raw.len() + zeros, 0);
    support::gzip(&raw)
}

#[test]
fn a_gzip_idx_declaring_more_than_1_gib_is_refused_from_its_header_naming_the_limit() {
    // 2,000,000 × 28 × 28 = 1.57 GB declared; 8 MB of zeros actually follow.
    let bomb = gzip_idx(2_000_000, 8 << 20);
    assert!(bomb.len() < 100_000, "the bomb is {} bytes", bomb.len());
    let (result, peak) = peak_bytes(|| images_from_bytes(&bomb, Path::new("bomb.gz")));
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            DataError::TooLarge {
                bytes: 1_568_000_000,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("bomb.gz: header declares 2000000x28x28 = 1568000000 bytes")
            && message.contains("limit of 1073741824 bytes (1 GiB)")
            && !message.contains("--batch-size"),
        "{message}"
    );
    assert!(peak < 1 << 20, "refusing the bomb took {peak} bytes");
}

#[test]
fn a_gzip_idx_whose_body_falls_short_of_its_header_takes_memory_for_the_body_it_has() {
    // 1,000,000 images declared (784 MB, under the limit); 2 MB of body inflate from the file.
    let short = gzip_idx(1_000_000, 2 << 20);
    let (result, peak) = peak_bytes(|| images_from_bytes(&short, Path::new("short.gz")));
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            DataError::Truncated {
                expected: 784_000_000,
                actual: 2_097_152,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(peak < 8 << 20, "a 2 MB body took {peak} bytes");
}

#[test]
fn a_checkpoint_whose_model_is_dense_5_million_with_small_tensors_is_refused_before_allocating() {
    let dir = TempDir::new().unwrap();
    let small = dir.path().join("small.safetensors");
    fs::write(&small, support::checkpoint_bytes()).unwrap();
    // The small checkpoint's tensors under a model whose first Dense layer would need
    // 32 × 5,000,000 parameters (with Adam's moments, 1.9 GB).
    let bytes = fs::read(&small).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    let huge = support::SMALL_MODEL.replace(
        "type = \"Flatten\"",
        "type = \"Flatten\"\n\n[[layers]]\ntype = \"Dense\"\nunits = 5000000",
    );
    metadata.insert("model".into(), huge);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let hostile = dir.path().join("hostile.safetensors");
    fs::write(
        &hostile,
        safetensors::serialize(file.iter(), Some(metadata)).unwrap(),
    )
    .unwrap();

    let (result, peak) = peak_bytes(|| {
        let raw = checkpoint::load(&hostile).unwrap();
        let layers = infer(&raw.spec).unwrap();
        let layouts = Layouts {
            params: slab_layout(&layers, 1),
            state: state_layout(&layers, 1),
        };
        raw.into_checkpoint(&layouts)
    });
    let error = result.unwrap_err();
    assert!(matches!(error, CheckpointError::Shape { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("hostile.safetensors: tensor `dense.kernel` has shape [32, 3]")
            && message.contains("expects [32, 5000000]"),
        "{message}"
    );
    assert!(peak < 1 << 20, "refusing the checkpoint took {peak} bytes");
}

#[test]
fn a_model_file_with_an_unknown_activation_on_line_7_says_line_7() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("mish.toml");
    let text = "name = \"mish\"\n\n[[layers]]\ntype = \"Flatten\"\n\n[[layers]]\n\
                activation = \"mish\"\ntype = \"Dense\"\nunits = 10\n";
    assert_eq!(text.lines().nth(6), Some("activation = \"mish\""));
    fs::write(&path, text).unwrap();
    let message = file::load(&path).unwrap_err().to_string();
    assert!(
        message.contains("mish.toml: invalid model file: TOML parse error at line 7, column 14")
            && message.contains("unknown variant `mish`, expected one of `linear`, `relu`"),
        "{message}"
    );
    assert!(!message.contains("layer types are"), "{message}");
    // The checkpoint's embedded model goes through the same parser.
    assert!(parse_text(text).is_err());
}
