// The page's shared state and its visible signs: body[data-state] (loading -> ready -> training
// -> trained, or error / no-webgpu), the one-line #status, and which controls are enabled.

import { $ } from './dom.js';
import { message } from './format.js';

export const app = {
  lab: null,
  data: null, // loadMnist's answer: title, classes, train/test shapes, counts
  classes: [],
  hasModel: false,
  training: false,
  stopped: false, // the last train call was stopped: the Train button reads "Continue"
  actions: 0, // user actions running or queued (they disable the buttons)
  goodState: null, // the last state that was not "error"
};

export function setState(state) {
  document.body.dataset.state = state;
  if (state !== 'error') app.goodState = state;
}

export function status(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

/** Shows an error in #status and logs it. */
export function showError(e) {
  console.error(e);
  status(message(e), 'error');
}

/** A class's name (from the data set's label files) for a label number. */
export const className = (label) => String(app.classes[label] ?? label);

export function syncControls() {
  const idle = app.lab !== null && app.data !== null && app.actions === 0;
  $('preset').disabled = !idle;
  $('apply-model').disabled = !idle;
  $('train').disabled = !idle || !app.hasModel;
  $('download-checkpoint').disabled = !idle || !app.hasModel;
  $('upload-checkpoint').disabled = !idle;
  $('run-selftest').disabled = !(app.lab !== null && app.actions === 0);
  $('stop').disabled = !app.training;
  for (const input of document.querySelectorAll('#train-settings input, #train-settings select')) {
    input.disabled = app.training;
  }
  $('train').textContent = app.stopped ? 'Continue' : 'Train';
}
