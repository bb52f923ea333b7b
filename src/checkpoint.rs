//! Checkpoints of a training run: the parameters, Adam's moments, the counters, the history, the
//! model and the training settings, in one safetensors file.
//!
//! Tensors carry the slab's Keras names and layouts (`conv2d.kernel` `[kh, kw, c_in, c_out]`,
//! `dense_1.bias` `[units]`), each stored unpadded as little-endian f32, so a checkpoint maps
//! layer for layer onto a Keras model. Adam's moments are `optimizer/m/<name>` and
//! `optimizer/v/<name>`. The header's `__metadata__` holds `format` ([`FORMAT`]), `model` (the
//! spec as a TOML model file, its `input` the image size it was trained on), `train_config` and
//! `history` (JSON), `epochs_done` and `steps_done`, `partial_epoch` (JSON) when an
//! interruption stopped an epoch part-way, and `plateau` (JSON: reduce-on-plateau's factor and
//! counters) once it has any; a checkpoint without it loads with none.
//!
//! Loading takes two steps, because the slab layout depends on the loading device's alignment:
//! [`load`] reads the file and its metadata; [`RawCheckpoint::into_checkpoint`] places every
//! tensor at its slot in the caller's [`SlabLayout`], zeros in the padding.
//!
//! Writes are atomic: a temporary file in the target directory, synced, then renamed over
//! `path`; on any error nothing is left at `path` and no temporary file remains.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use thiserror::Error;

use crate::atomic;
use crate::gpu::slab::{Layouts, SlabLayout};
use crate::input_file::{self, FileKind, InputFileError};
use crate::model::{file, ModelSpec};
use crate::optim::plateau::PlateauState;
use crate::run::{EpochStats, PartialEpoch, TrainConfig, TrainState};

/// The `format` metadata value of this version of the checkpoint format.
pub const FORMAT: &str = "gpu-cnn-checkpoint/1";
/// Name prefix of the optimizer's `m` tensors (Adam's first moment).
const M_PREFIX: &str = "optimizer/m/";
/// Name prefix of the optimizer's `v` tensors (Adam's second moment).
const V_PREFIX: &str = "optimizer/v/";
/// The metadata key of an epoch stopped part-way.
const PARTIAL_EPOCH: &str = "partial_epoch";
/// The metadata key of reduce-on-plateau's state.
const PLATEAU: &str = "plateau";
/// What a file that cannot be a checkpoint of ours suggests.
const DAMAGED: &str = "the file is damaged or not a gpu-cnn checkpoint";
/// What a checkpoint of another model suggests.
const OTHER_MODEL: &str =
    "the checkpoint is of another model: give the --model it was trained with";

/// What can go wrong writing or reading a checkpoint; every variant names the file.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The checkpoint file is missing, not a regular file, too large, or unreadable.
    #[error(transparent)]
    File(#[from] InputFileError),
    /// The directory a checkpoint is saved into does not exist.
    #[error(
        "{}: cannot save the checkpoint: the directory {} does not exist; create it or save \
         elsewhere", .path.display(), .dir.display()
    )]
    MissingDirectory {
        /// The checkpoint file.
        path: PathBuf,
        /// Its parent directory.
        dir: PathBuf,
    },
    /// The path cannot take a checkpoint, found before training starts.
    #[error(
        "{}: cannot save the checkpoint there: {source}; give another --save path",
        .path.display()
    )]
    Claim {
        /// The checkpoint file.
        path: PathBuf,
        /// Why not.
        source: atomic::ClaimError,
    },
    /// Writing the checkpoint failed (nothing was left at the path).
    #[error(
        "{}: could not save the checkpoint: {source}; check that the directory is writable, has \
         space, and that the path is not a directory", .path.display()
    )]
    Write {
        /// The checkpoint file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The state to save does not fit the layout it is said to have.
    #[error("{}: cannot save the checkpoint: {problem}", .path.display())]
    Encode {
        /// The checkpoint file.
        path: PathBuf,
        /// What does not fit.
        problem: String,
    },
    /// The file is not a readable safetensors file (truncated, garbage, bad header).
    #[error("{}: not a valid safetensors file ({source}); {DAMAGED}", .path.display())]
    Damaged {
        /// The checkpoint file.
        path: PathBuf,
        /// The safetensors parser's error.
        source: SafeTensorError,
    },
    /// The `format` metadata is missing or names another format.
    #[error(
        "{}: the metadata `format` is {found}, expected \"{FORMAT}\"; the file is not a gpu-cnn \
         checkpoint or was written by an incompatible version", .path.display()
    )]
    Format {
        /// The checkpoint file.
        path: PathBuf,
        /// What the file holds (quoted), or `missing`.
        found: String,
    },
    /// A metadata entry is missing or cannot be parsed.
    #[error("{}: the metadata `{key}` is missing or invalid: {problem}; {DAMAGED}", .path.display())]
    Metadata {
        /// The checkpoint file.
        path: PathBuf,
        /// The metadata key, e.g. `history`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The model needs a tensor the file does not hold.
    #[error("{}: the checkpoint has no tensor `{tensor}`; {OTHER_MODEL}", .path.display())]
    MissingTensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
    },
    /// The file holds tensors the model does not have.
    #[error(
        "{}: the checkpoint holds tensors the model does not have: {}; {OTHER_MODEL}",
        .path.display(), .tensors.join(", ")
    )]
    UnexpectedTensors {
        /// The checkpoint file.
        path: PathBuf,
        /// Their names, sorted.
        tensors: Vec<String>,
    },
    /// A tensor's shape differs from the model's.
    #[error(
        "{}: tensor `{tensor}` has shape {found:?} but the model expects {expected:?}; \
         {OTHER_MODEL}", .path.display()
    )]
    Shape {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor is not f32.
    #[error("{}: tensor `{tensor}` is {found}, expected F32; {DAMAGED}", .path.display())]
    Dtype {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The file's element type.
        found: String,
    },
    /// A tensor holds a value that is not finite: the run it saved had diverged.
    #[error(
        "{}: tensor `{tensor}` holds {value} at element {index}: the run it saved had diverged; \
         train afresh (lower --learning-rate) or resume an earlier checkpoint", .path.display()
    )]
    NonFinite {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// Its first non-finite element.
        index: usize,
        /// That element (`NaN`, `inf`).
        value: f32,
    },
    /// The checkpoint is of another model than the one asked for.
    #[error(
        "{}: the checkpoint is of model '{found}', which differs from --model '{wanted}' \
         ({difference}); give the --model the checkpoint was trained with, or train afresh",
        .path.display()
    )]
    ModelMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The checkpoint's model name.
        found: String,
        /// The requested model name.
        wanted: String,
        /// The first difference, checkpoint's side first.
        difference: String,
    },
}

/// A training run as saved: the model, the settings and the state laid out on a slab.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The model trained.
    pub spec: ModelSpec,
    /// The settings it was trained with.
    pub config: TrainConfig,
    /// Parameters, moments, counters and history; slabs laid out as the layout given to
    /// [`RawCheckpoint::into_checkpoint`].
    pub state: TrainState,
}

impl Layouts {
    /// The slabs of a training state with the layout each is laid out as, and the prefix of
    /// its tensors' names in the file.
    fn slabs<'a>(
        &'a self,
        state: &'a TrainState,
    ) -> [(&'static str, &'a [f32], &'a SlabLayout); 4] {
        [
            ("", &state.params, &self.params),
            (M_PREFIX, &state.m, &self.params),
            (V_PREFIX, &state.v, &self.params),
            ("", &state.state, &self.state),
        ]
    }
}

/// Saves a checkpoint of `state` (slabs laid out as `layouts`) atomically at `path`.
pub fn save(
    path: &Path,
    spec: &ModelSpec,
    config: &TrainConfig,
    layouts: &Layouts,
    state: &TrainState,
) -> Result<(), CheckpointError> {
    write_atomic(path, &to_bytes(path, spec, config, layouts, state)?)
}

/// The bytes [`save`] writes (a page hands them to the browser's download); `path` names the
/// file in errors, as in [`from_bytes`].
pub fn to_bytes(
    path: &Path,
    spec: &ModelSpec,
    config: &TrainConfig,
    layouts: &Layouts,
    state: &TrainState,
) -> Result<Vec<u8>, CheckpointError> {
    let encode = |problem: String| CheckpointError::Encode {
        path: path.to_path_buf(),
        problem,
    };
    // Each tensor unpadded, as little-endian bytes: (name, shape, bytes).
    let mut tensors = Vec::new();
    for (prefix, slab, layout) in layouts.slabs(state) {
        if slab.len() != layout.total {
            return Err(encode(format!(
                "a slab of the state holds {} values but the model's layout holds {}",
                slab.len(),
                layout.total
            )));
        }
        for slot in &layout.tensors {
            let values = &slab[slot.offset..slot.offset + slot.len];
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((format!("{prefix}{}", slot.name), slot.shape.clone(), bytes));
        }
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| encode(format!("tensor does not match its shape: {error}")))?;
    let model = toml::to_string(spec).map_err(|e| encode(format!("model: {e}")))?;
    let json = |value: Result<String, serde_json::Error>| value.map_err(|e| encode(e.to_string()));
    let mut metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("model".to_string(), model),
        (
            "train_config".to_string(),
            json(serde_json::to_string(config))?,
        ),
        ("epochs_done".to_string(), state.epochs_done.to_string()),
        ("steps_done".to_string(), state.steps_done.to_string()),
        (
            "history".to_string(),
            json(serde_json::to_string(&state.history))?,
        ),
    ]);
    if let Some(partial) = &state.partial {
        metadata.insert(
            PARTIAL_EPOCH.to_string(),
            json(serde_json::to_string(partial))?,
        );
    }
    if state.plateau != PlateauState::default() {
        metadata.insert(
            PLATEAU.to_string(),
            json(serde_json::to_string(&state.plateau))?,
        );
    }
    safetensors::serialize(views, Some(metadata))
        .map_err(|error| encode(format!("safetensors: {error}")))
}

/// Claims `path` for a run that saves there ([`atomic::claim`]): checked writable, links
/// resolved (save to the claim's `path`), other runs kept off; before any training.
pub fn claim(path: &Path) -> Result<atomic::Claim, CheckpointError> {
    atomic::claim(path).map_err(|source| CheckpointError::Claim {
        path: path.to_path_buf(),
        source,
    })
}

/// Deletes the checkpoint at `path` (a backup whose run has finished).
pub fn remove(path: &Path) -> Result<(), CheckpointError> {
    std::fs::remove_file(path).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` with [`atomic::write`], after checking that its directory exists.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = atomic::parent_dir(path);
    if !dir.is_dir() {
        return Err(CheckpointError::MissingDirectory {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    atomic::write(path, bytes).map_err(|source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// One tensor as read from the file.
#[derive(Clone, Debug)]
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Little-endian element bytes.
    data: Vec<u8>,
}

/// A checkpoint read from its file, its tensors not yet placed on a slab layout.
#[derive(Clone, Debug)]
pub struct RawCheckpoint {
    /// The file it was read from.
    pub path: PathBuf,
    /// The model trained (build the loading device's layout from it).
    pub spec: ModelSpec,
    /// The settings it was trained with.
    pub config: TrainConfig,
    epochs_done: usize,
    steps_done: u64,
    history: Vec<EpochStats>,
    partial: Option<PartialEpoch>,
    plateau: PlateauState,
    tensors: BTreeMap<String, RawTensor>,
}

/// Reads the checkpoint at `path` (a regular file of at most [`FileKind::Checkpoint`]'s cap):
/// its metadata parsed and its tensors in memory.
pub fn load(path: &Path) -> Result<RawCheckpoint, CheckpointError> {
    from_bytes(&input_file::read(path, FileKind::Checkpoint)?, path)
}

/// [`load`] on the bytes of a checkpoint file; `path` names the file in errors. Every
/// allocation is bounded by the length of `bytes`.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<RawCheckpoint, CheckpointError> {
    let damaged = |source| CheckpointError::Damaged {
        path: path.to_path_buf(),
        source,
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(damaged)?;
    let file = SafeTensors::deserialize(bytes).map_err(damaged)?;
    let empty = HashMap::new();
    let metadata = header.metadata().as_ref().unwrap_or(&empty);
    let bad = |key, problem: String| CheckpointError::Metadata {
        path: path.to_path_buf(),
        key,
        problem,
    };
    let get = |key| {
        metadata
            .get(key)
            .ok_or_else(|| bad(key, "not in the file".into()))
    };
    match metadata.get("format") {
        Some(format) if format == FORMAT => {}
        found => {
            return Err(CheckpointError::Format {
                path: path.to_path_buf(),
                found: found.map_or("missing".into(), |f| format!("\"{f}\"")),
            })
        }
    }
    let spec = file::parse_text(get("model")?).map_err(|e| bad("model", e.to_string()))?;
    let config = serde_json::from_str(get("train_config")?)
        .map_err(|e| bad("train_config", e.to_string()))?;
    let history =
        serde_json::from_str(get("history")?).map_err(|e| bad("history", e.to_string()))?;
    let epochs_done = get("epochs_done")?
        .parse()
        .map_err(|e| bad("epochs_done", format!("{e}")))?;
    let steps_done = get("steps_done")?
        .parse()
        .map_err(|e| bad("steps_done", format!("{e}")))?;
    let partial = metadata
        .get(PARTIAL_EPOCH)
        .map(|text| serde_json::from_str(text))
        .transpose()
        .map_err(|e| bad(PARTIAL_EPOCH, e.to_string()))?;
    let plateau = metadata
        .get(PLATEAU)
        .map(|text| serde_json::from_str(text))
        .transpose()
        .map_err(|e| bad(PLATEAU, e.to_string()))?
        .unwrap_or_default();
    let tensors = file
        .iter()
        .map(|(name, view)| {
            let tensor = RawTensor {
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                data: view.data().to_vec(),
            };
            (name.to_string(), tensor)
        })
        .collect();
    Ok(RawCheckpoint {
        path: path.to_path_buf(),
        spec,
        config,
        epochs_done,
        steps_done,
        history,
        partial,
        plateau,
        tensors,
    })
}

impl RawCheckpoint {
    /// Epochs the saved run completed.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// The epoch an interruption stopped part-way, if any.
    pub fn partial_epoch(&self) -> Option<&PartialEpoch> {
        self.partial.as_ref()
    }

    /// Places every tensor at its slot of `layouts` (zeros in the padding); fails when a
    /// tensor is missing, has another shape or is not f32, or when the file holds tensors the
    /// layouts do not have.
    ///
    /// Every tensor is checked against its slot before any slab is allocated, so the slabs are
    /// no larger than the tensors the file actually holds (plus the layout's padding), whatever
    /// model its metadata describes.
    pub fn into_checkpoint(mut self, layouts: &Layouts) -> Result<Checkpoint, CheckpointError> {
        let parts = [
            ("", &layouts.params),
            (M_PREFIX, &layouts.params),
            (V_PREFIX, &layouts.params),
            ("", &layouts.state),
        ];
        // Each slab's tensors, taken out of the file and checked: [slab][slot].
        let mut checked = Vec::with_capacity(parts.len());
        for (prefix, layout) in parts {
            let tensors = layout
                .tensors
                .iter()
                .map(|slot| self.take_tensor(&format!("{prefix}{}", slot.name), &slot.shape))
                .collect::<Result<Vec<_>, _>>()?;
            checked.push(tensors);
        }
        if !self.tensors.is_empty() {
            return Err(CheckpointError::UnexpectedTensors {
                path: self.path,
                tensors: self.tensors.into_keys().collect(),
            });
        }
        let mut slabs = parts.map(|(_, layout)| vec![0.0f32; layout.total]);
        for ((slab, (_, layout)), tensors) in slabs.iter_mut().zip(parts).zip(checked) {
            for (slot, tensor) in layout.tensors.iter().zip(tensors) {
                // take_tensor checked the shape, and the parser that data holds shape × 4 bytes.
                let values = &mut slab[slot.offset..slot.offset + slot.len];
                for (value, bytes) in values.iter_mut().zip(tensor.data.chunks_exact(4)) {
                    *value = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                }
            }
        }
        let [params, m, v, state] = slabs;
        Ok(Checkpoint {
            spec: self.spec,
            config: self.config,
            state: TrainState {
                epochs_done: self.epochs_done,
                steps_done: self.steps_done,
                params,
                m,
                v,
                state,
                history: self.history,
                partial: self.partial,
                plateau: self.plateau,
            },
        })
    }

    /// Takes the tensor `name` out of the file, checking that it is f32 of `shape`.
    fn take_tensor(&mut self, name: &str, shape: &[usize]) -> Result<RawTensor, CheckpointError> {
        let Some(tensor) = self.tensors.remove(name) else {
            return Err(CheckpointError::MissingTensor {
                path: self.path.clone(),
                tensor: name.to_string(),
            });
        };
        if tensor.dtype != Dtype::F32 {
            return Err(CheckpointError::Dtype {
                path: self.path.clone(),
                tensor: name.to_string(),
                found: tensor.dtype.to_string(),
            });
        }
        if tensor.shape != shape {
            return Err(CheckpointError::Shape {
                path: self.path.clone(),
                tensor: name.to_string(),
                expected: shape.to_vec(),
                found: tensor.shape,
            });
        }
        Ok(tensor)
    }
}

/// Fails when the checkpoint at `path`, of model `found`, is used with another model `wanted`:
/// everything but the name must agree (input, classes, every layer).
pub fn check_model(
    path: &Path,
    found: &ModelSpec,
    wanted: &ModelSpec,
) -> Result<(), CheckpointError> {
    let difference = if found.input != wanted.input {
        format!("input {:?} vs {:?}", found.input, wanted.input)
    } else if found.classes != wanted.classes {
        format!("classes {} vs {}", found.classes, wanted.classes)
    } else if found.layers.len() != wanted.layers.len() {
        format!("{} layers vs {}", found.layers.len(), wanted.layers.len())
    } else {
        match found
            .layers
            .iter()
            .zip(&wanted.layers)
            .position(|(a, b)| a != b)
        {
            Some(i) => format!("layer {i}: {:?} vs {:?}", found.layers[i], wanted.layers[i]),
            None => return Ok(()),
        }
    };
    Err(CheckpointError::ModelMismatch {
        path: path.to_path_buf(),
        found: found.name.clone(),
        wanted: wanted.name.clone(),
        difference,
    })
}

impl Checkpoint {
    /// Fails naming the first tensor that holds a NaN or an infinity (a diverged run: its
    /// predictions would be NaN, and a NaN behind a ReLU would live on in every later save);
    /// `layouts` are the ones the checkpoint was placed on, `path` names it.
    pub fn check_finite(&self, path: &Path, layouts: &Layouts) -> Result<(), CheckpointError> {
        for (prefix, slab, layout) in layouts.slabs(&self.state) {
            for slot in &layout.tensors {
                let values = &slab[slot.offset..slot.offset + slot.len];
                if let Some(index) = values.iter().position(|value| !value.is_finite()) {
                    return Err(CheckpointError::NonFinite {
                        path: path.to_path_buf(),
                        tensor: format!("{prefix}{}", slot.name),
                        index,
                        value: values[index],
                    });
                }
            }
        }
        Ok(())
    }
}
