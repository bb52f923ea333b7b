// Step 3, training: the settings form, lab.train with its progress events (#progress,
// #progress-text, the epoch log), the live loss and accuracy curves, Stop and Continue.

import { COLORS, panel, setupCanvas } from './charts.js';
import { $ } from './dom.js';
import { requestPrediction } from './drawing.js';
import { f4, isNum, seconds } from './format.js';
import { action } from './lab-queue.js';
import { app, setState, showError, status, syncControls } from './page.js';
import { evaluateAndShow } from './results-view.js';

/** The curves and the epoch log of one training run. */
function newRun(epochs = 1) {
  return { epochs, steps: 0, loss: [], accuracy: [], valLoss: [], valAccuracy: [], log: new Map() };
}

let run = newRun();

/** A new model (applied or loaded): no run yet, empty curves, `progressText` under the bar. */
export function resetTraining(progressText) {
  app.stopped = false;
  run = newRun(readInt('epochs', 1));
  drawCurves();
  $('progress').value = 0;
  $('progress-text').textContent = progressText;
  $('epoch-log').textContent = '';
}

function readInt(id, fallback) {
  const v = Number($(id).value);
  return Number.isFinite(v) ? Math.round(v) : fallback;
}

function readSettings() {
  const number = (id, what) => {
    const text = $(id).value.trim();
    const v = Number(text);
    if (text === '' || !Number.isFinite(v)) throw new Error(`${what}: "${text}" is not a number`);
    return v;
  };
  return {
    epochs: Math.round(number('epochs', 'Epochs')),
    batch_size: Math.round(number('batch-size', 'Batch size')),
    validation_split: number('validation-split', 'Validation split'),
    optimizer: $('optimizer').value,
    learning_rate: number('learning-rate', 'Learning rate'),
    limit_train: Math.round(number('limit-train', 'Training images')),
    seed: Math.round(number('seed', 'Seed')),
  };
}

/** Fills the form with `settings` (a loaded checkpoint's run), so Train goes on with that run. */
export function showSettings(settings) {
  const fields = {
    epochs: 'epochs', batch_size: 'batch-size', validation_split: 'validation-split',
    optimizer: 'optimizer', learning_rate: 'learning-rate', limit_train: 'limit-train', seed: 'seed',
  };
  for (const [key, id] of Object.entries(fields)) {
    if (settings?.[key] !== undefined && settings[key] !== null) $(id).value = String(settings[key]);
  }
}

/** #train: trains (or continues a stopped run), then evaluates on the test set. */
export async function train() {
  let settings;
  try {
    settings = readSettings();
  } catch (e) {
    showError(e);
    return;
  }
  await action(async () => {
    const continuing = app.stopped;
    app.training = true;
    run.epochs = settings.epochs;
    setState('training');
    syncControls();
    status(continuing ? 'Continuing training…' : 'Training…');
    let result;
    try {
      result = await app.lab.train(settings, onProgress);
    } finally {
      app.training = false;
      syncControls();
    }
    app.stopped = result.outcome === 'stopped';
    if (app.stopped) $('progress-text').textContent += ' · stopped';
    syncControls();
    const last = result.history?.[result.history.length - 1];
    await evaluateAndShow();
    const epochs = `${result.epochs_done} epoch${result.epochs_done === 1 ? '' : 's'}`;
    const done = app.stopped ? `Stopped with ${epochs} done (press Continue to go on)` : `Trained ${epochs}`;
    status(`${done}${last ? ` · loss ${f4(last.loss)} · accuracy ${f4(last.accuracy)}` : ''} · ${$('test-accuracy').textContent}`);
    setState('trained');
    requestPrediction();
  });
}

/** #stop: the running train call stops at its next chunk of steps. */
export function stopTraining() {
  try {
    app.lab.stop();
    status('Stopping at the next chunk of steps…');
  } catch (e) {
    showError(e);
  }
}

function onProgress(ev) {
  try {
    showProgress(ev);
  } catch (e) {
    console.error(e); // a drawing bug must not break the training run
  }
}

function showProgress(ev) {
  if (ev.kind === 'epoch_start') {
    run.steps = ev.steps;
    // A continued or restarted run replays from this epoch: drop what it replaces.
    run.valLoss = run.valLoss.filter(([e]) => e < ev.epoch);
    run.valAccuracy = run.valAccuracy.filter(([e]) => e < ev.epoch);
    for (const e of [...run.log.keys()]) if (e >= ev.epoch) run.log.delete(e);
    $('progress-text').textContent = `Epoch ${ev.epoch}/${run.epochs} · 0/${ev.steps}`;
  } else if (ev.kind === 'steps') {
    const x = ev.epoch - 1 + ev.done / Math.max(ev.total, 1);
    run.steps = ev.total;
    run.loss = run.loss.filter(([px]) => px < x);
    run.accuracy = run.accuracy.filter(([px]) => px < x);
    run.loss.push([x, ev.loss]);
    run.accuracy.push([x, ev.accuracy]);
    $('progress').value = Math.min(1, x / Math.max(run.epochs, 1));
    $('progress-text').textContent = `Epoch ${ev.epoch}/${run.epochs} · ${ev.done}/${ev.total}`
      + ` · loss ${f4(ev.loss)} · accuracy ${f4(ev.accuracy)}`;
  } else if (ev.kind === 'epoch') {
    if (isNum(ev.val_loss)) run.valLoss.push([ev.epoch, ev.val_loss]);
    if (isNum(ev.val_accuracy)) run.valAccuracy.push([ev.epoch, ev.val_accuracy]);
    const val = isNum(ev.val_loss) ? ` · val_loss ${f4(ev.val_loss)} · val_accuracy ${f4(ev.val_accuracy)}` : '';
    const line = `Epoch ${ev.epoch}/${run.epochs} · ${run.steps}/${run.steps} · ${seconds(ev.seconds)}`
      + ` · loss ${f4(ev.loss)} · accuracy ${f4(ev.accuracy)}${val}`;
    run.log.set(ev.epoch, line);
    $('epoch-log').textContent = [...run.log.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l).join('\n');
    $('progress-text').textContent = line;
    $('progress').value = Math.min(1, ev.epoch / Math.max(run.epochs, 1));
  }
  scheduleCurves();
}

let curvesFrame = 0;
function scheduleCurves() {
  if (!curvesFrame) curvesFrame = requestAnimationFrame(() => { curvesFrame = 0; drawCurves(); });
}

function drawCurves() {
  const { ctx, w, h } = setupCanvas($('curves'));
  const lastX = Math.max(0, ...run.loss.map(([x]) => x), ...run.valLoss.map(([x]) => x));
  const xRange = [0, Math.max(run.epochs, Math.ceil(lastX - 1e-9), 1)];
  const half = w / 2;
  const lossMax = Math.max(0.1, ...run.loss.map(([, y]) => y), ...run.valLoss.map(([, y]) => y));
  panel(ctx, { x: 0, y: 0, w: half, h }, {
    title: 'Loss', xLabel: 'epoch', x: xRange, y: [0, lossMax * 1.08],
    series: [
      { kind: 'line', color: COLORS.train, label: 'loss', data: run.loss },
      { kind: 'points', color: COLORS.val, label: 'val_loss', data: run.valLoss },
    ],
  });
  const accs = [...run.accuracy, ...run.valAccuracy].map(([, y]) => y);
  const accMin = accs.length ? Math.max(0, Math.floor(Math.min(...accs) * 10) / 10) : 0;
  panel(ctx, { x: half, y: 0, w: half, h }, {
    title: 'Accuracy', xLabel: 'epoch', x: xRange, y: [accMin, 1],
    series: [
      { kind: 'line', color: COLORS.train, label: 'accuracy', data: run.accuracy },
      { kind: 'points', color: COLORS.val, label: 'val_accuracy', data: run.valAccuracy },
    ],
  });
}
