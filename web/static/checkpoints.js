// Step 6, checkpoints: downloads the lab's safetensors checkpoint (the format of
// `gpu-cnn train --save`) and loads one, whose model and weights become the lab's.

import { $, h } from './dom.js';
import { requestPrediction } from './drawing.js';
import { action } from './lab-queue.js';
import { showModel } from './model-view.js';
import { app, setState, status } from './page.js';
import { evaluateAndShow } from './results-view.js';
import { resetTraining, showSettings } from './training-view.js';

const CHECKPOINT_NAME = 'gpu-cnn-page.safetensors';

/** #download-checkpoint: saves the checkpoint as gpu-cnn-page.safetensors. */
export async function downloadCheckpoint() {
  await action(async () => {
    status('Writing the checkpoint…');
    const bytes = await app.lab.checkpoint();
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = h('a', { href: url, download: CHECKPOINT_NAME, hidden: '' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    $('checkpoint-info').textContent = `Saved ${CHECKPOINT_NAME} (${(bytes.length / 2 ** 20).toFixed(2)} MiB).`;
    status(`Saved ${CHECKPOINT_NAME}`);
  });
}

/** #upload-checkpoint's change: loads the chosen file, then evaluates it on the test set. */
export async function uploadCheckpoint(e) {
  const input = e.target;
  const file = input.files?.[0];
  if (!file) return;
  await action(async () => {
    status(`Loading ${file.name}…`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const r = await app.lab.loadCheckpoint(bytes);
    showModel(r.summary);
    if (r.model_toml) $('model-toml').value = r.model_toml;
    showSettings(r.settings);
    const epochs = `${r.epochs_done} epoch${r.epochs_done === 1 ? '' : 's'}`;
    resetTraining(`Loaded from ${file.name}: ${epochs} trained.`);
    $('checkpoint-info').textContent = `${file.name}: ${r.parameters.toLocaleString('en-US')} parameters, `
      + `${epochs} trained. Train, with its settings below (more epochs to train further), continues it.`;
    await evaluateAndShow();
    status(`Loaded ${file.name} · ${$('test-accuracy').textContent}`);
    setState('trained');
    requestPrediction();
  });
  input.value = '';
}
