// Step 1, the data: downloads the bundled MNIST, hands it to the lab, and shows its shapes, the
// first 25 training digits and the label histogram of the training and test sets.

import { COLORS, panel, setupCanvas } from './charts.js';
import { digitsOf, drawDigitGrid } from './digits.js';
import { $ } from './dom.js';
import { app, className, status } from './page.js';

const MNIST_DIR = './mnist/';
const MNIST_FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
];

/** Loads MNIST into the lab (app.data, app.classes) and shows it. */
export async function loadData() {
  status('Downloading MNIST…');
  const files = await Promise.all(MNIST_FILES.map(fetchBytes));
  status('Decoding MNIST…');
  app.data = await app.lab.loadMnist(...files);
  app.classes = app.data.classes ?? [...Array(10).keys()].map(String);
  showData(app.data);
  const samples = await app.lab.images('train', 0, 25);
  drawDigitGrid($('samples'), digitsOf(samples, className));
}

async function fetchBytes(name) {
  const response = await fetch(MNIST_DIR + name);
  if (!response.ok) throw new Error(`${MNIST_DIR}${name}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
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

function drawHistogram(d) {
  const { ctx, w, h } = setupCanvas($('histogram'));
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
