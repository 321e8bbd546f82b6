// Charts drawn by hand: SVG for bars and lines, a canvas for the confusion matrix (150 × 150 cells stay fast).
// Every chart has a text alternative (aria-label, and a table or list beside it where the numbers matter).

import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const short = (text, n) => text.length > n ? `${text.slice(0, n - 1)}…` : text;

function niceTicks(min, max, count = 5) {
  if (max === min) max = min + 1;
  const raw = (max - min) / count;
  const step = [1, 2, 2.5, 5, 10].map(m => m * 10 ** Math.floor(Math.log10(raw))).find(v => v >= raw);
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

/**
 * Horizontal bars, one row per item, in the order given: items [{label, value, warn}]. `warn` bars are drawn in the
 * warning colour so that, say, the smallest classes stand out.
 */
export function barChart(items, { label, valueFormat = v => v } = {}) {
  const row = 16, left = 190, width = 640, right = 60;
  const height = items.length * row + 8;
  const max = Math.max(1, ...items.map(i => i.value));
  const chart = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart bars', role: 'img', 'aria-label': label, width, height });
  items.forEach((item, i) => {
    const y = 4 + i * row;
    const w = Math.max(1, (item.value / max) * (width - left - right));
    chart.append(s('g', { class: item.warn ? 'warn' : '' },
      s('title', {}, `${item.label}: ${valueFormat(item.value)}`),
      s('text', { x: left - 6, y: y + row * 0.7, 'text-anchor': 'end', class: 'axis-label' }, short(item.label, 30)),
      s('rect', { x: left, y: y + 2, width: w, height: row - 4, class: 'bar' }),
      s('text', { x: left + w + 4, y: y + row * 0.7, class: 'value-label' }, valueFormat(item.value))));
  });
  return chart;
}

/** Vertical bars of a histogram: buckets [{label, value}]. */
export function histogram(buckets, { label, xLabel } = {}) {
  const width = 640, height = 220, left = 48, bottom = 44, top = 10;
  const max = Math.max(1, ...buckets.map(b => b.value));
  const slot = (width - left - 10) / Math.max(1, buckets.length);
  const chart = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  for (const tick of niceTicks(0, max, 4)) {
    const y = height - bottom - (tick / max) * (height - bottom - top);
    chart.append(s('line', { x1: left, x2: width - 10, y1: y, y2: y, class: 'grid' }),
      s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-label' }, tick.toLocaleString('en')));
  }
  buckets.forEach((bucket, i) => {
    const barHeight = (bucket.value / max) * (height - bottom - top);
    const x = left + i * slot;
    chart.append(s('g', {},
      s('title', {}, `${bucket.label}: ${bucket.value.toLocaleString('en')}`),
      s('rect', { x: x + 2, y: height - bottom - barHeight, width: Math.max(1, slot - 4), height: barHeight, class: 'bar' }),
      s('text', { x: x + slot / 2, y: height - bottom + 14, 'text-anchor': 'middle', class: 'axis-label small' }, bucket.label)));
  });
  if (xLabel) chart.append(s('text', { x: (width + left) / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-title' }, xLabel));
  return chart;
}

/**
 * Lines: series [{name, points: [[x, y]], cls}], with axes, a legend and an optional vertical marker {x, label}.
 * Returns {element, update(series)} so a live chart can be redrawn as points arrive.
 */
export function lineChart({ label, xLabel, yLabel, yMin, yMax, xMin, xMax, marker, series = [] }) {
  const width = 640, height = 260, left = 52, right = 14, top = 14, bottom = 42;
  const element = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart lines', role: 'img', 'aria-label': label });
  const legend = h('ul', { class: 'legend' });
  const wrapper = h('figure', { class: 'chart-figure' }, element, legend);

  function update(current, currentMarker = marker) {
    element.replaceChildren();
    const all = current.flatMap(line => line.points);
    const x0 = xMin ?? Math.min(...all.map(p => p[0]), 0), x1 = xMax ?? Math.max(...all.map(p => p[0]), 1);
    const y0 = yMin ?? Math.min(...all.map(p => p[1]), 0), y1 = yMax ?? Math.max(...all.map(p => p[1]), 1e-9);
    const X = x => left + ((x - x0) / ((x1 - x0) || 1)) * (width - left - right);
    const Y = y => height - bottom - ((y - y0) / ((y1 - y0) || 1)) * (height - top - bottom);
    for (const tick of niceTicks(y0, y1, 4)) {
      element.append(s('line', { x1: left, x2: width - right, y1: Y(tick), y2: Y(tick), class: 'grid' }),
        s('text', { x: left - 6, y: Y(tick) + 4, 'text-anchor': 'end', class: 'axis-label' }, +tick.toFixed(3)));
    }
    for (const tick of niceTicks(x0, x1, 6)) {
      element.append(s('text', { x: X(tick), y: height - bottom + 16, 'text-anchor': 'middle', class: 'axis-label' }, +tick.toFixed(3)));
    }
    element.append(s('line', { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, class: 'axis' }),
      s('line', { x1: left, x2: left, y1: top, y2: height - bottom, class: 'axis' }));
    if (xLabel) element.append(s('text', { x: (width + left) / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-title' }, xLabel));
    if (yLabel) element.append(s('text', { x: 12, y: (height - bottom) / 2, transform: `rotate(-90 12 ${(height - bottom) / 2})`, 'text-anchor': 'middle', class: 'axis-title' }, yLabel));
    if (currentMarker) {
      element.append(s('line', { x1: X(currentMarker.x), x2: X(currentMarker.x), y1: top, y2: height - bottom, class: 'marker' }),
        s('text', { x: X(currentMarker.x) + 4, y: top + 10, class: 'marker-label' }, currentMarker.label));
    }
    current.forEach((line, i) => {
      const cls = line.cls ?? `series-${i}`;
      if (line.points.length > 1) {
        element.append(s('polyline', { points: line.points.map(p => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' '), class: `line ${cls}` }));
      }
      for (const p of line.points.length <= 60 ? line.points : []) {
        element.append(s('circle', { cx: X(p[0]), cy: Y(p[1]), r: 3, class: `dot ${cls}` }, s('title', {}, `${line.name}: ${p[1]} at ${p[0]}`)));
      }
    });
    legend.replaceChildren(...current.map((line, i) => h('li', { class: line.cls ?? `series-${i}` },
      h('span', { class: 'swatch', 'aria-hidden': 'true' }), `${line.name} (${line.points.length} points)`)));
    element.dataset.points = String(all.length);
  }

  update(series);
  return { element: wrapper, update };
}

/**
 * The confusion matrix on a canvas: rows are true labels, columns predictions; each cell is shaded by its share of
 * its row (so small classes show as clearly as big ones), the diagonal in one hue and mistakes in another. `cell`
 * pixels per label; hovering or focusing shows the cell's numbers in `readout`.
 */
export function confusionHeatmap(labels, matrix, { cell = 4, readout } = {}) {
  const n = labels.length;
  const canvas = h('canvas', { class: 'heatmap', tabindex: '0', role: 'img',
    'aria-label': `Confusion matrix, ${n} by ${n}: rows are true labels, columns predicted labels. The most confused pairs are listed beside it.` });
  const totals = matrix.map(row => row.reduce((a, b) => a + b, 0));

  function draw(size) {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = n * size * ratio;
    canvas.height = n * size * ratio;
    canvas.style.width = `${n * size}px`;
    canvas.style.height = `${n * size}px`;
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, n * size, n * size);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const value = matrix[r][c];
        if (!value) continue;
        const share = value / Math.max(1, totals[r]);
        const strength = Math.sqrt(share);
        g.fillStyle = r === c ? `rgba(22, 101, 52, ${0.15 + 0.85 * strength})` : `rgba(185, 28, 28, ${0.25 + 0.75 * strength})`;
        g.fillRect(c * size, r * size, size, size);
      }
    }
    canvas.dataset.cell = String(size);
  }

  canvas.addEventListener('mousemove', e => {
    const size = Number(canvas.dataset.cell);
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor((e.clientX - rect.left) / size), r = Math.floor((e.clientY - rect.top) / size);
    if (readout && r >= 0 && r < n && c >= 0 && c < n) {
      readout.textContent = `true ${labels[r]} → predicted ${labels[c]}: ${matrix[r][c]} of ${totals[r]}`;
    }
  });
  draw(cell);
  return { canvas, zoom: draw };
}

/** The off-diagonal cells, largest first: [{actual, predicted, count, share}]. */
export function confusedPairs(labels, matrix, limit = 25) {
  const pairs = [];
  matrix.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, c) => { if (r !== c && count > 0) pairs.push({ actual: labels[r], predicted: labels[c], count, share: count / Math.max(1, total) }); });
  });
  return pairs.sort((a, b) => b.count - a.count || b.share - a.share).slice(0, limit);
}
