// Step 4, results: lab.evaluate on the test set, shown as the test accuracy (#test-accuracy and
// its data-value), the confusion matrix and the first 25 misclassified test digits.

import { centredText, heatmap, setupCanvas } from './charts.js';
import { drawDigitGrid } from './digits.js';
import { $ } from './dom.js';
import { f2, f4 } from './format.js';
import { app, className, status } from './page.js';

/** Evaluates the lab's model on the test set and shows the results. */
export async function evaluateAndShow() {
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
      caption: `true ${className(m.label)}, predicted ${className(m.predicted)}`,
      note: `#${m.index} · p ${f2(m.confidence)}`,
    });
  }
  drawDigitGrid($('mistakes'), digits, { empty: 'No misclassified test digits.' });
}

/** A new model: no results until it is evaluated. */
export function clearResults() {
  const acc = $('test-accuracy');
  acc.textContent = 'Test accuracy: —';
  delete acc.dataset.value;
  $('test-details').textContent = 'Train a model or load a checkpoint.';
  if (app.data) drawResultsPlaceholder();
}

function drawResultsPlaceholder() {
  for (const id of ['confusion', 'mistakes']) {
    const { ctx, w, h } = setupCanvas($(id));
    ctx.fillStyle = '#f4f6f8';
    ctx.fillRect(0, 0, w, h);
    centredText(ctx, w, h, 'Appears after training', '#889');
  }
}

function drawConfusion(cm) {
  const labels = app.classes.every((c) => String(c).length <= 3) ? app.classes : cm.map((_, i) => String(i));
  heatmap($('confusion'), cm, {
    labels,
    title: `Confusion matrix for ${app.data?.title ?? 'MNIST'} classification`,
    xLabel: 'Predicted labels',
    yLabel: 'True labels',
  });
}
