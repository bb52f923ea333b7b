// Step 5, predict your own digit: the drawing pad (#draw, white strokes on black, by mouse, pen
// or finger) and the class probabilities (#probabilities), with at most one predictPixels in
// flight.

import { $, h } from './dom.js';
import { message } from './format.js';
import { exclusive } from './lab-queue.js';
import { app, className } from './page.js';

const pad = { canvas: null, ctx: null, down: false, last: null, hasInk: false, generation: 0 };
const predict = { inFlight: false, again: false };

export function setupPad() {
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

/**
 * Predicts the drawing, if there is one and a model (also after the model changed). At most one
 * predictPixels in flight; a drawing that changes meanwhile is predicted after.
 */
export function requestPrediction() {
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
      h('span', { class: 'name' }, className(i)),
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
