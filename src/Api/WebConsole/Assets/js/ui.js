// Small DOM helpers: elements built with text nodes (never HTML strings, so API data cannot inject markup),
// readable errors, confirmation dialogs, sortable tables and formatting.

/** h('button', {class: 'x', onclick: f, 'aria-label': 'y'}, 'text', child, [children]) */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name === 'value') element.value = value;
    else if (name === 'checked') element.checked = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) { element.replaceChildren(); append(element, children); return element; }

let ids = 0;
/** A unique id for label/control pairs. */
export const uid = prefix => `${prefix}-${++ids}`;

/** A labelled control: label text, the control, and an optional one-line hint tied to it by aria-describedby. */
export function field(labelText, control, hint) {
  control.id ||= uid('f');
  const parts = [h('label', { for: control.id }, labelText), control];
  if (hint) {
    const hintId = uid('hint');
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('small', { id: hintId, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

/** The API's problem details as a readable message: title, detail, each field error with its line. */
export function errorBox(error) {
  const title = error?.title ?? 'Something went wrong';
  const box = h('div', { class: 'error', role: 'alert' }, h('strong', {}, title));
  if (error?.detail) box.append(h('p', {}, error.detail));
  else if (!error?.title && error?.message) box.append(h('p', {}, error.message));
  if (error?.errors?.length) {
    box.append(h('ul', {}, error.errors.map(e => h('li', {},
      e.field ? h('code', {}, e.field) : null, e.line ? ` (line ${e.line})` : null, e.field || e.line ? ': ' : null, e.message))));
  }
  if (error?.requestId) box.append(h('small', { class: 'muted' }, `Request id ${error.requestId}`));
  return box;
}

/** Shows `error` in `slot` (or logs nothing and rethrows what is not an API error). */
export function showError(slot, error) {
  clear(slot, errorBox(error));
  slot.querySelector('[role=alert]')?.focus?.();
}

/** A modal confirmation (the native dialog: focus is trapped, Escape cancels). Resolves true when confirmed. */
export function confirmDialog(title, body, confirmLabel, { danger = false } = {}) {
  return new Promise(resolve => {
    const titleId = uid('dlg');
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close('cancel') }, 'Cancel');
    const ok = h('button', { type: 'button', class: danger ? 'danger' : '', onclick: () => dialog.close('ok') }, confirmLabel);
    const dialog = h('dialog', { 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title), h('div', { class: 'dialog-body' }, body), h('div', { class: 'actions' }, cancel, ok));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'ok'); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * A table whose columns sort by clicking (or Enter on) their header button, with an optional text filter.
 * columns: [{key, label, value: row => sortable value, render: row => node|text, numeric}]
 */
export function sortableTable(columns, rows, { filterLabel, caption, initialSort, pageSize = 0 } = {}) {
  let sortKey = initialSort?.key ?? null;
  let descending = initialSort?.descending ?? false;
  let filter = '';
  let page = 0;
  const body = h('tbody');
  const headerCells = columns.map(column => {
    const button = h('button', { type: 'button', class: 'sort', onclick: () => {
      descending = sortKey === column.key ? !descending : !!column.numeric;
      sortKey = column.key;
      render();
    } }, column.label);
    return h('th', { scope: 'col', class: column.numeric ? 'num' : '' }, button);
  });
  const table = h('table', {}, caption ? h('caption', {}, caption) : null, h('thead', {}, h('tr', {}, headerCells)), body);
  const pager = h('div', { class: 'pager' });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });

  function render() {
    const needle = filter.trim().toLowerCase();
    let shown = needle ? rows.filter(row => columns.some(c => String(c.value(row) ?? '').toLowerCase().includes(needle))) : rows.slice();
    const column = columns.find(c => c.key === sortKey);
    if (column) {
      shown.sort((a, b) => {
        const x = column.value(a), y = column.value(b);
        const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return descending ? -order : order;
      });
    }
    headerCells.forEach((cell, i) => cell.setAttribute('aria-sort',
      columns[i].key === sortKey ? (descending ? 'descending' : 'ascending') : 'none'));
    const pages = pageSize ? Math.max(1, Math.ceil(shown.length / pageSize)) : 1;
    page = Math.min(page, pages - 1);
    const visible = pageSize ? shown.slice(page * pageSize, (page + 1) * pageSize) : shown;
    clear(body, visible.map(row => h('tr', {}, columns.map(c =>
      h('td', { class: c.numeric ? 'num' : '' }, c.render ? c.render(row) : c.value(row))))));
    count.textContent = `${shown.length} of ${rows.length}`;
    clear(pager, pageSize && pages > 1 ? [
      h('button', { type: 'button', class: 'secondary', disabled: page === 0, onclick: () => { page--; render(); } }, 'Previous'),
      h('span', {}, ` Page ${page + 1} of ${pages} `),
      h('button', { type: 'button', class: 'secondary', disabled: page >= pages - 1, onclick: () => { page++; render(); } }, 'Next'),
    ] : []);
  }

  render();
  const parts = [];
  if (filterLabel) {
    const input = h('input', { type: 'search', oninput: e => { filter = e.target.value; page = 0; render(); } });
    parts.push(h('div', { class: 'table-tools' }, field(filterLabel, input), count));
  }
  parts.push(h('div', { class: 'table-wrap' }, table), pager);
  return h('div', { class: 'sortable' }, parts);
}

/**
 * Previous and Next over a list the API pages by cursor (`?after=<last id of the page before>`): `previous` holds the
 * cursors of the pages before this one, and `load(after, previous)` shows another page. A failed load is shown beside
 * the buttons.
 */
export function cursorPager(page, after, previous, load) {
  const problem = h('div');
  const go = (cursor, stack) => Promise.resolve(load(cursor, stack)).catch(error => showError(problem, error));
  return h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'secondary', disabled: !previous.length, onclick: () => go(previous.at(-1), previous.slice(0, -1)) }, 'Previous'),
    h('button', { type: 'button', class: 'secondary', disabled: !page.has_more, onclick: () => go(page.data.at(-1).id, [...previous, after]) }, 'Next'),
    problem);
}

/** A headline number with its label, named for assistive technology by that label. */
export function metric(label, value, { valueId } = {}) {
  const id = uid('m');
  return h('div', { class: 'metric', role: 'group', 'aria-labelledby': id },
    h('span', { class: 'metric-label', id }, label), h('span', { class: 'metric-value', id: valueId }, value));
}

/** A definition list from [term, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(p => p).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

export const pct = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x)) ? '—' : `${(x * 100).toFixed(digits)} %`;
export const num = (x, digits = 4) => (x === null || x === undefined) ? '—' : Number(x).toFixed(digits);
export const int = x => (x === null || x === undefined) ? '—' : Number(x).toLocaleString('en');
export const when = t => t ? new Date(t).toLocaleString() : '—';
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
export function duration(start, end) {
  if (!start) return '—';
  const seconds = Math.max(0, ((end ? new Date(end) : new Date()) - new Date(start)) / 1000);
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A status badge: queued, running, succeeded, failed, cancelled, ready, … */
export const badge = status => h('span', { class: `badge badge-${status}` }, status);

/** A brief message in the live region. */
export function toast(message) {
  const region = document.getElementById('toast');
  region.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { region.textContent = ''; }, 3000);
}

/** A progress bar with an accessible name and value. */
export function progressBar(fraction, label) {
  const bar = h('progress', { max: 1, value: fraction ?? 0, 'aria-label': label });
  return bar;
}

/** A link inside the console. */
export const link = (hash, text, props = {}) => h('a', { href: `#/${hash}`, ...props }, text);

/** Reads a CSV text (RFC 4180 quoting) into rows of fields. */
export function parseCsv(text) {
  const rows = [];
  let row = [], value = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { value += '"'; i++; }
      else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(value); value = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(value); value = '';
      if (row.some(v => v !== '')) rows.push(row);
      row = [];
    } else value += c;
  }
  row.push(value);
  if (row.some(v => v !== '')) rows.push(row);
  return rows;
}
