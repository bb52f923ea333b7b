// Grids of MNIST digits on a canvas, dark on white as matplotlib's `cmap=binary`, each with a
// caption and an optional note under it (the training samples, the misclassified test digits).

import { COLORS, FONT, centredText, setupCanvas } from './charts.js';

/** images()'s answer as a list of digits with captions. */
export function digitsOf(images, caption) {
  const n = images.rows * images.cols;
  return Array.from(images.labels, (label, i) => ({
    pixels: images.pixels.slice(i * n, (i + 1) * n), rows: images.rows, cols: images.cols, caption: caption(label),
  }));
}

/** A grid of digits, 5 x 5 unless told; `empty` is what it says when there are none. */
export function drawDigitGrid(canvas, digits, { columns = 5, rows = 5, empty = '' } = {}) {
  const { ctx, w, h } = setupCanvas(canvas);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  if (!digits.length) {
    centredText(ctx, w, h, empty, '#556');
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
    ctx.drawImage(bitmap(d), x, y, size, size);
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

/** One digit as a canvas of its own size, ink dark on white. */
function bitmap(d) {
  const image = new ImageData(d.cols, d.rows);
  for (let p = 0; p < d.rows * d.cols; p++) {
    const v = 255 - d.pixels[p];
    image.data.set([v, v, v, 255], 4 * p);
  }
  const canvas = document.createElement('canvas');
  canvas.width = d.cols;
  canvas.height = d.rows;
  canvas.getContext('2d').putImageData(image, 0, 0);
  return canvas;
}
