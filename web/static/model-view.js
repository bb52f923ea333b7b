// Step 2, the model: the preset list, the model file's text (#model-toml), applying it (a bad
// file's error in #model-error, not a page failure) and the Keras-style summary.

import { $ } from './dom.js';
import { requestPrediction } from './drawing.js';
import { message } from './format.js';
import { action } from './lab-queue.js';
import { app, setState, status } from './page.js';
import { clearResults } from './results-view.js';
import { resetTraining } from './training-view.js';

const DEFAULT_PRESET = 'cnn';

/** Fills #preset with the lab's presets and applies the default one; throws when it fails. */
export async function loadPresets() {
  const presets = await app.lab.presets();
  $('preset').replaceChildren(...presets.map((name) => new Option(name, name)));
  const preset = presets.includes(DEFAULT_PRESET) ? DEFAULT_PRESET : presets[0];
  $('preset').value = preset;
  $('model-toml').value = await app.lab.presetToml(preset);
  if (!(await applyModel($('model-toml').value))) {
    throw new Error(`the preset "${preset}" did not load: ${$('model-error').textContent}`);
  }
}

/** The lab's model from a model file's text; false (the error under the file) when it is bad. */
async function applyModel(text) {
  let model;
  try {
    model = await app.lab.setModel(text);
  } catch (e) {
    $('model-error').textContent = message(e);
    status('The model file has an error (shown under it).', 'error');
    return false;
  }
  showModel(model.summary);
  resetTraining('Not trained yet.');
  clearResults();
  setState('ready');
  status(`Ready: model with ${model.parameters.toLocaleString('en-US')} parameters. Press Train.`);
  requestPrediction();
  return true;
}

/** The lab has a new model (applied or from a checkpoint): its summary, no error. */
export function showModel(summary) {
  $('model-error').textContent = '';
  $('model-summary').textContent = summary;
  app.hasModel = true;
}

/** #apply-model: applies the model file as edited. */
export function applyEditedModel() {
  return action(() => applyModel($('model-toml').value));
}

/** #preset's change: the preset's model file, applied. */
export async function choosePreset() {
  await action(async () => {
    $('model-toml').value = await app.lab.presetToml($('preset').value);
    await applyModel($('model-toml').value);
  });
}
