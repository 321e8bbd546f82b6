// Datasets: upload (drag and drop or picker, with the upload options and progress), the list, and a dataset's
// profile: label distribution, text lengths, quality findings, a paged preview of rows and delete.

import { api, upload } from '../api.js';
import { h, clear, field, errorBox, showError, confirmDialog, facts, int, when, bytes, link, toast, progressBar, badge, cursorPager, uid } from '../ui.js';
import { barChart, histogram } from '../charts.js';

const PAGE = 20;

export async function render(main, [id], signal) {
  if (id) return renderDataset(main, id, signal);
  const list = h('div');
  clear(main, h('h1', {}, 'Datasets'), uploadCard(() => loadPage(list, null, [])), h('h2', {}, 'All datasets'), list);
  await loadPage(list, null, []);
}

async function loadPage(list, after, previous) {
  const page = await api(`/v1/datasets?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
  if (!page.data.length && !after) { clear(list, h('p', { class: 'muted' }, 'No datasets yet: upload a CSV, TSV or JSONL file of text and label above.')); return; }
  clear(list,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Name', 'Id', 'Rows', 'Labels', 'Skipped', 'Size', 'Uploaded'].map((t, i) => h('th', { scope: 'col', class: i >= 2 && i <= 5 ? 'num' : '' }, t)))),
      h('tbody', {}, page.data.map(d => h('tr', {},
        h('td', {}, link(`datasets/${d.id}`, d.name)), h('td', {}, h('code', {}, d.id)), h('td', { class: 'num' }, int(d.row_count)),
        h('td', { class: 'num' }, int(d.labels.length)), h('td', { class: 'num' }, int(d.rows_skipped)), h('td', { class: 'num' }, bytes(d.size_bytes)),
        h('td', {}, when(d.created_at))))))),
    cursorPager(page, after, previous, (cursor, stack) => loadPage(list, cursor, stack)));
}

function uploadCard(onUploaded) {
  const file = h('input', { type: 'file', accept: '.csv,.tsv,.jsonl,.json,.txt,text/csv', class: 'visually-hidden-file' });
  const chosen = h('span', { class: 'muted', 'aria-live': 'polite' }, 'No file chosen');
  const name = h('input', { type: 'text', placeholder: 'the file name' });
  const textColumn = h('input', { type: 'text', value: 'text' });
  const labelColumn = h('input', { type: 'text', value: 'label' });
  const dedupe = h('input', { type: 'checkbox', checked: true });
  const redact = h('input', { type: 'checkbox' });
  const strict = h('input', { type: 'checkbox' });
  const progress = h('div', { class: 'upload-progress' });
  const result = h('div', { 'aria-live': 'polite' });
  let selected = null;

  const choose = f => { selected = f; chosen.textContent = f ? `${f.name} (${bytes(f.size)})` : 'No file chosen'; };
  file.addEventListener('change', () => choose(file.files[0] ?? null));
  const pick = h('button', { type: 'button', class: 'secondary', onclick: () => file.click() }, 'Choose a file…');
  const zone = h('div', { class: 'dropzone' }, h('p', {}, 'Drop a CSV, TSV or JSONL file here, or '), pick, ' ', chosen, file);
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', e => { e.preventDefault(); zone.classList.remove('over'); choose(e.dataTransfer.files[0] ?? null); });

  const check = (input, text, hint) => h('div', { class: 'check' }, input, h('label', { for: input.id = uid('chk') }, text), h('small', { class: 'hint' }, hint));

  const form = h('form', { class: 'card', 'aria-labelledby': 'upload-title', onsubmit: async e => {
    e.preventDefault();
    clear(result);
    if (!selected) { clear(result, errorBox({ title: 'Choose a file first' })); return; }
    const body = new FormData();
    body.append('file', selected, selected.name);
    if (name.value.trim()) body.append('name', name.value.trim());
    body.append('text_column', textColumn.value.trim() || 'text');
    body.append('label_column', labelColumn.value.trim() || 'label');
    body.append('dedupe', String(dedupe.checked));
    body.append('redact_pii', String(redact.checked));
    body.append('strict', String(strict.checked));
    const bar = progressBar(0, 'Upload progress');
    const status = h('span', {}, 'Uploading… 0 %');
    clear(progress, bar, ' ', status);
    submit.disabled = true;
    try {
      const dataset = await upload('/v1/datasets', body, f => { bar.value = f; status.textContent = f < 1 ? `Uploading… ${Math.round(f * 100)} %` : 'Importing…'; });
      clear(progress);
      clear(result, uploadResult(dataset));
      toast(`Uploaded ${dataset.name}: ${dataset.row_count} rows.`);
      choose(null);
      file.value = '';
      await onUploaded();
    } catch (error) {
      clear(progress);
      showError(result, error);
    } finally {
      submit.disabled = false;
    }
  } });
  const submit = h('button', { type: 'submit' }, 'Upload');
  form.append(h('h2', { id: 'upload-title' }, 'Upload a dataset'), zone,
    h('div', { class: 'grid' },
      field('Name', name, 'Defaults to the file name.'),
      field('Text column', textColumn, 'Column or JSON field holding the text.'),
      field('Label column', labelColumn, 'Column or JSON field holding the label.')),
    h('div', { class: 'grid' },
      check(dedupe, 'Remove duplicates', 'Drop rows repeating an earlier row\'s text and label.'),
      check(redact, 'Redact personal data', 'Replace e-mail addresses, phone, card numbers and IBANs with tokens.'),
      check(strict, 'Strict', 'Reject the whole file on any bad row instead of skipping it.')),
    submit, progress, result);
  return form;
}

function uploadResult(d) {
  return h('div', { class: 'result' },
    h('h3', {}, 'Uploaded: ', link(`datasets/${d.id}`, d.name)),
    facts([
      ['Rows stored', int(d.row_count)],
      ['Labels', int(d.labels.length)],
      ['Rows skipped', int(d.rows_skipped)],
      ['Duplicates removed', int(d.duplicates_removed)],
      ['Personal data replaced', `${int(d.pii_redacted.total)} (e-mail ${d.pii_redacted.email}, phone ${d.pii_redacted.phone}, card ${d.pii_redacted.card}, IBAN ${d.pii_redacted.iban})`],
    ]),
    d.problems.length ? problemsTable(d.problems) : null);
}

function problemsTable(problems) {
  return h('details', { open: true }, h('summary', {}, `Skipped rows (${problems.length} shown)`),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, 'Line'), h('th', { scope: 'col' }, 'Reason'))),
      h('tbody', {}, problems.map(p => h('tr', {}, h('td', { class: 'num' }, p.line), h('td', {}, p.message)))))));
}

async function renderDataset(main, id, signal) {
  const d = await api(`/v1/datasets/${encodeURIComponent(id)}`, { signal });
  const labels = d.labels.slice().sort((a, b) => b.count - a.count);
  const median = labels.length ? labels[Math.floor(labels.length / 2)].count : 0;
  const smallest = labels.slice(-5).reverse();
  const thin = c => c < Math.max(5, median * 0.5);
  const rows = h('div');
  const deleteSlot = h('div');
  const deleteButton = h('button', { type: 'button', class: 'danger', onclick: async () => {
    const ok = await confirmDialog(`Delete ${d.name}?`, h('p', {}, `The dataset ${d.id} (${int(d.row_count)} rows) and its stored file are removed. Jobs that already used it keep their models.`), 'Delete dataset', { danger: true });
    if (!ok) return;
    try {
      await api(`/v1/datasets/${encodeURIComponent(d.id)}`, { method: 'DELETE' });
      toast(`Deleted ${d.name}.`);
      location.hash = '#/datasets';
    } catch (error) { showError(deleteSlot, error); }
  } }, 'Delete…');

  const lengths = d.quality?.text_lengths;
  clear(main,
    h('p', { class: 'crumbs' }, link('datasets', 'Datasets'), ' / ', d.name),
    h('h1', {}, d.name),
    facts([
      ['Id', h('code', {}, d.id)], ['Format', d.format], ['Status', badge(d.status)], ['Rows', int(d.row_count)],
      ['Labels', int(d.labels.length)], ['Rows skipped', int(d.rows_skipped)], ['Duplicates removed', int(d.duplicates_removed)],
      ['Personal data replaced', int(d.pii_redacted.total)],
      ['Text length', `${d.text_length.min}–${d.text_length.max} characters, mean ${d.text_length.mean.toFixed(1)}`],
      ['Size', bytes(d.size_bytes)], ['SHA-256', h('code', { class: 'wrap' }, d.sha256)], ['Uploaded', when(d.created_at)],
    ]),
    h('section', { class: 'card' }, h('h2', {}, 'Label distribution'),
      h('p', {}, `${labels.length} labels, largest first. `, smallest.length ? `Smallest: ${smallest.map(l => `${l.label} (${l.count})`).join(', ')}. ` : '',
        'Bars in orange have fewer than half the median label\'s rows (or fewer than 5).'),
      h('div', { class: 'scroll-y' }, barChart(labels.map(l => ({ label: l.label, value: l.count, warn: thin(l.count) })), { label: `Rows per label, ${labels.length} labels, largest first`, valueFormat: v => v.toLocaleString('en') }))),
    h('section', { class: 'card' }, h('h2', {}, 'Text length'),
      lengths ? histogram(lengths.map(b => ({ label: b.to ? `${b.from}–${b.to - 1}` : `${b.from}+`, value: b.count })),
        { label: 'Rows by text length in characters', xLabel: 'characters' })
        : h('p', { class: 'muted' }, 'This dataset was uploaded before length histograms existed.')),
    d.quality ? qualitySection(d.quality) : null,
    d.problems.length ? h('section', { class: 'card' }, h('h2', {}, 'Skipped rows'), problemsTable(d.problems)) : null,
    h('section', { class: 'card' }, h('h2', {}, 'Rows'), rows),
    h('section', { class: 'card' }, h('h2', {}, 'Delete'), deleteButton, deleteSlot));
  await loadRows(rows, d.id, 0);
}

function qualitySection(quality) {
  const example = x => h('li', {},
    x.line ? `line ${x.line}: ` : '', x.text ? `“${x.text}” ` : '', x.label ? h('code', {}, x.label) : '',
    x.other_label ? [' vs ', h('code', {}, x.other_label), x.other_line ? ` (line ${x.other_line})` : ''] : '');
  const finding = f => h('li', {},
    badge(f.severity), ' ', h('code', {}, f.code), ` (${f.count}): `, f.message,
    f.examples?.length ? h('details', {}, h('summary', {}, `Examples (${f.examples.length})`), h('ul', {}, f.examples.slice(0, 20).map(example))) : null);
  return h('section', { class: 'card' }, h('h2', {}, 'Quality'),
    quality.findings.length ? h('ul', { class: 'findings' }, quality.findings.map(finding)) : h('p', {}, 'No findings.'));
}

async function loadRows(slot, id, offset) {
  const limit = 20;
  const page = await api(`/v1/datasets/${encodeURIComponent(id)}/rows?offset=${offset}&limit=${limit}`);
  clear(slot,
    h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, `Rows ${page.total ? offset + 1 : 0}–${Math.min(offset + limit, page.total)} of ${int(page.total)}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, '#'), h('th', { scope: 'col' }, 'Text'), h('th', { scope: 'col' }, 'Label'))),
      h('tbody', {}, page.data.map((r, i) => h('tr', {}, h('td', { class: 'num' }, offset + i + 1), h('td', {}, r.text), h('td', {}, h('code', {}, r.label))))))),
    h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => loadRows(slot, id, Math.max(0, offset - limit)) }, 'Previous'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + limit >= page.total, onclick: () => loadRows(slot, id, offset + limit) }, 'Next')));
}
