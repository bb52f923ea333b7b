// gpu-cnn's page: the Keras MNIST lecture, step by step, on the wasm `Lab` (web/src/).
//
// Plain ES module, no framework and no build step. The only import is the wasm-bindgen package
// in ./pkg/, loaded dynamically so that a missing package or WebGPU shows a message instead of a
// blank page. The DOM ids, `data-*` attributes and `body[data-state]` values are a contract with
// the browser tests (web/tests/): loading -> ready -> training -> trained, or error / no-webgpu.

const MNIST_DIR = './mnist/';
const MNIST_FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];
const DEFAULT_PRESET = 'cnn';
const CHECKPOINT_NAME = 'gpu-cnn-page.safetensors';
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const COLORS = { train: '#1f77b4', val: '#ff7f0e', bar: '#87ceeb', bar2: '#f4a582', axis: '#555', grid: '#e6e8eb', text: '#222' };

const $ = (id) => document.getElementById(id);

const app = {
  lab: null,
  data: null, // loadMnist's answer: title, classes, train/test shapes, counts
  classes: [],
  hasModel: false,
  training: false,
  stopped: false, // the last train call was stopped: the Train button reads "Continue"
  actions: 0, // user actions running or queued (they disable the buttons)
  goodState: null, // the last state that was not "error"
  run: newRun(),
};

/** The curves and the epoch log of one training run. */
function newRun(epochs = 1) {
  return { epochs, steps: 0, loss: [], accuracy: [], valLoss: [], valAccuracy: [], log: new Map() };
}

// ---------------------------------------------------------------------------------------------
// State, status, one lab call at a time

function setState(state) {
  document.body.dataset.state = state;
  if (state !== 'error') app.goodState = state;
}

function status(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

function message(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try { return JSON.stringify(e); } catch { return String(e); }
}

/** Shows an error in #status and logs it. */
function showError(e) {
  console.error(e);
  status(message(e), 'error');
}

// The lab runs one async call at a time: every call goes through this queue.
let queue = Promise.resolve();
function exclusive(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

/**
 * A user action: buttons are disabled until it ends. When it fails, its message goes to #status
 * and the state becomes "error"; the page stays usable (the next action that works sets the
 * state again). A bad model file is not such a failure: applyModel shows it in #model-error.
 */
async function action(fn) {
  app.actions++;
  syncControls();
  try {
    const result = await exclusive(fn);
    // An action that works after one that failed: back to the state before the failure.
    if (document.body.dataset.state === 'error' && app.goodState) setState(app.goodState);
    return result;
  } catch (e) {
    showError(e);
    setState('error');
  } finally {
    app.actions--;
    syncControls();
  }
}

function syncControls() {
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

// ---------------------------------------------------------------------------------------------
// Startup

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
  showAdapter(await app.lab.adapter());

  status('Downloading MNIST…');
  const files = await Promise.all(MNIST_FILES.map(fetchBytes));
  status('Decoding MNIST…');
  app.data = await app.lab.loadMnist(...files);
  app.classes = app.data.classes ?? [...Array(10).keys()].map(String);
  showData(app.data);
  const samples = await app.lab.images('train', 0, 25);
  drawDigitGrid($('samples'), digitsOf(samples, (label) => app.classes[label] ?? String(label)));

  const presets = await app.lab.presets();
  $('preset').replaceChildren(...presets.map((name) => new Option(name, name)));
  const preset = presets.includes(DEFAULT_PRESET) ? DEFAULT_PRESET : presets[0];
  $('preset').value = preset;
  $('model-toml').value = await app.lab.presetToml(preset);
  if (!(await applyModel($('model-toml').value))) {
    throw new Error(`the preset "${preset}" did not load: ${$('model-error').textContent}`);
  }
  drawResultsPlaceholder();
  drawCurves();
}

async function fetchBytes(name) {
  const response = await fetch(MNIST_DIR + name);
  if (!response.ok) throw new Error(`${MNIST_DIR}${name}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
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
  $('adapter').textContent = 'No WebGPU adapter';
  status(`No WebGPU: ${message(e)}`, 'error');
}

function showAdapter(a) {
  const mib = (n) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`
    : n >= 1 << 20 ? `${Math.round(n / 2 ** 20)} MiB` : `${Math.round(n / 1024)} KiB`);
  const l = a.limits ?? {};
  const limits = [
    ['max buffer', l.max_buffer_size, mib],
    ['storage binding', l.max_storage_buffer_binding_size, mib],
    ['storage buffers / stage', l.max_storage_buffers_per_shader_stage, String],
    ['invocations / workgroup', l.max_compute_invocations_per_workgroup, String],
    ['workgroup memory', l.max_compute_workgroup_storage_size, mib],
    ['workgroups / dimension', l.max_compute_workgroups_per_dimension, String],
  ].filter(([, v]) => v !== undefined && v !== null);
  const box = $('adapter');
  box.replaceChildren(
    h('div', { class: 'adapter-name' }, a.name || 'WebGPU adapter (the browser gives no name)'),
    h('div', { class: 'adapter-meta' }, [a.backend, a.device_type, a.driver].filter(Boolean).join(' · ')),
    h('dl', {}, limits.flatMap(([k, v, f]) => [h('dt', {}, k), h('dd', {}, f(v))])),
  );
}

function showData(d) {
  $('data-summary').textContent = `Training set: ${d.train.count} images of ${d.train.rows}×${d.train.cols}, `
    + `test set: ${d.test.count}` + (d.title ? ` (${d.title}, ${app.classes.length} classes)` : '');
  $('data-shapes').textContent = [
    `Train images shape: (${d.train.count}, ${d.train.rows}, ${d.train.cols})`,
    `Train labels shape: (${d.train.count},)`,
    `Test images shape: (${d.test.count}, ${d.test.rows}, ${d.test.cols})`,
    `Test labels shape: (${d.test.count},)`,
  ].join('\n');
  drawHistogram(d);
}

// ---------------------------------------------------------------------------------------------
// Model

async function applyModel(text) {
  let model;
  try {
    model = await app.lab.setModel(text);
  } catch (e) {
    $('model-error').textContent = message(e);
    status('The model file has an error (shown under it).', 'error');
    return false;
  }
  $('model-error').textContent = '';
  $('model-summary').textContent = model.summary;
  app.hasModel = true;
  app.stopped = false;
  app.run = newRun(readInt('epochs', 1));
  drawCurves();
  $('progress').value = 0;
  $('progress-text').textContent = 'Not trained yet.';
  $('epoch-log').textContent = '';
  clearResults();
  setState('ready');
  status(`Ready: model with ${model.parameters.toLocaleString('en-US')} parameters. Press Train.`);
  if (pad.hasInk) requestPrediction();
  return true;
}

async function choosePreset() {
  await action(async () => {
    $('model-toml').value = await app.lab.presetToml($('preset').value);
    await applyModel($('model-toml').value);
  });
}

// ---------------------------------------------------------------------------------------------
// Training

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

async function train() {
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
    app.run.epochs = settings.epochs;
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
    if (pad.hasInk) requestPrediction();
  });
}

function onProgress(ev) {
  try {
    showProgress(ev);
  } catch (e) {
    console.error(e); // a drawing bug must not break the training run
  }
}

function showProgress(ev) {
  const run = app.run;
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
  const { ctx, w, h } = setup($('curves'));
  const run = app.run;
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

// ---------------------------------------------------------------------------------------------
// Results

async function evaluateAndShow() {
  status('Evaluating on the test set…');
  const r = await app.lab.evaluate();
  const correct = r.confusion.reduce((sum, row, i) => sum + (row[i] ?? 0), 0);
  const acc = $('test-accuracy');
  acc.textContent = `Test accuracy: ${f4(r.accuracy)}`;
  acc.dataset.value = String(r.accuracy);
  $('test-details').textContent = `loss ${f4(r.loss)} · ${r.samples} test images · ${r.samples - correct} misclassified`;
  drawConfusion(r.confusion);
  const digits = [];
  for (const m of r.mistakes.slice(0, 25)) {
    const img = await app.lab.images('test', m.index, 1);
    digits.push({
      pixels: img.pixels, rows: img.rows, cols: img.cols,
      caption: `true ${name(m.label)}, predicted ${name(m.predicted)}`,
      note: `#${m.index} · p ${f2(m.confidence)}`,
    });
  }
  drawDigitGrid($('mistakes'), digits, { empty: 'No misclassified test digits.' });
}

function clearResults() {
  const acc = $('test-accuracy');
  acc.textContent = 'Test accuracy: —';
  delete acc.dataset.value;
  $('test-details').textContent = 'Train a model or load a checkpoint.';
  if (app.data) drawResultsPlaceholder();
}

function drawResultsPlaceholder() {
  for (const id of ['confusion', 'mistakes']) {
    const { ctx, w, h } = setup($(id));
    ctx.fillStyle = '#f4f6f8';
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#889';
    ctx.font = `14px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.fillText('Appears after training', w / 2, h / 2);
  }
}

/** Matplotlib's "Blues", t in 0..1. */
function blues(t) {
  const stops = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b']
    .map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  return stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
}

function drawConfusion(cm) {
  const { ctx, w, h } = setup($('confusion'));
  const k = cm.length;
  const m = { l: 60, t: 30, r: 10, b: 50 };
  const cell = Math.min((w - m.l - m.r) / k, (h - m.t - m.b) / k);
  const x0 = m.l + (w - m.l - m.r - cell * k) / 2;
  const values = cm.flat();
  const lo = Math.min(...values), hi = Math.max(...values);
  const labels = app.classes.every((c) => String(c).length <= 3) ? app.classes : cm.map((_, i) => String(i));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = `${Math.min(13, Math.floor(cell * 0.32))}px ${FONT}`;
  cm.forEach((row, i) => row.forEach((v, j) => {
    const [r, g, b] = blues(hi > lo ? (v - lo) / (hi - lo) : 0);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x0 + j * cell, m.t + i * cell, cell, cell);
    ctx.fillStyle = 0.299 * r + 0.587 * g + 0.114 * b < 140 ? '#fff' : '#000';
    ctx.fillText(String(v), x0 + (j + 0.5) * cell, m.t + (i + 0.5) * cell);
  }));
  ctx.fillStyle = COLORS.text;
  ctx.font = `12px ${FONT}`;
  for (let i = 0; i < k; i++) {
    ctx.fillText(String(labels[i] ?? i), x0 - 12, m.t + (i + 0.5) * cell);
    ctx.fillText(String(labels[i] ?? i), x0 + (i + 0.5) * cell, m.t + k * cell + 12);
  }
  ctx.font = `13px ${FONT}`;
  ctx.fillText('Predicted labels', x0 + (k * cell) / 2, m.t + k * cell + 34);
  ctx.save();
  ctx.translate(x0 - 36, m.t + (k * cell) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('True labels', 0, 0);
  ctx.restore();
  ctx.font = `bold 13px ${FONT}`;
  ctx.fillText(`Confusion matrix for ${app.data?.title ?? 'MNIST'} classification`, x0 + (k * cell) / 2, 14);
}

// ---------------------------------------------------------------------------------------------
// Drawing pad and predictPixels

const pad = { canvas: null, ctx: null, down: false, last: null, hasInk: false, generation: 0 };
const predict = { inFlight: false, again: false };

function setupPad() {
  pad.canvas = $('draw');
  pad.ctx = pad.canvas.getContext('2d', { willReadFrequently: true });
  clearPad();
  const c = pad.canvas;
  c.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    e.preventDefault();
    c.setPointerCapture?.(e.pointerId);
    pad.down = true;
    pad.last = padPoint(e);
    dot(pad.last);
  });
  c.addEventListener('pointermove', (e) => {
    if (!pad.down) return;
    if (e.pointerType === 'mouse' && e.buttons === 0) { pad.down = false; return; }
    const events = e.getCoalescedEvents?.() ?? [];
    for (const ce of events.length ? events : [e]) {
      const p = padPoint(ce);
      stroke(pad.last, p);
      pad.last = p;
    }
  });
  const end = () => {
    if (!pad.down) return;
    pad.down = false;
    requestPrediction();
  };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  c.addEventListener('lostpointercapture', end);
  $('clear-drawing').addEventListener('click', clearPad);
}

function padPoint(e) {
  const r = pad.canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.canvas.width / r.width), (e.clientY - r.top) * (pad.canvas.height / r.height)];
}

function stroke(from, to) {
  const ctx = pad.ctx;
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 18;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
  pad.hasInk = true;
  requestPrediction();
}

function dot([x, y]) {
  pad.ctx.fillStyle = '#fff';
  pad.ctx.beginPath();
  pad.ctx.arc(x, y, 9, 0, 2 * Math.PI);
  pad.ctx.fill();
  pad.hasInk = true;
  requestPrediction();
}

function clearPad() {
  pad.ctx.fillStyle = '#000';
  pad.ctx.fillRect(0, 0, pad.canvas.width, pad.canvas.height);
  pad.hasInk = false;
  pad.generation++;
  predict.again = false;
  $('probabilities').replaceChildren();
  delete $('probabilities').dataset.predicted;
  $('draw-note').textContent = '';
}

/** At most one predictPixels in flight; a drawing that changes meanwhile is predicted after. */
function requestPrediction() {
  if (!app.lab || !app.hasModel || !pad.hasInk) return;
  if (predict.inFlight) {
    predict.again = true;
    return;
  }
  predict.inFlight = true;
  (async () => {
    try {
      do {
        predict.again = false;
        await exclusive(async () => {
          if (!pad.hasInk || !app.hasModel) return;
          const generation = pad.generation;
          const { width, height } = pad.canvas;
          const rgba = pad.ctx.getImageData(0, 0, width, height).data;
          const gray = new Uint8Array(width * height);
          for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i];
          let probabilities;
          try {
            probabilities = await app.lab.predictPixels(gray, width, height);
          } catch (e) {
            // A drawing the preprocessing refuses (too faint, nothing to crop) is no failure of
            // the page: say why under the pad and wait for more ink.
            if (generation === pad.generation) $('draw-note').textContent = message(e);
            return;
          }
          if (generation !== pad.generation) return;
          $('draw-note').textContent = '';
          showProbabilities(probabilities);
        });
      } while (predict.again);
    } finally {
      predict.inFlight = false;
    }
  })();
}

function showProbabilities(probabilities) {
  const list = $('probabilities');
  const p = Array.from(probabilities);
  const top = p.indexOf(Math.max(...p));
  if (list.children.length !== p.length) {
    list.replaceChildren(...p.map((_, i) => h('li', { 'data-class': String(i) },
      h('span', { class: 'name' }, name(i)),
      h('span', { class: 'bar' }, h('span', { class: 'fill' })),
      h('span', { class: 'value' }))));
  }
  p.forEach((v, i) => {
    const li = list.children[i];
    li.dataset.probability = String(v);
    li.classList.toggle('top', i === top);
    li.querySelector('.fill').style.width = `${(v * 100).toFixed(2)}%`;
    li.querySelector('.value').textContent = `${(v * 100).toFixed(1)}%`;
  });
  list.dataset.predicted = String(top);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and selftest

async function downloadCheckpoint() {
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

async function uploadCheckpoint(e) {
  const input = e.target;
  const file = input.files?.[0];
  if (!file) return;
  await action(async () => {
    status(`Loading ${file.name}…`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const r = await app.lab.loadCheckpoint(bytes);
    app.hasModel = true;
    app.stopped = false;
    $('model-error').textContent = '';
    $('model-summary').textContent = r.summary;
    if (r.model_toml) $('model-toml').value = r.model_toml;
    app.run = newRun(readInt('epochs', 1));
    drawCurves();
    $('progress').value = 0;
    const epochs = `${r.epochs_done} epoch${r.epochs_done === 1 ? '' : 's'}`;
    $('progress-text').textContent = `Loaded from ${file.name}: ${epochs} trained.`;
    $('epoch-log').textContent = '';
    $('checkpoint-info').textContent = `${file.name}: ${r.parameters.toLocaleString('en-US')} parameters, `
      + `${epochs} trained. Train continues from it.`;
    await evaluateAndShow();
    status(`Loaded ${file.name} · ${$('test-accuracy').textContent}`);
    setState('trained');
    if (pad.hasInk) requestPrediction();
  });
  input.value = '';
}

async function runSelftest() {
  await action(async () => {
    status('Running the selftest: every kernel against its CPU reference…');
    const started = performance.now();
    const rows = await app.lab.selftest();
    const passed = rows.filter((r) => r.passed).length;
    $('selftest').tBodies[0].replaceChildren(...rows.map((r) => h('tr', { 'data-passed': String(Boolean(r.passed)) },
      h('td', {}, r.check), h('td', { class: 'mono' }, r.kernel),
      h('td', { class: r.passed ? 'pass' : 'fail' }, r.passed ? 'PASS' : 'FAIL',
        r.failure ? h('div', { class: 'failure', title: r.failure }, r.failure.split('\n')[0]) : ''),
      h('td', { class: 'num' }, sci(r.max_abs)), h('td', { class: 'num' }, sci(r.max_rel)),
      h('td', { class: 'num' }, isNum(r.tolerance) ? sci(r.tolerance) : String(r.tolerance ?? '—')),
      h('td', { class: 'num' }, isNum(r.ms) ? r.ms.toFixed(1) : '—'))));
    const summary = $('selftest-summary');
    summary.textContent = `${passed}/${rows.length} passed`;
    summary.dataset.kind = passed === rows.length ? 'pass' : 'fail';
    status(`Selftest: ${passed}/${rows.length} passed in ${seconds((performance.now() - started) / 1000)}`,
      passed === rows.length ? '' : 'error');
  });
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers: canvases, digit grids, one plotting panel for the histogram and the curves

/** Sizes a canvas for the screen's pixel ratio; returns a context in CSS pixels. */
function setup(canvas) {
  if (!canvas.dataset.w) {
    canvas.dataset.w = canvas.width;
    canvas.dataset.h = canvas.height;
  }
  const w = Number(canvas.dataset.w), h = Number(canvas.dataset.h);
  const dpr = Math.min(Math.max(window.devicePixelRatio || 1, 1), 3);
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** images()'s answer as a list of digits with captions. */
function digitsOf(images, caption) {
  const n = images.rows * images.cols;
  return Array.from(images.labels, (label, i) => ({
    pixels: images.pixels.slice(i * n, (i + 1) * n), rows: images.rows, cols: images.cols, caption: caption(label),
  }));
}

/** A 5-column grid of digits, drawn dark on white as matplotlib's `cmap=binary`. */
function drawDigitGrid(canvas, digits, { columns = 5, rows = 5, empty = '' } = {}) {
  const { ctx, w, h } = setup(canvas);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  if (!digits.length) {
    ctx.fillStyle = '#556';
    ctx.font = `14px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.fillText(empty, w / 2, h / 2);
    return;
  }
  const cellW = w / columns, cellH = h / rows;
  const lines = digits.some((d) => d.note) ? 2 : 1;
  const size = Math.floor(Math.min(cellW - 10, cellH - 8 - 15 * lines));
  ctx.imageSmoothingEnabled = false;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  digits.slice(0, columns * rows).forEach((d, i) => {
    const x = (i % columns) * cellW + (cellW - size) / 2;
    const y = Math.floor(i / columns) * cellH + 4;
    const image = new ImageData(d.cols, d.rows);
    for (let p = 0; p < d.rows * d.cols; p++) {
      const v = 255 - d.pixels[p];
      image.data.set([v, v, v, 255], 4 * p);
    }
    const bitmap = document.createElement('canvas');
    bitmap.width = d.cols;
    bitmap.height = d.rows;
    bitmap.getContext('2d').putImageData(image, 0, 0);
    ctx.drawImage(bitmap, x, y, size, size);
    ctx.strokeStyle = '#d0d4da';
    ctx.lineWidth = 1;
    ctx.strokeRect(x - 0.5, y - 0.5, size + 1, size + 1);
    ctx.fillStyle = COLORS.text;
    ctx.font = `${lines > 1 ? 12 : 13}px ${FONT}`;
    ctx.fillText(d.caption, x + size / 2, y + size + 4);
    if (d.note) {
      ctx.fillStyle = '#778';
      ctx.font = `11px ${FONT}`;
      ctx.fillText(d.note, x + size / 2, y + size + 19);
    }
  });
}

function drawHistogram(d) {
  const { ctx, w, h } = setup($('histogram'));
  const k = app.classes.length;
  const ticks = app.classes.map((c, i) => [i, String(c)]);
  const sets = [
    ['Training set', d.train.count, d.train_counts, COLORS.bar],
    ['Test set', d.test.count, d.test_counts, COLORS.bar2],
  ];
  sets.forEach(([title, count, counts, color], i) => {
    panel(ctx, { x: (i * w) / 2, y: 0, w: w / 2, h }, {
      title: `${title} (${count} images)`, xLabel: 'Label', yLabel: 'Frequency',
      x: [-0.6, k - 0.4], y: [0, Math.max(...counts) * 1.12], xTicks: ticks,
      series: [{ kind: 'bars', color, data: counts.map((c, j) => [j, c]) }],
    });
  });
}

/**
 * One chart panel in rectangle `r` of `ctx`: grid, axes, ticks, labels, legend, and series of
 * kind 'line', 'points' (dots joined by a dashed line) or 'bars' (centred on x, 0.8 wide).
 */
function panel(ctx, r, o) {
  const legendRow = o.series.some((s) => s.label) ? 18 : 0;
  const m = { l: 56, r: 14, t: (o.title ? 28 : 10) + legendRow, b: o.xLabel ? 42 : 26 };
  const p = { x: r.x + m.l, y: r.y + m.t, w: r.w - m.l - m.r, h: r.h - m.t - m.b };
  const [x0, x1] = o.x, [y0, y1] = o.y;
  const X = (v) => p.x + ((v - x0) / (x1 - x0 || 1)) * p.w;
  const Y = (v) => p.y + p.h - ((v - y0) / (y1 - y0 || 1)) * p.h;
  ctx.save();
  ctx.font = `12px ${FONT}`;
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (const [v, label] of ticks(y0, y1, 5)) {
    ctx.strokeStyle = COLORS.grid;
    line(ctx, p.x, Y(v), p.x + p.w, Y(v));
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(label, p.x - 6, Y(v));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const [v, label] of o.xTicks ?? ticks(x0, x1, 6)) {
    ctx.strokeStyle = COLORS.axis;
    line(ctx, X(v), p.y + p.h, X(v), p.y + p.h + 4);
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(label, X(v), p.y + p.h + 7);
  }
  ctx.strokeStyle = COLORS.axis;
  line(ctx, p.x, p.y, p.x, p.y + p.h);
  line(ctx, p.x, p.y + p.h, p.x + p.w, p.y + p.h);

  ctx.save();
  ctx.beginPath();
  ctx.rect(p.x - 6, p.y - 6, p.w + 12, p.h + 6);
  ctx.clip();
  for (const s of o.series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    if (s.kind === 'bars') {
      for (const [x, y] of s.data) {
        const left = X(x - 0.4), width = X(x + 0.4) - left;
        ctx.fillRect(left, Y(y), width, Y(y0) - Y(y));
        ctx.strokeStyle = '#000';
        ctx.strokeRect(left, Y(y), width, Y(y0) - Y(y));
      }
    } else if (s.data.length) {
      ctx.lineWidth = s.kind === 'line' ? 1.8 : 1.2;
      ctx.setLineDash(s.kind === 'line' ? [] : [4, 3]);
      ctx.beginPath();
      s.data.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
      ctx.stroke();
      ctx.setLineDash([]);
      // Points get dots; so does a line of few points (a chunk per epoch on a slow adapter).
      if (s.kind === 'points' || s.data.length <= 12) {
        for (const [x, y] of s.data) {
          ctx.beginPath();
          ctx.arc(X(x), Y(y), s.kind === 'points' ? 4 : 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
  }
  ctx.restore();

  ctx.fillStyle = COLORS.text;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  if (o.title) {
    ctx.font = `bold 13px ${FONT}`;
    ctx.fillText(o.title, p.x + p.w / 2, r.y + 17);
  }
  ctx.font = `12px ${FONT}`;
  if (o.xLabel) ctx.fillText(o.xLabel, p.x + p.w / 2, r.y + r.h - 8);
  if (o.yLabel) {
    ctx.save();
    ctx.translate(r.x + 14, p.y + p.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(o.yLabel, 0, 0);
    ctx.restore();
  }
  // The legend: one row above the plot, right-aligned, so it never hides a point.
  const legend = o.series.filter((s) => s.label);
  if (legend.length) {
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    const widths = legend.map((s) => 22 + ctx.measureText(s.label).width);
    let lx = p.x + p.w - widths.reduce((a, b) => a + b + 14, -14);
    const y = r.y + (o.title ? 36 : 10);
    legend.forEach((s, i) => {
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(s.kind === 'line' ? [] : [4, 3]);
      line(ctx, lx, y, lx + 16, y);
      ctx.setLineDash([]);
      if (s.kind === 'points') {
        ctx.beginPath();
        ctx.arc(lx + 8, y, 3.5, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.fillStyle = COLORS.text;
      ctx.fillText(s.label, lx + 22, y);
      lx += widths[i] + 14;
    });
  }
  ctx.restore();
}

function line(ctx, ax, ay, bx, by) {
  ctx.beginPath();
  ctx.moveTo(ax, ay);
  ctx.lineTo(bx, by);
  ctx.stroke();
}

/** About n round tick values in lo..hi, each with its label. */
function ticks(lo, hi, n) {
  const raw = (hi - lo) / n || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / mag === 2.5 ? 1 : 0));
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    out.push([v, v.toFixed(decimals)]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** An element with attributes and children (strings or nodes). */
function h(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  e.append(...children.flat().map((c) => (c instanceof Node ? c : String(c ?? ''))));
  return e;
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const f4 = (v) => (isNum(v) ? v.toFixed(4) : '—');
const f2 = (v) => (isNum(v) ? v.toFixed(2) : '—');
const sci = (v) => (!isNum(v) ? '—' : v === 0 ? '0' : v.toExponential(2));
const seconds = (s) => (!isNum(s) ? '—' : s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`);
const name = (label) => String(app.classes[label] ?? label);

// ---------------------------------------------------------------------------------------------

setupPad();
$('preset').addEventListener('change', choosePreset);
$('apply-model').addEventListener('click', () => action(() => applyModel($('model-toml').value)));
$('train').addEventListener('click', train);
$('stop').addEventListener('click', () => {
  try {
    app.lab.stop();
    status('Stopping at the next chunk of steps…');
  } catch (e) {
    showError(e);
  }
});
$('download-checkpoint').addEventListener('click', downloadCheckpoint);
$('upload-checkpoint').addEventListener('change', uploadCheckpoint);
$('run-selftest').addEventListener('click', runSelftest);
window.addEventListener('unhandledrejection', (e) => showError(e.reason));
main();
