//! `gpu-cnn export CHECKPOINT OUTPUT.onnx`: the checkpoint's network as an ONNX model
//! ([`gpu_cnn::onnx`]), written whole or not at all, and what it holds.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args;
use gpu_cnn::onnx::{self, INPUT, IR_VERSION, OPSET, OUTPUT};
use gpu_cnn::Error;

/// Arguments of `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A checkpoint written by `train --save`.
    #[arg(value_name = "CHECKPOINT")]
    checkpoint: PathBuf,
    /// The ONNX file to write; its name must end in .onnx.
    #[arg(value_name = "OUTPUT.onnx")]
    output: PathBuf,
}

/// Claims the output, builds the model from the checkpoint, writes it and prints what it
/// holds: nodes by operator, opset, input and output.
pub fn run(args: ExportArgs) -> Result<(), Error> {
    let claim = onnx::claim(&args.output)?;
    if same_file(&args.checkpoint, &claim.path) {
        return Err(Error::InvalidSetting {
            setting: "OUTPUT",
            value: args.output.display().to_string(),
            hint: "that is the checkpoint being exported, which the model would overwrite: \
                   give another path ending in .onnx"
                .to_string(),
        });
    }
    let saved = super::load_checkpoint(&args.checkpoint)?;
    let model = onnx::from_checkpoint(saved)?;
    onnx::write(&claim, &model)?;
    let ops: Vec<String> = model
        .op_counts()
        .iter()
        .map(|(op, count)| format!("{op} {count}"))
        .collect();
    say!(
        "Wrote {}: ONNX opset {OPSET} (IR {IR_VERSION}), {} nodes ({})",
        claim.path.display(),
        model.node_count(),
        ops.join(", ")
    )?;
    say!(
        "  input  {INPUT}: float32 {} (NHWC), each pixel byte / 255, in [0, 1]",
        model.input_shape()
    )?;
    say!(
        "  output {OUTPUT}: float32 {}, the class probabilities",
        model.output_shape()
    )
}

/// Whether `a` and `b` are one existing file (through links and relative paths).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
