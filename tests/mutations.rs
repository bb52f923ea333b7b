//! Mutation tests on real files: bit flips, byte overwrites, truncations and splices (a piece
//! of another real file pasted in) of an IDX slice of the bundled MNIST, the bundled model
//! files, a small checkpoint and a PNG. Whatever the bytes, each reader returns its value or a
//! typed error naming the file, never panics, and holds memory bounded by the bytes it was
//! given (the PNG reader: by its stated size limit), never by a number the file claims.
//!
//! Also checks that the fuzz targets' seeds (`fuzz/seeds/`) are such real files, and writes
//! them first when `GPU_CNN_WRITE_FUZZ_SEEDS` is set.

mod support;

use std::fmt::Display;
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use gpu_cnn::checkpoint;
use gpu_cnn::data::image_input::MAX_IMAGE_SIDE;
use gpu_cnn::data::{digit_from_png, images_from_bytes, labels_from_bytes};
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::model::file::{parse_bytes, MAX_LAYERS};
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::shape::infer;
use proptest::prelude::*;
use proptest::sample::Index;
use support::peak::peak_bytes;

/// One change to a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flip bit `bit` of one byte.
    FlipBit(Index, u8),
    /// Overwrite one byte (a length, a count, a dtype letter).
    SetByte(Index, u8),
    /// Keep only the bytes before a point.
    Truncate(Index),
    /// Replace `len` bytes at `at` with up to `take` bytes of a donor file from `from`.
    Splice {
        at: Index,
        len: usize,
        donor: Index,
        from: Index,
        take: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        any::<Index>().prop_map(Mutation::Truncate),
        (
            any::<Index>(),
            0usize..64,
            any::<Index>(),
            any::<Index>(),
            0usize..256
        )
            .prop_map(|(at, len, donor, from, take)| Mutation::Splice {
                at,
                len,
                donor,
                from,
                take
            }),
    ]
}

/// Every real file, as donors for splices.
fn donors() -> &'static [Vec<u8>] {
    static DONORS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DONORS.get_or_init(|| {
        let mut all: Vec<Vec<u8>> = idx_files().to_vec();
        all.extend(
            support::model_files()
                .into_iter()
                .map(|(_, t)| t.into_bytes()),
        );
        all.push(checkpoint_file().to_vec());
        all.push(support::png_bytes());
        all
    })
}

/// The IDX slices: images and labels, raw and gzipped.
fn idx_files() -> &'static [Vec<u8>] {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let (images, labels) = (support::idx_images_raw(), support::idx_labels_raw());
        let gz = (support::gzip(&images), support::gzip(&labels));
        vec![images, labels, gz.0, gz.1]
    })
}

/// The small checkpoint, built once.
fn checkpoint_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(support::checkpoint_bytes)
}

/// `base` with `mutations` applied in order.
fn mutate(base: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for mutation in mutations {
        let len = bytes.len();
        if len == 0 {
            break;
        }
        match mutation {
            Mutation::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
            Mutation::SetByte(at, byte) => bytes[at.index(len)] = *byte,
            Mutation::Truncate(at) => bytes.truncate(at.index(len)),
            Mutation::Splice {
                at,
                len: len_cut,
                donor,
                from,
                take,
            } => {
                let donor = &donors()[donor.index(donors().len())];
                let start = from.index(donor.len().max(1)).min(donor.len());
                let piece = &donor[start..(start + take).min(donor.len())];
                let at = at.index(len);
                let end = (at + *len_cut).min(len);
                bytes.splice(at..end, piece.iter().copied());
            }
        }
    }
    bytes
}

/// Fails unless the error names the file it is about.
fn assert_names_origin(error: impl Display, origin: &Path) -> Result<(), TestCaseError> {
    let message = error.to_string();
    prop_assert!(
        message.contains(&origin.display().to_string()),
        "the error does not name {}: {message}",
        origin.display()
    );
    Ok(())
}

/// Fails unless `peak` is within `limit`.
fn assert_bounded(peak: usize, limit: usize, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        peak <= limit,
        "{what} held {peak} bytes at once, more than {limit}"
    );
    Ok(())
}

/// Headroom every reader may use whatever its input: buffers, decoder tables, messages.
const OVERHEAD: usize = 1 << 20;

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_idx_files_read_or_fail_naming_the_file_within_their_inflated_size(
        base in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let bytes = mutate(&idx_files()[base.index(idx_files().len())], &mutations);
        let origin = Path::new("mutated-idx");
        // Deflate expands at most 1032-fold; the body vector may double while it grows.
        let limit = OVERHEAD + 2 * 1032 * bytes.len();
        let (images, peak) = peak_bytes(|| images_from_bytes(&bytes, origin));
        assert_bounded(peak, limit, "the image reader")?;
        match images {
            Ok(images) => prop_assert_eq!(
                images.pixels.len(), images.count * images.rows * images.cols
            ),
            Err(error) => assert_names_origin(error, origin)?,
        }
        let (labels, peak) = peak_bytes(|| labels_from_bytes(&bytes, origin));
        assert_bounded(peak, limit, "the label reader")?;
        if let Err(error) = labels {
            assert_names_origin(error, origin)?;
        }
    }

    #[test]
    fn mutated_model_files_parse_and_infer_or_fail_naming_the_file(
        base in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let files = support::model_files();
        let bytes = mutate(files[base.index(files.len())].1.as_bytes(), &mutations);
        let origin = Path::new("mutated.toml");
        let (spec, peak) = peak_bytes(|| parse_bytes(&bytes, origin));
        assert_bounded(peak, OVERHEAD + 64 * bytes.len(), "the model file parser")?;
        match spec {
            Ok(spec) => {
                prop_assert!(spec.layers.len() <= MAX_LAYERS);
                let (_, peak) = peak_bytes(|| infer(&spec));
                assert_bounded(peak, OVERHEAD + 64 * bytes.len(), "shape inference")?;
            }
            Err(error) => assert_names_origin(error, origin)?,
        }
    }

    #[test]
    fn mutated_checkpoints_load_or_fail_naming_the_file_within_their_size(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let bytes = mutate(checkpoint_file(), &mutations);
        let origin = Path::new("mutated.safetensors");
        // As `evaluate` loads one: read, infer the model's shapes, place every tensor.
        let (placed, peak) = peak_bytes(|| {
            let raw = checkpoint::from_bytes(&bytes, origin).map_err(|e| e.to_string())?;
            let layers = infer(&raw.spec).map_err(|e| format!("{origin:?}: {e}"))?;
            let layouts = Layouts {
                params: slab_layout(&layers, 1),
                state: state_layout(&layers, 1),
            };
            raw.into_checkpoint(&layouts).map_err(|e| e.to_string())
        });
        assert_bounded(peak, OVERHEAD + 64 * bytes.len(), "the checkpoint loader")?;
        if let Err(message) = placed {
            prop_assert!(message.contains("mutated.safetensors"), "{message}");
        }
    }

    #[test]
    fn mutated_pngs_give_a_frame_or_fail_naming_the_file_within_the_size_limit(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let bytes = mutate(&support::png_bytes(), &mutations);
        let origin = Path::new("mutated.png");
        let (frame, peak) = peak_bytes(|| digit_from_png(&bytes, origin, 28, 28));
        // At most 48 bytes a pixel of the largest image gpu-cnn decodes.
        let side = MAX_IMAGE_SIDE as usize;
        assert_bounded(peak, OVERHEAD + 64 * bytes.len() + 48 * side * side, "the PNG reader")?;
        match frame {
            Ok(frame) => prop_assert_eq!(frame.len(), 28 * 28),
            Err(error) => assert_names_origin(error, origin)?,
        }
    }
}

/// The seed corpus of each fuzz target, `fuzz/seeds/<target>/seed-<name>`, from the real files.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let idx_names = ["images.idx", "labels.idx", "images.idx.gz", "labels.idx.gz"];
    let mut seeds: Vec<_> = idx_names
        .into_iter()
        .zip(idx_files())
        .map(|(name, bytes)| ("idx", name.to_string(), bytes.clone()))
        .collect();
    for (name, text) in support::model_files() {
        seeds.push(("model_file", name, text.into_bytes()));
    }
    let small = support::SMALL_MODEL.as_bytes().to_vec();
    seeds.push(("model_file", "small.toml".into(), small));
    let checkpoint = checkpoint_file().to_vec();
    seeds.push(("checkpoint", "small.safetensors".into(), checkpoint));
    seeds.push(("png", "stroke.png".into(), support::png_bytes()));
    seeds
}

#[test]
fn fuzz_seeds_are_real_files_every_reader_accepts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    if std::env::var_os("GPU_CNN_WRITE_FUZZ_SEEDS").is_some() {
        for (target, name, bytes) in seeds() {
            fs::create_dir_all(dir.join(target)).unwrap();
            fs::write(dir.join(target).join(format!("seed-{name}")), bytes).unwrap();
        }
    }
    for (target, name, _) in seeds() {
        let path = dir.join(target).join(format!("seed-{name}"));
        let bytes = fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; write the seeds with GPU_CNN_WRITE_FUZZ_SEEDS=1 cargo test --release \
                 --test mutations",
                path.display()
            )
        });
        let accepted = match target {
            "idx" if name.starts_with("images") => images_from_bytes(&bytes, &path)
                .map(|images| images.count == support::IDX_IMAGES)
                .map_err(|e| e.to_string()),
            "idx" => labels_from_bytes(&bytes, &path)
                .map(|labels| labels.len() == support::IDX_IMAGES)
                .map_err(|e| e.to_string()),
            "model_file" => parse_bytes(&bytes, &path)
                .map_err(|e| e.to_string())
                .and_then(|spec| infer(&spec).map(|_| true).map_err(|e| e.to_string())),
            "checkpoint" => checkpoint::from_bytes(&bytes, &path)
                .map(|raw| raw.spec.name == "small")
                .map_err(|e| e.to_string()),
            _ => digit_from_png(&bytes, &path, 28, 28)
                .map(|frame| frame.contains(&255))
                .map_err(|e| e.to_string()),
        };
        assert_eq!(accepted, Ok(true), "{}", path.display());
    }
}
