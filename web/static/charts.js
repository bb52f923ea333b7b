// The page's small plotting helper on 2D canvases: a canvas sized for the screen, one chart
// panel (grid, axes, ticks, labels, legend; lines, dotted points, bars), a heatmap with counts,
// and a centred note for an empty figure.

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
export const COLORS = { train: '#1f77b4', val: '#ff7f0e', bar: '#87ceeb', bar2: '#f4a582', axis: '#555', grid: '#e6e8eb', text: '#222' };

/** Sizes a canvas for the screen's pixel ratio; returns a context in CSS pixels. */
export function setupCanvas(canvas) {
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

/** One line of text in the middle of a w x h figure (what an empty figure shows). */
export function centredText(ctx, w, h, text, color) {
  ctx.fillStyle = color;
  ctx.font = `14px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillText(text, w / 2, h / 2);
}

/**
 * One chart panel in rectangle `r` of `ctx`: grid, axes, ticks, labels, legend, and series of
 * kind 'line', 'points' (dots joined by a dashed line) or 'bars' (centred on x, 0.8 wide).
 */
export function panel(ctx, r, o) {
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

/**
 * A heatmap of `matrix` (rows down, columns along) on `canvas`, each cell in matplotlib's
 * "Blues" with its count, `labels` along both axes, `xLabel` under, `yLabel` left, `title` above.
 */
export function heatmap(canvas, matrix, { labels, title, xLabel, yLabel }) {
  const { ctx, w, h } = setupCanvas(canvas);
  const k = matrix.length;
  const m = { l: 60, t: 30, r: 10, b: 50 };
  const cell = Math.min((w - m.l - m.r) / k, (h - m.t - m.b) / k);
  const x0 = m.l + (w - m.l - m.r - cell * k) / 2;
  const values = matrix.flat();
  const lo = Math.min(...values), hi = Math.max(...values);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = `${Math.min(13, Math.floor(cell * 0.32))}px ${FONT}`;
  matrix.forEach((row, i) => row.forEach((v, j) => {
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
  ctx.fillText(xLabel, x0 + (k * cell) / 2, m.t + k * cell + 34);
  ctx.save();
  ctx.translate(x0 - 36, m.t + (k * cell) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
  ctx.font = `bold 13px ${FONT}`;
  ctx.fillText(title, x0 + (k * cell) / 2, 14);
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
