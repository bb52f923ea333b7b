//! No change moves a number unless it means to: each of the seven original presets, trained for
//! one short epoch with a fixed seed on this adapter, must end with bit-identical weights to the
//! recording (`tests/fixtures/preset_digests.txt`, recorded on lavapipe).
//!
//! The recording was made before the layer redesign, which matched it bit for bit. It was
//! re-recorded on purpose twice since: cnn-wide's line when per-GEMM tile shapes (commit
//! 87538e6) cut its first convolution's weight gradient from 4 split-K partials to 2 on
//! lavapipe, which reorders that sum; and every line when bias gradients moved into the
//! weight-gradient GEMM (2026-12-01), which sums dz in k order instead of in bias.backward's 16
//! strided partials and tree. The faster GEMM staging, the pooling backward per window and the
//! 8 × 8 blocks per thread of that day kept all seven digests. The five presets whose later
//! convolutions have a valid-padded input gradient were re-recorded when it became a column
//! GEMM and col2im (2026-12-01), which sums over output channels first, then taps; dense and
//! cnn-small (whose only convolution is the first layer) kept theirs. Then the six with a
//! convolution, when lavapipe stopped splitting the first convolution's weight gradient over
//! k (the same day): it sums in one pass, in k order. New tiles and blocks per thread keep every
//! digest (each output still sums its k in ascending order).
//!
//! The digest is FNV-1a over every tensor's name and the bits of its values, so slab padding and
//! alignment do not enter it. Record anew (only when a change is *meant* to move numbers) with
//! `GPU_CNN_RECORD_DIGESTS=1 cargo test --release --test preset_digests -- --nocapture` and
//! paste the printed lines into the fixture.

mod common;

use gpu_cnn::data::{bundled_mnist_dir, load_dir};
use gpu_cnn::model::presets::preset;
use gpu_cnn::train::{TrainConfig, Trainer};

/// The presets that existed before the redesign, with their digests.
const FIXTURE: &str = include_str!("fixtures/preset_digests.txt");

/// FNV-1a, 64 bit.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Trains preset `name` for one epoch of 9 steps (600 samples, batch 64, seed 11) and digests
/// its parameters by name.
fn digest(name: &str) -> u64 {
    let ctx = common::context();
    let data = load_dir(&bundled_mnist_dir()).expect("bundled MNIST");
    let config = TrainConfig {
        epochs: 1,
        batch_size: 64,
        train_samples: Some(600),
        seed: 11,
        ..TrainConfig::default()
    };
    let mut trainer =
        Trainer::new(&ctx, preset(name).expect("preset"), &data, config).expect("trainer");
    trainer.fit(|_| {}).expect("training");
    let values = trainer.parameters().expect("parameters");
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for tensor in &trainer.network().slab.layout.tensors {
        hash = fnv(hash, tensor.name.as_bytes());
        for value in &values[tensor.offset..tensor.offset + tensor.len] {
            hash = fnv(hash, &value.to_bits().to_le_bytes());
        }
    }
    hash
}

#[test]
fn original_presets_train_to_their_recorded_weights() {
    let record = std::env::var_os("GPU_CNN_RECORD_DIGESTS").is_some();
    let lines: Vec<&str> = FIXTURE.lines().filter(|l| !l.trim().is_empty()).collect();
    // A fixture cut short (an emptied file re-recorded) would check nothing.
    assert_eq!(
        lines.len(),
        7,
        "the fixture holds the seven original presets"
    );
    let mut mismatches = Vec::new();
    for line in lines {
        let (name, expected) = line.split_once(' ').expect("`name digest` lines");
        let found = format!("{:016x}", digest(name));
        if record {
            println!("{name} {found}");
        } else if found != expected.trim() {
            mismatches.push(format!("{name}: recorded {expected}, now {found}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "weights differ from the recording:\n{}",
        mismatches.join("\n")
    );
}
