// Models: registered models with their versions and aliases; a version's page (metrics, labels, threshold, files,
// quantization, download); moving `production` after a side-by-side comparison.

import { api, session } from '../api.js';
import { h, clear, showError, confirmDialog, facts, pct, num, int, when, bytes, link, toast, badge } from '../ui.js';
import { evaluationView } from './jobs.js';

export async function render(main, [name, versions, version], signal) {
  if (name && versions === 'versions' && version) return renderVersion(main, name, Number(version), signal);
  if (name) return renderModel(main, name, signal);
  const models = await api('/v1/models', { signal });
  clear(main, h('h1', {}, 'Models'),
    models.data.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Model', 'Latest version', 'Aliases', 'Versions', 'Updated'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, models.data.map(m => h('tr', {},
        h('td', {}, link(`models/${encodeURIComponent(m.name)}`, m.name)),
        h('td', {}, link(`models/${encodeURIComponent(m.name)}/versions/${m.latest_version}`, `version ${m.latest_version}`)),
        h('td', {}, aliasList(m.name, m.aliases)),
        h('td', { class: 'num' }, m.versions.length),
        h('td', {}, when(m.updated_at)))))))
      : h('p', { class: 'muted' }, session.has('train') ? 'No models yet: a succeeded fine-tuning job publishes one.' : 'No models yet.'));
}

const aliasList = (model, aliases) => Object.entries(aliases).map(([alias, v]) =>
  h('span', { class: 'alias' }, link(`models/${encodeURIComponent(model)}/versions/${v}`, `${alias} → ${v}`)));

async function renderModel(main, name, signal) {
  const model = await api(`/v1/models/${encodeURIComponent(name)}`, { signal });
  const byVersion = new Map();
  Object.entries(model.aliases).forEach(([alias, v]) => byVersion.set(v, [...(byVersion.get(v) ?? []), alias]));
  clear(main, h('p', { class: 'crumbs' }, link('models', 'Models'), ' / ', name), h('h1', {}, name),
    facts([['Latest version', model.latest_version], ['Aliases', aliasList(name, model.aliases)], ['Created', when(model.created_at)], ['Updated', when(model.updated_at)]]),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', {}, 'Versions, newest first'),
      h('thead', {}, h('tr', {}, ['Version', 'Aliases', 'Architecture', 'Labels', 'Servable', 'Job', 'Created'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, model.versions.map(v => h('tr', {},
        h('td', {}, link(`models/${encodeURIComponent(name)}/versions/${v.version}`, `version ${v.version}`)),
        h('td', {}, (byVersion.get(v.version) ?? []).map(a => h('span', { class: 'alias' }, a))),
        h('td', {}, v.architecture), h('td', { class: 'num' }, v.labels), h('td', {}, v.servable ? 'yes' : 'no'),
        h('td', {}, session.has('train') ? link(`jobs/${v.job_id}`, v.job_id) : h('code', {}, v.job_id)), h('td', {}, when(v.created_at))))))));
}

async function renderVersion(main, name, version, signal) {
  const base = `/v1/models/${encodeURIComponent(name)}`;
  const [v, model] = await Promise.all([api(`${base}/versions/${version}`, { signal }), api(base, { signal })]);
  const production = model.aliases.production;
  const message = h('div');
  const downloadSlot = h('div');
  const canRelease = session.has('train');

  async function download(variant) {
    try {
      const response = await api(`${base}/versions/${version}/onnx?variant=${variant}`, { raw: true, accept: 'application/octet-stream' });
      const url = URL.createObjectURL(await response.blob());
      const a = h('a', { href: url, download: `${name}-${version}${variant === 'int8' ? '.int8' : ''}.onnx` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) { showError(downloadSlot, error); }
  }

  async function promote() {
    let current = null;
    if (production !== undefined && production !== version) {
      try { current = await api(`${base}/versions/${production}`); } catch { current = null; }
    }
    const body = h('div', {}, h('p', {}, production === undefined
      ? `${name} has no production version yet: predictions use the latest. After this, POST ${base}/predict uses version ${version}.`
      : `Predictions through ${name}'s production alias move from version ${production} to version ${version}. The new version is loaded and warmed up before the alias moves.`),
    comparison(current, v));
    if (!await confirmDialog(`Move production to version ${version}?`, body, `Promote version ${version}`)) return;
    try {
      await api(`${base}/aliases/production`, { method: 'PUT', json: { version } });
      toast(`production now points at ${name} version ${version}.`);
      await renderVersion(main, name, version, signal);
    } catch (error) { showError(message, error); }
  }

  const metrics = v.metrics;
  const quantization = v.quantization;
  clear(main,
    h('p', { class: 'crumbs' }, link('models', 'Models'), ' / ', link(`models/${encodeURIComponent(name)}`, name), ' / ', `version ${version}`),
    h('h1', {}, `${name} version ${version}`),
    h('div', { class: 'actions' },
      v.aliases.includes('production') ? badge('production') : canRelease ? h('button', { type: 'button', id: 'promote', onclick: promote }, 'Promote to production…') : null,
      h('a', { class: 'button secondary', href: `#/playground/${encodeURIComponent(name)}/${version}` }, 'Try it in the playground')),
    message,
    facts([
      ['Aliases', v.aliases.length ? v.aliases.map(a => h('span', { class: 'alias' }, a)) : 'none'],
      ['Architecture', v.architecture], ['Labels', int(v.labels.length)],
      ['Out-of-scope threshold', v.out_of_scope_threshold === null ? 'none' : num(v.out_of_scope_threshold, 3)],
      ['Job', session.has('train') ? link(`jobs/${v.job_id}`, v.job_id) : h('code', {}, v.job_id)],
      ['Served file', `${bytes(v.size_bytes)}, opset ${v.opset}`], ['SHA-256', h('code', { class: 'wrap' }, v.sha256)],
      ['Created', when(v.created_at)],
    ]),
    h('section', { class: 'card' }, h('h2', {}, 'Files'),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Variant', 'Size', 'SHA-256', 'Served', ''].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, v.artifacts.map(a => h('tr', {}, h('td', {}, a.variant), h('td', {}, bytes(a.size_bytes)), h('td', {}, h('code', { class: 'wrap' }, a.sha256)),
          h('td', {}, a.served ? 'yes' : 'no'),
          h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => download(a.variant) }, `Download ${a.variant} ONNX`))))))),
      downloadSlot),
    quantization ? h('section', { class: 'card' }, h('h2', {}, 'Quantization'), jsonFacts(quantization)) : null,
    v.parity ? h('section', { class: 'card' }, h('h2', {}, 'Export check'), h('p', {}, 'The ONNX graph against the trained network, batch by batch: the largest absolute difference of any output.'), jsonFacts(v.parity)) : null,
    h('section', { class: 'card' }, h('h2', {}, 'Labels'), h('p', { class: 'labels' }, v.labels.map(l => h('code', {}, l)))),
    metrics ? h('section', { class: 'card' }, h('h2', {}, 'Evaluation'), evaluationView(metrics, null)) : null);
}

/** Two versions' headline metrics side by side. */
function comparison(current, next) {
  const row = (label, get) => h('tr', {}, h('th', { scope: 'row' }, label), current ? h('td', {}, get(current)) : null, h('td', {}, get(next)));
  const m = x => x.metrics ?? {};
  return h('table', { class: 'compare' },
    h('thead', {}, h('tr', {}, h('td', {}), current ? h('th', { scope: 'col' }, `version ${current.version} (production now)`) : null, h('th', { scope: 'col' }, `version ${next.version}`))),
    h('tbody', {},
      row('Accuracy', x => pct(m(x).accuracy)),
      row('Macro-F1', x => num(m(x).macro_f1)),
      row('In-scope accuracy', x => pct(m(x).out_of_scope?.in_scope_accuracy)),
      row('Out-of-scope recall', x => pct(m(x).out_of_scope?.out_of_scope_recall)),
      row('Threshold', x => x.out_of_scope_threshold === null ? 'none' : num(x.out_of_scope_threshold, 3)),
      row('Labels', x => int(x.labels.length)),
      row('Size', x => bytes(x.size_bytes)),
      row('Architecture', x => x.architecture),
      row('Created', x => when(x.created_at))));
}

/** Any JSON object as a definition list of its leaves (nested names joined with dots). */
function jsonFacts(value) {
  const pairs = [];
  const walk = (node, path) => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) Object.entries(node).forEach(([k, x]) => walk(x, path ? `${path}.${k}` : k));
    else if (Array.isArray(node) && node.length && typeof node[0] === 'object') node.forEach((x, i) => walk(x, `${path}[${i}]`));
    else pairs.push([path, typeof node === 'number' ? String(+node.toFixed(6)) : JSON.stringify(node)]);
  };
  walk(value, '');
  return facts(pairs.slice(0, 80));
}

