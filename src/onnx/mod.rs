//! A trained network as a standard ONNX model (opset 13), for other runtimes (onnxruntime,
//! tract, OpenCV, ...): `gpu-cnn export CHECKPOINT model.onnx`.
//!
//! The model takes what our first layer receives after the gather kernel
//! (`shaders/gather/forward.wgsl`): input [`INPUT`], float32 `[N, H, W, C]` (NHWC, Keras's
//! layout) with a dynamic batch `N`, each value an image byte divided by 255, so in `[0, 1]`.
//! It returns [`OUTPUT`], float32 `[N, classes]`, the softmax's class probabilities, what
//! `gpu-cnn predict` prints. Initializers carry the checkpoint's tensor names
//! (`conv2d.kernel`, `batch_normalization.moving_mean`, ...).
//!
//! [`proto`] holds the protobuf messages, [`graph`] builds nodes and initializers,
//! [`layers`] emits each layer and [`activation`] each activation.

pub mod activation;
pub mod graph;
pub mod layers;
pub mod proto;

use std::io;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::atomic::{self, Claim, ClaimError};
use crate::checkpoint::RawCheckpoint;
use crate::gpu::slab::Layouts;
use crate::model::network::{slab_layout, state_layout};
use crate::model::shape::{self, LayerInfo};
use crate::model::spec::ModelSpec;
use graph::GraphBuilder;
use layers::{Flow, Layout, Weights};
use proto::{
    Dimension, DimensionValue, GraphProto, ModelProto, OperatorSetIdProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto, FLOAT,
};

/// The operator set every node comes from (ONNX 1.8's, the most widely loaded).
pub const OPSET: i64 = 13;
/// The IR version of ONNX 1.8, which introduced opset 13: every runtime that reads the
/// opset reads it.
pub const IR_VERSION: i64 = 7;
/// The graph input's name.
pub const INPUT: &str = "image";
/// The graph output's name.
pub const OUTPUT: &str = "probabilities";
/// The name of the dynamic batch dimension.
pub const BATCH: &str = "N";
/// `producer_name`.
pub const PRODUCER: &str = "gpu-cnn";
/// The largest message protobuf can encode (2 GiB).
const MAX_BYTES: usize = i32::MAX as usize;

/// Why an ONNX model could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The output path does not name an ONNX file.
    #[error(
        "{}: an ONNX model's file name must end in .onnx; give e.g. model.onnx",
        .path.display()
    )]
    Extension {
        /// The path given.
        path: PathBuf,
    },
    /// The path cannot take the file, found before the checkpoint loads.
    #[error(
        "{}: cannot write the ONNX model there: {source}; give another output path",
        .path.display()
    )]
    Claim {
        /// The file asked for.
        path: PathBuf,
        /// Why not.
        source: ClaimError,
    },
    /// Writing the file failed (nothing was left at the path).
    #[error(
        "{}: could not write the ONNX model: {source}; check that the directory is writable \
         and has space", .path.display()
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The checkpoint lacks a tensor a layer needs.
    #[error(
        "the checkpoint has no tensor {tensor}, which its model needs; export a checkpoint \
         written by `gpu-cnn train --save`"
    )]
    MissingTensor {
        /// The tensor's full name (`dense_1.kernel`).
        tensor: String,
    },
    /// A layer's shapes disagree with its own fields.
    #[error("layer {layer} cannot be exported: it {problem}; check the checkpoint's model")]
    Layer {
        /// The layer's name.
        layer: String,
        /// What disagrees.
        problem: String,
    },
    /// The model is past protobuf's 2 GiB limit.
    #[error(
        "the ONNX model would take {bytes} bytes, past protobuf's 2 GiB limit; export a \
         smaller model"
    )]
    TooLarge {
        /// Its encoded size.
        bytes: usize,
    },
}

/// An exported model and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxModel {
    /// The ONNX message.
    pub proto: ModelProto,
    /// The input `[height, width, channels]`.
    pub input: [usize; 3],
    /// The number of classes.
    pub classes: usize,
}

impl OnnxModel {
    /// The protobuf bytes of the `.onnx` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, OnnxError> {
        let bytes = self.proto.encoded_len();
        if bytes > MAX_BYTES {
            return Err(OnnxError::TooLarge { bytes });
        }
        Ok(self.proto.encode_to_vec())
    }

    /// The graph's nodes.
    fn nodes(&self) -> &[proto::NodeProto] {
        self.proto.graph.as_ref().map_or(&[], |graph| &graph.node)
    }

    /// How many nodes of each operator the graph has, in the order they first appear.
    pub fn op_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for node in self.nodes() {
            match counts.iter_mut().find(|(op, _)| *op == node.op_type) {
                Some((_, count)) => *count += 1,
                None => counts.push((node.op_type.clone(), 1)),
            }
        }
        counts
    }

    /// Nodes in the graph.
    pub fn node_count(&self) -> usize {
        self.nodes().len()
    }

    /// The input's shape as written, `[N, 28, 28, 1]`.
    pub fn input_shape(&self) -> String {
        let [h, w, c] = self.input;
        format!("[{BATCH}, {h}, {w}, {c}]")
    }

    /// The output's shape as written, `[N, 10]`.
    pub fn output_shape(&self) -> String {
        format!("[{BATCH}, {}]", self.classes)
    }
}

/// The ONNX model of the network in `raw`, a checkpoint [`crate::checkpoint::load`] read.
pub fn from_checkpoint(raw: RawCheckpoint) -> crate::Result<OnnxModel> {
    let layers = shape::infer(&raw.spec)?;
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    let saved = raw.into_checkpoint(&layouts)?;
    let weights = Weights {
        layouts: &layouts,
        params: &saved.state.params,
        state: &saved.state.state,
    };
    Ok(build(&saved.spec, &layers, &weights)?)
}

/// The ONNX model of `spec` (its shapes `layers`, from [`shape::infer`]) with the tensors
/// `weights`.
pub fn build(
    spec: &ModelSpec,
    layers: &[LayerInfo],
    weights: &Weights,
) -> Result<OnnxModel, OnnxError> {
    let mut graph = GraphBuilder::new(INPUT);
    let mut flow = Flow {
        value: INPUT.to_string(),
        layout: Layout::Nhwc,
    };
    for layer in layers {
        layers::emit(&mut graph, &mut flow, layer, weights)?;
    }
    let (mut nodes, initializer) = graph.finish();
    // The last node writes the probabilities (the model ends in softmax): give them their name.
    match nodes.last_mut() {
        Some(last) if last.output == [flow.value.clone()] => {
            last.output = vec![OUTPUT.to_string()];
            last.name = OUTPUT.to_string();
        }
        _ => {
            return Err(OnnxError::Layer {
                layer: layers.last().map_or(String::new(), |l| l.name.clone()),
                problem: "does not end the model in a softmax".into(),
            })
        }
    }
    let [h, w, c] = spec.input;
    let doc = doc_string(spec, layers);
    let graph = GraphProto {
        node: nodes,
        name: spec.name.clone(),
        initializer,
        doc_string: doc.clone(),
        input: vec![value_info(
            INPUT,
            &[h, w, c],
            "float32 [N, H, W, C] (NHWC): each pixel byte / 255, in [0, 1]",
        )],
        output: vec![value_info(
            OUTPUT,
            &[spec.classes],
            "float32 [N, classes]: the class probabilities (softmax)",
        )],
    };
    Ok(OnnxModel {
        proto: ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: PRODUCER.to_string(),
            producer_version: env!("CARGO_PKG_VERSION").to_string(),
            doc_string: doc,
            graph: Some(graph),
        },
        input: spec.input,
        classes: spec.classes,
    })
}

/// A float32 value of `[N, dims...]`.
fn value_info(name: &str, dims: &[usize], doc: &str) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimensionValue::DimParam(BATCH.to_string())),
    };
    let fixed = dims.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d as i64)),
    });
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(fixed).collect(),
                }),
            }),
        }),
        doc_string: doc.to_string(),
    }
}

/// The model's doc string: what it is, its input convention and output, its layers.
fn doc_string(spec: &ModelSpec, layers: &[LayerInfo]) -> String {
    let [h, w, c] = spec.input;
    let names: Vec<&str> = layers.iter().map(|l| l.spec.class_name()).collect();
    format!(
        "gpu-cnn model '{}' ({}). Input '{INPUT}': float32 [{BATCH}, {h}, {w}, {c}], NHWC \
         (Keras's layout), batch {BATCH} dynamic; each value is an image byte divided by 255, \
         in [0, 1], as gpu-cnn's first kernel feeds its first layer. Output '{OUTPUT}': \
         float32 [{BATCH}, {}], the class probabilities (softmax), as `gpu-cnn predict` gives \
         them.",
        spec.name,
        names.join(" → "),
        spec.classes
    )
}

/// Claims `path` for the ONNX model ([`atomic::claim`]): its name ends in `.onnx`, its
/// directory exists and can be written, no other run writes it; before the checkpoint loads.
pub fn claim(path: &Path) -> Result<Claim, OnnxError> {
    let is_onnx = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("onnx"));
    if !is_onnx {
        return Err(OnnxError::Extension {
            path: path.to_path_buf(),
        });
    }
    atomic::claim(path).map_err(|source| OnnxError::Claim {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `model` to the claimed file, whole or not at all.
pub fn write(claim: &Claim, model: &OnnxModel) -> Result<(), OnnxError> {
    atomic::write(&claim.path, &model.to_bytes()?).map_err(|source| OnnxError::Write {
        path: claim.path.clone(),
        source,
    })
}
