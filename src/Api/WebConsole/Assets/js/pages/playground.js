// Playground: classify typed or pasted texts with a model (its production version or a chosen one), and score a
// version on a CSV of text and label.

import { api } from '../api.js';
import { h, clear, field, errorBox, showError, sortableTable, pct, num, int, progressBar, metric, parseCsv } from '../ui.js';

const BATCH = 256;

export async function render(main, [modelName, versionParam], signal) {
  const models = await api('/v1/models', { signal });
  if (!models.data.length) {
    clear(main, h('h1', {}, 'Playground'), h('p', { class: 'muted' }, 'No model to ask yet: a succeeded fine-tuning job publishes one.'));
    return;
  }
  const modelSelect = h('select', {}, models.data.map(m => h('option', { value: m.name, selected: m.name === modelName }, m.name)));
  const versionSelect = h('select');
  const fillVersions = () => {
    const m = models.data.find(x => x.name === modelSelect.value);
    const production = m.aliases.production;
    clear(versionSelect,
      h('option', { value: '' }, production !== undefined ? `production (version ${production})` : `latest (version ${m.latest_version})`),
      m.versions.map(v => h('option', { value: v.version, selected: String(v.version) === versionParam }, `version ${v.version}`)));
  };
  modelSelect.addEventListener('change', fillVersions);
  fillVersions();
  const path = () => `/v1/models/${encodeURIComponent(modelSelect.value)}${versionSelect.value ? `/versions/${versionSelect.value}` : ''}/predict`;

  const texts = h('textarea', { rows: 5, placeholder: 'I lost my card\nwhat is the weather tomorrow' });
  const topK = h('input', { type: 'number', min: 1, max: 20, value: 3 });
  const results = h('div', { 'aria-live': 'polite', id: 'predictions' });
  const ask = h('form', { class: 'card', onsubmit: async e => {
    e.preventDefault();
    const inputs = texts.value.split('\n').map(t => t.trim()).filter(Boolean);
    if (!inputs.length) { clear(results, errorBox({ title: 'Type a text first', detail: 'One text per line.' })); return; }
    clear(results, h('p', { class: 'muted' }, 'Asking…'));
    const started = performance.now();
    try {
      const answer = await api(path(), { method: 'POST', json: { inputs, top_k: Number(topK.value) || undefined } });
      const elapsed = performance.now() - started;
      clear(results, h('p', { class: 'muted' }, `${answer.model} version ${answer.version} answered ${inputs.length} text(s) in ${elapsed.toFixed(0)} ms.`),
        answer.predictions.map((p, i) => prediction(inputs[i], p)));
    } catch (error) { showError(results, error); }
  } },
  h('h2', {}, 'Ask'),
  field('Texts, one per line', texts),
  field('Top labels to show', topK, 'How many of the best labels to list per text.'),
  h('button', { type: 'submit' }, 'Classify'), results);

  const file = h('input', { type: 'file', accept: '.csv,text/csv' });
  const oosLabel = h('input', { type: 'text', value: 'oos' });
  const scoreResult = h('div', { 'aria-live': 'polite', id: 'score-result' });
  const score = h('form', { class: 'card', onsubmit: async e => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) { clear(scoreResult, errorBox({ title: 'Choose a CSV file first' })); return; }
    const rows = parseCsv(await chosen.text());
    const header = rows[0]?.map(x => x.trim().toLowerCase()) ?? [];
    const ti = header.indexOf('text'), li = header.indexOf('label');
    if (ti < 0 || li < 0) { clear(scoreResult, errorBox({ title: 'The CSV needs a header with text and label columns', detail: `Its header is: ${rows[0]?.join(', ') ?? '(empty)'}` })); return; }
    const data = rows.slice(1).filter(r => r[ti]?.trim()).map(r => ({ text: r[ti].trim(), label: (r[li] ?? '').trim() }));
    const bar = progressBar(0, 'Scoring progress');
    clear(scoreResult, bar);
    const mistakes = [];
    let correct = 0;
    const started = performance.now();
    try {
      for (let i = 0; i < data.length; i += BATCH) {
        const batch = data.slice(i, i + BATCH);
        const answer = await api(path(), { method: 'POST', json: { inputs: batch.map(r => r.text), top_k: 1 } });
        answer.predictions.forEach((p, j) => {
          const row = batch[j];
          const said = p.out_of_scope ? oosLabel.value.trim() : p.label;
          if (said === row.label) correct++;
          else mistakes.push({ text: row.text, label: row.label, predicted: p.out_of_scope ? `${said} (out of scope)` : said, score: p.score });
        });
        bar.value = Math.min(1, (i + batch.length) / data.length);
      }
      const elapsed = (performance.now() - started) / 1000;
      clear(scoreResult,
        h('div', { class: 'metrics' },
          metric('Accuracy', pct(correct / Math.max(1, data.length)), { valueId: 'score-accuracy' }),
          metric('Rows', int(data.length)), metric('Mistakes', int(mistakes.length)), metric('Time', `${elapsed.toFixed(1)} s`)),
        mistakes.length ? sortableTable([
          { key: 'text', label: 'Text', value: r => r.text },
          { key: 'label', label: 'True label', value: r => r.label, render: r => h('code', {}, r.label) },
          { key: 'predicted', label: 'Predicted', value: r => r.predicted, render: r => h('code', {}, r.predicted) },
          { key: 'score', label: 'Score', value: r => r.score, render: r => num(r.score, 3), numeric: true },
        ], mistakes, { filterLabel: 'Filter mistakes', caption: 'Rows the model got wrong', pageSize: 25 }) : h('p', {}, 'No mistakes.'));
    } catch (error) { showError(scoreResult, error); }
  } },
  h('h2', {}, 'Score a CSV'),
  h('p', {}, 'A CSV with a header naming text and label columns; each row is classified and compared with its label.'),
  field('CSV file', file),
  field('Out-of-scope label', oosLabel, 'An out-of-scope answer counts as right for rows with this label.'),
  h('button', { type: 'submit' }, 'Score'), scoreResult);

  clear(main, h('h1', {}, 'Playground'),
    h('div', { class: 'grid' }, field('Model', modelSelect), field('Version', versionSelect, 'The production alias is what POST /v1/models/{name}/predict uses.')),
    ask, score);
  texts.focus();
}

function prediction(text, p) {
  return h('article', { class: 'prediction' },
    h('h3', {}, `“${text}”`),
    h('p', {}, p.out_of_scope
      ? [h('span', { class: 'badge badge-warning' }, 'out of scope'), ` top score ${num(p.score, 3)} is below the threshold`]
      : [h('strong', { class: 'predicted-label' }, p.label), ` ${pct(p.score)}`]),
    h('ul', { class: 'scores' }, p.top_k.map(s => {
      const fill = h('span', { class: 'fill' });
      fill.style.width = `${Math.max(0.5, s.score * 100)}%`;
      return h('li', {}, h('span', { class: 'score-label' }, s.label), h('span', { class: 'score-bar', role: 'img', 'aria-label': `${s.label} ${pct(s.score)}` }, fill), h('span', { class: 'score-value' }, pct(s.score)));
    })));
}
