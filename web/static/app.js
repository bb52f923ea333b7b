// gpu-cnn's page: the Keras MNIST lecture, step by step, on the wasm `Lab` (web/src/). This file
// is startup and wiring only: it opens the lab, loads the data and the default model, and hands
// each control to its view (data-view, model-view, training-view, results-view, drawing,
// checkpoints, selftest-view, adapter-view).
//
// Plain ES modules, no framework and no build step. The wasm-bindgen package in ./pkg/ is
// loaded dynamically so that a missing package or WebGPU shows a message instead of a blank
// page. The DOM ids, `data-*` attributes and `body[data-state]` values are a contract with the
// browser tests (web/tests/): loading -> ready -> training -> trained, or error / no-webgpu.

import { showAdapter, showNoAdapter } from './adapter-view.js';
import { downloadCheckpoint, uploadCheckpoint } from './checkpoints.js';
import { loadData } from './data-view.js';
import { $ } from './dom.js';
import { setupPad } from './drawing.js';
import { message } from './format.js';
import { exclusive } from './lab-queue.js';
import { applyEditedModel, choosePreset, loadPresets } from './model-view.js';
import { app, setState, showError, status, syncControls } from './page.js';
import { runSelftest } from './selftest-view.js';
import { stopTraining, train } from './training-view.js';

async function main() {
  setState('loading');
  syncControls();
  if (!navigator.gpu) {
    noWebgpu(new Error('navigator.gpu is undefined: this browser exposes no WebGPU '
      + '(or the page is not in a secure context: serve it from https:// or http://localhost).'));
    return;
  }
  let pkg;
  try {
    status('Loading the WebAssembly module…');
    pkg = await import('./pkg/gpu_cnn_web.js');
    await pkg.default();
  } catch (e) {
    fatal(e, 'Could not load the WebAssembly module (pkg/gpu_cnn_web.js)');
    return;
  }
  try {
    status('Opening the GPU adapter…');
    app.lab = await pkg.Lab.open();
  } catch (e) {
    noWebgpu(e);
    return;
  }
  window.gpuCnn = { lab: app.lab };
  app.actions++;
  try {
    await exclusive(startup);
    setState('ready');
  } catch (e) {
    fatal(e);
  } finally {
    app.actions--;
    syncControls();
  }
}

async function startup() {
  await showAdapter(await app.lab.adapter());
  await loadData();
  await loadPresets();
}

function fatal(e, context) {
  console.error(e);
  setState('error');
  app.goodState = null; // nothing to go back to
  status(context ? `${context}: ${message(e)}` : message(e), 'error');
}

function noWebgpu(e) {
  console.error(e);
  setState('no-webgpu');
  $('no-webgpu').hidden = false;
  $('no-webgpu-error').textContent = message(e);
  showNoAdapter();
  status(`No WebGPU: ${message(e)}`, 'error');
}

setupPad();
$('preset').addEventListener('change', choosePreset);
$('apply-model').addEventListener('click', applyEditedModel);
$('train').addEventListener('click', train);
$('stop').addEventListener('click', stopTraining);
$('download-checkpoint').addEventListener('click', downloadCheckpoint);
$('upload-checkpoint').addEventListener('change', uploadCheckpoint);
$('run-selftest').addEventListener('click', runSelftest);
window.addEventListener('unhandledrejection', (e) => showError(e.reason));
main();
