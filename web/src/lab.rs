//! [`Lab`]: the lecture's steps (data, model, fit, evaluate, predict, checkpoints) on the
//! browser's GPU, one call at a time.
//!
//! A call that waits holds the state's `RefCell` across its awaits: [`Lab`]'s `busy` flag
//! refuses every other call until that promise settles, so no second borrow can happen.
#![allow(clippy::await_holding_refcell_ref)]

use std::cell::{Cell, RefCell, RefMut};
use std::future::Future;
use std::path::Path;
use std::rc::Rc;

use gpu_cnn::checkpoint;
use gpu_cnn::compat;
use gpu_cnn::data::{self, names, Dataset, IdxImages, MnistSplits};
use gpu_cnn::evaluate::{self, Predictions};
use gpu_cnn::gpu::{DeviceSelector, GpuContext, GpuError};
use gpu_cnn::model::{file, presets, shape, ModelSpec, Network};
use gpu_cnn::report;
use gpu_cnn::train::Trainer;
use js_sys::{Function, Promise, Uint8Array};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::json::{self, to_js};
use crate::settings::{self, Settings};

/// The name a checkpoint made in the page is downloaded as, and named by in errors.
const PAGE_CHECKPOINT: &str = "gpu-cnn-page.safetensors";
/// Why a browser offers no adapter, and what has one.
const NO_ADAPTER: &str = "this browser offers no WebGPU adapter: use Chrome or Edge 113+, \
    Safari 26+ or Firefox 141+ (Windows) with hardware acceleration on; on Linux start Chromium \
    with --enable-unsafe-webgpu";
/// Misclassified test images [`Lab::evaluate`] lists.
const MISTAKES: usize = 25;

/// What the page has built so far.
#[derive(Default)]
struct State {
    data: Option<MnistSplits>,
    spec: Option<ModelSpec>,
    trainer: Option<Trainer<'static>>,
}

/// The browser's GPU with MNIST, a model and its training run: what the page drives.
#[wasm_bindgen]
pub struct Lab {
    ctx: &'static GpuContext,
    state: Rc<RefCell<State>>,
    /// Whether a call's promise is pending: the next call is refused until it settles.
    busy: Rc<Cell<bool>>,
    stop: Rc<Cell<bool>>,
}

/// A JavaScript `Error` carrying the library's message.
fn error(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

/// The error of a call made while another's promise is pending.
fn busy() -> JsValue {
    error("busy: another call (training?) is running; wait for it, or stop training first")
}

impl Lab {
    /// The state, for a call that returns at once; refused while a promise is pending.
    fn state(&self) -> Result<RefMut<'_, State>, JsValue> {
        match self.busy.get() {
            true => Err(busy()),
            false => Ok(self.state.borrow_mut()),
        }
    }

    /// `work` on the state as a promise; other calls are refused until it settles, so the
    /// state is only ever borrowed by one call.
    fn promise<F>(&self, work: impl FnOnce(&'static GpuContext, Rc<RefCell<State>>) -> F) -> Promise
    where
        F: Future<Output = Result<JsValue, JsValue>> + 'static,
    {
        if self.busy.replace(true) {
            return Promise::reject(&busy());
        }
        let work = work(self.ctx, Rc::clone(&self.state));
        let busy = Rc::clone(&self.busy);
        future_to_promise(async move {
            let result = work.await;
            busy.set(false);
            result
        })
    }
}

/// The data a call needs, or the error that says to load it.
fn loaded(state: &State) -> Result<&MnistSplits, JsValue> {
    state
        .data
        .as_ref()
        .ok_or_else(|| error("no data: load MNIST first (loadMnist)"))
}

/// The model a call needs, or the error that says to set one.
fn model(state: &State) -> Result<&ModelSpec, JsValue> {
    state
        .spec
        .as_ref()
        .ok_or_else(|| error("no model: pick a preset or apply a model file first"))
}

/// The trainer a call needs, or the error that says to train.
fn trained(state: &State) -> Result<&Trainer<'static>, JsValue> {
    state
        .trainer
        .as_ref()
        .ok_or_else(|| error("nothing trained yet: train the model or upload a checkpoint"))
}

/// The summary table and parameter count of `spec`, its shapes checked.
fn summary(spec: &ModelSpec) -> Result<Value, JsValue> {
    let layers = shape::infer(spec).map_err(error)?;
    let parameters: usize = layers.iter().map(|layer| layer.param_count()).sum();
    Ok(json!({ "summary": report::summary(spec, &layers), "parameters": parameters }))
}

/// The class probabilities of `data` from the trained network where there is one (the
/// trainer's own, no copy), else a freshly initialised one: what the drawing canvas and
/// `predictTest` run.
async fn predict(
    ctx: &'static GpuContext,
    state: &State,
    data: &Dataset,
) -> Result<Predictions, JsValue> {
    let predictions = match &state.trainer {
        Some(trainer) => evaluate::predict_with(ctx, trainer.network(), data, |_| {}).await,
        None => {
            let network = Network::new(ctx, model(state)?.clone(), 0).map_err(error)?;
            evaluate::predict_with(ctx, &network, data, |_| {}).await
        }
    };
    predictions.map_err(error)
}

/// The first `count` test images, as a data set of their own.
fn first_test_images(data: &MnistSplits, count: usize) -> Result<Dataset, JsValue> {
    let test = &data.test;
    let count = count.min(test.len());
    let sample = test.sample_len();
    let images = IdxImages {
        count,
        rows: test.rows,
        cols: test.cols,
        pixels: test.images[..count * sample].to_vec(),
    };
    let origin = Path::new("the test set");
    Dataset::from_idx(images, test.labels[..count].to_vec(), origin, origin).map_err(error)
}

#[wasm_bindgen]
impl Lab {
    /// Opens the browser's WebGPU adapter; rejects with the reason where there is none.
    pub async fn open() -> Result<Lab, JsValue> {
        let ctx =
            GpuContext::open(&DeviceSelector::Auto)
                .await
                .map_err(|failure| match failure {
                    GpuError::NoAdapter { .. } => error(NO_ADAPTER),
                    other => error(other),
                })?;
        Ok(Lab {
            // One context for the page's life: trainers and networks borrow it.
            ctx: Box::leak(Box::new(ctx)),
            state: Rc::default(),
            busy: Rc::default(),
            stop: Rc::default(),
        })
    }

    /// The adapter's name, backend, type and limits.
    pub fn adapter(&self) -> Result<JsValue, JsValue> {
        to_js(&json::adapter(self.ctx))
    }

    /// Loads MNIST from the bytes of its four files (published `.gz` or decompressed), checks
    /// them as the CLI does, and returns the shapes, class names and label counts.
    #[wasm_bindgen(js_name = loadMnist)]
    pub fn load_mnist(
        &self,
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<JsValue, JsValue> {
        let mut state = self.state()?;
        let files = [train_images, train_labels, test_images, test_labels];
        let splits = data::load_bytes(files).map_err(error)?;
        let (train, test) = (&splits.train, &splits.test);
        let names = names::of_label_files(train_labels, test_labels, "the data set");
        let classes: Vec<String> = (0..Dataset::CLASSES).map(|c| names.class(c)).collect();
        let facts = json!({
            "title": names.title,
            "classes": classes,
            "train": { "count": train.len(), "rows": train.rows, "cols": train.cols },
            "test": { "count": test.len(), "rows": test.rows, "cols": test.cols },
            "train_counts": data::class_counts(&train.labels),
            "test_counts": data::class_counts(&test.labels),
        });
        state.data = Some(splits);
        state.trainer = None;
        to_js(&facts)
    }

    /// `count` images of `set` ("train" or "test") from `first`: their pixels, one byte each,
    /// image after image, and their labels.
    pub fn images(&self, set: &str, first: usize, count: usize) -> Result<JsValue, JsValue> {
        let state = self.state()?;
        let data = loaded(&state)?;
        let images = match set {
            "train" => &data.train,
            "test" => &data.test,
            other => return Err(error(format!("unknown set '{other}': say train or test"))),
        };
        let end = first.saturating_add(count).min(images.len());
        let first = first.min(end);
        let sample = images.sample_len();
        let value = json!({
            "rows": images.rows,
            "cols": images.cols,
            "labels": &images.labels[first..end],
        });
        let object = to_js(&value)?;
        let pixels = Uint8Array::from(&images.images[first * sample..end * sample]);
        js_sys::Reflect::set(&object, &"pixels".into(), &pixels)?;
        Ok(object)
    }

    /// The presets' names, the lecture's first.
    pub fn presets(&self) -> Vec<String> {
        presets::NAMES.iter().map(ToString::to_string).collect()
    }

    /// The preset `name` as a model file's text.
    #[wasm_bindgen(js_name = presetToml)]
    pub fn preset_toml(&self, name: &str) -> Result<String, JsValue> {
        let spec = presets::preset(name).map_err(error)?;
        toml::to_string(&spec).map_err(error)
    }

    /// Makes the model in `text` (a model file) the lab's, its shapes checked against the
    /// data, with the CLI's errors and hints; returns its summary. Drops any trained state.
    #[wasm_bindgen(js_name = setModel)]
    pub fn set_model(&self, text: &str) -> Result<JsValue, JsValue> {
        let mut state = self.state()?;
        let mut spec = file::parse(text, Path::new("the model")).map_err(error)?;
        if let Some(data) = &state.data {
            spec.input = compat::image_shape(&data.train);
            compat::check(&spec, &data.train, "the training set", "").map_err(error)?;
        }
        let facts = summary(&spec)?;
        state.spec = Some(spec);
        state.trainer = None;
        to_js(&facts)
    }

    /// Trains with `settings` (the page's form), calling `on_progress` with each report;
    /// resolves with the outcome and the history. After a stop, or with more epochs than a
    /// finished run had, the same run goes on; other settings start a new one.
    pub fn train(&self, settings: JsValue, on_progress: Function) -> Promise {
        let stop = Rc::clone(&self.stop);
        stop.set(false);
        self.promise(move |ctx, state| async move {
            let settings: Settings = serde_json::from_value(json::from_js(&settings)?)
                .map_err(|e| error(format!("training settings: {e}")))?;
            let config = settings.config().map_err(error)?;
            let mut state = state.borrow_mut();
            let state = &mut *state;
            let keeps_run = state
                .trainer
                .as_ref()
                .is_some_and(|trainer| settings::continues(trainer.config(), &config));
            if !keeps_run {
                let spec = model(state)?.clone();
                let trainer = Trainer::new(ctx, spec, loaded(state)?, config.clone());
                state.trainer = Some(trainer.map_err(error)?);
            }
            let trainer = state.trainer.as_mut().ok_or_else(|| error("no trainer"))?;
            trainer.set_epochs(config.epochs);
            let mut report = |progress| {
                if let Ok(value) = to_js(&json::progress(&progress)) {
                    // A callback that throws does not stop training.
                    let _ = on_progress.call1(&JsValue::NULL, &value);
                }
            };
            let mut outcome = "finished";
            while trainer.epochs_done() < config.epochs {
                let epoch = trainer.epochs_done() + 1;
                let stopped = || stop.get();
                let trained = trainer.train_epoch_async(epoch, &mut report, &stopped);
                if trained.await.map_err(error)?.is_none() {
                    outcome = "stopped";
                    break;
                }
            }
            let history: Vec<Value> = trainer.history().iter().map(json::epoch).collect();
            to_js(&json!({
                "outcome": outcome,
                "epochs_done": trainer.epochs_done(),
                "history": history,
            }))
        })
    }

    /// Asks a running [`Lab::train`] to stop at its next chunk of steps.
    pub fn stop(&self) {
        self.stop.set(true);
    }

    /// Loss, accuracy and confusion matrix over the test set, with the first misclassified
    /// images.
    pub fn evaluate(&self) -> Promise {
        self.promise(|_, state| async move {
            let state = state.borrow();
            let trainer = trained(&state)?;
            let data = loaded(&state)?;
            let predictions = trainer.predict_test_async(|_| {}).await.map_err(error)?;
            let predicted = predictions.classes_predicted();
            let classes = predictions.classes;
            let labels = &data.test.labels;
            let mistakes: Vec<Value> = predicted
                .iter()
                .zip(labels)
                .enumerate()
                .filter(|(_, (&guess, &label))| guess != usize::from(label))
                .take(MISTAKES)
                .map(|(index, (&guess, &label))| {
                    let confidence = predictions.probabilities[index * classes + guess];
                    json!({ "index": index, "label": label, "predicted": guess,
                            "confidence": confidence })
                })
                .collect();
            let mut value = json::stats(&predictions.stats);
            value["confusion"] = json!(evaluate::confusion_matrix(labels, &predicted, classes));
            value["mistakes"] = json!(mistakes);
            to_js(&value)
        })
    }

    /// The class probabilities of a drawing (`gray`: `width`×`height` bytes, ink bright or
    /// dark), after `gpu-cnn predict`'s preprocessing of a PNG: crop, 20×20 box, centre of
    /// mass.
    #[wasm_bindgen(js_name = predictPixels)]
    pub fn predict_pixels(&self, gray: Vec<u8>, width: u32, height: u32) -> Promise {
        self.promise(move |ctx, state| async move {
            let state = state.borrow();
            let data = loaded(&state)?;
            let (rows, cols) = (data.train.rows, data.train.cols);
            let image = image::GrayImage::from_raw(width, height, gray).ok_or_else(|| {
                error(format!("a drawing of {width}x{height} needs as many bytes"))
            })?;
            let mut png = Vec::new();
            image
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(error)?;
            let origin = Path::new("the drawing");
            let pixels = data::digit_from_png(&png, origin, rows, cols).map_err(error)?;
            let digit = IdxImages {
                count: 1,
                rows,
                cols,
                pixels,
            };
            let drawing = Dataset::from_idx(digit, vec![0], origin, origin).map_err(error)?;
            let Predictions { probabilities, .. } = predict(ctx, &state, &drawing).await?;
            Ok(js_sys::Float32Array::from(&probabilities[..]).into())
        })
    }

    /// The classes predicted for the first `count` test images, as `gpu-cnn predict` gives
    /// them.
    #[wasm_bindgen(js_name = predictTest)]
    pub fn predict_test(&self, count: usize) -> Promise {
        self.promise(move |ctx, state| async move {
            let state = state.borrow();
            let images = first_test_images(loaded(&state)?, count)?;
            let classes: Vec<i32> = predict(ctx, &state, &images)
                .await?
                .classes_predicted()
                .into_iter()
                .map(|class| class as i32)
                .collect();
            Ok(js_sys::Int32Array::from(&classes[..]).into())
        })
    }

    /// The training run as a checkpoint file's bytes: the CLI's format.
    pub fn checkpoint(&self) -> Promise {
        self.promise(|_, state| async move {
            let state = state.borrow();
            let trainer = trained(&state)?;
            let saved = trainer.state_async().await.map_err(error)?;
            let network = trainer.network();
            let bytes = checkpoint::to_bytes(
                Path::new(PAGE_CHECKPOINT),
                &network.spec,
                trainer.config(),
                &network.layouts(),
                &saved,
            )
            .map_err(error)?;
            Ok(Uint8Array::from(&bytes[..]).into())
        })
    }

    /// Makes the checkpoint in `bytes` (the CLI's or the page's) the lab's model and run,
    /// checked as `gpu-cnn evaluate` checks one; returns its summary, model file and training
    /// settings (training with those settings goes on with the run).
    #[wasm_bindgen(js_name = loadCheckpoint)]
    pub fn load_checkpoint(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let mut state = self.state()?;
        let origin = Path::new("the uploaded checkpoint");
        let raw = checkpoint::from_bytes(bytes, origin).map_err(error)?;
        let spec = raw.spec.clone();
        let mut trainer = Trainer::new(self.ctx, spec.clone(), loaded(&state)?, raw.config.clone())
            .map_err(error)?;
        let saved = raw
            .into_checkpoint(&trainer.network().layouts())
            .map_err(error)?;
        saved
            .check_finite(origin, &trainer.network().layouts())
            .map_err(error)?;
        let epochs_done = saved.state.epochs_done;
        trainer.restore(saved.state).map_err(error)?;
        let mut facts = summary(&spec)?;
        facts["epochs_done"] = json!(epochs_done);
        facts["model_toml"] = json!(toml::to_string(&spec).map_err(error)?);
        facts["settings"] = json!(Settings::of(trainer.config()));
        state.spec = Some(spec);
        state.trainer = Some(trainer);
        to_js(&facts)
    }

    /// Every kernel against its CPU reference on small odd shapes, on this adapter: one row
    /// per check.
    pub fn selftest(&self) -> Promise {
        self.promise(|ctx, _state| async move {
            let rows = gpu_cnn::selftest::run_async(ctx, |_| {}).await;
            let rows: Vec<Value> = rows.iter().map(json::selftest_row).collect();
            to_js(&Value::Array(rows))
        })
    }
}
