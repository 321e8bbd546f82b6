// Fine-tuning: the jobs list, the new-job form (with a dry run that shows the resolved defaults), and a job's page:
// live training curves from the event stream, the event log, checkpoints, cancel, and once it has succeeded its
// evaluation (headline metrics, per-class table, confusion matrix, out-of-scope trade-off, mistakes).

import { api, followEvents } from '../api.js';
import { h, clear, field, errorBox, showError, confirmDialog, facts, sortableTable, pct, num, int, when, duration, badge, link, toast, progressBar, cursorPager, metric } from '../ui.js';
import { lineChart, confusionHeatmap, confusedPairs } from '../charts.js';

const PAGE = 20;

export async function render(main, [id], signal) {
  if (id === 'new') return renderNewJob(main, signal);
  if (id) return renderJob(main, id, signal);
  const status = h('select', {}, ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'].map(s => h('option', { value: s }, s || 'any')));
  const list = h('div');
  status.addEventListener('change', () => loadPage(list, status.value, null, []));
  clear(main, h('h1', {}, 'Fine-tuning jobs'),
    h('p', {}, h('a', { href: '#/jobs/new', class: 'button' }, 'New fine-tuning job')),
    h('div', { class: 'table-tools' }, field('Status', status)), list);
  await loadPage(list, '', null, []);
  // The list refreshes while a job on it is active.
  const timer = setInterval(() => { if (list.querySelector('.badge-running, .badge-queued')) loadPage(list, status.value, null, []).catch(() => {}); }, 3000);
  signal.addEventListener('abort', () => clearInterval(timer));
}

async function loadPage(list, status, after, previous) {
  const query = new URLSearchParams({ limit: PAGE });
  if (status) query.set('status', status);
  if (after) query.set('after', after);
  const page = await api(`/v1/fine-tuning/jobs?${query}`);
  if (!page.data.length && !after) { clear(list, h('p', { class: 'muted' }, 'No jobs yet.')); return; }
  clear(list,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Job', 'Model', 'Architecture', 'Status', 'Progress', 'Duration', 'Created'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, page.data.map(j => h('tr', {},
        h('td', {}, link(`jobs/${j.id}`, j.id)),
        h('td', {}, j.result ? link(`models/${j.result.model}/versions/${j.result.version}`, `${j.result.model}:${j.result.version}`) : j.model),
        h('td', {}, j.base_model ? `${j.architecture} from ${j.base_model}` : j.architecture),
        h('td', {}, badge(j.status)),
        h('td', {}, progressBar(j.progress?.fraction ?? (j.status === 'succeeded' ? 1 : 0), `Progress of ${j.id}`), ' ', pct(j.progress?.fraction ?? (j.status === 'succeeded' ? 1 : 0), 0)),
        h('td', {}, duration(j.started_at, j.finished_at)),
        h('td', {}, when(j.created_at))))))),
    cursorPager(page, after, previous, (cursor, stack) => loadPage(list, status, cursor, stack)));
}

/** Every hyperparameter a job takes, with a one-line explanation; defaults come from the service's dry run. */
const HYPERPARAMETERS = [
  ['epochs', 'number', 'Passes over the training data at most (early stopping may end sooner).'],
  ['batch_size', 'number', 'Examples per optimizer step.'],
  ['learning_rate', 'number', 'Peak AdamW learning rate, reached at the end of warm-up.'],
  ['weight_decay', 'number', 'AdamW decoupled weight decay on weights and embeddings.'],
  ['dropout', 'number', 'Share of activations dropped while training, against over-fitting.'],
  ['max_sequence_length', 'number', 'Tokens per text at most; longer texts are cut.'],
  ['warmup_ratio', 'number', 'Share of steps spent raising the learning rate from near zero.'],
  ['lr_schedule', 'select', 'How the learning rate moves after warm-up.', ['linear', 'cosine', 'constant']],
  ['early_stopping_patience', 'number', 'Stop after this many epochs without a better validation macro-F1; 0 never stops early.'],
  ['label_smoothing', 'number', 'Spreads this much of each target over the other labels; 0 is plain cross-entropy.'],
  ['seed', 'number', 'Seeds every random choice: same seed and data, same model.'],
  ['train_layers', 'text', 'Pretrained encoders: how many top layers train ("all", or 0 for the head only).'],
  ['probe_epochs', 'number', 'Pretrained encoders: epochs training the new head alone before the encoder.'],
  ['probe_learning_rate', 'number', 'Pretrained encoders: peak learning rate of the head while probing.'],
];

async function renderNewJob(main, signal) {
  const [datasets, baseModels] = await Promise.all([
    api('/v1/datasets?limit=100', { signal }),
    api('/v1/base-models', { signal }).catch(() => ({ data: [] })),
  ]);
  const datasetOptions = empty => [h('option', { value: '' }, empty), ...datasets.data.map(d => h('option', { value: d.id }, `${d.name} (${int(d.row_count)} rows, ${d.labels.length} labels) — ${d.id}`))];
  const training = h('select', { required: true }, datasetOptions('Choose a dataset'));
  const validation = h('select', {}, datasetOptions('None: hold out part of the training data'));
  const model = h('input', { type: 'text', required: true, pattern: '[a-z0-9][a-z0-9._-]*', placeholder: 'support-intents' });
  const architecture = h('select', {}, h('option', { value: 'ngram-bag' }, 'ngram-bag: fast bag of n-grams (default)'), h('option', { value: 'transformer' }, 'transformer: small Transformer from random weights'));
  const baseModel = h('input', { type: 'text', list: 'base-models', placeholder: 'none' });
  const baseList = h('datalist', { id: 'base-models' }, baseModels.data.map(b => h('option', { value: b.id }, `${b.id} (${b.architecture}, ${int(b.parameters)} parameters)`)));
  const outOfScope = h('input', { type: 'text', placeholder: 'e.g. oos' });
  const split = h('input', { type: 'number', min: 0, max: 0.5, step: 0.01, placeholder: '0.1' });
  const quantization = h('select', {}, h('option', { value: 'none' }, 'none'), h('option', { value: 'dynamic_int8' }, 'dynamic_int8: also export an INT8 model'));
  const inputs = Object.fromEntries(HYPERPARAMETERS.map(([name, kind, , options]) => [name,
    kind === 'select' ? h('select', {}, h('option', { value: '' }, 'default'), options.map(o => h('option', { value: o }, o)))
      : h('input', { type: kind === 'number' ? 'number' : 'text', step: 'any', name })]));
  const preflight = h('div', { 'aria-live': 'polite' });
  const message = h('div');

  function body(dryRun) {
    const hyperparameters = {};
    for (const [name, kind] of HYPERPARAMETERS) {
      const value = inputs[name].value.trim();
      if (value === '') continue;
      hyperparameters[name] = kind === 'number' ? Number(value) : (name === 'train_layers' && value !== 'all' ? Number(value) : value);
    }
    const request = { training_dataset_id: training.value || null, model: model.value.trim() || (dryRun ? 'draft' : null) };
    if (validation.value) request.validation_dataset_id = validation.value;
    if (baseModel.value.trim()) request.base_model = baseModel.value.trim(); else request.architecture = architecture.value;
    if (outOfScope.value.trim()) request.out_of_scope_label = outOfScope.value.trim();
    if (split.value !== '') request.validation_split = Number(split.value);
    if (quantization.value !== 'none') request.quantization = quantization.value;
    if (Object.keys(hyperparameters).length) request.hyperparameters = hyperparameters;
    if (dryRun) request.dry_run = true;
    return request;
  }

  async function dryRun() {
    if (!training.value) { clear(preflight); return; }
    try {
      const result = await api('/v1/fine-tuning/jobs', { method: 'POST', json: body(true) });
      for (const [name, value] of Object.entries(result.hyperparameters ?? {})) {
        const input = inputs[name];
        if (!input) continue;
        if (input.tagName === 'SELECT') input.options[0].textContent = `default (${value})`;
        else input.placeholder = value === null ? 'all' : String(value);
      }
      clear(preflight, h('div', { class: 'result' }, h('h3', {}, 'Dry run'), facts([
        ['Architecture', result.architecture + (result.base_model ? ` from ${result.base_model}` : '')],
        ['Training rows', int(result.training_rows)], ['Validation rows', int(result.validation_rows)], ['Labels', int(result.labels)],
        ['Estimated time', result.estimated_seconds ? `${Math.round(result.estimated_seconds)} s` : 'unknown until a job of this kind has run'],
      ]), result.findings.length ? h('ul', { class: 'findings' }, result.findings.map(f => h('li', {}, badge(f.severity), ' ', h('code', {}, f.code), ' ', f.message))) : null));
    } catch (error) { showError(preflight, error); }
  }
  for (const control of [training, validation, architecture, baseModel, outOfScope]) control.addEventListener('change', dryRun);

  const submit = h('button', { type: 'submit' }, 'Start job');
  const form = h('form', { class: 'card', onsubmit: async e => {
    e.preventDefault();
    clear(message);
    submit.disabled = true;
    try {
      const job = await api('/v1/fine-tuning/jobs', { method: 'POST', json: body(false) });
      toast(`Started ${job.id}.`);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) { showError(message, error); } finally { submit.disabled = false; }
  } },
  h('div', { class: 'grid' },
    field('Training dataset', training, 'The labelled rows to learn from.'),
    field('Validation dataset', validation, 'Rows to measure on; without one, a stratified share of the training data is held out.'),
    field('Model name', model, 'Each succeeded job publishes the next version of this name (lower case, digits, . _ -).'),
    field('Architecture', architecture, 'What to train from random weights; ignored with a base model.'),
    field('Base model', baseModel, 'A pretrained encoder, or name:version of a model to continue from; empty trains from scratch.'),
    field('Out-of-scope label', outOfScope, 'A label meaning "none of these" (such as oos): not trained as a class; a confidence threshold decides it.'),
    field('Validation split', split, 'Share held out for validation when there is no validation dataset (default 0.1).'),
    field('Quantization', quantization, 'dynamic_int8 also exports a smaller INT8 model and serves it.')),
  baseList,
  h('fieldset', {}, h('legend', {}, 'Hyperparameters (empty: the default shown, from the service)'),
    h('div', { class: 'grid' }, HYPERPARAMETERS.map(([name, , hint]) => field(name, inputs[name], hint)))),
  h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: dryRun }, 'Check (dry run)'), submit),
  message, preflight);
  clear(main, h('p', { class: 'crumbs' }, link('jobs', 'Fine-tuning'), ' / new'), h('h1', {}, 'New fine-tuning job'), form);
}

async function renderJob(main, id, signal) {
  let job = await api(`/v1/fine-tuning/jobs/${encodeURIComponent(id)}`, { signal });
  const epochs = () => job.hyperparameters?.epochs ?? 1;
  const summary = h('div');
  const actions = h('div', { class: 'actions' });
  const actionMessage = h('div');
  const log = h('tbody');
  const checkpoints = h('div');
  const evaluation = h('div');
  const loss = { step: [], train: [], validation: [] };
  const quality = { accuracy: [], macroF1: [] };
  const lossChart = lineChart({ label: 'Training and validation loss by epoch', xLabel: 'epoch', yLabel: 'loss', xMin: 0 });
  const metricChart = lineChart({ label: 'Validation accuracy and macro-F1 by epoch', xLabel: 'epoch', yLabel: 'score', xMin: 0, yMax: 1 });
  lossChart.element.id = 'loss-chart';
  metricChart.element.id = 'metric-chart';
  const seen = new Set();

  function redrawCharts() {
    lossChart.update([
      { name: 'training loss (steps)', points: loss.step, cls: 'series-0' },
      { name: 'training loss (epochs)', points: loss.train, cls: 'series-1' },
      { name: 'validation loss', points: loss.validation, cls: 'series-2' },
    ]);
    metricChart.update([
      { name: 'validation accuracy', points: quality.accuracy, cls: 'series-1' },
      { name: 'validation macro-F1', points: quality.macroF1, cls: 'series-3' },
    ]);
  }

  function addEvent(e) {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    const d = e.data ?? {};
    if (e.type === 'step_loss' && d.total_steps) loss.step.push([+(d.step / d.total_steps * epochs()).toFixed(4), d.loss]);
    if (e.type === 'epoch_completed') {
      if (d.train_loss !== null && d.train_loss !== undefined) loss.train.push([d.epoch, d.train_loss]);
      if (d.validation_loss !== null && d.validation_loss !== undefined) loss.validation.push([d.epoch, d.validation_loss]);
      if (d.validation_accuracy !== null && d.validation_accuracy !== undefined) quality.accuracy.push([d.epoch, d.validation_accuracy]);
      if (d.validation_macro_f1 !== null && d.validation_macro_f1 !== undefined) quality.macroF1.push([d.epoch, d.validation_macro_f1]);
    }
    log.append(h('tr', { class: `level-${e.level}` }, h('td', {}, new Date(e.created_at).toLocaleTimeString()), h('td', {}, e.level), h('td', {}, h('code', {}, e.type)), h('td', {}, e.message)));
    redrawCharts();
  }

  function renderSummary() {
    const fraction = job.progress?.fraction ?? (job.status === 'succeeded' ? 1 : 0);
    clear(summary, facts([
      ['Status', badge(job.status)],
      ['Progress', [progressBar(fraction, 'Job progress'), ` ${pct(fraction, 0)}`, job.progress ? ` · epoch ${job.progress.epoch}/${job.progress.epochs}, step ${int(job.progress.step)}/${int(job.progress.total_steps)}` : '',
        job.progress?.eta_seconds && job.status === 'running' ? ` · about ${Math.round(job.progress.eta_seconds)} s left` : '']],
      ['Model', job.result ? link(`models/${job.result.model}/versions/${job.result.version}`, `${job.result.model} version ${job.result.version}`) : job.model],
      ['Architecture', job.base_model ? `${job.architecture} from ${job.base_model}` : job.architecture],
      ['Training data', link(`datasets/${job.training_dataset_id}`, job.training_dataset_id)],
      ['Validation data', job.validation_dataset_id ? link(`datasets/${job.validation_dataset_id}`, job.validation_dataset_id) : `${pct(job.validation_split ?? 0.1, 0)} held out`],
      ['Out-of-scope label', job.out_of_scope_label ?? '—'],
      ['Device', job.device ?? '—'], ['Worker', job.worker ?? '—'], ['Quantization', job.quantization],
      ['Created', when(job.created_at)], ['Duration', duration(job.started_at, job.finished_at)],
      job.metrics ? ['Latest epoch', `validation accuracy ${pct(job.metrics.validation_accuracy)}, macro-F1 ${num(job.metrics.validation_macro_f1)}, train loss ${num(job.metrics.train_loss)}`] : null,
      ['Hyperparameters', h('code', { class: 'wrap' }, JSON.stringify(job.hyperparameters))],
    ]), job.error ? errorBox({ title: `Failed: ${job.error.code}`, detail: job.error.message }) : null,
    job.warnings?.length ? h('ul', { class: 'findings' }, job.warnings.map(w => h('li', {}, badge(w.severity), ' ', w.message))) : null);
    const active = job.status === 'queued' || job.status === 'running';
    clear(actions, active ? h('button', { type: 'button', class: 'danger', disabled: job.cancel_requested, onclick: cancel }, job.cancel_requested ? 'Cancelling…' : 'Cancel job…') : null);
  }

  async function cancel() {
    if (!await confirmDialog(`Cancel ${job.id}?`, h('p', {}, 'A running job stops at the next batch; nothing is published.'), 'Cancel job', { danger: true })) return;
    try {
      job = await api(`/v1/fine-tuning/jobs/${encodeURIComponent(job.id)}/cancel`, { method: 'POST' });
      renderSummary();
    } catch (error) { showError(actionMessage, error); }
  }

  async function loadCheckpoints() {
    const list = await api(`/v1/fine-tuning/jobs/${encodeURIComponent(id)}/checkpoints`);
    clear(checkpoints, list.data.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Epoch', 'Step', 'Train loss', 'Validation accuracy', 'Macro-F1', 'Size', 'Kept', 'Written'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.data.map(c => h('tr', {}, h('td', {}, c.epoch), h('td', {}, int(c.step)), h('td', {}, num(c.metrics.train_loss)),
        h('td', {}, pct(c.metrics.validation_accuracy)), h('td', {}, num(c.metrics.validation_macro_f1)), h('td', {}, `${(c.size_bytes / 1048576).toFixed(1)} MiB`),
        h('td', {}, c.retained ? 'yes' : 'no (superseded)'), h('td', {}, when(c.created_at)))))))
      : h('p', { class: 'muted' }, 'No checkpoint yet: one is written after every epoch.'));
  }

  clear(main,
    h('p', { class: 'crumbs' }, link('jobs', 'Fine-tuning'), ' / ', id),
    h('h1', {}, `Job ${id}`),
    summary, actions, actionMessage,
    h('section', { class: 'card' }, h('h2', {}, 'Training curves'), h('div', { class: 'two' }, lossChart.element, metricChart.element)),
    evaluation,
    h('section', { class: 'card' }, h('h2', {}, 'Checkpoints'), checkpoints),
    h('section', { class: 'card' }, h('h2', {}, 'Event log'), h('div', { class: 'table-wrap log' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Time', 'Level', 'Type', 'Message'].map(t => h('th', { scope: 'col' }, t)))), log))));
  renderSummary();
  redrawCharts();
  await loadCheckpoints();

  const active = () => job.status === 'queued' || job.status === 'running';
  if (active()) {
    const poll = setInterval(async () => {
      try {
        job = await api(`/v1/fine-tuning/jobs/${encodeURIComponent(id)}`);
        renderSummary();
        if (!active()) { clearInterval(poll); await loadCheckpoints(); renderEvaluation(evaluation, job); }
      } catch { /* the next poll tries again */ }
    }, 1500);
    signal.addEventListener('abort', () => clearInterval(poll));
    followEvents(`/v1/fine-tuning/jobs/${encodeURIComponent(id)}/events`, e => {
      addEvent(e);
      if (e.type === 'checkpoint_saved') loadCheckpoints().catch(() => {});
    }, signal).catch(error => showError(actionMessage, error));
  } else {
    let after = 0;
    for (;;) {
      const page = await api(`/v1/fine-tuning/jobs/${encodeURIComponent(id)}/events?after=${after}&limit=1000`, { signal });
      page.data.forEach(addEvent);
      if (!page.has_more || !page.data.length) break;
      after = page.data.at(-1).id;
    }
    renderEvaluation(evaluation, job);
  }
}

/** The evaluation of a succeeded job: what the version's metrics hold too. */
export function renderEvaluation(slot, job) {
  const e = job.evaluation;
  if (job.status !== 'succeeded' || !e) { clear(slot); return; }
  clear(slot, h('section', { class: 'card', id: 'evaluation' }, h('h2', {}, 'Evaluation on the validation data'), evaluationView(e, job.result)));
}

export function evaluationView(e, result) {
  const oos = e.out_of_scope;
  const headline = h('div', { class: 'metrics' },
    metric('Accuracy', pct(e.accuracy)), metric('Macro-F1', num(e.macro_f1)), metric('Rows evaluated', int(e.examples)),
    oos ? [metric('Out-of-scope threshold', num(oos.threshold, 3)), metric('In-scope accuracy', pct(oos.in_scope_accuracy)), metric('Out-of-scope recall', pct(oos.out_of_scope_recall))] : null);

  const perClass = sortableTable([
    { key: 'label', label: 'Label', value: r => r.label, render: r => h('code', {}, r.label) },
    { key: 'precision', label: 'Precision', value: r => r.precision, render: r => num(r.precision, 3), numeric: true },
    { key: 'recall', label: 'Recall', value: r => r.recall, render: r => num(r.recall, 3), numeric: true },
    { key: 'f1', label: 'F1', value: r => r.f1, render: r => num(r.f1, 3), numeric: true },
    { key: 'support', label: 'Support', value: r => r.support, numeric: true },
  ], e.per_class, { filterLabel: 'Filter labels', caption: 'Per-class results (select a column header to sort)', initialSort: { key: 'f1', descending: false }, pageSize: 50 });
  perClass.id = 'per-class';

  const readout = h('p', { class: 'readout', 'aria-live': 'polite' }, 'Point at a cell to read it.');
  const n = e.labels.length;
  const startCell = Math.max(2, Math.min(24, Math.floor(600 / n)));
  const heat = confusionHeatmap(e.labels, e.confusion_matrix, { cell: startCell, readout });
  const zoom = h('input', { type: 'range', min: 2, max: 24, value: startCell });
  zoom.addEventListener('input', () => heat.zoom(Number(zoom.value)));
  const pairs = confusedPairs(e.labels, e.confusion_matrix);
  const confusion = h('div', { class: 'confusion', id: 'confusion' },
    h('div', {}, field('Cell size (zoom)', zoom), h('div', { class: 'heatmap-wrap' }, heat.canvas), readout,
      h('p', { class: 'muted' }, 'Rows: true label; columns: predicted, in the order of the per-class table\'s labels. Green: right; red: mistakes; darker: a larger share of the row.')),
    h('div', {}, h('h3', {}, 'Most confused pairs'), pairs.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['True', 'Predicted', 'Rows', 'Share of true'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, pairs.map(p => h('tr', {}, h('td', {}, h('code', {}, p.actual)), h('td', {}, h('code', {}, p.predicted)), h('td', { class: 'num' }, p.count), h('td', { class: 'num' }, pct(p.share, 0)))))))
      : h('p', {}, 'No mistakes.')));

  let tradeOff = null;
  if (oos && e.threshold_curve?.length) {
    const chart = lineChart({
      label: 'In-scope accuracy and out-of-scope recall as the out-of-scope threshold moves from 0 to 1; the chosen threshold is marked.',
      xLabel: 'threshold', yLabel: 'share', xMin: 0, xMax: 1, yMin: 0, yMax: 1,
      marker: { x: oos.threshold, label: `chosen ${oos.threshold.toFixed(3)}` },
      series: [
        { name: 'in-scope accuracy', points: e.threshold_curve.map(p => [p.threshold, p.in_scope_accuracy]), cls: 'series-1' },
        { name: 'out-of-scope recall', points: e.threshold_curve.map(p => [p.threshold, p.out_of_scope_recall]), cls: 'series-2' },
      ],
    });
    chart.element.id = 'threshold-curve';
    tradeOff = [h('h3', {}, 'Out-of-scope trade-off'),
      h('p', {}, `Below the threshold a prediction becomes "out of scope". Raising it catches more out-of-scope texts and turns away more in-scope ones; the chosen ${oos.threshold.toFixed(3)} gives in-scope accuracy ${pct(oos.in_scope_accuracy)} and out-of-scope recall ${pct(oos.out_of_scope_recall)} (${int(oos.in_scope_examples)} in-scope and ${int(oos.out_of_scope_examples)} out-of-scope rows).`),
      chart.element];
  }

  const mistakes = e.misclassified ? sortableTable([
    { key: 'text', label: 'Text', value: r => r.text },
    { key: 'label', label: 'True label', value: r => r.label, render: r => h('code', {}, r.label) },
    { key: 'predicted', label: 'Predicted', value: r => r.predicted, render: r => h('code', {}, r.predicted) },
    { key: 'score', label: 'Score', value: r => r.score, render: r => num(r.score, 3), numeric: true },
  ], e.misclassified, { filterLabel: 'Filter mistakes', caption: `Validation texts the model got wrong (${e.misclassified.length} shown, least confident first)`, pageSize: 25 }) : null;

  return h('div', {}, headline, result ? h('p', {}, 'Published as ', link(`models/${result.model}/versions/${result.version}`, `${result.model} version ${result.version}`), '.') : null,
    h('h3', {}, 'Per class'), perClass, h('h3', {}, 'Confusion matrix'), confusion, tradeOff,
    mistakes ? [h('h3', {}, 'Mistakes'), mistakes] : null);
}
